//! Stored-value cards: balance (6.7), top-up (6.8) and top-up list (6.28).
//! Spending from the balance is `debit::debit_writes`, inside the parking
//! payment. A top-up is exactly-once by its idempotency key (`orderNo` or
//! `thirdPayId` when the client sends one), written with the card's new
//! balance in one transaction.

use super::input::{credential, limited, Credential};
use super::model::Card;
use super::monthly::{cards_named, drawn_once};
use super::payments::{duplicate, payment_key, TopUp, TopUpRow};
use super::store::{card_update, find_one, get_holder, list_top_ups, top_up_create, top_up_exists};
use crate::ids;
use chrono::NaiveDateTime;
use onecard_core::kit::{self, DateTime, Int, Money, Page, PayType, RouteDef, Text};
use onecard_core::retry::{on_conflict, Step};
use onecard_core::{ApiError, ApiResult, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

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

/// Tops up the stored-value card a credential names, exactly once per
/// idempotency key: each attempt re-reads the key first, so of racing identical
/// top-ups one commits and the others answer 511.
pub async fn top_up(ctx: &Ctx, branch: &str, kind: Credential, value: &str, r: &TopUpRequest, now: NaiveDateTime) -> ApiResult<TopUp> {
    if r.amount.0 <= 0 || r.amount > MAX_TOPUP {
        return Err(ApiError::field("payamount", format!("must be above 0 and at most {MAX_TOPUP}")));
    }
    let fresh_key = format!("G:{}", uuid::Uuid::new_v4().simple());
    let key = &payment_key(r.order_no.as_deref(), r.third_pay_id.as_deref(), || fresh_key.clone());
    let seq_no = &Mutex::new(None);
    on_conflict("park.scard.charge", || async move {
        if top_up_exists(ctx, branch, key).await? {
            return Err(duplicate(key));
        }
        let card = find_one(ctx, branch, kind, value, |c| c.parking && c.is_stored_value()).await?;
        let c = &card.value;
        let seq = drawn_once(seq_no, ids::next_id(ctx, branch, "scardtopup")).await?;
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
        let writes = vec![card_update(branch, &card, &next), top_up_create(branch, &record)];
        Step::of(ctx.store.transact(writes).await, record)
    })
    .await
}

/// 6.7 input.
#[derive(Deserialize, JsonSchema)]
pub struct InfoIn {
    /// 1 plate, 2 card number.
    #[serde(rename = "credentialtype", alias = "credentialType", alias = "CredentialType")]
    pub kind: Int,
    #[serde(rename = "credential", alias = "Credential")]
    pub value: Text,
}

/// 6.7 output.
#[derive(Serialize, JsonSchema)]
pub struct InfoOut {
    pub name: String,
    pub balance: Money,
    pub carno: String,
}

async fn info(ctx: Ctx, req: Req, input: InfoIn) -> ApiResult<InfoOut> {
    let b = req.branchno();
    let (kind, value) = credential("credentialtype", input.kind, input.value, &CREDENTIALS)?;
    let card = find_one(&ctx, b, kind, &value, |c| c.parking && c.is_stored_value()).await?.value;
    let holder = get_holder(&ctx, b, &card.user_no).await?;
    Ok(InfoOut { name: holder.map(|h| h.name).unwrap_or_default(), balance: Money(card.balance), carno: card.first_plate().to_string() })
}

/// 6.8 input, with the optional idempotency fields.
#[derive(Deserialize, JsonSchema)]
pub struct ChargeIn {
    /// 1 plate, 2 card number.
    #[serde(rename = "credentialtype", alias = "credentialType", alias = "CredentialType")]
    pub kind: Int,
    #[serde(rename = "credential", alias = "Credential")]
    pub value: Text,
    /// Above 0, at most 100 000.00.
    pub payamount: Money,
    /// Makes a repeat answer 511 rather than top up again.
    #[serde(rename = "orderNo")]
    pub order_no: Option<Text>,
    #[serde(rename = "thirdPayId")]
    pub third_pay_id: Option<Text>,
    /// Cash (2) by default.
    #[serde(rename = "paytype", alias = "payType")]
    pub pay_type: Option<PayType>,
}

/// 6.8 output.
#[derive(Serialize, JsonSchema)]
pub struct ChargeOut {
    /// Always "1": a failure is an error answer.
    pub flag: &'static str,
    pub memo: String,
}

async fn charge(ctx: Ctx, req: Req, input: ChargeIn) -> ApiResult<ChargeOut> {
    let (kind, value) = credential("credentialtype", input.kind, input.value, &CREDENTIALS)?;
    let r = TopUpRequest {
        amount: input.payamount.fen(),
        order_no: limited("orderNo", input.order_no, 64)?,
        third_pay_id: limited("thirdPayId", input.third_pay_id, 64)?,
        pay_type: input.pay_type.map(|t| t.0),
    };
    let rec = top_up(&ctx, req.branchno(), kind, &value, &r, req.now).await?;
    Ok(ChargeOut { flag: "1", memo: format!("余额 {}", rec.after) })
}

pub async fn list_topups(ctx: &Ctx, branch: &str) -> ApiResult<Vec<TopUp>> {
    list_top_ups(ctx, branch).await
}

/// 6.28 input: every filter optional; a credential names the card(s).
#[derive(Deserialize, JsonSchema)]
pub struct ChargeListIn {
    /// 1 plate, 2 card number; required with `Credential`.
    #[serde(rename = "CredentialType", alias = "credentialtype", alias = "credentialType")]
    pub kind: Option<Int>,
    #[serde(rename = "Credential", alias = "credential")]
    pub value: Option<Text>,
    #[serde(rename = "ChargeTimeStart")]
    pub from: Option<DateTime>,
    #[serde(rename = "ChargeTimeEnd")]
    pub to: Option<DateTime>,
}

async fn charge_list(ctx: Ctx, req: Req, input: ChargeListIn) -> ApiResult<Page<TopUpRow>> {
    let b = req.branchno();
    let only: Option<Vec<String>> = match input.value {
        Some(value) => {
            let code = input.kind.ok_or_else(|| ApiError::missing("CredentialType"))?;
            let (kind, value) = credential("CredentialType", code, value, &CREDENTIALS)?;
            Some(cards_named(&ctx, b, kind, &value).await?)
        }
        None => None,
    };
    let (from, to) = (input.from.map(DateTime::get), input.to.map(DateTime::get));
    kit::check_open_window(from, to, "ChargeTimeEnd")?;
    let rows = list_topups(&ctx, b)
        .await?
        .into_iter()
        .filter(|t| only.as_ref().is_none_or(|cards| cards.contains(&t.card_no)))
        .filter(|t| from.is_none_or(|f| t.at >= f) && to.is_none_or(|e| t.at <= e))
        .map(|t| t.to_row())
        .collect();
    Ok(req.page(rows))
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("park.scard.info", info),
        kit::write("park.scard.charge", charge),
        kit::read("park.scard.charge.list", charge_list),
    ]
}
