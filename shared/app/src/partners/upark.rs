//! Upark 优停车 (11.1-11.7): monthly cards and temporary fees over the
//! chapter 5 envelope; `parkId` is echoed (the branch's configured Upark
//! `parkId`, else the branch number). Amounts are yuan as JSON numbers, as
//! the printed examples have them.
//!
//! Monthly renewals (11.2) are 6.6's (`park.mcard.charge`), temporary
//! payments (11.4, 11.5) the 6.2 transaction under Upark's `billSN`, each
//! once (decision 22).

use super::common::{self, call_route, first_answer, fen_of_yuan, keep_answer, yuan_number};
use super::settings::{self, PartnerSettings};
use crate::cards::{self, catalog, monthly, CardState};
use crate::lanes::presence;
use crate::park::fees;
use crate::park::hardware;
use crate::park::payments::{commit_payment, Payment, Target};
use crate::park::stays;
use chrono::NaiveDateTime;
use onecard_core::config::Branch;
use onecard_core::kit::{self, CredentialType, DateTime, Decimal, Int, Null, PayType, Plate, RouteDef, Text};
use onecard_core::link::action;
use onecard_core::{ApiError, ApiResult, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

const PARTNER: &str = "upark";

fn date(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d").to_string()
}

async fn park_id(ctx: &Ctx, branch: &Branch, given: Option<&Text>) -> ApiResult<(PartnerSettings, String)> {
    let s = settings::get_or_default(ctx.store(), &branch.branchno, PARTNER).await?;
    let id = given.map(|t| t.to_string()).unwrap_or_else(|| common::park_id(&s, branch));
    Ok((s, id))
}

/// The seed's examples send `parkId` as a number; it is echoed as given.
fn echo(id: &str) -> serde_json::Value {
    id.parse::<i64>().map(|n| json!(n)).unwrap_or_else(|_| json!(id))
}

#[derive(Deserialize, JsonSchema)]
pub struct PlateIn {
    #[serde(rename = "parkId")]
    pub park_id: Option<Text>,
    #[serde(rename = "carPlate")]
    pub plate: Plate,
}

#[derive(Serialize, JsonSchema)]
pub struct MCardInfo {
    #[serde(rename = "parkId")]
    pub park_id: serde_json::Value,
    #[serde(rename = "userName")]
    pub user_name: String,
    #[serde(rename = "carPlate")]
    pub plate: String,
    #[serde(rename = "beginDate")]
    pub begin: String,
    #[serde(rename = "endDate")]
    pub end: String,
    pub status: i64,
    #[serde(rename = "stopTime")]
    pub stop_time: String,
    #[serde(rename = "stopDays")]
    pub stop_days: i64,
    #[serde(rename = "endPayDate")]
    pub end_pay: String,
    #[serde(rename = "ruleName")]
    pub rule: String,
    #[serde(rename = "yearFee")]
    pub year: f64,
    #[serde(rename = "seasonFee")]
    pub season: f64,
    #[serde(rename = "monthFee")]
    pub month: f64,
    #[serde(rename = "dayFee")]
    pub day: f64,
}

/// 11.1. The card's monthly tariff has one price, per month: a quarter and
/// a year are three and twelve months of it, and there is no day price (0,
/// as the seed's example prints).
async fn mcard_info(ctx: Ctx, req: Req, input: PlateIn) -> ApiResult<MCardInfo> {
    let b = req.branchno();
    let (_, pid) = park_id(&ctx, &req.branch, input.park_id.as_ref()).await?;
    let card = cards::card_for_plate(&ctx, b, input.plate.norm())
        .await?
        .filter(|c| c.is_monthly() && c.state != CardState::Cancelled)
        .ok_or_else(|| ApiError::not_found(format!("no monthly card for {}", input.plate.original())))?;
    let holder = cards::store::get_holder(&ctx, b, &card.user_no).await?;
    let fee = match card.month_tariff_id {
        Some(id) => catalog::month_fee_by_id(&ctx, b, id).await?,
        None => None,
    };
    let last_paid = monthly::list_charges(&ctx, b).await?.into_iter().filter(|c| c.card_no == card.card_no).map(|c| c.paid_at).max();
    let monthly = fee.as_ref().map(|f| f.charge).unwrap_or(Fen::ZERO);
    Ok(MCardInfo {
        park_id: echo(&pid),
        user_name: holder.map(|h| h.name).unwrap_or_default(),
        plate: input.plate.original().to_string(),
        begin: date(card.valid_from),
        end: date(card.valid_to),
        status: if card.state == CardState::Active { 1 } else { 0 },
        stop_time: String::new(),
        stop_days: 0,
        end_pay: date(last_paid.unwrap_or(card.issued_at)),
        rule: fee.map(|f| f.name).unwrap_or_default(),
        year: yuan_number(Fen(monthly.0 * 12)),
        season: yuan_number(Fen(monthly.0 * 3)),
        month: yuan_number(monthly),
        day: 0.0,
    })
}

/// 11.2 input.
#[derive(Deserialize, JsonSchema)]
pub struct MCardPayIn {
    #[serde(rename = "parkId")]
    pub park_id: Option<Text>,
    #[serde(rename = "carPlate")]
    pub plate: Plate,
    /// 0 day, 1 month, 2 quarter, 3 year.
    #[serde(rename = "payStandard")]
    pub standard: Int,
    #[serde(rename = "payCount")]
    pub count: Int,
    #[serde(rename = "needPay")]
    pub need_pay: Decimal,
    #[serde(rename = "actualPay")]
    pub actual_pay: Decimal,
    #[serde(rename = "beginDate")]
    pub begin: Text,
    #[serde(rename = "endDate")]
    pub end: Text,
    #[serde(rename = "payTime")]
    pub pay_time: DateTime,
    pub remark: Option<Text>,
    #[serde(rename = "billSN")]
    pub bill: Option<Text>,
}

fn day(field: &str, t: &Text) -> ApiResult<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(t.as_str(), "%Y-%m-%d").map_err(|_| ApiError::field(field, format!("'{}' is not a date yyyy-MM-dd", t.as_str())))
}

