//! Stored-value cards: balance (6.7), top-up (6.8) and top-up list (6.28).
//! Spending from the balance is `debit::debit_writes`, inside the parking
//! payment. A top-up is exactly-once by its idempotency key (`orderNo` or
//! `thirdPayId` when the client sends one), written with the card's new
//! balance in one transaction.

use super::input::opt_text;
use super::model::Card;
use super::monthly::cards_named;
use super::payments::{duplicate, payment_key, TopUp};
use super::store::{card_update, credential, find_one, get_holder, Credential};
use crate::{ids, keys};
use chrono::NaiveDateTime;
use onecard_core::store::{Cond, Item, Query, Write};
use onecard_core::{handler, ApiError, ApiResult, Ctx, Fen, Registry, Reply, Req};
use serde_json::json;

const ATTEMPTS: usize = 5;
/// One top-up above this (100 000 yuan) is taken for a typing error.
pub const MAX_TOPUP: Fen = Fen(10_000_000);
/// Top-ups without a payment type are cash (the cashier's).
const DEFAULT_PAY_TYPE: i64 = 2;

const CREDENTIALS: [(i64, Credential); 2] = [(1, Credential::Plate), (2, Credential::CardNo)];

/// A top-up request (6.8 input plus the optional idempotency fields).
#[derive(Clone, Debug, Default)]
pub struct TopUpRequest {
    pub amount: Fen,
    pub order_no: Option<String>,
    pub third_pay_id: Option<String>,
    pub pay_type: Option<i64>,
}

pub async fn top_up(ctx: &Ctx, branch: &str, kind: Credential, value: &str, r: &TopUpRequest, now: NaiveDateTime) -> ApiResult<TopUp> {
    if r.amount.0 <= 0 || r.amount > MAX_TOPUP {
        return Err(ApiError::field("payamount", format!("must be above 0 and at most {MAX_TOPUP}")));
    }
    let fresh_key = format!("G:{}", uuid::Uuid::new_v4().simple());
    let key = payment_key(r.order_no.as_deref(), r.third_pay_id.as_deref(), || fresh_key.clone());
    let pk = keys::value_topups(branch);
    let mut seq_no = None;
    for _ in 0..ATTEMPTS {
        if ctx.store.get(&pk, &key).await?.is_some() {
            return Err(duplicate(&key));
        }
        let card = find_one(ctx, branch, kind, value, |c| c.parking && c.is_stored_value()).await?;
        let c = &card.value;
        let seq = match seq_no {
            Some(s) => s,
            None => *seq_no.insert(ids::next_id(ctx, branch, "scardtopup").await?),
        };
        let next = Card { balance: c.balance + r.amount, ..c.clone() };
        let record = TopUp {
            seq_no: seq,
            key: key.clone(),
            card_no: c.card_no.clone(),
            num_no: c.num_no.clone(),
            plate: c.first_plate().to_string(),
            amount: r.amount,
            before: c.balance,
            after: next.balance,
            at: now,
            pay_type: r.pay_type.unwrap_or(DEFAULT_PAY_TYPE),
            third_pay_id: r.third_pay_id.clone(),
        };
        let writes = vec![
            card_update(branch, &card, &next),
            Write::put(Item::new(pk.clone(), key.clone(), serde_json::to_value(&record).unwrap_or_default()), Cond::MustNotExist),
        ];
        match ctx.store.transact(writes).await {
            Ok(()) => return Ok(record),
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    if ctx.store.get(&pk, &key).await?.is_some() {
        return Err(duplicate(&key));
    }
    Err(ApiError::failed("the card was changed meanwhile by another request; try again"))
}

async fn info(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let b = req.branchno();
    let (kind, value) = credential(&req.data, ("credentialtype", "credential"), &CREDENTIALS)?;
    let card = find_one(&ctx, b, kind, &value, |c| c.parking && c.is_stored_value()).await?.value;
    let holder = get_holder(&ctx, b, &card.user_no).await?;
    Ok(Reply::data(json!({
        "name": holder.map(|h| h.name).unwrap_or_default(),
        "balance": card.balance.yuan(),
        "carno": card.first_plate(),
    })))
}

async fn charge(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let d = &req.data;
    let (kind, value) = credential(d, ("credentialtype", "credential"), &CREDENTIALS)?;
    let r = TopUpRequest {
        amount: d.money("payamount")?,
        order_no: opt_text(d, "orderNo", 64)?,
        third_pay_id: opt_text(d, "thirdPayId", 64)?,
        pay_type: d.opt_i64("paytype")?.or(d.opt_i64("payType")?),
    };
    let rec = top_up(&ctx, req.branchno(), kind, &value, &r, req.now).await?;
    Ok(Reply::data(json!({ "flag": "1", "memo": format!("余额 {}", rec.after) })))
}

pub async fn list_topups(ctx: &Ctx, branch: &str) -> ApiResult<Vec<TopUp>> {
    let items = ctx.store.query_all(&Query::partition(keys::value_topups(branch))).await?;
    let mut all: Vec<TopUp> = items.iter().map(Item::parse).collect::<Result<_, _>>()?;
    all.sort_by_key(|t| (t.at, t.seq_no));
    Ok(all)
}

async fn charge_list(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let b = req.branchno();
    let d = &req.data;
    let only: Option<Vec<String>> = match d.opt_str("Credential")? {
        Some(_) => {
            let (kind, value) = credential(d, ("CredentialType", "Credential"), &CREDENTIALS)?;
            Some(cards_named(&ctx, b, kind, &value).await?)
        }
        None => None,
    };
    let from = d.opt_time("ChargeTimeStart")?;
    let to = d.opt_time("ChargeTimeEnd")?;
    let rows = list_topups(&ctx, b)
        .await?
        .into_iter()
        .filter(|t| only.as_ref().is_none_or(|cards| cards.contains(&t.card_no)))
        .filter(|t| from.is_none_or(|f| t.at >= f) && to.is_none_or(|e| t.at <= e))
        .map(|t| t.to_row())
        .collect();
    Ok(req.list(rows))
}

pub fn register(reg: &mut Registry) {
    reg.handle("park.scard.info", handler(info));
    reg.handle("park.scard.charge", handler(charge));
    reg.handle("park.scard.charge.list", handler(charge_list));
}
