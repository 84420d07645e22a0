//! Jinying 金鹰 AppPort (11.8-11.11): the department store's app asks a car's
//! place and fee and pays it, possibly with several methods per payment flow
//! (`glideNo`). Data-only wire; bare `{shakeFlag, ...}` answers.
//!
//! - The fee is 6.1's. A fee query (commType 2) freezes the price for five
//!   minutes (the seed's "5 minutes of user payment time"): it issues a 6.1
//!   order that expires then; a payment after that answers shakeFlag 2
//!   (支付超时, 请重新提交) and the customer asks again.
//! - Jinying wants the fee split into day and night time and money. The
//!   split is of the one 6.1 quote, in proportion to the day and night
//!   minutes of the charged period (day window from the Jinying settings,
//!   `dayStart`/`dayEnd`, 08:00-20:00 by default): no second tariff.
//! - Every record of a flow is kept for reconciliation (item 9). Records
//!   paying with time (01 VIP time, 02 shopping receipt, 03 points) are worth
//!   their share of the quote; money records their amount. When a flow covers
//!   the quote, the order is paid in the 6.2 transaction under
//!   `jinying:{glideNo}`: the money collected, the rest waived by name.
//! - A reversal (11.11) withdraws a flow that has not paid the order yet; a
//!   paid 6.2 order has no refund path, so its reversal answers shakeFlag 0.

use super::common::{self, area_spaces};
use super::settings;
use crate::keys;
use crate::park::fees;
use crate::park::orders;
use crate::park::payments::{commit_payment, Payment, Target};
use crate::park::stays;
use chrono::NaiveTime;
use onecard_core::kit::{self, CredentialType, Decimal, Int, PayType, Plate, RouteDef, Text};
use onecard_core::retry::{self, Step};
use onecard_core::store::{Cond, Item};
use onecard_core::{ApiError, ApiResult, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const PARTNER: &str = "jinying";
/// The price freeze of a fee query.
const FREEZE_MINUTES: i64 = 5;

fn refusal_spaces(e: &ApiError) -> Value {
    json!({"resultCode": 0, "resultMessage": e.message, "result": []})
}

fn refusal(e: &ApiError) -> Value {
    json!({"shakeFlag": 0, "message": e.message})
}

#[derive(Deserialize, JsonSchema)]
pub struct SpacesIn {
    pub group_id: Text,
}

#[derive(Serialize, JsonSchema)]
pub struct FloorRow {
    #[serde(rename = "Floor")]
    pub floor: String,
    #[serde(rename = "Nums")]
    pub nums: i64,
}

#[derive(Serialize, JsonSchema)]
pub struct SpacesOut {
    #[serde(rename = "resultCode")]
    pub result_code: i64,
    #[serde(rename = "resultMessage")]
    pub result_message: String,
    pub result: Vec<FloorRow>,
}

/// The store code must be the branch's, when one is configured.
async fn check_store(ctx: &Ctx, req: &Req, field: &str, given: Option<&Text>) -> ApiResult<String> {
    let s = settings::get_or_default(ctx.store(), req.branchno(), PARTNER).await?;
    let mine = s.id("companyNo").map(str::to_string);
    match (given, &mine) {
        (Some(g), Some(m)) if g.as_str() != m => Err(ApiError::field(field, format!("'{}' is not this car park's store code", g.as_str()))),
        (Some(g), _) => Ok(g.to_string()),
        (None, m) => Ok(m.clone().unwrap_or_default()),
    }
}

/// 11.8: free spaces per floor: the areas of 6.3.
async fn spaces(ctx: Ctx, req: Req, input: SpacesIn) -> ApiResult<SpacesOut> {
    check_store(&ctx, &req, "group_id", Some(&input.group_id)).await?;
    let result = area_spaces(&ctx, &req.branch).await?.into_iter().map(|(floor, nums)| FloorRow { floor, nums }).collect();
    Ok(SpacesOut { result_code: 1, result_message: "查询每个楼层的余位成功".into(), result })
}

pub use crate::partner_hooks::paylater::split_minutes;

fn time_option(s: &settings::PartnerSettings, name: &str, default: &str) -> NaiveTime {
    let v = s.option(name).unwrap_or(default);
    NaiveTime::parse_from_str(v, "%H:%M").or_else(|_| NaiveTime::parse_from_str(default, "%H:%M")).unwrap_or_default()
}

/// A frozen fee quote of a plate.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Quote {
    order_no: String,
    zero: bool,
    due: i64,
    day_min: i64,
    night_min: i64,
    day_sum: i64,
    night_sum: i64,
    expires: String,
}

