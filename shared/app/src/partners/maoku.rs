//! Maoku (11.14-11.19): a mall platform that queries fees and notifies
//! payments. Data-only wire (decision 11): bare JSON in, `{resCode, resMsg,
//! ...}` out, errors included; amounts in fen.
//!
//! 11.14 quotes through 6.1 and keeps an order (`feeId`); the free minutes and
//! free amount Maoku passes become a deduction priced by the same tariff (the
//! fee now minus the fee `freeMinutes` earlier). 11.15 pays that order in the
//! 6.2 transaction under Maoku's `orderNo`, at most the deduction granted
//! below the fee (a waiver, `free_type`), once (decision 22).

use super::common::{self, first_answer, keep_answer, order_id, order_ref};
use super::settings;
use crate::keys;
use crate::park::fees;
use crate::park::orders;
use crate::park::payments::{commit_payment, Payment, Target};
use crate::park::stays::{self, Journal};
use chrono::Duration;
use onecard_core::kit::{self, CredentialType, DateTime, Int, PayType, Plate, RouteDef, Text};
use onecard_core::{ApiError, ApiResult, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const PARTNER: &str = "maoku";

/// Maoku's refusal: `resCode` 1 with the reason.
fn refusal(e: &ApiError) -> Value {
    json!({"resCode": 1, "resMsg": e.message})
}

/// The plate; the barcode alternative is "not implemented" in the seed too.
fn plate_of(plate: Option<Plate>, barcode: Option<Text>) -> ApiResult<Plate> {
    match (plate, barcode) {
        (Some(p), _) => Ok(p),
        (None, Some(_)) => Err(ApiError::field("barcode", "is not supported (the seed leaves it unimplemented); send plateNo")),
        (None, None) => Err(ApiError::missing("plateNo")),
    }
}

/// 11.14 input.
#[derive(Deserialize, JsonSchema)]
pub struct FeeIn {
    #[serde(rename = "plateNo")]
    pub plate: Option<Plate>,
    pub barcode: Option<Text>,
    #[serde(rename = "freeMinutes")]
    pub free_minutes: Option<Int>,
    /// Fen.
    #[serde(rename = "freeAmount")]
    pub free_amount: Option<Int>,
}

/// 11.14 output; amounts in fen.
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct FeeOut {
    #[serde(rename = "resCode")]
    pub res_code: i64,
    #[serde(rename = "resMsg")]
    pub res_msg: String,
    #[serde(rename = "feeId")]
    pub fee_id: String,
    #[serde(rename = "entryTime")]
    pub entry_time: DateTime,
    #[serde(rename = "parkingMinutes")]
    pub parking_minutes: i64,
    #[serde(rename = "totalAmount")]
    pub total_amount: i64,
    #[serde(rename = "unPayAmount")]
    pub unpay_amount: i64,
    #[serde(rename = "deductionAmount")]
    pub deduction_amount: i64,
    #[serde(rename = "paidAmount")]
    pub paid_amount: i64,
    #[serde(rename = "offlineDeduction")]
    pub offline_deduction: String,
}

/// What 11.14 granted for a `feeId`: 11.15 may pay that much less.
#[derive(Serialize, Deserialize)]
struct Granted {
    deduction: i64,
}

async fn fee(ctx: Ctx, req: Req, input: FeeIn) -> ApiResult<FeeOut> {
    let plate = plate_of(input.plate, input.barcode)?;
    let free_minutes = input.free_minutes.map(Int::get).unwrap_or(0);
    let free_amount = input.free_amount.map(Int::get).unwrap_or(0);
    if free_minutes < 0 {
        return Err(ApiError::field("freeMinutes", "must not be negative"));
    }
    if free_amount < 0 {
        return Err(ApiError::field("freeAmount", "must not be negative"));
    }
    let b = req.branchno();
    let (stay, card, q) = fees::quote_credential(&ctx, &req.branch, CredentialType::Plate, plate.norm(), None, req.now).await?;
    // Free minutes are worth what the same tariff charges for the last
    // `freeMinutes` of the stay: the fee now minus the fee that much earlier.
    let by_minutes = if free_minutes == 0 || q.due == Fen::ZERO {
        Fen::ZERO
    } else {
        let earlier = req.now - Duration::minutes(free_minutes);
        if earlier <= q.calc_start || earlier < stay.entry {
            q.due
        } else {
            let q2 = fees::quote_stay(&ctx, &req.branch, &stay, q.car_type_id, card.as_ref(), earlier).await?;
            Fen(q.due.0 - q2.due.0).max0()
        }
    };
    let deduction = Fen((by_minutes.0 + free_amount).min(q.due.0));
    let order = fees::order_for(&stay, &q, req.now, req.branch.settings.order_minutes, None);
    let order = orders::create(&ctx, b, order).await?;
    let fee_id = order_id(&order);
    super::common::put_record(&ctx, b, PARTNER, format!("fee#{fee_id}"), &Granted { deduction: deduction.0 }, Some(2)).await?;
    Ok(FeeOut {
        res_code: 0,
        res_msg: String::new(),
        fee_id,
        entry_time: DateTime(stay.entry),
        parking_minutes: q.minutes,
        total_amount: q.fee.0,
        unpay_amount: q.due.0 - deduction.0,
        deduction_amount: deduction.0,
        paid_amount: stay.settled.0,
        offline_deduction: String::new(),
    })
}

/// 11.15 input; amounts in fen.
#[derive(Deserialize, JsonSchema)]
pub struct PayIn {
    #[serde(rename = "feeId")]
    pub fee_id: Text,
    /// Maoku's order number: the notification's identity (decision 22).
    #[serde(rename = "orderNo")]
    pub order_no: Text,
    #[serde(rename = "thirdTradeNo")]
    pub third_trade_no: Option<Text>,
    #[serde(rename = "plateNo")]
    pub plate: Option<Plate>,
    pub barcode: Option<Text>,
    #[serde(rename = "payTime")]
    pub pay_time: Option<DateTime>,
    #[serde(rename = "unPayAmount")]
    pub unpay_amount: Option<Int>,
    pub amount: Int,
    #[serde(rename = "deductionAmount")]
    pub deduction_amount: Option<Int>,
    #[serde(rename = "payChannel")]
    pub pay_channel: Option<Int>,
    #[serde(rename = "payType")]
    pub pay_type: Option<Int>,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct PayOut {
    #[serde(rename = "resCode")]
    pub res_code: i64,
    #[serde(rename = "resMsg")]
    pub res_msg: String,
}

/// Maoku's payType (0 zero-yuan, 1 Alipay, 2 UnionPay, 3 WeChat) as the
/// seed's payment type (5 Alipay, 4 UnionPay POS, 7 WeChat, 10 third party).
fn pay_type(code: Option<i64>) -> PayType {
    match code {
        Some(1) => PayType(5),
        Some(2) => PayType(4),
        Some(3) => PayType(7),
        _ => PayType::THIRD_PARTY,
    }
}

async fn pay(ctx: Ctx, req: Req, input: PayIn) -> ApiResult<PayOut> {
    let b = req.branchno();
    let amount = Fen(input.amount.get());
    if amount.0 < 0 {
        return Err(ApiError::field("amount", "must not be negative"));
    }
    let id = input.order_no.to_string();
    if let Some(first) = first_answer(&ctx, b, PARTNER, &id, amount, "amount").await? {
        return Ok(first);
    }
    let fee_id = input.fee_id.to_string();
    let (no, zero) = order_ref(&fee_id);
    let (order, _) = orders::get(&ctx, b, &no, zero).await?.ok_or_else(|| ApiError::field("feeId", format!("{fee_id} was never issued by 11.14")))?;
    if let Some(p) = &input.plate {
        if p.norm() != kit::normalise_plate(&order.plate) {
            return Err(ApiError::field("plateNo", format!("fee {fee_id} is for {}, not {}", order.plate, p.original())));
        }
    }
    let granted = match ctx.store.get(&keys::partner_records(b, PARTNER), &format!("fee#{fee_id}")).await? {
        Some(i) => Fen(i.parse::<Granted>()?.deduction),
        None => Fen::ZERO,
    };
    if amount > order.parkcost {
        return Err(ApiError::field("amount", format!("{} fen is more than the fee {} fen", amount.0, order.parkcost.0)));
    }
    if amount.0 + granted.0 < order.parkcost.0 {
        return Err(ApiError::field(
            "amount",
            format!("{} fen and the deduction of {} fen granted by 11.14 do not cover the fee {} fen", amount.0, granted.0, order.parkcost.0),
        ));
    }
    let p = Payment {
        ctype: CredentialType::Plate,
        credential: order.plate.clone(),
        target: if zero { Target::Calc(no.clone()) } else { Target::Order(no.clone()) },
        parkcost: order.parkcost,
        amount,
        pay_type: pay_type(input.pay_type.map(Int::get)),
        partial: false,
        free_type: (amount < order.parkcost).then(|| "猫酷优惠".to_string()),
        trade_no: Some(format!("{PARTNER}:{id}")),
        trade_time: input.pay_time.map(|t| kit::stamp(t.get())),
        ws_no: None,
        oper_id: input.third_trade_no.map(String::from),
    };
    let answer = PayOut { res_code: 0, res_msg: "成功".into() };
    match commit_payment(&ctx, &req.branch, &p, req.now).await {
        Ok(_) => {}
        Err(e) if common::is_duplicate(&e) => return common::answer_of_winner(&ctx, b, PARTNER, &id, amount, "amount").await,
        Err(e) => return Err(e),
    }
    keep_answer(&ctx, b, PARTNER, &id, amount, &answer).await?;
    Ok(answer)
}

/// 11.16 input.
#[derive(Deserialize, JsonSchema)]
pub struct TrafficIn {
    #[serde(rename = "startTime")]
    pub start: DateTime,
    #[serde(rename = "endTime")]
    pub end: DateTime,
}

#[derive(Serialize, JsonSchema)]
pub struct TrafficOut {
    #[serde(rename = "resCode")]
    pub res_code: i64,
    #[serde(rename = "resMsg")]
    pub res_msg: String,
    #[serde(rename = "inNum")]
    pub in_num: usize,
    #[serde(rename = "outNum")]
    pub out_num: usize,
}

/// Counts from the entry and exit journals of 9.1/9.2; a count, not a list,
/// so the seed's three-year example window is served.
async fn traffic(ctx: Ctx, req: Req, input: TrafficIn) -> ApiResult<TrafficOut> {
    let (from, to) = (input.start.get(), input.end.get());
    if to < from {
        return Err(ApiError::field("endTime", "is before startTime"));
    }
    let b = req.branchno();
    Ok(TrafficOut {
        res_code: 0,
        res_msg: String::new(),
        in_num: stays::count_in_window(&ctx, b, Journal::Entries, from, to).await?,
        out_num: stays::count_in_window(&ctx, b, Journal::Exits, from, to).await?,
    })
}

#[derive(Serialize, JsonSchema)]
pub struct FreeRow {
    #[serde(rename = "parkId")]
    pub park_id: String,
    #[serde(rename = "parkName")]
    pub park_name: String,
    #[serde(rename = "freeSpaceNum")]
    pub free: i64,
}

#[derive(Serialize, JsonSchema)]
pub struct ListOut<T> {
    #[serde(rename = "resCode")]
    pub res_code: i64,
    #[serde(rename = "resMsg")]
    pub res_msg: String,
    pub data: T,
}

/// 11.17: the 6.3 count of the car park.
async fn free_spaces(ctx: Ctx, req: Req, _: kit::Empty) -> ApiResult<ListOut<Vec<FreeRow>>> {
    let s = settings::get_or_default(ctx.store(), req.branchno(), PARTNER).await?;
    let (_, free) = common::spaces(&ctx, &req.branch).await?;
    let row = FreeRow { park_id: common::park_id(&s, &req.branch), park_name: req.branch.name.clone(), free };
    Ok(ListOut { res_code: 0, res_msg: String::new(), data: vec![row] })
}

#[derive(Deserialize, JsonSchema)]
pub struct LocIn {
    #[serde(rename = "plateNo")]
    pub plate: Plate,
}

#[derive(Serialize, JsonSchema)]
pub struct LocRow {
    #[serde(rename = "parkId")]
    pub park_id: String,
    #[serde(rename = "parkName")]
    pub park_name: String,
    pub area: String,
    #[serde(rename = "spaceNo")]
    pub space_no: String,
    #[serde(rename = "floorName")]
    pub floor_name: String,
    #[serde(rename = "plateNo")]
    pub plate: String,
    #[serde(rename = "carImage")]
    pub car_image: String,
    #[serde(rename = "entryTime")]
    pub entry_time: DateTime,
    #[serde(rename = "parkMinutes")]
    pub park_minutes: String,
}

#[derive(Serialize, JsonSchema)]
pub struct LocList {
    pub count: usize,
    pub list: Vec<LocRow>,
}

/// 11.18: where the car is, as far as the records know: its area and the
/// entry picture's URL. The space and floor come from parking guidance
/// (chapter 8), which has no detector data yet, so they are empty rather
/// than invented.
async fn car_location(ctx: Ctx, req: Req, input: LocIn) -> ApiResult<ListOut<LocList>> {
    let s = settings::get_or_default(ctx.store(), req.branchno(), PARTNER).await?;
    let stay = stays::find(&ctx, req.branchno(), CredentialType::Plate, input.plate.norm()).await?.map(|(s, _)| s);
    let mut list = Vec::new();
    if let Some(st) = stay {
        let car_image = common::picture_url(&ctx, st.photo_in.as_deref()).await;
        list.push(LocRow {
            park_id: common::park_id(&s, &req.branch),
            park_name: req.branch.name.clone(),
            area: req.branch.areas.iter().find(|a| a.id == st.area).map(|a| a.name.clone()).unwrap_or_else(|| st.area.clone()),
            space_no: String::new(),
            floor_name: String::new(),
            plate: st.display_plate(),
            car_image,
            entry_time: DateTime(st.entry),
            park_minutes: common::minutes(st.entry, req.now).to_string(),
        });
    }
    Ok(ListOut { res_code: 0, res_msg: String::new(), data: LocList { count: list.len(), list } })
}

#[derive(Deserialize, JsonSchema)]
pub struct SpaceIn {
    #[serde(rename = "floorName")]
    pub floor: Option<Text>,
}

#[derive(Serialize, JsonSchema)]
pub struct SpaceRow {
    #[serde(rename = "parkId")]
    pub park_id: String,
    #[serde(rename = "parkName")]
    pub park_name: String,
    pub area: String,
    #[serde(rename = "spaceNo")]
    pub space_no: String,
    #[serde(rename = "floorName")]
    pub floor_name: String,
    pub status: i64,
}

/// 11.19: per-space status needs space detectors (chapter 8), which report
/// nothing yet: the honest answer is no spaces, not invented ones.
async fn space_info(_ctx: Ctx, _req: Req, _input: SpaceIn) -> ApiResult<ListOut<Vec<SpaceRow>>> {
    Ok(ListOut { res_code: 0, res_msg: String::new(), data: Vec::new() })
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("maoku/Maoku.GetParkingPaymentInfo", fee).refusal(refusal),
        kit::write("maoku/Maoku.PayParkingFee", pay).refusal(refusal),
        kit::read("maoku/Maoku.GetTraffic", traffic).refusal(refusal),
        kit::read("maoku/Maoku.GetFreeSpaceNum", free_spaces).refusal(refusal),
        kit::read("maoku/Maoku.GetCarLocInfoList", car_location).refusal(refusal),
        kit::read("maoku/Maoku.GetSpaceInfo", space_info).refusal(refusal),
    ]
}
