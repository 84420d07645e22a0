//! The temporary-car tariff (tariff.md "Fields"). A `TempTariff` can only be built
//! through `TempTariff::new` (or deserialised through it), so every value in the
//! program covers the 24 hours exactly once and holds no negative money.

use chrono::{NaiveTime, Timelike};
use onecard_core::{ApiError, ApiResult, Fen};
use serde::{Deserialize, Serialize};

pub(crate) const DAY_SECS: u32 = 86_400;

/// One charging period of the day. Minutes are unsigned so a negative duration
/// cannot exist; money is checked by `TempTariff::new`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    pub name: String,
    pub start: NaiveTime,
    /// `end <= start` wraps past 00:00; `end == start` is the whole day.
    pub end: NaiveTime,
    pub free_minutes: u32,
    pub first_minutes: u32,
    pub first_charge: Fen,
    pub step_minutes: u32,
    pub step_charge: Fen,
    /// Cap per piece, 0 = none.
    pub max_charge: Fen,
    /// Charge per piece replacing first/step, 0 = none.
    pub fix_charge: Fen,
    pub remark: String,
}

impl Period {
    pub(crate) fn start_secs(&self) -> u32 {
        self.start.num_seconds_from_midnight()
    }

    /// Length in seconds, in (0, 86400].
    pub(crate) fn len_secs(&self) -> u32 {
        let (s, e) = (self.start_secs(), self.end.num_seconds_from_midnight());
        match (e + DAY_SECS - s) % DAY_SECS {
            0 => DAY_SECS,
            n => n,
        }
    }