#[derive(Deserialize, JsonSchema)]
pub struct InfoIn {
    /// "1" place, "2" fee.
    #[serde(rename = "commType")]
    pub comm_type: Int,
    #[serde(rename = "carNo")]
    pub car: Plate,
}

#[derive(Serialize, JsonSchema)]
pub struct InfoOut {
    #[serde(rename = "shakeFlag")]
    pub shake_flag: i64,
    #[serde(rename = "commType")]
    pub comm_type: String,
    #[serde(rename = "carNo")]
    pub car_no: String,
    #[serde(rename = "companyNo")]
    pub company_no: String,
    #[serde(rename = "posNo")]
    pub pos_no: String,
    #[serde(rename = "beginTime", skip_serializing_if = "Option::is_none")]
    pub begin: Option<String>,
    #[serde(rename = "payTime", skip_serializing_if = "Option::is_none")]
    pub pay_time: Option<i64>,
    #[serde(rename = "dayTime", skip_serializing_if = "Option::is_none")]
    pub day_time: Option<i64>,
    #[serde(rename = "nightTime", skip_serializing_if = "Option::is_none")]
    pub night_time: Option<i64>,
    #[serde(rename = "daySum", skip_serializing_if = "Option::is_none")]
    pub day_sum: Option<f64>,
    #[serde(rename = "nightSum", skip_serializing_if = "Option::is_none")]
    pub night_sum: Option<f64>,
}

async fn info(ctx: Ctx, req: Req, input: InfoIn) -> ApiResult<InfoOut> {
    let b = req.branchno();
    let company = check_store(&ctx, &req, "companyNo", None).await?;
    let comm = input.comm_type.get();
    let (stay, _) = stays::find(&ctx, b, CredentialType::Plate, input.car.norm()).await?.ok_or_else(|| stays::not_in_park(input.car.original()))?;
    let pos = req.branch.areas.iter().find(|a| a.id == stay.area).map(|a| a.name.clone()).unwrap_or_else(|| stay.area.clone());
    let mut out = InfoOut {
        shake_flag: 1,
        comm_type: comm.to_string(),
        car_no: stay.display_plate(),
        company_no: company,
        pos_no: pos,
        begin: None,
        pay_time: None,
        day_time: None,
        night_time: None,
        day_sum: None,
        night_sum: None,
    };
    match comm {
        1 => return Ok(out),
        2 => {}
        n => return Err(ApiError::field("commType", format!("{n} is not 1 (place) or 2 (fee)"))),
    }
    let (stay, _, q) = fees::quote_credential(&ctx, &req.branch, CredentialType::Plate, input.car.norm(), None, req.now).await?;
    let s = settings::get_or_default(ctx.store(), b, PARTNER).await?;
    let (day_min, night_min) = split_minutes(q.calc_start, req.now, time_option(&s, "dayStart", "08:00"), time_option(&s, "dayEnd", "20:00"));
    let all = (day_min + night_min).max(1);
    let day_sum = Fen(q.due.0 * day_min / all);
    let night_sum = Fen(q.due.0 - day_sum.0);
    let order = orders::create(&ctx, b, fees::order_for(&stay, &q, req.now, FREEZE_MINUTES, Some(PayType::THIRD_PARTY))).await?;
    let quote = Quote {
        order_no: order.order_no.clone(),
        zero: order.zero,
        due: q.due.0,
        day_min,
        night_min,
        day_sum: day_sum.0,
        night_sum: night_sum.0,
        expires: kit::stamp(order.expires_at),
    };
    super::common::put_record(&ctx, b, PARTNER, format!("quote#{}", input.car.norm()), &quote, None).await?;
    out.begin = Some(kit::stamp(stay.entry));
    out.pay_time = Some(common::minutes(stay.entry, req.now));
    out.day_time = Some(day_min);
    out.night_time = Some(night_min);
    out.day_sum = Some(common::yuan_number(day_sum));
    out.night_sum = Some(common::yuan_number(night_sum));
    Ok(out)
}

