//! Membership cards (6.44): the membership system behind a port. The seed's
//! one such system (Jinying VIP) keeps a day and a night balance per card
//! (5.4.4 `Money`, `Money2`); a card covers the fee left after the bill and
//! shopping discounts, day balance first.
//!
//! `LocalLedger` stands in for the membership system: accounts in the store
//! (`keys::members`), set up with `onecard member ...`. It is debited by the
//! payment that uses the card, inside that payment's transaction, so the
//! balance is spent exactly once; nothing is taken while an order is open, so
//! a cancelled or lapsed order (6.20) has nothing to give back.

use crate::keys;
use async_trait::async_trait;
use onecard_core::store::{Cond, Item, Write};
use onecard_core::{ApiError, ApiResult, Ctx, Fen};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub card_no: String,
    #[serde(default)]
    pub name: String,
    pub day_balance: Fen,
    pub night_balance: Fen,
}

/// The membership system, as the car park sees it.
#[async_trait]
pub trait MemberLedger: Send + Sync {
    /// The card's balances; `None` for a card the system does not know.
    async fn balances(&self, ctx: &Ctx, branch: &str, card_no: &str) -> ApiResult<Option<Account>>;
    /// The writes that spend `day` and `night` in the paying transaction; a
    /// balance short by then refuses the payment.
    async fn spend_writes(&self, ctx: &Ctx, branch: &str, card_no: &str, day: Fen, night: Fen) -> ApiResult<Vec<Write>>;
}

/// The store-backed stand-in.
pub struct LocalLedger;

impl LocalLedger {
    pub async fn put(ctx: &Ctx, branch: &str, a: &Account) -> ApiResult<()> {
        if a.day_balance.0 < 0 || a.night_balance.0 < 0 {
            return Err(ApiError::field("balance", "must not be negative"));
        }
        let item = Item::new(keys::members(branch), a.card_no.clone(), serde_json::to_value(a).unwrap_or_default());
        ctx.store.put(item, Cond::None).await?;
        Ok(())
    }

    async fn read(ctx: &Ctx, branch: &str, card_no: &str) -> ApiResult<Option<(Account, u64)>> {
        match ctx.store.get(&keys::members(branch), card_no.trim()).await? {
            Some(i) => Ok(Some((i.parse()?, i.version))),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl MemberLedger for LocalLedger {
    async fn balances(&self, ctx: &Ctx, branch: &str, card_no: &str) -> ApiResult<Option<Account>> {
        Ok(Self::read(ctx, branch, card_no).await?.map(|(a, _)| a))
    }

    async fn spend_writes(&self, ctx: &Ctx, branch: &str, card_no: &str, day: Fen, night: Fen) -> ApiResult<Vec<Write>> {
        if day.0 == 0 && night.0 == 0 {
            return Ok(Vec::new());
        }
        let (mut a, v) = Self::read(ctx, branch, card_no).await?.ok_or_else(|| ApiError::field("cardNo", format!("membership card {card_no} no longer exists")))?;
        if day > a.day_balance || night > a.night_balance {
            return Err(ApiError::new(
                onecard_core::Code::ORDER_EXPIRED,
                format!("membership card {card_no} no longer covers {}; calculate the fee again", (day + night).yuan()),
            ));
        }
        a.day_balance = a.day_balance - day;
        a.night_balance = a.night_balance - night;
        let item = Item::new(keys::members(branch), a.card_no.clone(), serde_json::to_value(&a).unwrap_or_default()).with_version(v + 1);
        Ok(vec![Write::put(item, Cond::VersionIs(v))])
    }
}

/// The ledger this deployment uses.
pub fn ledger() -> &'static dyn MemberLedger {
    &LocalLedger
}
