//! Pricing a stay [entry, end) by tariff.md rules 1-5. The engine walks period
//! boundaries, never minutes, so a week costs a few dozen steps.

use super::model::{Period, TempTariff};
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use onecard_core::Fen;

pub use super::text::{fee_detail, price_rule_text};

/// A stretch of the stay inside one period, priced on its own (rule 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    /// Index into `TempTariff::periods()`.
    pub period: usize,
    pub minutes: i64,
    /// After the period's own cap, before the day cap.
    pub fee: Fen,
}

/// One tariff day, from one `midnight` to the next (rule 4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Day {
    /// The `midnight` instant that opens this day.
    pub start: NaiveDateTime,
    /// Sum of the pieces that start in this day.
    pub pieces_fee: Fen,
    /// `pieces_fee` after the day cap.
    pub fee: Fen,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quote {
    pub entry: NaiveDateTime,
    pub end: NaiveDateTime,
    /// `parktime`: started minutes of the whole stay (rule 1).
    pub minutes: i64,
    /// The stay fitted in the entry period's free minutes (rule 2); then
    /// `pieces` and `days` are empty and `fee` is 0.
    pub free: bool,
    pub pieces: Vec<Piece>,
    pub days: Vec<Day>,
    /// Day boundaries strictly inside (entry, end) (rule 5).
    pub stay_overs: i64,
    pub stay_over_fee: Fen,
    /// The whole stay, before anything paid or any coupon.
    pub fee: Fen,
}

/// Started minutes between two instants; any part of a second counts as started.
pub fn started_minutes(from: NaiveDateTime, to: NaiveDateTime) -> i64 {
    let d = to - from;
    if d <= Duration::zero() {
        return 0;
    }
    let secs = d.num_seconds() + i64::from(d.subsec_nanos() > 0);
    (secs + 59) / 60
}

pub(super) fn next_at(after: NaiveDateTime, t: NaiveTime) -> NaiveDateTime {
    let c = after.date().and_time(t);
    if c > after {
        c
    } else {
        c + Duration::days(1)
    }
}

/// The date whose `midnight` opens the tariff day containing `t`.
pub(super) fn tariff_day(t: NaiveDateTime, midnight: NaiveTime) -> NaiveDate {
    (t - (midnight - NaiveTime::MIN)).date()
}

pub(super) fn piece_fee(p: &Period, minutes: i64) -> Fen {
    let raw = if p.fix_charge.0 > 0 {
        p.fix_charge.0
    } else if minutes <= 0 {
        0
    } else {
        let rest = minutes - i64::from(p.first_minutes);
        let steps = match p.step_minutes {
            0 => 0,
            s if rest > 0 => (rest + i64::from(s) - 1) / i64::from(s),
            _ => 0,
        };
        // Saturating: a decades-long stay at an absurd rate must not overflow.
        p.first_charge.0.saturating_add(steps.saturating_mul(p.step_charge.0))
    };
    Fen(cap(raw, p.max_charge))
}

pub(super) fn cap(v: i64, max: Fen) -> i64 {
    if max.0 > 0 {
        v.min(max.0)
    } else {
        v
    }
}

/// Prices [entry, end). An end at or before the entry is a zero stay.
pub fn price(t: &TempTariff, entry: NaiveDateTime, end: NaiveDateTime) -> Quote {
    let minutes = started_minutes(entry, end);
    let mut q = Quote {
        entry,
        end,
        minutes,
        free: false,
        pieces: Vec::new(),
        days: Vec::new(),
        stay_overs: 0,
        stay_over_fee: Fen::ZERO,
        fee: Fen::ZERO,
    };
    let periods = t.periods();
    let mut idx = t.period_at(entry.time());
    if minutes <= i64::from(periods[idx].free_minutes) {
        q.free = true;
        return q;
    }

    let mut cur = entry;
    while cur < end {
        let p = &periods[idx];
        // `cur` lies in p, so p's next end after `cur` is this piece's boundary
        // (for a whole-day period, the next occurrence of its start).
        let stop = next_at(cur, p.end).min(end);
        let m = started_minutes(cur, stop);
        let fee = piece_fee(p, m);
        let day = tariff_day(cur, t.midnight());
        match q.days.last_mut() {
            Some(d) if d.start.date() == day => d.pieces_fee += fee,
            _ => q.days.push(Day { start: day.and_time(t.midnight()), pieces_fee: fee, fee: Fen::ZERO }),
        }
        q.pieces.push(Piece { start: cur, end: stop, period: idx, minutes: m, fee });
        cur = stop;
        idx = (idx + 1) % periods.len();
    }

    let mut total: i64 = 0;
    for d in &mut q.days {
        d.fee = Fen(cap(d.pieces_fee.0, t.max_charge()));
        total = total.saturating_add(d.fee.0);
    }
    q.stay_overs = stay_overs(entry, end, t.midnight());
    q.stay_over_fee = Fen(q.stay_overs.saturating_mul(t.stay_over().0));
    q.fee = Fen(total.saturating_add(q.stay_over_fee.0));
    q
}

/// Day boundaries (`midnight` instants) strictly inside (entry, end).
pub(super) fn stay_overs(entry: NaiveDateTime, end: NaiveDateTime, midnight: NaiveTime) -> i64 {
    let first = next_at(entry, midnight);
    if first >= end {
        return 0;
    }
    // Count k >= 0 with first + k days < end.
    let d = end - first;
    let secs = d.num_seconds() + i64::from(d.subsec_nanos() > 0);
    (secs + 86_399) / 86_400
}

/// Rule 6: what is still due after `paid`, never below 0.
pub fn due(quote_fee: Fen, paid: Fen) -> Fen {
    (quote_fee - paid).max0()
}

/// Rule 6: a time coupon of `hours` prices the stay as if it ended that much
/// earlier, never before the entry.
pub fn price_with_time_coupon(t: &TempTariff, entry: NaiveDateTime, end: NaiveDateTime, hours: i64) -> Quote {
    let shifted = end.checked_sub_signed(Duration::hours(hours.max(0))).unwrap_or(entry);
    price(t, entry, shifted.max(entry).min(end))
}

/// Rule 6: an amount coupon lowers what is paid (`amount`), never below 0.
pub fn apply_amount_coupon(amount: Fen, coupon: Fen) -> Fen {
    (amount - coupon.max0()).max0()
}

/// Rule 7: the branch's default `FreeLeaveMinutes`.
pub const DEFAULT_FREE_LEAVE_MINUTES: i64 = 15;

/// Rule 7: after a full payment at `paid_at` the car may leave free until
/// `grace_minutes` have passed (inclusive).
pub fn within_grace(paid_at: NaiveDateTime, now: NaiveDateTime, grace_minutes: i64) -> bool {
    now >= paid_at && now - paid_at <= Duration::minutes(grace_minutes.max(0))
}

/// Rule 8: how a monthly card valid over [valid_from, valid_to] treats a stay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonthCover {
    /// Valid for the whole stay: pays 0.
    Free,
    /// Valid at entry, expired before the end: price [from, end) with the card's
    /// tariff, as a temporary stay.
    PriceFrom(NaiveDateTime),
    /// Not valid at entry: a temporary car of the card's car type.
    Temporary,
}

pub fn month_cover(entry: NaiveDateTime, end: NaiveDateTime, valid_from: NaiveDateTime, valid_to: NaiveDateTime) -> MonthCover {
    if entry < valid_from || entry > valid_to {
        MonthCover::Temporary
    } else if end <= valid_to {
        MonthCover::Free
    } else {
        MonthCover::PriceFrom(valid_to)
    }
}