/// Upark's bill number identifies the notification; the seed's examples
/// leave it empty, and then the plate and payment time do.
fn bill_id(bill: Option<&Text>, plate: &Plate, pay_time: NaiveDateTime) -> String {
    match bill {
        Some(b) => b.to_string(),
        None => format!("{}@{}", plate.norm(), kit::stamp(pay_time)),
    }
}

/// 11.2: a renewal up to `endDate`, through 6.6.
async fn mcard_pay(ctx: Ctx, req: Req, input: MCardPayIn) -> ApiResult<Null> {
    let b = req.branchno();
    if !(0..=3).contains(&input.standard.get()) {
        return Err(ApiError::field("payStandard", "is not 0 (day), 1 (month), 2 (quarter) or 3 (year)"));
    }
    if input.count.get() < 1 {
        return Err(ApiError::field("payCount", "must be at least 1"));
    }
    let _need = fen_of_yuan("needPay", input.need_pay.0)?;
    let actual = fen_of_yuan("actualPay", input.actual_pay.0)?;
    let (begin, end) = (day("beginDate", &input.begin)?, day("endDate", &input.end)?);
    if end < begin {
        return Err(ApiError::field("endDate", "is before beginDate"));
    }
    let id = format!("mcard:{}", bill_id(input.bill.as_ref(), &input.plate, input.pay_time.get()));
    if first_answer::<serde_json::Value>(&ctx, b, PARTNER, &id, actual, "actualPay").await?.is_some() {
        return Ok(Null);
    }
    let data = json!({
        "credentialtype": 1,
        "credential": input.plate.norm(),
        "expirydate": format!("{end} 23:59:59"),
        "payType": PayType::THIRD_PARTY.0,
        "thirdPayId": format!("{PARTNER}:{id}"),
        "thirdPayTime": kit::stamp(input.pay_time.get()),
    });
    match call_route(&ctx, &req.branch, monthly::routes(), "park.mcard.charge", data).await {
        Ok(_) => {}
        Err(e) if common::is_duplicate(&e) => {
            return common::answer_of_winner::<serde_json::Value>(&ctx, b, PARTNER, &id, actual, "actualPay").await.map(|_| Null)
        }
        Err(e) => return Err(e),
    }
    keep_answer(&ctx, b, PARTNER, &id, actual, &Null).await?;
    Ok(Null)
}

#[derive(Serialize, JsonSchema)]
pub struct TChargeInfo {
    #[serde(rename = "parkId")]
    pub park_id: serde_json::Value,
    pub parkname: String,
    #[serde(rename = "carPlate")]
    pub plate: String,
    #[serde(rename = "inTime")]
    pub in_time: DateTime,
    #[serde(rename = "parkDuration")]
    pub duration: i64,
    pub fee: f64,
}

