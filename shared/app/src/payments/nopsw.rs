//! Password-free (contactless, 无感) payment: the cars signed with a bank or
//! wallet (6.69-6.71), withholding for an order (9.13), and the exit rule
//! that charges a signed car at the lane and lets it out.
//!
//! A car is charged only while signed (`signStatus` 0) and withholding is
//! normal (`payStatus` 0); 1 forbids it and 2 pauses it until restored
//! (6.69). A failed or unknown charge never holds the car: the lane falls
//! back to the next rule, which asks the driver to pay.

use super::micropay::{self, PayOut};
use super::providers;
use super::settle;
use super::trades::{self, TradeKind, TradeStatus};
use crate::keys;
use crate::lanes::rules::{Facts, RuleFuture, Step};
use crate::park::fees::{car_type_for, order_for, quote_stay};
use crate::park::orders::{self, Order};
use crate::park::stays;
use chrono::NaiveDateTime;
use onecard_core::config::Branch;
use onecard_core::kit::{self, stamp, DateTime, Int, Null, PayType, Plate, RouteDef, Text, WithMessage};
use onecard_core::providers::{Channel, Charge, TradeState};
use onecard_core::store::{Cond, Item, Query};
use onecard_core::{ApiError, ApiResult, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// 6.69 `payStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Withholding {
    Normal = 0,
    Forbidden = 1,
    Paused = 2,
}

