//! What a client needs before paying for a card: car types (6.32), monthly
//! tariffs (6.33) and the car park's charging parameters (6.37).
//!
//! Car types and tariffs belong to the parking module (`park::cartype`,
//! `park::tariffs`), which depends on this one (lanes, fees and payments ask
//! about cards). So that dependencies go one way, they are read here through the
//! store by their documented keys and bodies (`keys::car_types` holding the
//! `CarType` record; `keys::month_tariffs` with `tariffId`, `carTypeId`,
//! `tariff`), never through the parking code.

use crate::keys;
use crate::tariff::{price_rule_text, MonthTariff, TempTariff};
use onecard_core::kit::{self, Empty, Money, Page, RouteDef};
use onecard_core::store::{Item, Query};
use onecard_core::{ApiError, ApiResult, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A car type as cards use it: the fields of the parking module's stored
/// `CarType` that pricing a card and 6.32/6.37 need.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct CarTypeView {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub default_charge: bool,
    #[serde(default)]
    pub time_ltd: bool,
    #[serde(default)]
    pub stored_ltd: bool,
    #[serde(default)]
    pub free_min: Option<i64>,
}

pub async fn car_types(ctx: &Ctx, branch: &str) -> ApiResult<Vec<CarTypeView>> {
    let items = ctx.store.query_all(&Query::partition(keys::car_types(branch))).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

pub async fn car_type_exists(ctx: &Ctx, branch: &str, id: i64) -> ApiResult<bool> {
    Ok(ctx.store.get(&keys::car_types(branch), &keys::id_sk(id)).await?.is_some())
}

/// The branch's default car type (at most one is).
pub async fn default_car_type(ctx: &Ctx, branch: &str) -> ApiResult<Option<CarTypeView>> {
    Ok(car_types(ctx, branch).await?.into_iter().find(|t| t.default_charge))
}

/// A monthly tariff as cards use it: the fee per month of a car type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthFee {
    pub id: i64,
    pub name: String,
    pub car_type_id: Option<i64>,
    pub charge: Fen,
}

fn month_fee(item: &Item) -> ApiResult<MonthFee> {
    let b = &item.body;
    let id = b.get("tariffId").and_then(Value::as_i64).or_else(|| item.sk.parse().ok());
    let tariff = b.get("tariff").cloned().map(serde_json::from_value::<MonthTariff>);
    match (id, tariff) {
        (Some(id), Some(Ok(t))) => Ok(MonthFee {
            id,
            car_type_id: b.get("carTypeId").and_then(Value::as_i64).or(t.car_type_id),
            name: t.name,
            charge: t.charge,
        }),
        _ => Err(ApiError::system(format!("monthly tariff item {}/{} is not readable", item.pk, item.sk))),
    }
}

pub async fn month_fees(ctx: &Ctx, branch: &str) -> ApiResult<Vec<MonthFee>> {
    let items = ctx.store.query_all(&Query::partition(keys::month_tariffs(branch))).await?;
    items.iter().map(month_fee).collect()
}

pub async fn month_fee_by_id(ctx: &Ctx, branch: &str, id: i64) -> ApiResult<Option<MonthFee>> {
    match ctx.store.get(&keys::month_tariffs(branch), &keys::id_sk(id)).await? {
        Some(item) => Ok(Some(month_fee(&item)?)),
        None => Ok(None),
    }
}

/// The temporary tariff that prices car type `car_type_id` branch-wide: the
/// all-areas one (`FFFFFFFF`) if there is one, else the first area's.
async fn branch_temp_tariff(ctx: &Ctx, branch: &str, car_type_id: i64) -> ApiResult<Option<TempTariff>> {
    let items = ctx.store.query_all(&Query::partition(keys::temp_tariffs(branch))).await?;
    let suffix = format!("#{car_type_id}");
    let mut mine: Vec<&Item> = items.iter().filter(|i| i.sk.ends_with(&suffix)).collect();
    mine.sort_by_key(|i| !i.sk.starts_with("FFFFFFFF#"));
    match mine.first().and_then(|i| i.body.get("tariff")) {
        Some(v) => Ok(serde_json::from_value(v.clone()).ok()),
        None => Ok(None),
    }
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// A 6.32 row; the seed prints flags as `True`/`False`.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct CarTypeRow {
    #[serde(rename = "CarTypeID")]
    pub id: String,
    #[serde(rename = "CarTypeName")]
    pub name: String,
    #[serde(rename = "DefaultCharge")]
    pub default_charge: &'static str,
    #[serde(rename = "TimeLtd")]
    pub time_ltd: &'static str,
    #[serde(rename = "StoredLtd")]
    pub stored_ltd: &'static str,
}