/// 11.3: 6.1's quote at the server clock.
async fn tcharge_info(ctx: Ctx, req: Req, input: PlateIn) -> ApiResult<TChargeInfo> {
    let (_, pid) = park_id(&ctx, &req.branch, input.park_id.as_ref()).await?;
    let (stay, _, q) = fees::quote_credential(&ctx, &req.branch, CredentialType::Plate, input.plate.norm(), None, req.now).await?;
    Ok(TChargeInfo {
        park_id: echo(&pid),
        parkname: req.branch.name.clone(),
        plate: stay.display_plate(),
        in_time: DateTime(stay.entry),
        duration: common::minutes(stay.entry, req.now),
        fee: yuan_number(q.due),
    })
}

/// 11.4 input.
#[derive(Deserialize, JsonSchema)]
pub struct AppPayIn {
    #[serde(rename = "parkId")]
    pub park_id: Option<Text>,
    #[serde(rename = "carPlate")]
    pub plate: Plate,
    #[serde(rename = "needPay")]
    pub need_pay: Decimal,
    #[serde(rename = "actualPay")]
    pub actual_pay: Decimal,
    #[serde(rename = "payTime")]
    pub pay_time: DateTime,
    pub remark: Option<Text>,
    #[serde(rename = "billSN")]
    pub bill: Option<Text>,
}

/// Pays what is due now for a plate (6.2 without an order: the fee is
/// priced again and must be the `needPay` Upark shows).
async fn pay_plate(ctx: &Ctx, branch: &Branch, plate: &str, need: Fen, actual: Fen, trade: String, at: NaiveDateTime, now: NaiveDateTime) -> ApiResult<()> {
    if actual < need {
        return Err(ApiError::field("actualPay", format!("{} yuan is less than needPay {} yuan", actual.yuan(), need.yuan())));
    }
    let p = Payment {
        ctype: CredentialType::Plate,
        credential: plate.to_string(),
        target: Target::Reprice,
        parkcost: need,
        amount: need,
        pay_type: PayType::THIRD_PARTY,
        partial: false,
        free_type: None,
        trade_no: Some(trade),
        trade_time: Some(kit::stamp(at)),
        ws_no: None,
        oper_id: None,
    };
    commit_payment(ctx, branch, &p, now).await.map(|_| ()).map_err(|e| {
        // The order-less commit names `parkcost`; Upark's field is needPay.
        if e.message.contains("parkcost") { ApiError::field("needPay", e.message.replace("parkcost", "needPay")) } else { e }
    })
}

async fn app_pay(ctx: Ctx, req: Req, input: AppPayIn) -> ApiResult<Null> {
    let b = req.branchno();
    let need = fen_of_yuan("needPay", input.need_pay.0)?;
    let actual = fen_of_yuan("actualPay", input.actual_pay.0)?;
    let id = format!("temp:{}", bill_id(input.bill.as_ref(), &input.plate, input.pay_time.get()));
    if first_answer::<serde_json::Value>(&ctx, b, PARTNER, &id, actual, "actualPay").await?.is_some() {
        return Ok(Null);
    }
    match pay_plate(&ctx, &req.branch, input.plate.norm(), need, actual, format!("{PARTNER}:{id}"), input.pay_time.get(), req.now).await {
        Ok(()) => {}
        Err(e) if common::is_duplicate(&e) => {
            return common::answer_of_winner::<serde_json::Value>(&ctx, b, PARTNER, &id, actual, "actualPay").await.map(|_| Null)
        }
        Err(e) => return Err(e),
    }
    keep_answer(&ctx, b, PARTNER, &id, actual, &Null).await?;
    Ok(Null)
}

