//! The temporary tariff as 6.96/6.97 send it and 6.100 returns it.

use super::model::{Period, TempTariff};
use onecard_core::kit::{self, Int, List, Money, Text, TimeOfDay};
use onecard_core::{ApiError, ApiResult, Fen};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The tariff fields of a 6.96/6.97 request; the other fields (areaNo,
/// carTypeId, chargeMode, generated, remark) are the route's.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct TariffIn {
    pub midnight: TimeOfDay,
    #[serde(rename = "maxCharge")]
    pub max_charge: Option<Money>,
    #[serde(rename = "stayOver")]
    pub stay_over: Option<Money>,
    /// 6.100 returns no timeNumber, so a tariff read back and sent again may
    /// lack it; when present it must agree with the array.
    #[serde(rename = "timeNumber")]
    pub time_number: Option<Int>,
    #[serde(rename = "chargePeriod")]
    pub periods: List<PeriodIn>,
}

/// One `chargePeriod` entry. Amounts and minutes default to 0.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct PeriodIn {
    #[serde(rename = "periodName")]
    pub name: Option<Text>,
    #[serde(rename = "stTime")]
    pub start: TimeOfDay,
    #[serde(rename = "endTime")]
    pub end: TimeOfDay,
    #[serde(rename = "freeMinutes")]
    pub free_minutes: Option<Int>,
    #[serde(rename = "fstSectTime")]
    pub first_minutes: Option<Int>,
    #[serde(rename = "fstSectCharge")]
    pub first_charge: Option<Money>,
    #[serde(rename = "sectTime")]
    pub step_minutes: Option<Int>,
    #[serde(rename = "sectCharge")]
    pub step_charge: Option<Money>,
    #[serde(rename = "maxCharge")]
    pub max_charge: Option<Money>,
    #[serde(rename = "fixCharge")]
    pub fix_charge: Option<Money>,
    pub remark: Option<Text>,
}

fn money0(v: Option<Money>) -> Fen {
    v.map_or(Fen::ZERO, Money::fen)
}

fn minutes0(v: Option<Int>, name: &str) -> ApiResult<u32> {
    let v = v.map_or(0, Int::get);
    u32::try_from(v).map_err(|_| ApiError::field(name, format!("{v} is not a number of minutes (0 or more)")))
}

impl PeriodIn {
    fn to_period(&self, i: usize) -> ApiResult<Period> {
        let field = |f: &str| format!("chargePeriod[{i}].{f}");
        Ok(Period {
            name: self.name.as_ref().map_or_else(|| format!("时段{}", i + 1), ToString::to_string),
            start: self.start.0,
            end: self.end.0,
            free_minutes: minutes0(self.free_minutes, &field("freeMinutes"))?,
            first_minutes: minutes0(self.first_minutes, &field("fstSectTime"))?,
            first_charge: money0(self.first_charge),
            step_minutes: minutes0(self.step_minutes, &field("sectTime"))?,
            step_charge: money0(self.step_charge),
            max_charge: money0(self.max_charge),
            fix_charge: money0(self.fix_charge),
            remark: self.remark.as_ref().map(ToString::to_string).unwrap_or_default(),
        })
    }
}

impl TariffIn {
    /// The tariff, checked: minutes, money (`TempTariff::new` refuses negative
    /// amounts naming the field), timeNumber, and the 24-hour coverage.
    pub fn to_tariff(&self) -> ApiResult<TempTariff> {
        let periods = self.periods.0.iter().enumerate().map(|(i, p)| p.to_period(i)).collect::<ApiResult<Vec<_>>>()?;
        if let Some(n) = self.time_number.map(Int::get) {
            if n != periods.len() as i64 {
                return Err(ApiError::field("timeNumber", format!("is {n} but chargePeriod has {} periods", periods.len())));
            }
        }
        TempTariff::new(self.midnight.0, money0(self.max_charge), money0(self.stay_over), periods)
    }
}

impl TempTariff {
    /// Reads a tariff from its 6.96 JSON as the route does (tests, benches).
    pub fn from_wire(v: Value) -> ApiResult<TempTariff> {
        kit::input::parse::<TariffIn>(v)?.to_tariff()
    }

    /// The 6.100 shape (plus timeNumber, so it can be sent back to 6.97).
    pub fn to_wire(&self) -> TariffOut {
        let periods: Vec<PeriodOut> = self
            .periods()
            .iter()
            .map(|p| PeriodOut {
                name: p.name.clone(),
                start: TimeOfDay(p.start),
                end: TimeOfDay(p.end),
                free_minutes: p.free_minutes,
                first_minutes: p.first_minutes,
                first_charge: Money(p.first_charge),
                step_minutes: p.step_minutes,
                step_charge: Money(p.step_charge),
                max_charge: Money(p.max_charge),
                fix_charge: Money(p.fix_charge),
                remark: p.remark.clone(),
            })
            .collect();
        TariffOut {
            midnight: TimeOfDay(self.midnight()),
            max_charge: Money(self.max_charge()),
            stay_over: Money(self.stay_over()),
            time_number: periods.len(),
            periods,
        }
    }
}

/// The tariff part of 6.100's answer: money as yuan strings, times of day as
/// `1970-01-01 HH:mm:ss`, minutes as numbers.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct TariffOut {
    pub midnight: TimeOfDay,
    #[serde(rename = "maxCharge")]
    pub max_charge: Money,
    #[serde(rename = "stayOver")]
    pub stay_over: Money,
    #[serde(rename = "timeNumber")]
    pub time_number: usize,
    #[serde(rename = "chargePeriod")]
    pub periods: Vec<PeriodOut>,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct PeriodOut {
    #[serde(rename = "periodName")]
    pub name: String,
    #[serde(rename = "stTime")]
    pub start: TimeOfDay,
    #[serde(rename = "endTime")]
    pub end: TimeOfDay,
    #[serde(rename = "freeMinutes")]
    pub free_minutes: u32,
    #[serde(rename = "fstSectTime")]
    pub first_minutes: u32,
    #[serde(rename = "fstSectCharge")]
    pub first_charge: Money,
    #[serde(rename = "sectTime")]
    pub step_minutes: u32,
    #[serde(rename = "sectCharge")]
    pub step_charge: Money,
    #[serde(rename = "maxCharge")]
    pub max_charge: Money,
    #[serde(rename = "fixCharge")]
    pub fix_charge: Money,
    pub remark: String,
}