#[derive(Deserialize, JsonSchema)]
pub struct PayIn {
    #[serde(rename = "commType")]
    pub comm_type: Option<Int>,
    /// 01 VIP time, 02 shopping receipt, 03 points, 04 cash, 05 credit card,
    /// 06 citizen card, 07 WeChat, 08 Alipay, 09/10 other.
    #[serde(rename = "payNo")]
    pub pay_no: Text,
    #[serde(rename = "carNo")]
    pub car: Plate,
    #[serde(rename = "companyNo")]
    pub company: Option<Text>,
    #[serde(rename = "glideNo")]
    pub glide: Text,
    #[serde(rename = "dayPayTime")]
    pub day_time: Option<Int>,
    #[serde(rename = "nightPayTime")]
    pub night_time: Option<Int>,
    #[serde(rename = "dayPaySum")]
    pub day_sum: Option<Decimal>,
    #[serde(rename = "nightPaySum")]
    pub night_sum: Option<Decimal>,
}

#[derive(Serialize, JsonSchema)]
pub struct PayOut {
    #[serde(rename = "shakeFlag")]
    pub shake_flag: i64,
    #[serde(rename = "commType")]
    pub comm_type: String,
    #[serde(rename = "carNo")]
    pub car_no: String,
}

/// One record of a flow, as Jinying sent it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Record {
    pay_no: String,
    day_time: i64,
    night_time: i64,
    day_sum: i64,
    night_sum: i64,
    /// What it is worth against the quote, in fen.
    value: i64,
    /// Money collected (0 for time methods).
    cash: i64,
    at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Flow {
    plate: String,
    quote: Quote,
    records: Vec<Record>,
    paid: bool,
    reversed: bool,
}

/// The methods that pay with time (VIP parking time, receipts, points).
fn pays_with_time(pay_no: &str) -> bool {
    matches!(pay_no, "01" | "02" | "03")
}

fn method_name(pay_no: &str) -> &'static str {
    match pay_no {
        "01" => "VIP停车时长",
        "02" => "购物小票",
        "03" => "VIP积分",
        "04" => "现金",
        "05" => "信用卡",
        "06" => "市民卡",
        "07" => "微信",
        "08" => "支付宝",
        _ => "其他",
    }
}

/// Seed pay type of a money method.
fn seed_pay_type(pay_no: &str) -> PayType {
    match pay_no {
        "04" => PayType::CASH,
        "07" => PayType(7),
        "08" => PayType(5),
        _ => PayType::THIRD_PARTY,
    }
}

fn share(part: i64, of: i64, sum: i64) -> i64 {
    if of <= 0 { 0 } else { sum * part.min(of) / of }
}

