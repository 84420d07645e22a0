//! What a discount gives, as stored on discount sets, coupons and merchant
//! discount records, and its wire form (6.34 `PresentType`/`DiscountRate`/
//! `MaxValue`). `tariff::discount::Present` is what the fee engine prices.

use crate::merchants::Cost;
use crate::tariff::discount::{daily_windows, Present, Window};
use chrono::{NaiveDateTime, NaiveTime};
use onecard_core::kit::{Decimal, Int, Money};
use onecard_core::{ApiError, ApiResult, Fen};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Kind {
    /// 1: yuan off.
    GiftAmount { fen: Fen },
    /// 2: minutes off the end of the stay.
    GiftTime { minutes: i64 },
    /// 3: a 折 figure (8.5 = pay 85 %) as per mille, its cut capped at `cap`.
    Rate { per_mille: i64, cap: Fen },
    /// 4: nothing to pay.
    FullyFree,
    /// 5 on a discount set: a free stretch of every day (times of day).
    DailyFree { start: NaiveTime, end: NaiveTime },
    /// 5 given by a merchant (6.50 `freeTimeStart`/`freeTimeEnd`): one stretch.
    FreeBetween { start: NaiveDateTime, end: NaiveDateTime },
}

impl Kind {
    /// The seed's `PresentType`.
    pub fn code(&self) -> i64 {
        match self {
            Kind::GiftAmount { .. } => 1,
            Kind::GiftTime { .. } => 2,
            Kind::Rate { .. } => 3,
            Kind::FullyFree => 4,
            Kind::DailyFree { .. } | Kind::FreeBetween { .. } => 5,
        }
    }

    /// `DiscountRate` as 6.34/6.51/6.59 print it: yuan, minutes or the 折 figure.
    pub fn rate_text(&self) -> String {
        match self {
            Kind::GiftAmount { fen } => fen.yuan(),
            Kind::GiftTime { minutes } => minutes.to_string(),
            Kind::Rate { per_mille, .. } => {
                let s = format!("{}.{:02}", per_mille / 100, per_mille % 100);
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            }
            Kind::FullyFree | Kind::DailyFree { .. } | Kind::FreeBetween { .. } => String::new(),
        }
    }

    /// `MaxValue`: only a rate has one.
    pub fn max_text(&self) -> String {
        match self {
            Kind::Rate { cap, .. } if cap.0 > 0 => cap.yuan(),
            _ => String::new(),
        }
    }

    /// 5.4.1 `DiscountRate`: yuan, or hours with two decimals for time.
    pub fn bill_rate_text(&self, took: Fen) -> String {
        match self {
            Kind::GiftTime { minutes } => format!("{:.2}", *minutes as f64 / 60.0),
            _ => took.yuan(),
        }
    }

    /// What one such discount costs the merchant who gives it.
    pub fn cost(&self) -> Cost {
        match self {
            Kind::GiftAmount { fen } => Cost { fen: *fen, minutes: 0 },
            Kind::GiftTime { minutes } => Cost { fen: Fen::ZERO, minutes: *minutes },
            _ => Cost::default(),
        }
    }

    /// What the fee engine prices for a stay priced over [from, to).
    pub fn present(&self, from: NaiveDateTime, to: NaiveDateTime) -> Present {
        match self {
            Kind::GiftAmount { fen } => Present::GiftAmount { fen: *fen },
            Kind::GiftTime { minutes } => Present::GiftTime { minutes: *minutes },
            Kind::Rate { per_mille, cap } => Present::Rate { per_mille: *per_mille, cap: *cap },
            Kind::FullyFree => Present::FullyFree,
            Kind::DailyFree { start, end } => Present::FreePeriod { windows: daily_windows(*start, *end, from, to) },
            Kind::FreeBetween { start, end } => Present::FreePeriod { windows: vec![Window { start: *start, end: *end }] },
        }
    }

    /// Reads the wire form of a discount set (6.34 names; admin and import).
    pub fn from_wire(present_type: i64, rate: Option<Decimal>, max: Option<Money>, free: Option<(NaiveTime, NaiveTime)>) -> ApiResult<Kind> {
        let rate_of = |what: &str| rate.map(|d| d.0).filter(|r| r.is_finite() && *r >= 0.0).ok_or_else(|| ApiError::field("DiscountRate", format!("is required for {what} and must not be negative")));
        Ok(match present_type {
            1 => Kind::GiftAmount { fen: Fen((rate_of("a gift amount")? * 100.0).round() as i64) },
            2 => Kind::GiftTime { minutes: rate_of("a gift time")?.round() as i64 },
            3 => {
                let r = rate_of("a rate")?;
                if !(0.0..=10.0).contains(&r) {
                    return Err(ApiError::field("DiscountRate", "a rate is a 折 figure from 0 to 10 (8.5 = pay 85 %)"));
                }
                Kind::Rate { per_mille: (r * 100.0).round() as i64, cap: max.map(Money::fen).unwrap_or(Fen::ZERO).max0() }
            }
            4 => Kind::FullyFree,
            5 => {
                let (start, end) = free.ok_or_else(|| ApiError::field("freeTimeStart", "a free period needs its start and end"))?;
                Kind::DailyFree { start, end }
            }
            n => return Err(ApiError::field("PresentType", format!("{n} is not 1-5"))),
        })
    }
}

/// Reads an `Int` wire id that must be positive.
pub fn positive(v: Int, field: &str) -> ApiResult<i64> {
    match v.get() {
        n if n > 0 => Ok(n),
        n => Err(ApiError::field(field, format!("{n} is not a positive number"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms() {
        let r = Kind::from_wire(3, Some(Decimal(8.5)), Some(Money(Fen(300))), None).unwrap();
        assert_eq!(r, Kind::Rate { per_mille: 850, cap: Fen(300) });
        assert_eq!((r.rate_text(), r.max_text(), r.code()), ("8.5".into(), "3.00".into(), 3));
        assert_eq!(Kind::Rate { per_mille: 800, cap: Fen::ZERO }.rate_text(), "8");
        assert_eq!(Kind::from_wire(1, Some(Decimal(5.0)), None, None).unwrap().rate_text(), "5.00");
        assert_eq!(Kind::GiftTime { minutes: 90 }.bill_rate_text(Fen(300)), "1.50");
        assert!(Kind::from_wire(3, Some(Decimal(11.0)), None, None).is_err());
        assert!(Kind::from_wire(1, None, None, None).is_err());
        assert!(Kind::from_wire(6, None, None, None).is_err());
    }
}
