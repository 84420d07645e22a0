//! The merchant record: balances a merchant spends on discounts, its password
//! hash and its lock. Repositories of this module own `keys::merchants`.

use crate::keys;
use crate::discounts::codes;
use chrono::NaiveDateTime;
use onecard_core::retry::{on_conflict, Step};
use onecard_core::store::{Cond, Item, Query, Write};
use onecard_core::{ApiResult, Ctx, Fen};
use serde::{Deserialize, Serialize};

/// Failed logins that lock an account (6.46: "default 3").
pub const LOCK_AFTER: u32 = 3;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Merchant {
    pub id: i64,
    pub name: String,
    /// argon2 PHC string; empty = no password set, no login possible.
    #[serde(default)]
    pub password_hash: String,
    #[serde(default)]
    pub failures: u32,
    #[serde(default)]
    pub locked: bool,
    /// Gift amount the merchant may still give (`discountAmountBalance`).
    pub amount_balance: Fen,
    /// Gift minutes the merchant may still give (`discountTimeBalance`).
    pub time_balance: i64,
    #[serde(default)]
    pub allow_free_period: bool,
    #[serde(default)]
    pub remark: String,
    #[serde(default)]
    pub create_oper: String,
    #[serde(default)]
    pub create_date: Option<NaiveDateTime>,
    #[serde(default)]
    pub update_oper: String,
    #[serde(default)]
    pub update_date: Option<NaiveDateTime>,
    /// Coupons this merchant may issue per day (`None`: no limit).
    #[serde(default)]
    pub daily_issue_limit: Option<i64>,
}

/// What giving discounts costs a merchant: gift yuan and gift minutes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    pub fen: Fen,
    pub minutes: i64,
}

impl Cost {
    pub fn times(self, n: i64) -> Cost {
        Cost { fen: Fen(self.fen.0.saturating_mul(n)), minutes: self.minutes.saturating_mul(n) }
    }
    pub fn plus(self, o: Cost) -> Cost {
        Cost { fen: self.fen + o.fen, minutes: self.minutes.saturating_add(o.minutes) }
    }
    pub fn is_zero(self) -> bool {
        self.fen.0 == 0 && self.minutes == 0
    }
}

impl Merchant {
    pub fn item(&self, branch: &str, version: u64) -> Item {
        Item::new(keys::merchants(branch), keys::id_sk(self.id), serde_json::to_value(self).unwrap_or_default()).with_version(version)
    }

    /// The write of this merchant over the version it was read at.
    pub fn write_over(&self, branch: &str, version: u64) -> Write {
        Write::put(self.item(branch, version + 1), Cond::VersionIs(version))
    }

    /// Takes `cost` off the balances: 613 when the gift amount is short,
    /// 614 when the gift time is.
    pub fn charge(&mut self, cost: Cost) -> ApiResult<()> {
        if cost.fen > self.amount_balance {
            return Err(codes::amount_short(self.id, self.amount_balance, cost.fen));
        }
        if cost.minutes > self.time_balance {
            return Err(codes::time_short(self.id, self.time_balance, cost.minutes));
        }
        self.amount_balance = self.amount_balance - cost.fen;
        self.time_balance -= cost.minutes;
        Ok(())
    }
}

pub async fn get(ctx: &Ctx, branch: &str, id: i64) -> ApiResult<Option<(Merchant, u64)>> {
    match ctx.store.get(&keys::merchants(branch), &keys::id_sk(id)).await? {
        Some(i) => Ok(Some((i.parse()?, i.version))),
        None => Ok(None),
    }
}

/// The merchant, or 602 naming it.
pub async fn must_get(ctx: &Ctx, branch: &str, id: i64) -> ApiResult<(Merchant, u64)> {
    get(ctx, branch, id).await?.ok_or_else(|| codes::merchant_missing(id))
}

/// Changes one merchant under its version, again on a conflict; `change`
/// answers false when there is nothing to write.
pub async fn modify(ctx: &Ctx, branch: &str, id: i64, what: &str, change: impl Fn(&mut Merchant) -> bool) -> ApiResult<()> {
    on_conflict(what, || async {
        let (mut m, v) = must_get(ctx, branch, id).await?;
        if !change(&mut m) {
            return Ok(Step::Done(()));
        }
        Step::of(ctx.store.put(m.item(branch, v + 1), Cond::VersionIs(v)).await, ())
    })
    .await
}

pub async fn list(ctx: &Ctx, branch: &str) -> ApiResult<Vec<Merchant>> {
    let items = ctx.store.query_all(&Query::partition(keys::merchants(branch))).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

/// Creates or replaces a merchant (admin): the version read decides.
pub async fn put(ctx: &Ctx, branch: &str, m: &Merchant, read_version: Option<u64>) -> ApiResult<()> {
    let (item, cond) = match read_version {
        Some(v) => (m.item(branch, v + 1), Cond::VersionIs(v)),
        None => (m.item(branch, 1), Cond::MustNotExist),
    };
    ctx.store.put(item, cond).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> Merchant {
        serde_json::from_value(serde_json::json!({"id": 1, "name": "天宏", "amount_balance": 1000, "time_balance": 60})).unwrap()
    }

    #[test]
    fn charging_beyond_a_balance_is_613_or_614_and_changes_nothing() {
        let mut a = m();
        assert_eq!(a.charge(Cost { fen: Fen(1001), minutes: 0 }).unwrap_err().code.0, 613);
        assert_eq!(a.charge(Cost { fen: Fen(0), minutes: 61 }).unwrap_err().code.0, 614);
        assert_eq!((a.amount_balance, a.time_balance), (Fen(1000), 60));
        a.charge(Cost { fen: Fen(1000), minutes: 60 }).unwrap();
        assert_eq!((a.amount_balance, a.time_balance), (Fen(0), 0));
    }
}
