//! The temporary tariff as 6.96/6.97 send it and 6.100 returns it.

use super::model::{Period, TempTariff};
use chrono::NaiveTime;
use onecard_core::{ApiError, ApiResult, Data, Fen};
use serde_json::{json, Value};

/// The seed sends times of day as `1970-01-01 HH:mm:ss`; a bare `HH:mm[:ss]` is
/// accepted too because only the time of day counts.
fn time_of_day(d: &Data, name: &str) -> ApiResult<NaiveTime> {
    let s = d.str(name)?;
    if let Some(t) = onecard_core::time::parse(&s) {
        return Ok(t.time());
    }
    ["%H:%M:%S", "%H:%M"]
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(&s, f).ok())
        .ok_or_else(|| ApiError::field(name, format!("'{s}' is not a time 1970-01-01 HH:mm:ss")))
}

fn money0(d: &Data, name: &str) -> ApiResult<Fen> {
    let v = d.opt_money(name)?.unwrap_or(Fen::ZERO);
    if v.0 < 0 {
        return Err(ApiError::field(name, "must not be negative"));
    }
    Ok(v)
}

fn minutes0(d: &Data, name: &str) -> ApiResult<u32> {
    let v = d.i64_or(name, 0)?;
    u32::try_from(v).map_err(|_| ApiError::field(name, format!("{v} is not a number of minutes (0 or more)")))
}

fn wire_time(t: NaiveTime) -> String {
    format!("1970-01-01 {}", t.format("%H:%M:%S"))
}

/// Errors inside a period name it by its place in the array, so the caller
/// can find which period is wrong.
fn in_period(i: usize, e: ApiError) -> ApiError {
    let message = e.message.replacen("field '", &format!("field 'chargePeriod[{i}]."), 1);
    ApiError { message, ..e }
}

fn period_from(i: usize, p: &Data) -> ApiResult<Period> {
    Ok(Period {
        name: p.opt_str("periodName")?.unwrap_or_else(|| format!("时段{}", i + 1)),
        start: time_of_day(p, "stTime")?,
        end: time_of_day(p, "endTime")?,
        free_minutes: minutes0(p, "freeMinutes")?,
        first_minutes: minutes0(p, "fstSectTime")?,
        first_charge: money0(p, "fstSectCharge")?,
        step_minutes: minutes0(p, "sectTime")?,
        step_charge: money0(p, "sectCharge")?,
        max_charge: money0(p, "maxCharge")?,
        fix_charge: money0(p, "fixCharge")?,
        remark: p.opt_str("remark")?.unwrap_or_default(),
    })
}

impl TempTariff {
    /// Reads the tariff part of a 6.96/6.97 request; other fields (areaNo,
    /// carTypeId, chargeMode, generated, remark) are the handler's.
    pub fn from_request(d: &Data) -> ApiResult<TempTariff> {
        let midnight = time_of_day(d, "midnight")?;
        let max_charge = money0(d, "maxCharge")?;
        let stay_over = money0(d, "stayOver")?;
        let raw = d.opt_array("chargePeriod")?.ok_or_else(|| ApiError::missing("chargePeriod"))?;
        let mut periods = Vec::with_capacity(raw.len());
        for (i, p) in raw.iter().enumerate() {
            if !p.raw().is_object() {
                return Err(ApiError::field(&format!("chargePeriod[{i}]"), "must be an object"));
            }
            periods.push(period_from(i, p).map_err(|e| in_period(i, e))?);
        }
        // 6.100 returns no timeNumber, so a tariff read back and sent again may
        // lack it; when present it must agree with the array.
        if let Some(n) = d.opt_i64("timeNumber")? {
            if n != periods.len() as i64 {
                return Err(ApiError::field(
                    "timeNumber",
                    format!("is {n} but chargePeriod has {} periods", periods.len()),
                ));
            }
        }
        TempTariff::new(midnight, max_charge, stay_over, periods)
    }

    /// The 6.100 shape (plus timeNumber, so it can be sent back to 6.97).
    pub fn to_wire(&self) -> Value {
        let periods: Vec<Value> = self
            .periods()
            .iter()
            .map(|p| {
                json!({
                    "periodName": p.name,
                    "stTime": wire_time(p.start),
                    "endTime": wire_time(p.end),
                    "freeMinutes": p.free_minutes,
                    "fstSectTime": p.first_minutes,
                    "fstSectCharge": p.first_charge.yuan(),
                    "sectTime": p.step_minutes,
                    "sectCharge": p.step_charge.yuan(),
                    "maxCharge": p.max_charge.yuan(),
                    "fixCharge": p.fix_charge.yuan(),
                    "remark": p.remark,
                })
            })
            .collect();
        json!({
            "midnight": wire_time(self.midnight()),
            "maxCharge": self.max_charge().yuan(),
            "stayOver": self.stay_over().yuan(),
            "timeNumber": periods.len(),
            "chargePeriod": periods,
        })
    }
}
