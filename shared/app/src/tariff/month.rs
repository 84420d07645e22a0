//! The monthly-card tariff (6.91-6.94): a name and a fee per month for a car type.

use onecard_core::{ApiError, ApiResult, Data, Fen};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

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

impl MonthTariff {
    /// 6.91 (add): `tariffName` required, `carTypeId` optional, `charge` defaults to 0.
    pub fn from_request(d: &Data) -> ApiResult<MonthTariff> {
        let charge = d.opt_money("charge")?.unwrap_or(Fen::ZERO);
        if charge.0 < 0 {
            return Err(ApiError::field("charge", "must not be negative"));
        }
        Ok(MonthTariff {
            name: d.str("tariffName")?,
            car_type_id: d.opt_i64("carTypeId")?,
            charge,
            remark: d.opt_str("remark")?.unwrap_or_default(),
        })
    }

    /// 6.92 (update): as 6.91 but `carTypeId` is required.
    pub fn from_update_request(d: &Data) -> ApiResult<MonthTariff> {
        let t = MonthTariff::from_request(d)?;
        if t.car_type_id.is_none() {
            return Err(ApiError::missing("carTypeId"));
        }
        Ok(t)
    }

    /// The 6.94 row without `tariffId`, which the handler adds.
    pub fn to_wire(&self) -> Value {
        json!({
            "tariffName": self.name,
            "carTypeId": self.car_type_id,
            "charge": self.charge.yuan(),
            "remark": self.remark,
        })
    }
}