async fn pay(ctx: Ctx, req: Req, input: PayIn) -> ApiResult<PayOut> {
    let b = req.branchno();
    if let Some(c) = input.comm_type.map(Int::get).filter(|c| *c != 3) {
        return Err(ApiError::field("commType", format!("{c} is not 3 (payment)")));
    }
    check_store(&ctx, &req, "companyNo", input.company.as_ref()).await?;
    let pay_no = input.pay_no.to_string();
    if !matches!(pay_no.as_str(), "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08" | "09" | "10") {
        return Err(ApiError::field("payNo", format!("'{pay_no}' is not a Jinying payment method 01-10")));
    }
    let nonneg = |v: Option<Int>, f: &str| -> ApiResult<i64> {
        let n = v.map(Int::get).unwrap_or(0);
        if n < 0 { Err(ApiError::field(f, "must not be negative")) } else { Ok(n) }
    };
    let (day_time, night_time) = (nonneg(input.day_time, "dayPayTime")?, nonneg(input.night_time, "nightPayTime")?);
    let day_sum = common::fen_of_yuan("dayPaySum", input.day_sum.map(|d| d.0).unwrap_or(0.0))?;
    let night_sum = common::fen_of_yuan("nightPaySum", input.night_sum.map(|d| d.0).unwrap_or(0.0))?;
    let plate = input.car.norm().to_string();
    let answer = |flag: i64| PayOut { shake_flag: flag, comm_type: "3".into(), car_no: input.car.original().to_string() };
    let glide = input.glide.to_string();
    let pk = keys::partner_records(b, PARTNER);
    let flow_sk = format!("flow#{glide}");

    let outcome = retry::on_conflict("jinying payment flow", || {
        let (pk, flow_sk, plate, pay_no, glide) = (pk.clone(), flow_sk.clone(), plate.clone(), pay_no.clone(), glide.clone());
        let ctx = ctx.clone();
        let now = req.now;
        async move {
            let existing = ctx.store.get(&pk, &flow_sk).await?;
            let (mut flow, version) = match &existing {
                Some(i) => (i.parse::<Flow>()?, Some(i.version)),
                None => {
                    let Some(qi) = ctx.store.get(&pk, &format!("quote#{plate}")).await? else {
                        return Err(ApiError::failed("no fee was queried for this car (11.9 commType 2 first)"));
                    };
                    let quote: Quote = qi.parse()?;
                    (Flow { plate: plate.clone(), quote, records: Vec::new(), paid: false, reversed: false }, None)
                }
            };
            if flow.plate != plate {
                return Err(ApiError::field("carNo", format!("flow {glide} is for another car")));
            }
            // Decision 22: a record sent again gets its first answer.
            if let Some(r) = flow.records.iter().find(|r| r.pay_no == pay_no) {
                if (r.day_sum, r.night_sum, r.day_time, r.night_time) != (day_sum.0, night_sum.0, day_time, night_time) {
                    return Err(ApiError::field("dayPaySum", format!("flow {glide} method {pay_no} was notified before with other amounts")));
                }
                // A flow that covers the quote but whose payment failed (a
                // store fault) is settled by the repeat.
                let covered = flow.records.iter().map(|r| r.value).sum::<i64>() >= flow.quote.due;
                return Ok(Step::Done(if covered && !flow.paid && !flow.reversed { 10 } else { 1 }));
            }
            if flow.reversed {
                return Err(ApiError::failed(format!("flow {glide} was reversed")));
            }
            if flow.paid {
                return Err(ApiError::failed(format!("flow {glide} has already paid the fee")));
            }
            // The price freeze: a payment after it is a timeout (shakeFlag 2).
            if onecard_core::time::parse(&flow.quote.expires).is_some_and(|e| now > e) {
                return Ok(Step::Done(2));
            }
            let q = &flow.quote;
            let value = if pays_with_time(&pay_no) {
                share(day_time, q.day_min, q.day_sum) + share(night_time, q.night_min, q.night_sum)
            } else {
                day_sum.0 + night_sum.0
            };
            let cash = if pays_with_time(&pay_no) { 0 } else { day_sum.0 + night_sum.0 };
            flow.records.push(Record { pay_no: pay_no.clone(), day_time, night_time, day_sum: day_sum.0, night_sum: night_sum.0, value, cash, at: kit::stamp(now) });
            let covered = flow.records.iter().map(|r| r.value).sum::<i64>() >= flow.quote.due;
            let item = |f: &Flow, v: u64| -> ApiResult<Item> { Ok(Item::new(pk.clone(), flow_sk.clone(), serde_json::to_value(f).map_err(ApiError::system)?).with_version(v)) };
            let (put, cond) = match version {
                Some(v) => (item(&flow, v + 1)?, Cond::VersionIs(v)),
                None => (item(&flow, 1)?, Cond::MustNotExist),
            };
            Step::of(ctx.store.put(put, cond).await, if covered { 10 } else { 1 })
        }
    })
    .await?;
    match outcome {
        2 => return Ok(answer(2)),
        10 => settle(&ctx, &req, &glide).await?,
        _ => {}
    }
    Ok(answer(1))
}

/// Pays the flow's order once it covers the quote: the money collected, the
/// rest waived under the names of the time methods.
async fn settle(ctx: &Ctx, req: &Req, glide: &str) -> ApiResult<()> {
    let b = req.branchno();
    let pk = keys::partner_records(b, PARTNER);
    let item = ctx.store.get(&pk, &format!("flow#{glide}")).await?.ok_or_else(|| ApiError::system("payment flow vanished"))?;
    let mut flow: Flow = item.parse()?;
    let (order, _) = orders::get(ctx, b, &flow.quote.order_no, flow.quote.zero).await?.ok_or_else(|| ApiError::system("quoted order vanished"))?;
    let cash: i64 = flow.records.iter().map(|r| r.cash).sum::<i64>().min(order.parkcost.0);
    let waived: Vec<&str> = flow.records.iter().filter(|r| pays_with_time(&r.pay_no)).map(|r| method_name(&r.pay_no)).collect();
    let main = flow.records.iter().filter(|r| !pays_with_time(&r.pay_no)).max_by_key(|r| r.cash).map(|r| seed_pay_type(&r.pay_no)).unwrap_or(PayType::THIRD_PARTY);
    let p = Payment {
        ctype: CredentialType::Plate,
        credential: order.plate.clone(),
        target: if order.zero { Target::Calc(order.order_no.clone()) } else { Target::Order(order.order_no.clone()) },
        parkcost: order.parkcost,
        amount: Fen(cash),
        pay_type: main,
        partial: false,
        free_type: (cash < order.parkcost.0).then(|| format!("金鹰{}", waived.join("+"))),
        trade_no: Some(format!("{PARTNER}:{glide}")),
        trade_time: Some(kit::stamp(req.now)),
        ws_no: None,
        oper_id: None,
    };
    match commit_payment(ctx, &req.branch, &p, req.now).await {
        Ok(_) => {}
        Err(e) if common::is_duplicate(&e) => {}
        Err(e) => return Err(e),
    }
    flow.paid = true;
    let body = serde_json::to_value(&flow).map_err(ApiError::system)?;
    match ctx.store.put(Item::new(pk, format!("flow#{glide}"), body).with_version(item.version + 1), Cond::VersionIs(item.version)).await {
        // A concurrent record of the same flow settled it first: the 6.2
        // transaction paid once either way.
        Err(e) if e.is_conflict() => Ok(()),
        r => Ok(r?),
    }
}

