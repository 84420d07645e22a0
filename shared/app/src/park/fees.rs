//! What a stay costs now (tariff.md rules 6-8) and the `calc` route (6.1).
//!
//! Dependencies run one way: this module uses orders, stays and the card link;
//! none of them uses it.
//!
//! `quote_stay` is pure reading: the lane decision (9.18) uses it without
//! creating anything. `calc` adds the order (fee above 0) or the calculation
//! record (fee 0) that `commit` pays, unless `calcendtime` lies in the past
//! (decision 14): then it only quotes.

use super::cardlink;
use super::orders::{self, Order, StaySeen};
use crate::discounts::car_index::{self, CarDiscounts};
use onecard_core::fields::normalize_plate;
use super::stays::{self, Stay};
use super::tariffs;
use crate::park::cartype;
use crate::tariff::engine::{self, month_cover, started_minutes, within_grace, MonthCover};
use crate::tariff::discount::Repricing;
use crate::tariff::{fee_detail, price_rule_text};
use chrono::{Duration, NaiveDateTime};
use onecard_core::config::Branch;
use onecard_core::kit::{self, CredentialType, DateTime, EndTime, Int, Money, OrderStatus, PayType, RouteDef, Text};
use onecard_core::{ApiError, ApiResult, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Pricing takes the card's terms; callers name them from here.
pub use super::cardlink::CardTerms;

#[derive(Clone, Debug, PartialEq)]
pub struct StayQuote {
    pub car_type_id: i64,
    pub end: NaiveDateTime,
    /// `calcstarttime`: the last payment, else the entry.
    pub calc_start: NaiveDateTime,
    /// `parktime`: started minutes of the whole stay.
    pub minutes: i64,
    /// The whole stay's fee, before what was paid.
    pub fee: Fen,
    /// `parkcost`: what is due now.
    pub due: Fen,
    /// A full payment's grace covers `end` (rule 7).
    pub in_grace: bool,
    /// A monthly card covers the whole stay (rule 8).
    pub monthly_free: bool,
    pub price_rule: String,
    pub fee_detail: String,
    /// What discounts that price the stay again need (rule 9); none for a
    /// monthly card's free stay or inside the grace.
    pub pricing: Option<Repricing>,
    /// The version of the stay priced, when read with it: an order made from
    /// this quote carries that stay (`Order::stay_seen`), so that paying it
    /// need not read the stay again.
    pub stay_version: Option<u64>,
}

/// Chooses the car type: the caller's (`carType`, -1 = none), else the card's,
/// else the branch default.
pub async fn car_type_for(ctx: &Ctx, branch: &str, asked: Option<i64>, card: Option<&CardTerms>) -> ApiResult<i64> {
    if let Some(id) = asked.filter(|id| *id != -1) {
        return match cartype::get(ctx, branch, id).await? {
            Some(t) => Ok(t.id),
            None => Err(ApiError::field("carType", format!("car type {id} does not exist"))),
        };
    }
    if let Some(id) = card.and_then(|c| c.car_type_id) {
        return Ok(id);
    }
    match cartype::default_type(ctx, branch).await? {
        Some(t) => Ok(t.id),
        None => Err(ApiError::failed("the car park has no default car type; pass carType")),
    }
}

/// Prices a stay up to `end` (rules 6-8). `end` must not be before the entry.
pub async fn quote_stay(
    ctx: &Ctx,
    branch: &Branch,
    stay: &Stay,
    car_type_id: i64,
    card: Option<&CardTerms>,
    end: NaiveDateTime,
) -> ApiResult<StayQuote> {
    let minutes = started_minutes(stay.entry, end);
    let calc_start = stay.last_paid_at().unwrap_or(stay.entry);
    let from = match card.and_then(|c| c.monthly).map(|(f, t)| month_cover(stay.entry, end, f, t)) {
        Some(MonthCover::Free) => {
            return Ok(StayQuote {
                car_type_id,
                end,
                calc_start,
                minutes,
                fee: Fen::ZERO,
                due: Fen::ZERO,
                in_grace: false,
                monthly_free: true,
                price_rule: "月卡车辆免费".into(),
                fee_detail: "月卡有效期内停车 0.00 元".into(),
                pricing: None,
                stay_version: None,
            })
        }
        Some(MonthCover::PriceFrom(t)) => t,
        Some(MonthCover::Temporary) | None => stay.entry,
    };
    let rec = tariffs::temp_tariff_for(ctx, &branch.branchno, &stay.area, car_type_id).await?.ok_or_else(|| {
        ApiError::failed(format!("no temporary tariff for car type {car_type_id} in area {}", stay.area))
    })?;
    let q = engine::price(&rec.tariff, from, end);
    let in_grace = stay.last_full_payment().is_some_and(|p| within_grace(p, end, branch.settings.grace_minutes));
    let due = if in_grace { Fen::ZERO } else { engine::due(q.fee, stay.settled) };
    Ok(StayQuote {
        car_type_id,
        end,
        calc_start,
        minutes,
        fee: q.fee,
        due,
        in_grace,
        monthly_free: false,
        price_rule: price_rule_text(&rec.tariff),
        fee_detail: fee_detail(&q),
        pricing: (!in_grace).then(|| Repricing { tariff: rec.tariff.clone(), from, end, settled: stay.settled }),
        stay_version: None,
    })
}

/// 6.1 input.
#[derive(Deserialize, JsonSchema)]
pub struct CalcIn {
    /// The seed marks it required, but callers have always been able to leave
    /// it out for a plate.
    #[serde(rename = "credentialtype")]
    pub credential_type: Option<CredentialType>,
    /// A plate or a parking card number, as `credentialtype` says.
    pub credential: Text,
    pub calcendtime: EndTime,
    /// -1 or absent: the car's card's type, else the branch default.
    #[serde(rename = "carType")]
    pub car_type: Option<Int>,
    #[serde(rename = "payType")]
    pub pay_type: Option<PayType>,
    #[serde(rename = "wsNo")]
    pub ws_no: Option<Text>,
    #[serde(rename = "operId")]
    pub oper_id: Option<Text>,
}

/// 6.1 output. The seed creates no order for a zero fee: `commit` takes the
/// `calcId` instead, so at most one of `orderNo` and `calcId` is answered
/// (neither for a quote of a past moment, decision 14).
#[derive(Serialize, JsonSchema)]
pub struct CalcOut {
    pub numno: String,
    pub carno: String,
    /// The seed's printed example spells it `carNo` (decision 17: both).
    #[serde(rename = "carNo")]
    pub car_no: String,
    #[serde(rename = "cardNo")]
    pub card_no: String,
    #[serde(rename = "cardId")]
    pub card_id: String,
    pub entertime: DateTime,
    pub parkposi: String,
    /// Started minutes of the whole stay.
    pub parktime: String,
    pub parkcost: Money,
    #[serde(rename = "shoppingDiscount")]
    pub shopping_discount: Money,
    #[serde(rename = "billDiscount")]
    pub bill_discount: Money,
    #[serde(rename = "scoreDiscount")]
    pub score_discount: Money,
    pub amount: Money,
    pub calcstarttime: DateTime,
    pub calcendtime: DateTime,
    #[serde(rename = "priceRule")]
    pub price_rule: String,
    #[serde(rename = "feeDetail")]
    pub fee_detail: String,
    #[serde(rename = "cardInId")]
    pub card_in_id: String,
    #[serde(rename = "chargeSeqNo")]
    pub charge_seq_no: String,
    #[serde(rename = "shoppingBillPolicy")]
    pub shopping_bill_policy: String,
    #[serde(rename = "credentialtype")]
    pub credential_type: CredentialType,
    #[serde(rename = "chargeAreaNumber")]
    pub charge_area_number: String,
    #[serde(rename = "carType")]
    pub car_type: String,
    #[serde(rename = "orderNo", skip_serializing_if = "Option::is_none")]
    pub order_no: Option<String>,
    #[serde(rename = "calcId", skip_serializing_if = "Option::is_none")]
    pub calc_id: Option<String>,
    #[serde(rename = "billDiscounts", skip_serializing_if = "Vec::is_empty")]
    pub bill_discounts: Vec<crate::discounts::wire::BillDiscountRow>,
    #[serde(rename = "shoppingBills", skip_serializing_if = "Vec::is_empty")]
    pub shopping_bills: Vec<crate::discounts::wire::ShoppingBillRow>,
    #[serde(rename = "scoreDiscounts", skip_serializing_if = "Vec::is_empty")]
    pub score_discounts: Vec<crate::discounts::wire::ScoreDiscountRow>,
}

/// Decision 14: a `calcendtime` more than this before the server clock asks
/// what a past moment cost. Paying that price would let a car leave having
/// paid for less time than it stood, so such a calc is a quote only.
pub const QUOTE_ONLY_AFTER_SECS: i64 = 60;

/// True when `end` lies so far in the past that `calc` may only quote it.
pub fn quote_only(end: NaiveDateTime, now: NaiveDateTime) -> bool {
    end < now - Duration::seconds(QUOTE_ONLY_AFTER_SECS)
}

/// The order a quote turns into once it is stored (calc) or paid at once
/// (a commit without `orderNo`, see `payments`). `order_no` is drawn when it is
/// written.
pub fn order_for(stay: &Stay, q: &StayQuote, now: NaiveDateTime, order_minutes: i64, pay_type: Option<PayType>) -> Order {
    Order {
        order_no: String::new(),
        zero: q.due == Fen::ZERO,
        card_in_id: stay.card_in_id.clone(),
        charge_seq_no: stay.payments.len() as i64 + 1,
        plate: stay.display_plate(),
        card_no: stay.card_no.clone(),
        car_type_id: q.car_type_id,
        entry: stay.entry,
        calc_start: q.calc_start,
        calc_end: q.end,
        parkcost: q.due,
        amount: q.due,
        base_settled: stay.settled,
        status: OrderStatus::Unpaid,
        created_at: now,
        expires_at: now + Duration::minutes(order_minutes.max(1)),
        paid_at: None,
        pay_type,
        trade_no: None,
        trade_time: None,
        ws_no: None,
        oper_id: None,
        free_type: None,
        partial: false,
        discounts: Default::default(),
        booking_no: None,
        stay_seen: q.stay_version.map(|version| StaySeen { stay: stay.clone(), version }),
    }
}

/// Prices the stay a credential names, up to `end`.
pub async fn quote_credential(
    ctx: &Ctx,
    branch: &Branch,
    ctype: CredentialType,
    credential: &str,
    car_type: Option<i64>,
    end: NaiveDateTime,
) -> ApiResult<(Stay, Option<CardTerms>, StayQuote)> {
    let found = quote_found(ctx, branch, ctype, credential, car_type, end, false).await?;
    Ok((found.stay, found.card, found.q))
}

/// A quote with what it was made from.
pub struct Quoted {
    pub stay: Stay,
    /// The stay's version as read.
    pub version: u64,
    pub card: Option<CardTerms>,
    pub q: StayQuote,
    /// The car's discount index, when read with the stay.
    pub discounts: Option<CarDiscounts>,
}

/// `quote_credential`, answering what the quote was made from; with
/// `discounts`, the car's discount index is read in the stay's first batch.
async fn quote_found(
    ctx: &Ctx,
    branch: &Branch,
    ctype: CredentialType,
    credential: &str,
    car_type: Option<i64>,
    end: NaiveDateTime,
    discounts: bool,
) -> ApiResult<Quoted> {
    let b = branch.branchno.as_str();
    // One batch for the index, the plate's card and the car's discounts, one
    // for the stay and its card (round trips, issue 11).
    let also = |plate: &str| if discounts { car_index::wanted(b, plate).to_vec() } else { Vec::new() };
    let ((stay, version), card, extra) =
        cardlink::find_stay_with_card_and(ctx, b, ctype, credential, also).await?.ok_or_else(|| stays::not_in_park(credential))?;
    if end < stay.entry {
        return Err(ApiError::field(
            "calcendtime",
            format!("is before the entry time {}", onecard_core::time::format(stay.entry)),
        ));
    }
    let discounts = match extra.filter(|items| discounts && !items.is_empty()) {
        Some(items) => CarDiscounts::from_items(&normalize_plate(credential), &items)?,
        None => None,
    };
    let car_type_id = car_type_for(ctx, b, car_type, card.as_ref()).await?;
    let mut q = quote_stay(ctx, branch, &stay, car_type_id, card.as_ref(), end).await?;
    q.stay_version = Some(version);
    Ok(Quoted { stay, version, card, q, discounts })
}

/// What `calc` stores and a commit without `orderNo` pays: the stay's quote
/// as an order, with the car's discounts (rule 9) and the stay as read
/// (`StayQuote::stay_version`).
#[allow(clippy::too_many_arguments)]
pub async fn priced_order(
    ctx: &Ctx,
    branch: &Branch,
    ctype: CredentialType,
    credential: &str,
    car_type: Option<i64>,
    end: NaiveDateTime,
    now: NaiveDateTime,
    pay_type: Option<PayType>,
) -> ApiResult<(Quoted, Order)> {
    let mut found = quote_found(ctx, branch, ctype, credential, car_type, end, true).await?;
    let mut order = order_for(&found.stay, &found.q, now, branch.settings.order_minutes, pay_type);
    let known = found.discounts.take();
    crate::discounts::at_calc(ctx, &branch.branchno, &found.stay, &found.q, &mut order, now, known).await?;
    Ok((found, order))
}

async fn calc(ctx: Ctx, req: Req, input: CalcIn) -> ApiResult<CalcOut> {
    let b = req.branchno();
    let ctype = input.credential_type.unwrap_or(CredentialType::Plate);
    let end = input.calcendtime.or_now(req.now);
    // The car's coupons, its merchant discounts and its plate discounts (rule 9).
    let (Quoted { stay, card, q, .. }, mut order) =
        priced_order(&ctx, &req.branch, ctype, input.credential.as_str(), input.car_type.map(Int::get), end, req.now, input.pay_type).await?;
    order.ws_no = input.ws_no.map(String::from);
    order.oper_id = input.oper_id.map(String::from);
    // What the caller may pay with: an order for a fee above 0. For a fee of 0
    // the seed makes no order (6.1 notes: "停车费为 0 时不生成订单") but 6.2
    // wants a `calcId` to open the exit grace, so a calculation record is kept
    // under that id instead; it is never listed or looked up as an order.
    // A quote of a past moment (decision 14) gets neither.
    let (order_no, calc_id) = if quote_only(end, req.now) {
        tracing::info!(branch = b, end = %end, now = %req.now, "calc of a past calcendtime answered as a quote only");
        (None, None)
    } else {
        let created = orders::create(&ctx, b, order.clone()).await?;
        order.order_no = created.order_no.clone();
        if created.zero {
            (None, Some(created.order_no))
        } else {
            (Some(created.order_no), None)
        }
    };
    let policy = crate::discounts::settings::get(&ctx, b).await?.shopping_policy;
    Ok(calc_out(&req.branch, &stay, card.as_ref(), &q, &order, ctype, policy, order_no, calc_id))
}

/// The 6.1 answer for a priced order: `calc`'s, and that of every route that
/// changes an order's discounts (6.30, 6.31, 6.40, 6.41, 6.43, 6.44).
#[allow(clippy::too_many_arguments)]
pub fn calc_out(
    branch: &Branch,
    stay: &Stay,
    card: Option<&CardTerms>,
    q: &StayQuote,
    order: &Order,
    ctype: CredentialType,
    shopping_policy: u8,
    order_no: Option<String>,
    calc_id: Option<String>,
) -> CalcOut {
    let area_name = branch.areas.iter().find(|a| a.id == stay.area).map(|a| a.name.clone()).unwrap_or_else(|| stay.area.clone());
    let (card_id, numno) = match card {
        Some(c) => (c.card_id.clone(), c.num_no.clone()),
        None => (stay.card_no.clone().unwrap_or_default(), stay.numno()),
    };
    let d = &order.discounts;
    CalcOut {
        numno,
        carno: stay.display_plate(),
        car_no: stay.display_plate(),
        card_no: stay.card_no.clone().or_else(|| card.map(|c| c.card_no.clone())).unwrap_or_default(),
        card_id,
        entertime: DateTime(stay.entry),
        parkposi: area_name,
        parktime: q.minutes.to_string(),
        parkcost: Money(q.due),
        shopping_discount: Money(d.shopping),
        bill_discount: Money(d.bill),
        score_discount: Money(d.score),
        amount: Money(order.amount),
        calcstarttime: DateTime(q.calc_start),
        calcendtime: DateTime(q.end),
        price_rule: q.price_rule.clone(),
        fee_detail: q.fee_detail.clone(),
        card_in_id: stay.card_in_id.clone(),
        charge_seq_no: (stay.payments.len() as i64 + 1).to_string(),
        shopping_bill_policy: shopping_policy.to_string(),
        credential_type: ctype,
        charge_area_number: stay.area.clone(),
        car_type: q.car_type_id.to_string(),
        order_no,
        calc_id,
        bill_discounts: d.bill_rows(),
        shopping_bills: d.ticket_rows(),
        score_discounts: d.score_rows(),
    }
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("calc", calc)]
}
