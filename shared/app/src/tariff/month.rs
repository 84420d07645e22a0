//! The monthly-card tariff (6.91-6.94): a name and a fee per month for a car type.

use onecard_core::kit::{Int, Money, Text};
use onecard_core::{ApiError, ApiResult, Fen};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthTariff {
    pub name: String,
    /// Optional in 6.91, required in 6.92.
    pub car_type_id: Option<i64>,
    /// Fee per month; never negative.
    pub charge: Fen,
    #[serde(default)]
    pub remark: String,
}

/// 6.91 input: `tariffName` required, `carTypeId` optional, `charge` defaults to 0.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct MonthAddIn {
    #[serde(rename = "tariffName")]
    pub name: Text,
    #[serde(rename = "carTypeId")]
    pub car_type_id: Option<Int>,
    pub charge: Option<Money>,
    pub remark: Option<Text>,
}

/// 6.92 input: as 6.91 with the tariff to change, and `carTypeId` required.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct MonthUpdateIn {
    #[serde(rename = "tariffId")]
    pub id: Int,
    #[serde(rename = "tariffName")]
    pub name: Text,
    #[serde(rename = "carTypeId")]
    pub car_type_id: Int,
    pub charge: Option<Money>,
    pub remark: Option<Text>,
}

impl MonthTariff {
    fn new(name: &Text, car_type_id: Option<Int>, charge: Option<Money>, remark: &Option<Text>) -> ApiResult<MonthTariff> {
        let charge = charge.map_or(Fen::ZERO, Money::fen);
        if charge.0 < 0 {
            return Err(ApiError::field("charge", "must not be negative"));
        }
        Ok(MonthTariff {
            name: name.to_string(),
            car_type_id: car_type_id.map(Int::get),
            charge,
            remark: remark.as_ref().map(ToString::to_string).unwrap_or_default(),
        })
    }

    /// 6.91 (add).
    pub fn from_add(d: &MonthAddIn) -> ApiResult<MonthTariff> {
        MonthTariff::new(&d.name, d.car_type_id, d.charge, &d.remark)
    }

    /// 6.92 (update).
    pub fn from_update(d: &MonthUpdateIn) -> ApiResult<MonthTariff> {
        MonthTariff::new(&d.name, Some(d.car_type_id), d.charge, &d.remark)
    }

    /// The 6.94 row without `tariffId`, which the route adds.
    pub fn to_wire(&self) -> MonthTariffOut {
        MonthTariffOut {
            name: self.name.clone(),
            car_type_id: self.car_type_id,
            charge: Money(self.charge),
            remark: self.remark.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct MonthTariffOut {
    #[serde(rename = "tariffName")]
    pub name: String,
    /// `null` when the tariff names no car type (6.91 allows it).
    #[serde(rename = "carTypeId")]
    pub car_type_id: Option<i64>,
    pub charge: Money,
    pub remark: String,
}