async fn car_type_list(ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<CarTypeRow>> {
    let rows = car_types(&ctx, req.branchno())
        .await?
        .into_iter()
        .map(|t| CarTypeRow {
            id: t.id.to_string(),
            name: t.name,
            default_charge: bool_text(t.default_charge),
            time_ltd: bool_text(t.time_ltd),
            stored_ltd: bool_text(t.stored_ltd),
        })
        .collect();
    Ok(req.page(rows))
}

/// A 6.33 row.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct MonthTariffRow {
    #[serde(rename = "TariffID")]
    pub id: String,
    #[serde(rename = "TariffName")]
    pub name: String,
    #[serde(rename = "CarTypeID")]
    pub car_type_id: String,
    #[serde(rename = "Charge")]
    pub charge: Money,
}

async fn month_tariffs(ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<MonthTariffRow>> {
    let rows = month_fees(&ctx, req.branchno())
        .await?
        .into_iter()
        .map(|t| MonthTariffRow {
            id: t.id.to_string(),
            name: t.name,
            car_type_id: t.car_type_id.map(|i| i.to_string()).unwrap_or_default(),
            charge: Money(t.charge),
        })
        .collect();
    Ok(req.page(rows))
}

/// 6.37 output: the charging parameters this car park has.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct ParamsOut {
    #[serde(rename = "FreeLeaveMinutes")]
    pub free_leave_minutes: String,
    #[serde(rename = "HourCharged")]
    pub hour_charged: &'static str,
    #[serde(rename = "BusinessHours")]
    pub business_hours: &'static str,
    #[serde(rename = "FreeMinutes", skip_serializing_if = "Option::is_none")]
    pub free_minutes: Option<String>,
    #[serde(rename = "ParkPriceRule", skip_serializing_if = "Option::is_none")]
    pub price_rule: Option<String>,
    /// The e-invoice limits 9.16 enforces (`payments::settings`).
    #[serde(rename = "InvoiceOnlyForCurrentMonth")]
    pub invoice_current_month_only: String,
    #[serde(rename = "EinvoiceExpirationData")]
    pub invoice_expiry_days: String,
    #[serde(rename = "MaxEInvoiceOpenAmount")]
    pub max_invoice_yuan: String,
    #[serde(rename = "MaxOrderQtyInEveryEInvoice")]
    pub max_orders_per_invoice: String,
}

/// 6.37. `HourCharged` is 1: a payment keeps counting for the stay after the
/// grace period (tariff.md rule 7 charges the whole stay minus what was paid).
/// Free minutes and the price rule are those of the default car type's tariff.
async fn params(ctx: Ctx, req: Req, _: Empty) -> ApiResult<ParamsOut> {
    let b = req.branchno();
    let mut out = ParamsOut {
        free_leave_minutes: req.branch.settings.grace_minutes.to_string(),
        hour_charged: "1",
        business_hours: "00:00-24:00",
        free_minutes: None,
        price_rule: None,
        invoice_current_month_only: String::new(),
        invoice_expiry_days: String::new(),
        max_invoice_yuan: String::new(),
        max_orders_per_invoice: String::new(),
    };
    let inv = crate::payments::settings::get(&ctx, b).await?;
    out.invoice_current_month_only = if inv.invoice_current_month_only { "1" } else { "0" }.into();
    out.invoice_expiry_days = inv.invoice_expiry_days.to_string();
    out.max_invoice_yuan = inv.max_invoice_yuan.to_string();
    out.max_orders_per_invoice = inv.max_orders_per_invoice.to_string();
    if let Some(t) = default_car_type(&ctx, b).await? {
        if let Some(tariff) = branch_temp_tariff(&ctx, b, t.id).await? {
            let period = &tariff.periods()[tariff.period_at(req.now.time())];
            out.free_minutes = Some(t.free_min.unwrap_or(period.free_minutes as i64).to_string());
            out.price_rule = Some(price_rule_text(&tariff));
        } else if let Some(m) = t.free_min {
            out.free_minutes = Some(m.to_string());
        }
    }
    Ok(out)
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("park.cartypes.get", car_type_list),
        kit::read("park.monthtariffs.get", month_tariffs),
        kit::read("park.params.get", params),
    ]
}
