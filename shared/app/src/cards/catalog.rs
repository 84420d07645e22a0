//! What a client needs before paying for a card: car types (6.32), monthly
//! tariffs (6.33) and the car park's charging parameters (6.37).
//!
//! Tariffs are stored by the parking module (`park::tariffs`); they are read
//! here through the store by their documented keys and body (`tariffId`,
//! `carTypeId`, `tariff`), which keeps this module free of the parking
//! handlers' code.

use crate::park::cartype;
use crate::tariff::{price_rule_text, MonthTariff, TempTariff};
use crate::keys;
use onecard_core::store::{Item, Query};
use onecard_core::{handler, ApiError, ApiResult, Ctx, Fen, Registry, Reply, Req};
use serde_json::{json, Value};

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

async fn car_types(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let rows = cartype::list(&ctx, req.branchno())
        .await?
        .into_iter()
        .map(|t| {
            json!({
                "CarTypeID": t.id.to_string(),
                "CarTypeName": t.name,
                "DefaultCharge": bool_text(t.default_charge),
                "TimeLtd": bool_text(t.time_ltd),
                "StoredLtd": bool_text(t.stored_ltd),
            })
        })
        .collect();
    Ok(req.list(rows))
}

async fn month_tariffs(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let rows = month_fees(&ctx, req.branchno())
        .await?
        .into_iter()
        .map(|t| {
            json!({
                "TariffID": t.id.to_string(),
                "TariffName": t.name,
                "CarTypeID": t.car_type_id.map(|i| i.to_string()).unwrap_or_default(),
                "Charge": t.charge.yuan(),
            })
        })
        .collect();
    Ok(req.list(rows))
}

/// 6.37. `HourCharged` is 1: a payment keeps counting for the stay after the
/// grace period (tariff.md rule 7 charges the whole stay minus what was paid).
/// Free minutes and the price rule are those of the default car type's tariff.
async fn params(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let b = req.branchno();
    let mut out = json!({
        "FreeLeaveMinutes": req.branch.settings.grace_minutes.to_string(),
        "HourCharged": "1",
        "BusinessHours": "00:00-24:00",
    });
    if let Some(t) = cartype::default_type(&ctx, b).await? {
        if let Some(tariff) = branch_temp_tariff(&ctx, b, t.id).await? {
            let period = &tariff.periods()[tariff.period_at(req.now.time())];
            out["FreeMinutes"] = json!(t.free_min.unwrap_or(period.free_minutes as i64).to_string());
            out["ParkPriceRule"] = json!(price_rule_text(&tariff));
        } else if let Some(m) = t.free_min {
            out["FreeMinutes"] = json!(m.to_string());
        }
    }
    Ok(Reply::data(out))
}

pub fn register(reg: &mut Registry) {
    reg.handle("park.cartypes.get", handler(car_types));
    reg.handle("park.monthtariffs.get", handler(month_tariffs));
    reg.handle("park.params.get", handler(params));
}