/// 11.5 input. The printed example has a stray quote; the table is this.
#[derive(Deserialize, JsonSchema)]
pub struct QrPayIn {
    #[serde(rename = "parkId")]
    pub park_id: Option<Text>,
    #[serde(rename = "deviceId")]
    pub device: Text,
    #[serde(rename = "actualPay")]
    pub actual_pay: Decimal,
    #[serde(rename = "payTime")]
    pub pay_time: DateTime,
    pub remark: Option<Text>,
    #[serde(rename = "billSN")]
    pub bill: Option<Text>,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct QrPayOut {
    #[serde(rename = "parkId")]
    pub park_id: serde_json::Value,
    #[serde(rename = "carPlate")]
    pub plate: String,
    #[serde(rename = "inTime")]
    pub in_time: String,
    #[serde(rename = "parkDuration")]
    pub duration: i64,
    #[serde(rename = "needPay")]
    pub need_pay: f64,
    #[serde(rename = "actualPay")]
    pub actual_pay: f64,
}

/// 11.5: the car at the lane `deviceId` paid by scanning its QR code; the
/// gate opens once the 6.2 transaction committed. A gate that does not
/// answer leaves the payment standing; the exit decision lets the car out
/// inside the grace when it is seen again.
async fn qr_pay(ctx: Ctx, req: Req, input: QrPayIn) -> ApiResult<QrPayOut> {
    let b = req.branchno();
    let (_, pid) = park_id(&ctx, &req.branch, input.park_id.as_ref()).await?;
    let actual = fen_of_yuan("actualPay", input.actual_pay.0)?;
    let c = hardware::controller(&req.branch, &input.device).map_err(|_| ApiError::field("deviceId", format!("'{}' is not a lane of this car park", input.device.as_str())))?.clone();
    let seen = presence::at_lane(&ctx, b, &c.device_id).await?.ok_or_else(|| ApiError::field("deviceId", "no car stands at this lane now"))?;
    let id = format!("qr:{}", input.bill.as_ref().map(|t| t.to_string()).unwrap_or_else(|| format!("{}@{}@{}", c.device_id, seen.plate, kit::stamp(input.pay_time.get()))));
    if let Some(first) = first_answer(&ctx, b, PARTNER, &id, actual, "actualPay").await? {
        return Ok(first);
    }
    let (stay, _, q) = fees::quote_credential(&ctx, &req.branch, CredentialType::Plate, &seen.plate, None, req.now).await?;
    match pay_plate(&ctx, &req.branch, &seen.plate, q.due, actual, format!("{PARTNER}:{id}"), input.pay_time.get(), req.now).await {
        Ok(()) => {}
        Err(e) if common::is_duplicate(&e) => return common::answer_of_winner(&ctx, b, PARTNER, &id, actual, "actualPay").await,
        Err(e) => return Err(e),
    }
    if let Err(e) = hardware::send(&ctx, &req, &c.device_id, action::GATE_OPEN, json!({}), hardware::deadline(&req)).await {
        tracing::warn!(branch = b, device = %c.device_id, error = %e.message, "Upark QR payment committed but the gate did not open");
    }
    let out = QrPayOut {
        park_id: echo(&pid),
        plate: stay.display_plate(),
        in_time: kit::stamp(stay.entry),
        duration: common::minutes(stay.entry, req.now),
        need_pay: yuan_number(q.due),
        actual_pay: yuan_number(actual),
    };
    keep_answer(&ctx, b, PARTNER, &id, actual, &out).await?;
    Ok(out)
}

#[derive(Deserialize, JsonSchema)]
pub struct ParkIn {
    #[serde(rename = "parkId")]
    pub park_id: Option<Text>,
}

#[derive(Serialize, JsonSchema)]
pub struct ParkInfo {
    #[serde(rename = "parkId")]
    pub park_id: serde_json::Value,
    pub parkname: String,
    pub address: String,
    pub coordinate: String,
    pub total_lot: i64,
    #[serde(rename = "Left_lot")]
    pub left_lot: i64,
    pub in_fixcars: i64,
    #[serde(rename = "Total_monthusers")]
    pub month_users: i64,
    pub in_tempcars: i64,
}

/// 11.6: spaces from 6.3; fixed cars are the cars in the park whose plate
/// has a valid monthly card now. Address and coordinates are Upark settings
/// (`onecard partners set --partner upark --id address=... --id coordinate=...`).
async fn park_info(ctx: Ctx, req: Req, input: ParkIn) -> ApiResult<ParkInfo> {
    let b = req.branchno();
    let (s, pid) = park_id(&ctx, &req.branch, input.park_id.as_ref()).await?;
    let (total, free) = common::spaces(&ctx, &req.branch).await?;
    let monthly: std::collections::HashSet<String> = cards::monthly_plates(&ctx, b).await?.into_iter().map(|(p, _)| p).collect();
    let in_park = stays::all_in_park(&ctx, b).await?;
    let fixed = in_park.iter().filter(|s| monthly.contains(&kit::normalise_plate(&s.plate))).count() as i64;
    Ok(ParkInfo {
        park_id: echo(&pid),
        parkname: req.branch.name.clone(),
        address: s.id("address").unwrap_or_default().to_string(),
        coordinate: s.id("coordinate").unwrap_or_default().to_string(),
        total_lot: total,
        left_lot: free,
        in_fixcars: fixed,
        month_users: monthly.len() as i64,
        in_tempcars: in_park.len() as i64 - fixed,
    })
}

/// 11.7 input: Upark's own paging (pageNo from 1).
#[derive(Deserialize, JsonSchema)]
pub struct AccountIn {
    #[serde(rename = "parkId")]
    pub park_id: Option<Text>,
    #[serde(rename = "beginDate")]
    pub begin: DateTime,
    #[serde(rename = "endDate")]
    pub end: DateTime,
    #[serde(rename = "pageNo")]
    pub page_no: Int,
    #[serde(rename = "pageSize")]
    pub page_size: Option<Int>,
}

#[derive(Serialize, JsonSchema)]
pub struct Bill {
    #[serde(rename = "userName")]
    pub user_name: String,
    #[serde(rename = "carPlate")]
    pub plate: String,
    pub mobile: String,
    /// -2 recharge (the example's reading of "充值-2").
    #[serde(rename = "rechargeType")]
    pub recharge_type: i64,
    pub paytime: String,
    #[serde(rename = "payType")]
    pub pay_type: i64,
    #[serde(rename = "actualPay")]
    pub actual_pay: f64,
    #[serde(rename = "payCount")]
    pub pay_count: i64,
    #[serde(rename = "payStandard")]
    pub pay_standard: i64,
    #[serde(rename = "beginDate")]
    pub begin: String,
    #[serde(rename = "endDate")]
    pub end: String,
    #[serde(rename = "billSN")]
    pub bill: String,
}

#[derive(Serialize, JsonSchema)]
pub struct AccountOut {
    #[serde(rename = "parkId")]
    pub park_id: serde_json::Value,
    pub parkname: String,
    #[serde(rename = "pageCnt")]
    pub page_cnt: i64,
    #[serde(rename = "itemCnt")]
    pub item_cnt: i64,
    #[serde(rename = "billLst")]
    pub bills: Vec<Bill>,
}

const DEFAULT_PAGE_SIZE: i64 = 20;

/// Upark's payType: cash -1, WeChat 2, Alipay 3; anything else is reported
/// as the seed's code.
fn upark_pay_type(seed: i64) -> i64 {
    match seed {
        0 => -1,
        7 => 2,
        5 => 3,
        n => n,
    }
}

/// 11.7: the 6.6 renewals paid in [beginDate, endDate).
async fn pay_account(ctx: Ctx, req: Req, input: AccountIn) -> ApiResult<AccountOut> {
    let (_, pid) = park_id(&ctx, &req.branch, input.park_id.as_ref()).await?;
    let (from, to) = (input.begin.get(), input.end.get());
    kit::check_open_window(Some(from), Some(to), "endDate")?;
    let page = input.page_no.get();
    if page < 1 {
        return Err(ApiError::field("pageNo", "starts from 1"));
    }
    let size = input.page_size.map(Int::get).unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=1000).contains(&size) {
        return Err(ApiError::field("pageSize", "must be 1-1000"));
    }
    let mut all: Vec<_> = monthly::list_charges(&ctx, req.branchno()).await?.into_iter().filter(|c| c.paid_at >= from && c.paid_at < to).collect();
    all.sort_by_key(|c| c.paid_at);
    let pages = (all.len() as i64 + size - 1) / size;
    let bills: Vec<Bill> = all
        .into_iter()
        .skip(((page - 1) * size) as usize)
        .take(size as usize)
        .map(|c| Bill {
            user_name: c.user_name.clone(),
            plate: c.plates.first().cloned().unwrap_or_else(|| c.num_no.clone()),
            mobile: c.mobile.clone(),
            recharge_type: -2,
            paytime: kit::stamp(c.paid_at),
            pay_type: upark_pay_type(c.pay_type),
            actual_pay: yuan_number(c.amount),
            pay_count: c.pay_month,
            pay_standard: 1,
            begin: date(c.pre_expiry),
            end: date(c.cur_expiry),
            bill: c.third_pay_id.as_deref().and_then(|t| t.strip_prefix("upark:mcard:")).unwrap_or(&c.key).to_string(),
        })
        .collect();
    Ok(AccountOut { park_id: echo(&pid), parkname: req.branch.name.clone(), page_cnt: pages, item_cnt: bills.len() as i64, bills })
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("Upark.GetMCardInfo", mcard_info),
        kit::write("Upark.SetMCardInfo", mcard_pay),
        kit::read("Upark.GetTChargeInfo", tcharge_info),
        kit::write("Upark.SetTChargeInfoByAPP", app_pay),
        kit::write("Upark.SetTChargeInfoByQr", qr_pay),
        kit::read("Upark.GetParkInfo", park_info),
        kit::read("Upark.GetMCardPayAccount", pay_account),
    ]
}