impl Withholding {
    fn parse(v: i64, field: &str) -> ApiResult<Withholding> {
        match v {
            0 => Ok(Withholding::Normal),
            1 => Ok(Withholding::Forbidden),
            2 => Ok(Withholding::Paused),
            _ => Err(ApiError::field(field, format!("{v} is not 0 (normal), 1 (not allowed) or 2 (cancelled)"))),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NoPswCar {
    pub plate: String,
    pub color: Option<String>,
    pub withholding: Withholding,
    /// `signStatus` 0.
    pub signed: bool,
    pub created: NaiveDateTime,
    pub edited: Option<NaiveDateTime>,
}

impl NoPswCar {
    pub fn chargeable(&self) -> bool {
        self.signed && self.withholding == Withholding::Normal
    }
}

pub async fn get(ctx: &Ctx, branch: &str, plate: &str) -> ApiResult<Option<(NoPswCar, u64)>> {
    Ok(match ctx.store().get(&keys::nopsw_cars(branch), plate).await? {
        Some(i) => Some((i.parse()?, i.version)),
        None => None,
    })
}

async fn put(ctx: &Ctx, branch: &str, car: &NoPswCar, cond: Cond, version: u64) -> onecard_core::store::StoreResult<()> {
    let body = serde_json::to_value(car).map_err(|e| onecard_core::store::StoreError::Invalid(e.to_string()))?;
    ctx.store().put(Item::new(keys::nopsw_cars(branch), car.plate.clone(), body).with_version(version), cond).await
}

/// 6.69 input.
#[derive(Deserialize, JsonSchema)]
pub struct AddIn {
    #[serde(rename = "plateNo")]
    pub plate: Plate,
    #[serde(rename = "plateColor")]
    pub color: Option<Text>,
    #[serde(rename = "payStatus")]
    pub pay_status: Option<Int>,
    /// The seed's spelling, and the one it meant.
    #[serde(rename = "crateDateTime", alias = "createDateTime")]
    pub created: Option<DateTime>,
}

/// 6.69: signs a car; signing a car again renews its sign-up.
async fn add(ctx: Ctx, req: Req, input: AddIn) -> ApiResult<Null> {
    let withholding = Withholding::parse(input.pay_status.map(Int::get).unwrap_or(0), "payStatus")?;
    let plate = input.plate.norm().to_string();
    onecard_core::retry::on_conflict("car not signed", || async {
        let old = get(&ctx, req.branchno(), &plate).await?;
        let car = NoPswCar {
            plate: plate.clone(),
            color: input.color.as_deref().map(str::to_string).or_else(|| old.as_ref().and_then(|(c, _)| c.color.clone())),
            withholding,
            signed: true,
            created: input.created.map(DateTime::get).unwrap_or(req.now),
            edited: old.as_ref().map(|_| req.now),
        };
        let (cond, v) = match &old {
            Some((_, v)) => (Cond::VersionIs(*v), v + 1),
            None => (Cond::MustNotExist, 1),
        };
        onecard_core::retry::Step::of(put(&ctx, req.branchno(), &car, cond, v).await, ())
    })
    .await?;
    Ok(Null)
}

/// 6.70 input.
#[derive(Deserialize, JsonSchema)]
pub struct UpdateIn {
    #[serde(rename = "plateNo")]
    pub plate: Plate,
    #[serde(rename = "payStatus")]
    pub pay_status: Int,
    #[serde(rename = "signStatus")]
    pub sign_status: Int,
}

/// 6.70. The seed answers 700 with status true when the car is not in the
/// park; the envelope keeps `code` for refusals, so that is the message.
async fn update(ctx: Ctx, req: Req, input: UpdateIn) -> ApiResult<WithMessage<Null>> {
    let withholding = Withholding::parse(input.pay_status.get(), "payStatus")?;
    let signed = match input.sign_status.get() {
        0 => true,
        1 => false,
        v => return Err(ApiError::field("signStatus", format!("{v} is not 0 (signed) or 1 (terminated)"))),
    };
    let plate = input.plate.norm().to_string();
    let b = req.branchno();
    onecard_core::retry::on_conflict("car not updated", || async {
        let (mut car, v) = get(&ctx, b, &plate).await?.ok_or_else(|| ApiError::field("plateNo", format!("{plate} is not a password-free car (add it with 6.69)")))?;
        car.withholding = withholding;
        car.signed = signed;
        car.edited = Some(req.now);
        onecard_core::retry::Step::of(put(&ctx, b, &car, Cond::VersionIs(v), v + 1).await, ())
    })
    .await?;
    let in_park = stays::in_park(&ctx, b, 1, &plate).await?.is_some();
    Ok(WithMessage::optional(Null, (!in_park).then(|| format!("updated; {plate} is not in the car park (700)"))))
}

/// 6.71 input.
#[derive(Deserialize, JsonSchema)]
pub struct GetIn {
    #[serde(rename = "plateNo")]
    pub plate: Option<Plate>,
}

/// 6.71 row.
#[derive(Serialize, JsonSchema)]
pub struct CarRow {
    #[serde(rename = "plateNo")]
    pub plate: String,
    #[serde(rename = "plateColor")]
    pub color: String,
    #[serde(rename = "payStatus")]
    pub pay_status: String,
    #[serde(rename = "signStatus")]
    pub sign_status: String,
    #[serde(rename = "crateDateTime")]
    pub created: String,
    #[serde(rename = "editDateTime")]
    pub edited: String,
}

async fn list(ctx: Ctx, req: Req, input: GetIn) -> ApiResult<kit::Page<CarRow>> {
    let b = req.branchno();
    let cars: Vec<NoPswCar> = match &input.plate {
        Some(p) => get(&ctx, b, p.norm()).await?.map(|(c, _)| c).into_iter().collect(),
        None => ctx.store().query_all(&Query::partition(keys::nopsw_cars(b))).await?.iter().map(|i| i.parse()).collect::<Result<_, _>>()?,
    };
    let rows = cars
        .into_iter()
        .map(|c| CarRow {
            plate: c.plate,
            color: c.color.unwrap_or_default(),
            pay_status: (c.withholding as i64).to_string(),
            sign_status: if c.signed { "0" } else { "1" }.into(),
            created: stamp(c.created),
            edited: c.edited.map(stamp).unwrap_or_default(),
        })
        .collect();
    Ok(req.page(rows))
}

/// How a withholding attempt ended.
pub enum Withheld {
    Paid(Order),
    Declined(String),
    Unknown,
}

/// Charges a signed car's account for `order` and books it.
pub async fn withhold(ctx: &Ctx, branch: &Branch, order: &Order, now: NaiveDateTime) -> ApiResult<Withheld> {
    let provider = providers::pay(ctx, branch).await?;
    let b = branch.branchno.as_str();
    let mut t = trades::open(ctx, b, &order.order_no, order.zero, TradeKind::Withhold, order.parkcost, PayType::CONTACTLESS.0).await?;
    let charge = Charge { out_trade_no: t.out_trade_no.clone(), amount: order.parkcost, subject: format!("停车费 {}", order.plate), channel: Channel::WeChat };
    match provider.withhold(&charge, &order.plate).await {
        Ok(TradeState::Paid { trade_no, paid_at, amount }) => {
            let booked = settle::paid(ctx, branch, &*provider, &mut t, &trade_no, &paid_at, amount, None, now).await?;
            Ok(Withheld::Paid(booked.order().clone()))
        }
        Ok(TradeState::Failed { reason }) => {
            t.status = TradeStatus::Failed;
            t.reason = Some(reason.clone());
            trades::set(ctx, b, &t).await?;
            Ok(Withheld::Declined(reason))
        }
        Ok(TradeState::NotFound) => Ok(Withheld::Declined("the provider has no such trade".into())),
        Ok(TradeState::Paying) | Err(_) => {
            Ok(match micropay::follow(ctx, branch, &*provider, &mut t, None, now, 1).await? {
                micropay::PAID => Withheld::Paid(orders::get(ctx, b, &order.order_no, order.zero).await?.map(|(o, _)| o).unwrap_or_else(|| order.clone())),
                micropay::DECLINED => Withheld::Declined(t.reason.clone().unwrap_or_default()),
                _ => Withheld::Unknown,
            })
        }
    }
}

/// 9.13 input.
#[derive(Deserialize, JsonSchema)]
pub struct UnifiedIn {
    #[serde(rename = "calcId")]
    pub calc_id: Option<Text>,
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Option<Text>,
    #[serde(rename = "wsNo")]
    pub ws_no: Option<Text>,
}

/// 9.13 `payStatus`: 0 paid, 1 failed, 2 not enabled, 3 unknown.
async fn unified(ctx: Ctx, req: Req, input: UnifiedIn) -> ApiResult<WithMessage<PayOut>> {
    let order = super::collect::order_to_collect(&ctx, &req.branch, input.order_no.as_deref(), input.calc_id.as_deref(), req.now).await?;
    let pt = PayType::CONTACTLESS.0;
    let out = |amount: Fen, status: &str, note: Option<String>| WithMessage::optional(PayOut::new(&order.order_no, amount, pt, status), note);
    let car = get(&ctx, req.branchno(), &kit::normalise_plate(&order.plate)).await?.map(|(c, _)| c);
    match car {
        Some(c) if c.chargeable() => {}
        Some(_) => return Ok(out(Fen::ZERO, "2", Some(format!("{} has password-free payment paused or terminated", order.plate)))),
        None => return Ok(out(Fen::ZERO, "2", Some(format!("{} has not signed up for password-free payment", order.plate)))),
    }
    if order.zero {
        let paid = super::collect::book(&ctx, &req.branch, &order, PayType::CONTACTLESS, None, None, req.now).await?;
        return Ok(WithMessage::optional(PayOut::new(&paid.order_no, Fen::ZERO, pt, "0"), None));
    }
    Ok(match withhold(&ctx, &req.branch, &order, req.now).await? {
        Withheld::Paid(o) => out(o.amount, "0", None),
        Withheld::Declined(reason) => out(Fen::ZERO, "1", Some(reason)),
        Withheld::Unknown => out(Fen::ZERO, "3", Some("the provider has not answered yet: call again with the same order".into())),
    })
}

/// The exit rule: a signed car that owes money is charged and let out. Any
/// failure (no provider, declined, unknown, the order moved on) continues to
/// the next rule, which tells the driver to pay.
pub fn exit_rule(f: &Facts) -> RuleFuture<'_> {
    Box::pin(async move {
        match charge_at_exit(f).await {
            Ok(Some(step)) => Ok(step),
            Ok(None) => Ok(Step::Continue),
            Err(e) => {
                tracing::warn!(plate = %f.plate, code = e.code.0, error = %e.message, "password-free charge at the exit failed; the car pays the usual way");
                Ok(Step::Continue)
            }
        }
    })
}

async fn charge_at_exit(f: &Facts) -> ApiResult<Option<Step>> {
    let b = f.branch.branchno.as_str();
    let Some((car, _)) = get(&f.ctx, b, &f.plate).await? else { return Ok(None) };
    if !car.chargeable() {
        return Ok(None);
    }
    let Some((stay, _)) = stays::in_park(&f.ctx, b, 1, &f.plate).await? else { return Ok(None) };
    let car_type = car_type_for(&f.ctx, b, None, f.card.as_ref()).await?;
    let q = quote_stay(&f.ctx, &f.branch, &stay, car_type, f.card.as_ref(), f.at.max(stay.entry)).await?;
    if q.due == Fen::ZERO {
        return Ok(None);
    }
    let order = orders::create(&f.ctx, b, order_for(&stay, &q, f.at, f.branch.settings.order_minutes, Some(PayType::CONTACTLESS))).await?;
    Ok(match withhold(&f.ctx, &f.branch, &order, f.at).await? {
        Withheld::Paid(o) => Some(Step::Pass { hint: format!("{} 无感支付{}元 一路顺风", f.plate, o.amount), hint_type: 1, off: Fen::ZERO }),
        Withheld::Declined(reason) => {
            tracing::info!(plate = %f.plate, %reason, "password-free charge declined at the exit");
            None
        }
        Withheld::Unknown => None,
    })
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("park.nopswpaycar.add", add),
        kit::write("park.nopswpaycar.update", update),
        kit::read("park.nopswpaycar.get", list),
        kit::write("cat.unifiedPayNoPsw", unified),
    ]
}
