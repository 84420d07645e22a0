//! 6.102 `park.elccharging.push`: a charging operator reports a finished
//! charge; it is kept as the car park's vehicle charging record, once per
//! `orderNo` (a resend with the same data is answered alike, the same order
//! with other data is refused). The seed's charging discount ("when enabled,
//! a coupon is added according to the charging duration") needs a charging
//! discount configuration this system does not have yet: no coupon is added
//! and the record says so (`discount` null).
//!
//! `stationNo` is required by the table but missing from the seed's own
//! example, so it is read when given and not demanded.

use crate::keys;
use onecard_core::kit::{self, stamp, DateTime, Decimal, Int, List, Money, Null, Plate, RouteDef, Text};
use onecard_core::store::{Cond, Item, StoreError};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// 6.102 input.
#[derive(Deserialize, JsonSchema)]
pub struct ChargingIn {
    #[serde(rename = "orderNo")]
    pub order_no: Text,
    #[serde(rename = "startTime")]
    pub start: DateTime,
    #[serde(rename = "endTime")]
    pub end: DateTime,
    /// Milliseconds.
    #[serde(rename = "chargingTime")]
    pub millis: Option<Int>,
    #[serde(rename = "stationId")]
    pub station_id: Text,
    #[serde(rename = "stationNo")]
    pub station_no: Option<Text>,
    #[serde(rename = "stationName")]
    pub station_name: Text,
    /// kWh.
    pub power: Option<Decimal>,
    #[serde(rename = "elecMoney")]
    pub elec: Money,
    #[serde(rename = "serviceMoney")]
    pub service: Money,
    /// Seconds.
    #[serde(rename = "parkOverTime")]
    pub over_time: Option<Int>,
    #[serde(rename = "carNums")]
    pub plates: List<Plate>,
}

/// One vehicle charging record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingRecord {
    pub order_no: String,
    pub start: String,
    pub end: String,
    pub seconds: i64,
    pub station_id: String,
    pub station_no: Option<String>,
    pub station_name: String,
    pub kwh: Option<f64>,
    pub elec_fen: i64,
    pub service_fen: i64,
    pub over_time_secs: Option<i64>,
    pub plates: Vec<String>,
    pub discount: Option<String>,
}

async fn push(ctx: Ctx, req: Req, input: ChargingIn) -> ApiResult<Null> {
    let (start, end) = (input.start.get(), input.end.get());
    if end < start {
        return Err(ApiError::field("endTime", "is before startTime"));
    }
    let plates: Vec<String> = input.plates.into_vec().iter().map(|p| p.norm().to_string()).collect();
    if plates.is_empty() {
        return Err(ApiError::missing("carNums"));
    }
    let millis = input.millis.map(Int::get);
    if millis.is_some_and(|m| m < 0) {
        return Err(ApiError::field("chargingTime", "must not be negative"));
    }
    if input.power.is_some_and(|p| p.0 < 0.0) {
        return Err(ApiError::field("power", "must not be negative"));
    }
    let r = ChargingRecord {
        order_no: input.order_no.to_string(),
        start: stamp(start),
        end: stamp(end),
        seconds: millis.map_or((end - start).num_seconds(), |m| m / 1000),
        station_id: input.station_id.to_string(),
        station_no: input.station_no.map(String::from),
        station_name: input.station_name.to_string(),
        kwh: input.power.map(|p| p.0),
        elec_fen: input.elec.fen().0,
        service_fen: input.service.fen().0,
        over_time_secs: input.over_time.map(Int::get),
        plates,
        discount: None,
    };
    let pk = keys::pls(req.branchno(), "charging");
    let item = Item::new(pk.clone(), r.order_no.clone(), serde_json::to_value(&r).map_err(ApiError::system)?);
    match ctx.store().put(item, Cond::MustNotExist).await {
        Ok(()) => Ok(Null),
        Err(StoreError::ConditionFailed) => {
            let old: ChargingRecord = ctx.store().get(&pk, &r.order_no).await?.ok_or_else(|| ApiError::system("charging record vanished"))?.parse()?;
            if old == r {
                Ok(Null)
            } else {
                Err(ApiError::failed(format!("charging order {} is already recorded with other data", r.order_no)))
            }
        }
        Err(e) => Err(e.into()),
    }
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("park.elccharging.push", push)]
}
