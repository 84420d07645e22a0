//! Monthly cards: information and quote (6.5), payment orders (6.39), renewal
//! (6.6) and the renewal list (6.35).
//!
//! A renewal is one transaction: the card's new expiry (`VersionIs`), the
//! renewal record under its idempotency key (`MustNotExist`), the order marked
//! paid (`VersionIs`) when there is one, and the 13.5 push in the outbox. So a
//! renewal happens once whatever the concurrency, and a repeat answers 511.
//!
//! A renewal continues from the stored expiry even when it has passed: the
//! seed quotes `newexpirydate` as `expirydate` plus the months, and 6.37's
//! `RestrictDaysToMCardExpiration` exists because late renewals do so.

use super::catalog::{month_fee_by_id, MonthFee};
use super::input::{credential, limited, Credential};
use super::model::{Card, Holder};
use super::months::{add_months, fee, span, sub_months, MAX_MONTHS};
use super::payments::{duplicate, payment_key, MonthCharge, MonthChargeRow, MonthOrder, OrderStatus};
use super::store::{
    card_update, find_cards, find_one, get_holder, list_cards, list_month_charges, month_charge_create, month_charge_exists,
    month_order_create, month_order_update, month_order_versioned, Versioned,
};
use crate::ids;
use chrono::{NaiveDateTime, TimeDelta};
use onecard_core::events::{outbox_write, publish_committed};
use onecard_core::kit::{self, DateTime, Flag, Int, Money, Page, PayType, Plate, RouteDef, Text};
use onecard_core::queue::OutEvent;
use onecard_core::retry::{on_conflict, Step};
use onecard_core::{ApiError, ApiResult, Code, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// 6.6's default payment type: mobile APP.
const DEFAULT_PAY_TYPE: i64 = -1;

const CREDENTIALS: [(i64, Credential); 3] = [(1, Credential::Plate), (2, Credential::CardNo), (3, Credential::UserNo)];

pub(super) async fn monthly_card(ctx: &Ctx, branch: &str, kind: Credential, value: &str) -> ApiResult<Versioned<Card>> {
    find_one(ctx, branch, kind, value, |c| c.parking && c.is_monthly()).await
}

pub(super) async fn tariff_of(ctx: &Ctx, branch: &str, card: &Card) -> ApiResult<MonthFee> {
    let id = card.month_tariff_id.ok_or_else(|| ApiError::failed(format!("card {} has no monthly tariff", card.card_no)))?;
    month_fee_by_id(ctx, branch, id).await?.ok_or_else(|| ApiError::failed(format!("monthly tariff {id} of card {} does not exist", card.card_no)))
}

/// A month count between `min` and `MAX_MONTHS`.
fn months(field: &str, n: Option<Int>, min: i64) -> ApiResult<Option<i64>> {
    let n = n.map(Int::get);
    if n.is_some_and(|n| n < min || n > MAX_MONTHS) {
        return Err(ApiError::field(field, format!("must be between {min} and {MAX_MONTHS} months")));
    }
    Ok(n)
}

/// 6.5 input.
#[derive(Deserialize, JsonSchema)]
pub struct InfoIn {
    /// 1 plate, 2 card number, 3 user number.
    #[serde(rename = "credentialtype", alias = "credentialType", alias = "CredentialType")]
    pub kind: Int,
    #[serde(rename = "credential", alias = "Credential")]
    pub value: Text,
    /// Months to quote (`newexpirydate`, and `monthlyrent` for that many).
    pub number: Option<Int>,
    /// 1: add whether the card's car is in the park (`InParkInfo`); any
    /// other value: not asked.
    #[serde(rename = "isGetInParkInfo")]
    pub in_park_info: Option<Text>,
}

/// 6.5's in-park information. The seed asks for it (`isGetInParkInfo` 1) but
/// prints no fields for it; these take the names 6.1 and 6.9 give the same
/// facts.
#[derive(Serialize, JsonSchema)]
pub struct InParkInfo {
    /// "1" in the park now, "0" not.
    #[serde(rename = "isInPark")]
    pub is_in_park: String,
    #[serde(rename = "cardInId", skip_serializing_if = "Option::is_none")]
    pub card_in_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entertime: Option<DateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parkposi: Option<String>,
}

/// 6.5 output.
#[derive(Serialize, JsonSchema)]
pub struct InfoOut {
    #[serde(rename = "UserNo")]
    pub user_no: String,
    pub name: String,
    pub monthlyrent: Money,
    pub tariffid: String,
    pub carno: String,
    pub expirydate: DateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newexpirydate: Option<DateTime>,
    #[serde(rename = "groupID", skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(rename = "groupCardNum", skip_serializing_if = "Option::is_none")]
    pub group_card_num: Option<String>,
    /// The spaces of the card's group (6.65).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub berth: Option<String>,
    /// Cards are paid one by one here (the CS system's basis).
    #[serde(rename = "chargeBy")]
    pub charge_by: &'static str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub in_park: Option<InParkInfo>,
}

async fn info(ctx: Ctx, req: Req, input: InfoIn) -> ApiResult<InfoOut> {
    let b = req.branchno();
    let (kind, value) = credential("credentialtype", input.kind, input.value, &CREDENTIALS)?;
    let number = months("number", input.number, 0)?;
    let card = monthly_card(&ctx, b, kind, &value).await?.value;
    let tariff = tariff_of(&ctx, b, &card).await?;
    let holder = get_holder(&ctx, b, &card.user_no).await?;
    let newexpirydate = match number.filter(|n| *n >= 1) {
        Some(n) => Some(DateTime(add_months(card.valid_to, n).ok_or_else(|| ApiError::field("number", "gives an expiry out of range"))?)),
        None => None,
    };
    let group_card_num = match &card.group_id {
        Some(g) => Some(list_cards(&ctx, b).await?.into_iter().filter(|c| c.group_id.as_ref() == Some(g)).count().to_string()),
        None => None,
    };
    let berth = match &card.group_id {
        Some(g) => super::berths::of_groups(&ctx, b).await?.get(g).map(i64::to_string),
        None => None,
    };
    let in_park = if input.in_park_info.as_deref().map(str::trim) == Some("1") {
        let now = super::in_park::in_park(&ctx, b, &card.plates, &card.card_no).await?;
        Some(match now {
            Some(p) => InParkInfo {
                is_in_park: "1".into(),
                card_in_id: Some(p.card_in_id),
                entertime: Some(DateTime(p.entry)),
                parkposi: Some(req.branch.areas.iter().find(|a| a.id == p.area).map(|a| a.name.clone()).unwrap_or(p.area)),
            },
            None => InParkInfo { is_in_park: "0".into(), card_in_id: None, entertime: None, parkposi: None },
        })
    } else {
        None
    };
    Ok(InfoOut {
        in_park,
        user_no: card.user_no.clone(),
        name: holder.map(|h| h.name).unwrap_or_default(),
        monthlyrent: Money(fee(tariff.charge, number.unwrap_or(1).max(1), 0)),
        tariffid: tariff.id.to_string(),
        carno: card.first_plate().to_string(),
        expirydate: DateTime(card.valid_to),
        newexpirydate,
        group_id: card.group_id.clone(),
        group_card_num,
        berth,
        charge_by: "0",
    })
}

/// What a renewal asks for (6.6 input, checked).
#[derive(Clone, Debug, Default)]
pub struct Renewal {
    pub months: Option<i64>,
    /// A new expiry date; its time of day is the card's current one.
    pub expiry: Option<NaiveDateTime>,
    pub pay_type: Option<i64>,
    pub order_no: Option<String>,
    pub third_pay_id: Option<String>,
    pub third_pay_time: Option<NaiveDateTime>,
    /// Renew every card of a group (`isGroupCharge`); `group_id` names it,
    /// else the group of the credential's card.
    pub group: bool,
    pub group_id: Option<String>,
}

/// 6.6 input.
#[derive(Deserialize, JsonSchema)]
pub struct ChargeIn {
    /// 1 plate, 2 card number, 3 user number.
    #[serde(rename = "credentialtype", alias = "credentialType", alias = "CredentialType")]
    pub kind: Int,
    #[serde(rename = "credential", alias = "Credential")]
    pub value: Text,
    /// Months to renew; this, `expirydate` or `orderNo` is required.
    pub number: Option<Int>,
    /// Renew up to this date (the card keeps its time of day).
    pub expirydate: Option<DateTime>,
    /// The seed's payType codes, and -1 (mobile APP, the default).
    #[serde(rename = "paytype", alias = "payType")]
    pub pay_type: Option<Int>,
    /// A 6.39 order to pay.
    #[serde(rename = "orderNo")]
    pub order_no: Option<Text>,
    #[serde(rename = "thirdPayId")]
    pub third_pay_id: Option<Text>,
    #[serde(rename = "thirdPayTime")]
    pub third_pay_time: Option<DateTime>,
    #[serde(rename = "isGroupCharge")]
    pub group: Option<Flag>,
    #[serde(rename = "groupID")]
    pub group_id: Option<Text>,
}

impl Renewal {
    fn from_input(i: ChargeIn) -> ApiResult<Renewal> {
        let pay_type = i.pay_type.map(Int::get);
        // 6.6 alone lists -1 among its pay types, which `kit::PayType` refuses.
        if pay_type.is_some_and(|t| t != DEFAULT_PAY_TYPE && !(0..=PayType::MAX).contains(&t)) {
            return Err(ApiError::field("paytype", format!("is not a pay type (-1, 0..{})", PayType::MAX)));
        }
        let r = Renewal {
            group: i.group.is_some_and(Flag::get),
            group_id: limited("groupID", i.group_id, 32)?,
            months: months("number", i.number, 1)?,
            expiry: i.expirydate.map(DateTime::get),
            pay_type,
            order_no: limited("orderNo", i.order_no, 64)?,
            third_pay_id: limited("thirdPayId", i.third_pay_id, 64)?,
            third_pay_time: i.third_pay_time.map(DateTime::get),
        };
        // With an order the months are the order's.
        if r.months.is_none() && r.expiry.is_none() && r.order_no.is_none() {
            return Err(ApiError::field("number", "either number or expirydate is required"));
        }
        Ok(r)
    }
}

/// What one card's renewal comes to.
pub(super) struct Planned {
    pub pre: NaiveDateTime,
    pub to: NaiveDateTime,
    pub months: i64,
    pub days: i64,
    pub receivable: Fen,
}

/// The new expiry, the span paid and the fee, per 6.6: months from the current
/// expiry; or up to a date, charged by months and days; or both, in which case
/// the date wins and the expiry before is taken as that date minus the months.
pub(super) fn plan(card: &Card, tariff: &MonthFee, r: &Renewal) -> ApiResult<Planned> {
    let cur = card.valid_to;
    let target = r.expiry.map(|e| e.date().and_time(cur.time()));
    match (r.months, target) {
        (Some(n), None) => {
            let to = add_months(cur, n).ok_or_else(|| ApiError::field("number", "gives an expiry out of range"))?;
            Ok(Planned { pre: cur, to, months: n, days: 0, receivable: fee(tariff.charge, n, 0) })
        }
        (None, Some(to)) => {
            if to <= cur {
                return Err(ApiError::field("expirydate", format!("must be after the current expiry {}", onecard_core::time::format(cur))));
            }
            let (m, d) = span(cur, to);
            if m > MAX_MONTHS {
                return Err(ApiError::field("expirydate", format!("extends by more than {MAX_MONTHS} months")));
            }
            Ok(Planned { pre: cur, to, months: m, days: d, receivable: fee(tariff.charge, m, d) })
        }
        (Some(n), Some(to)) => {
            if to <= cur {
                return Err(ApiError::field("expirydate", format!("must be after the current expiry {}", onecard_core::time::format(cur))));
            }
            let pre = sub_months(to, n).ok_or_else(|| ApiError::field("number", "gives an expiry out of range"))?;
            Ok(Planned { pre, to, months: n, days: 0, receivable: fee(tariff.charge, n, 0) })
        }
        (None, None) => Err(ApiError::field("number", "either number or expirydate is required")),
    }
}

pub(super) async fn charge_exists(ctx: &Ctx, branch: &str, key: &str) -> ApiResult<bool> {
    month_charge_exists(ctx, branch, key).await
}

/// The renewal record of card `c`; with an order, its amounts and payment
/// type are the order's.
#[allow(clippy::too_many_arguments)]
pub(super) fn charge_record(
    c: &Card,
    holder: Option<&Holder>,
    tariff: &MonthFee,
    key: &str,
    seq: i64,
    p: &Planned,
    r: &Renewal,
    order: Option<&MonthOrder>,
    now: NaiveDateTime,
) -> MonthCharge {
    let h = |f: &dyn Fn(&Holder) -> String| holder.map(f).unwrap_or_default();
    MonthCharge {
        seq_no: seq,
        key: key.to_string(),
        order_no: r.order_no.clone(),
        card_no: c.card_no.clone(),
        card_id: c.card_id.clone(),
        num_no: c.num_no.clone(),
        plates: c.plates.clone(),
        user_no: c.user_no.clone(),
        user_name: h(&|h| h.name.clone()),
        mobile: h(&|h| h.mobile().to_string()),
        company_name: h(&|h| h.field("CompanyName").to_string()),
        dept_id: h(&|h| h.field("DeptID").to_string()),
        tariff_id: Some(tariff.id),
        tariff_name: tariff.name.clone(),
        group_type: c.group_type,
        pay_month: p.months,
        pay_day: p.days,
        paid_at: now,
        pre_expiry: p.pre,
        cur_expiry: p.to,
        receivable: order.map(|o| o.receivable).unwrap_or(p.receivable),
        amount: order.map(|o| o.amount).unwrap_or(p.receivable),
        pay_type: r.pay_type.or(order.map(|o| o.pay_type)).unwrap_or(DEFAULT_PAY_TYPE),
        third_pay_id: r.third_pay_id.clone(),
        third_pay_time: r.third_pay_time,
        ws_no: order.and_then(|o| o.ws_no.clone()),
    }
}

/// The order a renewal pays, checked against the card and the request.
async fn order_to_pay(ctx: &Ctx, branch: &str, no: &str, card: &Card, r: &Renewal, now: NaiveDateTime) -> ApiResult<Versioned<MonthOrder>> {
    let o = month_order_versioned(ctx, branch, no)
        .await?
        .ok_or_else(|| ApiError::field("orderNo", format!("order {no} does not exist; create it with park.mcard.order.create")))?;
    if o.value.card_no != card.card_no {
        return Err(ApiError::field("orderNo", format!("order {no} is for card {}", o.value.card_no)));
    }
    if o.value.status == OrderStatus::Paid {
        return Err(duplicate(no));
    }
    if now > o.value.expires_at {
        return Err(ApiError::new(Code::ORDER_EXPIRED, format!("order {no} expired at {}", onecard_core::time::format(o.value.expires_at))));
    }
    if r.months.is_some_and(|m| m != o.value.pay_month) {
        return Err(ApiError::field("number", format!("order {no} is for {} month(s)", o.value.pay_month)));
    }
    Ok(o)
}

/// A number drawn at most once across the attempts of a write, so that a retry
/// after a lost race keeps it (and a refused request burns none).
pub(super) async fn drawn_once(cell: &Mutex<Option<i64>>, draw: impl std::future::Future<Output = ApiResult<i64>>) -> ApiResult<i64> {
    let have = *cell.lock().unwrap_or_else(|e| e.into_inner());
    match have {
        Some(n) => Ok(n),
        None => {
            let n = draw.await?;
            *cell.lock().unwrap_or_else(|e| e.into_inner()) = Some(n);
            Ok(n)
        }
    }
}

/// Renews the monthly card a credential names, exactly once per idempotency
/// key (see `payment_key`). 511 for a repeat, 510 for an expired order.
///
/// Each attempt re-reads the key first: of racing identical payments one
/// commits (the record is written `MustNotExist` with the card's `VersionIs`),
/// and the others, retried, find its record and answer 511.
pub async fn renew(ctx: &Ctx, branch: &str, kind: Credential, value: &str, r: &Renewal, now: NaiveDateTime) -> ApiResult<MonthCharge> {
    let fresh_key = format!("G:{}", uuid::Uuid::new_v4().simple());
    let key = &payment_key(r.order_no.as_deref(), r.third_pay_id.as_deref(), || fresh_key.clone());
    let seq_no = &Mutex::new(None);
    let (record, event) = on_conflict("park.mcard.charge", || async move {
        if charge_exists(ctx, branch, key).await? {
            return Err(duplicate(key));
        }
        let card = monthly_card(ctx, branch, kind, value).await?;
        let order = match &r.order_no {
            None => None,
            Some(no) => Some(order_to_pay(ctx, branch, no, &card.value, r, now).await?),
        };
        let tariff = tariff_of(ctx, branch, &card.value).await?;
        let wanted = Renewal { months: r.months.or(order.as_ref().map(|o| o.value.pay_month)), ..r.clone() };
        let p = plan(&card.value, &tariff, &wanted)?;
        let holder = get_holder(ctx, branch, &card.value.user_no).await?;
        let c = &card.value;
        let seq = drawn_once(seq_no, ids::next_id(ctx, branch, "mcardpay")).await?;
        let record = charge_record(c, holder.as_ref(), &tariff, key, seq, &p, r, order.as_ref().map(|o| &o.value), now);
        let next = Card { valid_to: p.to, ..c.clone() };
        let event = OutEvent::new(branch, "report/parkMonthlyCarCharge", record.to_push(), now);
        let mut writes = vec![card_update(branch, &card, &next), month_charge_create(branch, &record), outbox_write(&event)];
        if let Some(o) = &order {
            writes.push(month_order_update(branch, o, &MonthOrder { status: OrderStatus::Paid, ..o.value.clone() }));
        }
        Step::of(ctx.store.transact(writes).await, (record, event))
    })
    .await?;
    publish_committed(ctx, std::slice::from_ref(&event)).await;
    super::site_notify::card_changed(ctx, branch).await;
    Ok(record)
}

/// 6.6 output.
#[derive(Serialize, JsonSchema)]
pub struct ChargeOut {
    /// Always "1": a failure is an error answer.
    pub flag: &'static str,
    pub months: String,
    pub days: String,
    pub receivable: Money,
    pub memo: String,
}

async fn charge(ctx: Ctx, req: Req, input: ChargeIn) -> ApiResult<ChargeOut> {
    let (kind, value) = credential("credentialtype", input.kind, input.value.clone(), &CREDENTIALS)?;
    let r = Renewal::from_input(input)?;
    if r.group {
        let recs = super::group::renew_group(&ctx, req.branchno(), kind, &value, &r, req.now).await?;
        let total: Fen = recs.iter().map(|c| c.receivable).sum();
        return Ok(ChargeOut {
            flag: "1",
            months: recs[0].pay_month.to_string(),
            days: recs[0].pay_day.to_string(),
            receivable: Money(total),
            memo: format!("{} 张卡已续费", recs.len()),
        });
    }
    let rec = renew(&ctx, req.branchno(), kind, &value, &r, req.now).await?;
    Ok(ChargeOut {
        flag: "1",
        months: rec.pay_month.to_string(),
        days: rec.pay_day.to_string(),
        receivable: Money(rec.receivable),
        memo: format!("有效期至 {}", onecard_core::time::format(rec.cur_expiry)),
    })
}

/// Remark limit of 6.39: 25 Chinese or 50 Latin characters.
fn remark_width(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// 6.39 input.
#[derive(Deserialize, JsonSchema)]
pub struct OrderIn {
    /// 1 plate, 2 card number.
    #[serde(rename = "credentialType", alias = "credentialtype", alias = "CredentialType")]
    pub kind: Int,
    #[serde(rename = "credential", alias = "Credential")]
    pub value: Text,
    /// The seed prints the receivable as `aeceivable`.
    #[serde(rename = "aeceivable", alias = "receivable")]
    pub receivable: Money,
    pub amount: Money,
    #[serde(rename = "preExpireDate")]
    pub pre: DateTime,
    #[serde(rename = "currExpireDate")]
    pub cur: DateTime,
    /// Third-party payment (10) by default.
    #[serde(rename = "payType", alias = "paytype")]
    pub pay_type: Option<PayType>,
    #[serde(rename = "wsNo")]
    pub ws_no: Option<Text>,
    /// At most 25 Chinese or 50 Latin characters.
    pub remark: Option<Text>,
    #[serde(rename = "payMonth")]
    pub pay_month: Int,
}

/// 6.39 output.
#[derive(Serialize, JsonSchema)]
pub struct OrderOut {
    #[serde(rename = "orderNo")]
    pub order_no: String,
    #[serde(rename = "cardNo")]
    pub card_no: String,
    #[serde(rename = "cardId")]
    pub card_id: String,
}

async fn order_create(ctx: Ctx, req: Req, input: OrderIn) -> ApiResult<OrderOut> {
    let b = req.branchno();
    let (kind, value) = credential("credentialType", input.kind, input.value, &[(1, Credential::Plate), (2, Credential::CardNo)])?;
    let (receivable, amount) = (input.receivable.fen(), input.amount.fen());
    for (name, m) in [("aeceivable", receivable), ("amount", amount)] {
        if m.0 < 0 {
            return Err(ApiError::field(name, "must not be negative"));
        }
    }
    let (pre, cur) = (input.pre.get(), input.cur.get());
    let pay_month = months("payMonth", Some(input.pay_month), 1)?.unwrap_or(1);
    let remark = input.remark.map(String::from);
    if remark.as_deref().is_some_and(|r| remark_width(r) > 50) {
        return Err(ApiError::field("remark", "is longer than 25 Chinese or 50 Latin characters"));
    }
    let ws_no = limited("wsNo", input.ws_no, 64)?;
    let card = monthly_card(&ctx, b, kind, &value).await?.value;
    let tariff = tariff_of(&ctx, b, &card).await?;
    // The order must describe this card as it is: a stale or miscomputed order
    // would record one expiry and fee while the renewal applies another.
    if pre.date() != card.valid_to.date() {
        return Err(ApiError::field("preExpireDate", format!("the card expires {}", onecard_core::time::format(card.valid_to))));
    }
    let to = add_months(card.valid_to, pay_month).ok_or_else(|| ApiError::field("payMonth", "gives an expiry out of range"))?;
    if cur.date() != to.date() {
        return Err(ApiError::field("currExpireDate", format!("{pay_month} month(s) from the current expiry is {}", onecard_core::time::format(to))));
    }
    let due = fee(tariff.charge, pay_month, 0);
    if receivable != due {
        return Err(ApiError::field("aeceivable", format!("{pay_month} month(s) at {} cost {}", tariff.charge, due)));
    }
    let seq = ids::next_id(&ctx, b, "mcardorder").await?;
    let order = MonthOrder {
        order_no: format!("MC{}{:08}", req.now.format("%Y%m%d%H%M%S"), seq),
        card_no: card.card_no.clone(),
        receivable,
        amount,
        pre_expiry: card.valid_to,
        cur_expiry: to,
        pay_type: input.pay_type.unwrap_or_default().0,
        ws_no,
        remark,
        pay_month,
        created_at: req.now,
        expires_at: req.now + TimeDelta::minutes(req.branch.settings.order_minutes.max(1)),
        status: OrderStatus::Unpaid,
    };
    month_order_create(&ctx, b, &order).await?;
    Ok(OrderOut { order_no: order.order_no, card_no: card.card_no, card_id: card.card_id })
}

pub async fn list_charges(ctx: &Ctx, branch: &str) -> ApiResult<Vec<MonthCharge>> {
    list_month_charges(ctx, branch).await
}

/// 6.35 input: filters, combined.
#[derive(Deserialize, JsonSchema)]
pub struct ChargeListIn {
    #[serde(rename = "LicensePlateNo")]
    pub plate: Option<Plate>,
    /// Part of the holder's name.
    #[serde(rename = "FstName")]
    pub name: Option<Text>,
    #[serde(rename = "CardID")]
    pub card_id: Option<Text>,
    #[serde(rename = "NumNo")]
    pub num_no: Option<Text>,
    #[serde(rename = "PayDateTimeStart")]
    pub from: Option<DateTime>,
    #[serde(rename = "PayDateTimeEnd")]
    pub to: Option<DateTime>,
    /// The monthly tariff id.
    #[serde(rename = "ChargeType")]
    pub charge_type: Option<Int>,
    #[serde(rename = "CardGroupType")]
    pub group_type: Option<Int>,
    #[serde(rename = "ChargeWorkStationNo")]
    pub ws_no: Option<Text>,
    #[serde(rename = "DeptID")]
    pub dept_id: Option<Text>,
}

async fn charge_list(ctx: Ctx, req: Req, input: ChargeListIn) -> ApiResult<Page<MonthChargeRow>> {
    let plate = input.plate.as_ref().map(|p| p.norm().to_string());
    let (from, to) = (input.from.map(DateTime::get), input.to.map(DateTime::get));
    kit::check_open_window(from, to, "PayDateTimeEnd")?;
    let num_no = input.num_no.as_ref().map(|v| kit::normalise_plate(v));
    let charge_type = input.charge_type.map(Int::get);
    let group_type = input.group_type.map(Int::get);
    let rows = list_charges(&ctx, req.branchno())
        .await?
        .into_iter()
        .filter(|c| plate.as_ref().is_none_or(|p| c.plates.contains(p)))
        .filter(|c| input.name.as_ref().is_none_or(|n| c.user_name.contains(n.as_str())))
        .filter(|c| input.card_id.as_ref().is_none_or(|v| c.card_id == v.as_str()))
        .filter(|c| num_no.as_ref().is_none_or(|v| &kit::normalise_plate(&c.num_no) == v))
        .filter(|c| from.is_none_or(|t| c.paid_at >= t) && to.is_none_or(|t| c.paid_at <= t))
        .filter(|c| charge_type.is_none_or(|t| c.tariff_id == Some(t)))
        .filter(|c| group_type.is_none_or(|g| c.group_type == Some(g)))
        .filter(|c| input.ws_no.as_ref().is_none_or(|w| c.ws_no.as_deref() == Some(w.as_str())))
        .filter(|c| input.dept_id.as_ref().is_none_or(|v| c.dept_id == v.as_str()))
        .map(|c| c.to_row())
        .collect();
    Ok(req.page(rows))
}

/// The cards a credential names, for list filters that accept one.
pub async fn cards_named(ctx: &Ctx, branch: &str, kind: Credential, value: &str) -> ApiResult<Vec<String>> {
    Ok(find_cards(ctx, branch, kind, value).await?.into_iter().map(|c| c.value.card_no).collect())
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("park.mcard.info", info),
        kit::write("park.mcard.charge", charge),
        kit::write("park.mcard.order.create", order_create),
        kit::read("park.mcard.charge.list", charge_list),
    ]
}