    fn money(&self) -> [(&'static str, Fen); 4] {
        [
            ("fstSectCharge", self.first_charge),
            ("sectCharge", self.step_charge),
            ("maxCharge", self.max_charge),
            ("fixCharge", self.fix_charge),
        ]
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Stored", try_from = "Stored")]
pub struct TempTariff {
    midnight: NaiveTime,
    max_charge: Fen,
    stay_over: Fen,
    /// Sorted by start, so period i is followed by period (i + 1) % n.
    periods: Vec<Period>,
}

impl TempTariff {
    /// Checks the tariff.md invariants. Periods may come in any order; they are
    /// kept sorted by start time, which the engine relies on.
    pub fn new(midnight: NaiveTime, max_charge: Fen, stay_over: Fen, mut periods: Vec<Period>) -> ApiResult<Self> {
        non_negative("maxCharge", max_charge)?;
        non_negative("stayOver", stay_over)?;
        for (i, p) in periods.iter().enumerate() {
            for (name, v) in p.money() {
                non_negative(&format!("chargePeriod[{i}].{name}"), v)?;
            }
        }
        periods.sort_by_key(|p| p.start);
        check_coverage(&periods)?;
        Ok(TempTariff { midnight, max_charge, stay_over, periods })
    }

    pub fn midnight(&self) -> NaiveTime {
        self.midnight
    }
    /// Day cap, 0 = none.
    pub fn max_charge(&self) -> Fen {
        self.max_charge
    }
    /// Overnight fee per day boundary, 0 = none.
    pub fn stay_over(&self) -> Fen {
        self.stay_over
    }
    /// Sorted by start time; `Piece::period` indexes into this.
    pub fn periods(&self) -> &[Period] {
        &self.periods
    }

    /// Index of the period whose [start, end) contains this time of day.
    pub fn period_at(&self, t: NaiveTime) -> usize {
        let s = t.num_seconds_from_midnight();
        // Sorted starts: the last start at or before `s`, else the last period,
        // which wraps past midnight to cover the early hours.
        match self.periods.iter().rposition(|p| p.start_secs() <= s) {
            Some(i) => i,
            None => self.periods.len() - 1,
        }
    }
}

fn non_negative(name: &str, v: Fen) -> ApiResult<()> {
    if v.0 < 0 {
        return Err(ApiError::field(name, "must not be negative"));
    }
    Ok(())
}

fn hms(t: NaiveTime) -> String {
    t.format("%H:%M:%S").to_string()
}

/// Sorted periods cover the day exactly once iff each one ends where the next
/// begins (cyclically) and no two begin together.
fn check_coverage(periods: &[Period]) -> ApiResult<()> {
    let bad = |m: String| Err(ApiError::field("chargePeriod", m));
    let n = periods.len();
    if n == 0 {
        return bad("at least one period is required".into());
    }
    for i in 0..n {
        let (p, q) = (&periods[i], &periods[(i + 1) % n]);
        if n > 1 && p.start == q.start {
            return bad(format!("two periods start at {}: overlap", hms(p.start)));
        }
        let to_next = match n {
            1 => DAY_SECS,
            _ => (q.start_secs() + DAY_SECS - p.start_secs()) % DAY_SECS,
        };
        let len = p.len_secs();
        if len < to_next {
            return bad(format!("periods must cover 24 h exactly once: gap from {} to {}", hms(p.end), hms(q.start)));
        }
        if len > to_next {
            return bad(format!(
                "periods must cover 24 h exactly once: '{}' ({}-{}) overlaps the period starting {}",
                p.name,
                hms(p.start),
                hms(p.end),
                hms(q.start)
            ));
        }
    }
    Ok(())
}

/// Stored shape: plain JSON types (chrono has no serde here), fen as integers, so
/// a stored record never depends on yuan parsing.
#[derive(Serialize, Deserialize)]
struct Stored {
    midnight: String,
    max_charge_fen: i64,
    stay_over_fen: i64,
    periods: Vec<StoredPeriod>,
}

#[derive(Serialize, Deserialize)]
struct StoredPeriod {
    name: String,
    start: String,
    end: String,
    free_minutes: u32,
    first_minutes: u32,
    first_charge_fen: i64,
    step_minutes: u32,
    step_charge_fen: i64,
    max_charge_fen: i64,
    fix_charge_fen: i64,
    #[serde(default)]
    remark: String,
}

impl From<TempTariff> for Stored {
    fn from(t: TempTariff) -> Self {
        Stored {
            midnight: hms(t.midnight),
            max_charge_fen: t.max_charge.0,
            stay_over_fen: t.stay_over.0,
            periods: t
                .periods
                .into_iter()
                .map(|p| StoredPeriod {
                    start: hms(p.start),
                    end: hms(p.end),
                    name: p.name,
                    free_minutes: p.free_minutes,
                    first_minutes: p.first_minutes,
                    first_charge_fen: p.first_charge.0,
                    step_minutes: p.step_minutes,
                    step_charge_fen: p.step_charge.0,
                    max_charge_fen: p.max_charge.0,
                    fix_charge_fen: p.fix_charge.0,
                    remark: p.remark,
                })
                .collect(),
        }
    }
}

impl TryFrom<Stored> for TempTariff {
    type Error = ApiError;
    fn try_from(s: Stored) -> ApiResult<Self> {
        let time = |name: &str, v: &str| {
            NaiveTime::parse_from_str(v, "%H:%M:%S").map_err(|_| ApiError::field(name, format!("'{v}' is not HH:mm:ss")))
        };
        let mut periods = Vec::with_capacity(s.periods.len());
        for p in s.periods {
            periods.push(Period {
                start: time("stTime", &p.start)?,
                end: time("endTime", &p.end)?,
                name: p.name,
                free_minutes: p.free_minutes,
                first_minutes: p.first_minutes,
                first_charge: Fen(p.first_charge_fen),
                step_minutes: p.step_minutes,
                step_charge: Fen(p.step_charge_fen),
                max_charge: Fen(p.max_charge_fen),
                fix_charge: Fen(p.fix_charge_fen),
                remark: p.remark,
            });
        }
        TempTariff::new(time("midnight", &s.midnight)?, Fen(s.max_charge_fen), Fen(s.stay_over_fen), periods)
    }
}