#[derive(Deserialize, JsonSchema)]
pub struct ReverseIn {
    #[serde(rename = "glideNo")]
    pub glide: Text,
    #[serde(rename = "commType")]
    pub comm_type: Option<Int>,
}

#[derive(Serialize, JsonSchema)]
pub struct ReverseOut {
    #[serde(rename = "commType")]
    pub comm_type: String,
    #[serde(rename = "glideNo")]
    pub glide: String,
    #[serde(rename = "shakeFlag")]
    pub shake_flag: String,
}

async fn reverse(ctx: Ctx, req: Req, input: ReverseIn) -> ApiResult<ReverseOut> {
    if let Some(c) = input.comm_type.map(Int::get).filter(|c| *c != 6) {
        return Err(ApiError::field("commType", format!("{c} is not 6 (reversal)")));
    }
    let glide = input.glide.to_string();
    let pk = keys::partner_records(req.branchno(), PARTNER);
    let sk = format!("flow#{glide}");
    let flag = retry::on_conflict("jinying reversal", || {
        let (pk, sk, ctx) = (pk.clone(), sk.clone(), ctx.clone());
        async move {
            let Some(item) = ctx.store.get(&pk, &sk).await? else { return Ok(Step::Done("0")) };
            let mut flow: Flow = item.parse()?;
            if flow.reversed {
                return Ok(Step::Done("1"));
            }
            if flow.paid {
                // The 6.2 payment stands; there is no refund of a paid order.
                return Ok(Step::Done("0"));
            }
            flow.reversed = true;
            let body = serde_json::to_value(&flow).map_err(ApiError::system)?;
            Step::of(ctx.store.put(Item::new(pk, sk, body).with_version(item.version + 1), Cond::VersionIs(item.version)).await, "1")
        }
    })
    .await?;
    Ok(ReverseOut { comm_type: "6".into(), glide, shake_flag: flag.into() })
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("AppPort/getParkingSpacesByGroupNo", spaces).refusal(refusal_spaces),
        kit::write("AppPort/getParkingSpaceInfo", info).refusal(refusal),
        kit::write("AppPort/payFeeInfo", pay).refusal(refusal),
        kit::write("AppPort/reversePay", reverse).refusal(refusal),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> chrono::NaiveDateTime {
        onecard_core::time::parse(s).unwrap()
    }

    #[test]
    fn day_and_night_minutes_follow_the_window() {
        let (d, n) = (NaiveTime::from_hms_opt(8, 0, 0).unwrap(), NaiveTime::from_hms_opt(20, 0, 0).unwrap());
        assert_eq!(split_minutes(t("2026-01-01 07:00:00"), t("2026-01-01 09:00:00"), d, n), (60, 60));
        assert_eq!(split_minutes(t("2026-01-01 19:30:00"), t("2026-01-02 08:30:00"), d, n), (60, 720));
        // Two whole days and an hour.
        assert_eq!(split_minutes(t("2026-01-01 10:00:00"), t("2026-01-03 11:00:00"), d, n), (2 * 720 + 60, 2 * 720));
        assert_eq!(split_minutes(t("2026-01-01 10:00:00"), t("2026-01-01 09:00:00"), d, n), (0, 0));
    }

    #[test]
    fn time_methods_are_worth_their_share_of_the_quote() {
        assert_eq!(share(30, 60, 500), 250);
        assert_eq!(share(90, 60, 500), 500);
        assert_eq!(share(10, 0, 500), 0);
    }
}
