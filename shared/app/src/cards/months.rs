//! Month arithmetic for monthly cards. Adding months keeps the day of the month
//! and clamps to the month's end (Jan 31 + 1 month = Feb 28/29); n months are
//! added in one step from the base, so Jan 31 + 2 months is Mar 31, not the
//! Mar 28 two single steps would give.

use chrono::{Months, NaiveDateTime, TimeDelta};
use onecard_core::Fen;

/// Renewals beyond this are refused as input errors (ten years).
pub const MAX_MONTHS: i64 = 120;

pub fn add_months(t: NaiveDateTime, n: i64) -> Option<NaiveDateTime> {
    let n = u32::try_from(n).ok()?;
    t.checked_add_months(Months::new(n))
}

pub fn sub_months(t: NaiveDateTime, n: i64) -> Option<NaiveDateTime> {
    let n = u32::try_from(n).ok()?;
    t.checked_sub_months(Months::new(n))
}

/// The whole months and the remaining started days from `from` to `to`
/// (`to` after `from`).
pub fn span(from: NaiveDateTime, to: NaiveDateTime) -> (i64, i64) {
    let mut months = 0;
    while months < MAX_MONTHS * 10 {
        match add_months(from, months + 1) {
            Some(t) if t <= to => months += 1,
            _ => break,
        }
    }
    let rest = to - add_months(from, months).unwrap_or(from);
    let day = TimeDelta::days(1);
    let days = if rest <= TimeDelta::zero() { 0 } else { (rest.num_seconds() + day.num_seconds() - 1) / day.num_seconds() };
    (months, days)
}

/// The fee of `months` months and `days` days at `monthly` a month. A day is
/// charged as a 30th of a month (the seed says extension by date is charged by
/// days, without a rule), rounded half up to the fen.
pub fn fee(monthly: Fen, months: i64, days: i64) -> Fen {
    let day_part = (monthly.0 * days * 2 + 30) / 60;
    Fen(monthly.0 * months + day_part)
}

#[cfg(test)]
mod tests {
    use super::*;
    use onecard_core::time::parse;

    fn t(s: &str) -> NaiveDateTime {
        parse(s).unwrap()
    }

    #[test]
    fn month_ends_clamp() {
        assert_eq!(add_months(t("2026-01-31 23:59:59"), 1), Some(t("2026-02-28 23:59:59")));
        assert_eq!(add_months(t("2028-01-31 23:59:59"), 1), Some(t("2028-02-29 23:59:59")));
        assert_eq!(add_months(t("2026-01-31 23:59:59"), 2), Some(t("2026-03-31 23:59:59")));
        assert_eq!(add_months(t("2026-03-31 00:00:00"), 1), Some(t("2026-04-30 00:00:00")));
        assert_eq!(add_months(t("2015-10-01 23:59:59"), 1), Some(t("2015-11-01 23:59:59")));
        assert_eq!(add_months(t("2026-12-15 12:00:00"), 1), Some(t("2027-01-15 12:00:00")));
        assert_eq!(add_months(t("2026-12-15 12:00:00"), -1), None);
        assert_eq!(sub_months(t("2026-03-31 23:59:59"), 1), Some(t("2026-02-28 23:59:59")));
    }

    #[test]
    fn spans_in_months_and_days() {
        assert_eq!(span(t("2026-01-31 23:59:59"), t("2026-02-28 23:59:59")), (1, 0));
        assert_eq!(span(t("2026-01-15 23:59:59"), t("2026-03-20 23:59:59")), (2, 5));
        assert_eq!(span(t("2026-01-15 23:59:59"), t("2026-01-15 23:59:59")), (0, 0));
        assert_eq!(span(t("2026-01-15 23:59:59"), t("2026-01-16 00:00:00")), (0, 1));
    }

    #[test]
    fn fees_by_month_and_day() {
        assert_eq!(fee(Fen(12000), 3, 0), Fen(36000));
        assert_eq!(fee(Fen(12000), 0, 5), Fen(2000));
        assert_eq!(fee(Fen(10000), 1, 1), Fen(10333));
        assert_eq!(fee(Fen(10000), 0, 2), Fen(667));
    }
}
