//! What a stay costs now (tariff.md rules 6-8) and the `calc` route (6.1).
//!
//! `quote_stay` is pure reading: the lane decision (9.18) uses it without
//! creating anything. `calc` adds the order (fee above 0) or the calculation
//! record (fee 0) that `commit` pays.

use super::orders::{self, Order, UNPAID};
use super::stays::{self, Stay};
use super::tariffs;
use crate::park::cartype;
use crate::tariff::engine::{self, month_cover, within_grace, MonthCover};
use crate::tariff::{fee_detail, price_rule_text};
use chrono::{Duration, NaiveDateTime};
use onecard_core::config::Branch;
use onecard_core::{handler, ApiError, ApiResult, Ctx, Fen, Registry, Reply, Req};
use serde_json::json;

pub use engine::started_minutes;

/// What pricing needs to know about the car's card (rule 8).
#[derive(Clone, Debug, PartialEq)]
pub struct CardTerms {
    pub card_no: String,
    pub car_type_id: Option<i64>,
    /// Validity of a usable monthly card; None for other kinds or a card that
    /// is disabled or cancelled.
    pub monthly: Option<(NaiveDateTime, NaiveDateTime)>,
    /// The seed's FuncType of the card (26 monthly, 20 stored-value...).
    pub func_type: i64,
    pub state: crate::cards::CardState,
    pub stored_value: bool,
    pub balance: Fen,
    pub valid_from: NaiveDateTime,
    pub valid_to: NaiveDateTime,
}

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
    })
}

/// `calcendtime`: the sentinel (or nothing) means now.
pub fn end_time(req: &Req, name: &str) -> ApiResult<NaiveDateTime> {
    match req.data.opt_str(name)? {
        Some(s) if s == onecard_core::time::NOW_SENTINEL => Ok(req.now),
        Some(_) => req.data.time(name),
        None => Err(ApiError::missing(name)),
    }
}

pub fn credential_type(req: &Req, name: &str) -> ApiResult<i64> {
    match req.data.i64_or(name, 1)? {
        t @ (1 | 2) => Ok(t),
        t => Err(ApiError::field(name, format!("{t} is not a credential type (1 plate, 2 parking card)"))),
    }
}

async fn calc(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let d = &req.data;
    let b = req.branchno();
    let ctype = credential_type(&req, "credentialtype")?;
    let credential = d.str("credential")?;
    let end = end_time(&req, "calcendtime")?;
    let asked = d.opt_i64("carType")?;
    let pay_type = d.opt_i64("payType")?;
    let (stay, _) = stays::in_park(&ctx, b, ctype, &credential).await?.ok_or_else(|| stays::not_in_park(&credential))?;
    if end < stay.entry {
        return Err(ApiError::field(
            "calcendtime",
            format!("is before the entry time {}", onecard_core::time::format(stay.entry)),
        ));
    }
    let card = super::cardlink::card_terms_of_stay(&ctx, b, &stay).await?;
    let car_type_id = car_type_for(&ctx, b, asked, card.as_ref()).await?;
    let q = quote_stay(&ctx, &req.branch, &stay, car_type_id, card.as_ref(), end).await?;
    let order = Order {
        order_no: String::new(),
        zero: q.due == Fen::ZERO,
        card_in_id: stay.card_in_id.clone(),
        charge_seq_no: stay.payments.len() as i64 + 1,
        plate: stay.display_plate(),
        card_no: stay.card_no.clone(),
        car_type_id,
        entry: stay.entry,
        calc_start: q.calc_start,
        calc_end: end,
        parkcost: q.due,
        amount: q.due,
        base_settled: stay.settled,
        status: UNPAID,
        created_at: req.now,
        expires_at: req.now + Duration::minutes(req.branch.settings.order_minutes.max(1)),
        paid_at: None,
        pay_type,
        trade_no: None,
        trade_time: None,
        ws_no: d.opt_str("wsNo")?,
        oper_id: d.opt_str("operId")?,
        free_type: None,
        partial: false,
    };
    let order = orders::create(&ctx, b, order).await?;
    let area_name = req.branch.areas.iter().find(|a| a.id == stay.area).map(|a| a.name.clone()).unwrap_or_else(|| stay.area.clone());
    let mut out = json!({
        "numno": stay.numno(),
        "carno": stay.display_plate(),
        "cardNo": stay.card_no.clone().unwrap_or_default(),
        "cardId": stay.card_no.clone().unwrap_or_default(),
        "entertime": onecard_core::time::format(stay.entry),
        "parkposi": area_name,
        "parktime": q.minutes.to_string(),
        "parkcost": q.due.yuan(),
        "shoppingDiscount": "0.00",
        "billDiscount": "0.00",
        "scoreDiscount": "0.00",
        "amount": q.due.yuan(),
        "calcstarttime": onecard_core::time::format(q.calc_start),
        "calcendtime": onecard_core::time::format(end),
        "priceRule": q.price_rule,
        "feeDetail": q.fee_detail,
        "cardInId": stay.card_in_id,
        "chargeSeqNo": order.charge_seq_no.to_string(),
        "credentialtype": ctype.to_string(),
        "chargeAreaNumber": stay.area,
        "carType": car_type_id.to_string(),
    });
    if let Some(m) = out.as_object_mut() {
        // The seed: no order for a zero fee; `commit` takes the calcId instead.
        let key = if order.zero { "calcId" } else { "orderNo" };
        m.insert(key.into(), json!(order.order_no));
    }
    Ok(Reply::data(out))
}

pub fn register(reg: &mut Registry) {
    reg.handle("calc", handler(calc));
}
