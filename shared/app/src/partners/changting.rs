//! Changting (11.26-11.27): a park-and-ride operator that finds the car by
//! the lane it stands at (`deviceNum`), asks its fee (6.1, through lane
//! presence) and reports the payment, after which the cloud opens that lane's
//! gate through the site link. Data-only wire, `{code, msg, data}` answers.
//!
//! A transfer (换乘, `transfer` 1) is free only where the branch's Changting
//! settings name the waiver (`transferFreeType`): the reduction is then a
//! waiver of the 6.2 commit, not a second tariff.

use super::common::{self, first_answer, keep_answer, order_id, order_ref};
use super::settings;
use crate::keys;
use crate::lanes::presence;
use crate::park::fees;
use crate::park::hardware;
use crate::park::orders;
use crate::park::payments::{commit_payment, Payment, Target};
use onecard_core::kit::{self, CredentialType, Int, Money, PayType, Plate, RouteDef, Text};
use onecard_core::link::action;
use onecard_core::{ApiError, ApiResult, Code, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const PARTNER: &str = "changting";

fn refusal(e: &ApiError) -> Value {
    json!({"code": e.code.0, "msg": e.message, "data": null})
}

#[derive(Deserialize, JsonSchema)]
pub struct CalcIn {
    #[serde(rename = "deviceNum")]
    pub device: Text,
    /// 1 transfer, 2 no transfer.
    pub transfer: Int,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct CalcData {
    #[serde(rename = "carNum")]
    pub car_num: String,
    /// The seed's spelling.
    #[serde(rename = "stratTime")]
    pub start: String,
    #[serde(rename = "leaveTime")]
    pub leave: String,
    #[serde(rename = "shouldMoney")]
    pub should: Money,
    #[serde(rename = "parkId")]
    pub park_id: String,
    #[serde(rename = "parkName")]
    pub park_name: String,
    #[serde(rename = "orderNo")]
    pub order_no: String,
    #[serde(rename = "calcId")]
    pub calc_id: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Answer<T> {
    pub code: i64,
    pub msg: Option<String>,
    pub data: T,
}

/// What 11.27 needs of a calculation: the lane to open and the waiver.
#[derive(Serialize, Deserialize)]
struct CalcRecord {
    device: String,
    plate: String,
    free_type: Option<String>,
}

async fn calc(ctx: Ctx, req: Req, input: CalcIn) -> ApiResult<Answer<CalcData>> {
    let b = req.branchno();
    let transfer = match input.transfer.get() {
        1 => true,
        2 => false,
        n => return Err(ApiError::field("transfer", format!("{n} is not 1 (transfer) or 2 (no transfer)"))),
    };
    let c = hardware::controller(&req.branch, &input.device).map_err(|_| ApiError::field("deviceNum", format!("'{}' is not a lane of this car park", input.device.as_str())))?.clone();
    let seen = presence::at_lane(&ctx, b, &c.device_id).await?.ok_or_else(|| {
        ApiError::new(Code::CAR_NOT_IN_PARK, format!("no car stands at lane {} now", input.device.as_str()))
    })?;
    let (stay, _, q) = fees::quote_credential(&ctx, &req.branch, CredentialType::Plate, &seen.plate, None, req.now).await?;
    let s = settings::get_or_default(ctx.store(), b, PARTNER).await?;
    let free_type = (transfer && q.due > Fen::ZERO).then(|| s.option("transferFreeType").map(str::to_string)).flatten();
    let order = orders::create(&ctx, b, fees::order_for(&stay, &q, req.now, req.branch.settings.order_minutes, None)).await?;
    let calc_id = order_id(&order);
    let rec = CalcRecord { device: c.device_id.clone(), plate: stay.display_plate(), free_type: free_type.clone() };
    super::common::put_record(&ctx, b, PARTNER, format!("calc#{calc_id}"), &rec, Some(2)).await?;
    Ok(Answer {
        code: 200,
        msg: None,
        data: CalcData {
            car_num: stay.display_plate(),
            start: kit::stamp(stay.entry),
            leave: kit::stamp(req.now),
            should: Money(if free_type.is_some() { Fen::ZERO } else { q.due }),
            park_id: common::park_id(&s, &req.branch),
            park_name: req.branch.name.clone(),
            order_no: order.card_in_id.clone(),
            calc_id,
        },
    })
}

#[derive(Deserialize, JsonSchema)]
pub struct CommitIn {
    #[serde(rename = "carNum")]
    pub car: Plate,
    /// 1 success, 2 failure.
    #[serde(rename = "payState")]
    pub pay_state: Int,
    #[serde(rename = "calcId")]
    pub calc_id: Text,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct CommitData {
    #[serde(rename = "carNum")]
    pub car_num: String,
    #[serde(rename = "stratTime")]
    pub start: String,
    #[serde(rename = "leaveTime")]
    pub leave: String,
    #[serde(rename = "shouldMoney")]
    pub should: Money,
    #[serde(rename = "dealTime")]
    pub deal: String,
    /// 1 the barrier lifted, 2 it did not.
    #[serde(rename = "leaveState")]
    pub leave_state: String,
    #[serde(rename = "parkId")]
    pub park_id: String,
    #[serde(rename = "parkName")]
    pub park_name: String,
    #[serde(rename = "orderNo")]
    pub order_no: String,
}

async fn commit(ctx: Ctx, req: Req, input: CommitIn) -> ApiResult<Answer<CommitData>> {
    let b = req.branchno();
    let calc_id = input.calc_id.to_string();
    let (no, zero) = order_ref(&calc_id);
    let (order, _) = orders::get(&ctx, b, &no, zero).await?.ok_or_else(|| ApiError::field("calcId", format!("{calc_id} was never issued by 11.26")))?;
    if input.car.norm() != kit::normalise_plate(&order.plate) {
        return Err(ApiError::field("carNum", format!("calculation {calc_id} is for {}", order.plate)));
    }
    let rec: CalcRecord = ctx
        .store
        .get(&keys::partner_records(b, PARTNER), &format!("calc#{calc_id}"))
        .await?
        .ok_or_else(|| ApiError::field("calcId", format!("{calc_id} is not a Changting calculation")))?
        .parse()?;
    let amount = if rec.free_type.is_some() { Fen::ZERO } else { order.parkcost };
    if let Some(first) = first_answer(&ctx, b, PARTNER, &calc_id, amount, "calcId").await? {
        return Ok(first);
    }
    let s = settings::get_or_default(ctx.store(), b, PARTNER).await?;
    let mut data = CommitData {
        car_num: order.plate.clone(),
        start: kit::stamp(order.entry),
        leave: kit::stamp(req.now),
        should: Money(amount),
        deal: kit::stamp(req.now),
        leave_state: "2".into(),
        park_id: common::park_id(&s, &req.branch),
        park_name: req.branch.name.clone(),
        order_no: order.card_in_id.clone(),
    };
    match input.pay_state.get() {
        1 => {}
        // A failed payment opens nothing and pays nothing; a later success
        // of the same calculation is still accepted.
        2 => return Ok(Answer { code: 200, msg: Some("支付失败".into()), data }),
        n => return Err(ApiError::field("payState", format!("{n} is not 1 (paid) or 2 (failed)"))),
    }
    let p = Payment {
        ctype: CredentialType::Plate,
        credential: order.plate.clone(),
        target: if zero { Target::Calc(no.clone()) } else { Target::Order(no.clone()) },
        parkcost: order.parkcost,
        amount,
        pay_type: PayType::THIRD_PARTY,
        partial: false,
        free_type: rec.free_type.clone(),
        trade_no: Some(format!("{PARTNER}:{calc_id}")),
        trade_time: Some(kit::stamp(req.now)),
        ws_no: None,
        oper_id: None,
    };
    match commit_payment(&ctx, &req.branch, &p, req.now).await {
        Ok(_) => {}
        Err(e) if common::is_duplicate(&e) => return common::answer_of_winner(&ctx, b, PARTNER, &calc_id, amount, "calcId").await,
        Err(e) => return Err(e),
    }
    // Paid: the car may go. A gate that does not answer leaves the payment
    // standing (the car is let out by the exit decision when it is seen
    // again, inside the grace) and says so in `leaveState`.
    let opened = hardware::send(&ctx, &req, &rec.device, action::GATE_OPEN, json!({}), hardware::deadline(&req)).await;
    if let Err(e) = &opened {
        tracing::warn!(branch = b, device = %rec.device, error = %e.message, "Changting payment committed but the gate did not open");
    }
    data.leave_state = if opened.is_ok() { "1" } else { "2" }.into();
    let answer = Answer { code: 200, msg: Some("成功".into()), data };
    keep_answer(&ctx, b, PARTNER, &calc_id, amount, &answer).await?;
    Ok(answer)
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("changting/pr/calc", calc).refusal(refusal), kit::write("changting/pr/commit", commit).refusal(refusal)]
}
