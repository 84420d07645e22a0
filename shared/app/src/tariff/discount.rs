//! Rule 9 of tariff.md: how the discounts of an order lower `amount`. Pure
//! code: the callers gather the discounts, this module prices them.
//!
//! Order of application: gift time and free periods (both price the stay
//! again), then fully free, then the 折 rate, then gift amounts; these are
//! the bill discounts. Shopping tickets and then the membership card are taken
//! off what is left. `parkcost` is never changed and `amount` never goes
//! below 0.

use super::engine::{cap, next_at, piece_fee, stay_overs, started_minutes, tariff_day};
use super::model::TempTariff;
use chrono::{Duration, NaiveDateTime, NaiveTime};
use onecard_core::Fen;
use serde::{Deserialize, Serialize};

/// What one bill discount gives (6.34 `PresentType`), in the engine's units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Present {
    /// 1: yuan off.
    GiftAmount { fen: Fen },
    /// 2: the stay is priced as if it ended this many minutes earlier.
    GiftTime { minutes: i64 },
    /// 3: pay `per_mille` / 1000 of what is left (8折 = 800), the reduction
    /// capped at `cap` when above 0.
    Rate { per_mille: i64, cap: Fen },
    /// 4: nothing to pay.
    FullyFree,
    /// 5: the minutes inside the windows cost nothing.
    FreePeriod { windows: Vec<Window> },
}

/// A stretch of time that costs nothing (rule 9, type 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

impl Present {
    /// The seed's `PresentType` code.
    pub fn code(&self) -> i64 {
        match self {
            Present::GiftAmount { .. } => 1,
            Present::GiftTime { .. } => 2,
            Present::Rate { .. } => 3,
            Present::FullyFree => 4,
            Present::FreePeriod { .. } => 5,
        }
    }

    /// Where it falls in rule 9's order (lower first).
    fn rank(&self) -> u8 {
        match self {
            Present::GiftTime { .. } => 0,
            Present::FreePeriod { .. } => 1,
            Present::FullyFree => 2,
            Present::Rate { .. } => 3,
            Present::GiftAmount { .. } => 4,
        }
    }
}

/// The windows of a daily free period [start, end) (times of day; `end <=
/// start` wraps past midnight) that meet [from, to).
pub fn daily_windows(start: NaiveTime, end: NaiveTime, from: NaiveDateTime, to: NaiveDateTime) -> Vec<Window> {
    let mut out = Vec::new();
    if to <= from {
        return out;
    }
    let len = match end.signed_duration_since(start) {
        d if d <= Duration::zero() => d + Duration::days(1),
        d => d,
    };
    // Start the day before, so a window that wraps past midnight into the stay counts.
    let mut day = from.date() - Duration::days(1);
    while day.and_time(start) < to {
        let w = Window { start: day.and_time(start), end: day.and_time(start) + len };
        if w.end > from {
            out.push(w);
        }
        day += Duration::days(1);
    }
    out
}

/// What the stay costs with free windows (rule 9 type 5): the windows cut
/// pieces at their edges like period boundaries and pieces inside them cost
/// nothing; piece, day caps and `stayOver` apply to what is left. Rules 1-5
/// otherwise, as `engine::price`.
pub fn fee_with_free_windows(t: &TempTariff, entry: NaiveDateTime, end: NaiveDateTime, windows: &[Window]) -> Fen {
    let periods = t.periods();
    let mut idx = t.period_at(entry.time());
    if started_minutes(entry, end) <= i64::from(periods[idx].free_minutes) {
        return Fen::ZERO;
    }
    let free_at = |at: NaiveDateTime| windows.iter().any(|w| w.start <= at && at < w.end);
    let next_edge = |at: NaiveDateTime| windows.iter().flat_map(|w| [w.start, w.end]).filter(|e| *e > at).min();
    let mut days: Vec<(chrono::NaiveDate, i64)> = Vec::new();
    let mut cur = entry;
    while cur < end {
        let p = &periods[idx];
        let period_end = next_at(cur, p.end);
        let stop = [Some(period_end), Some(end), next_edge(cur)].into_iter().flatten().min().unwrap_or(end);
        let fee = if free_at(cur) { Fen::ZERO } else { piece_fee(p, started_minutes(cur, stop)) };
        let day = tariff_day(cur, t.midnight());
        match days.last_mut() {
            Some((d, sum)) if *d == day => *sum = sum.saturating_add(fee.0),
            _ => days.push((day, fee.0)),
        }
        cur = stop;
        if stop == period_end {
            idx = (idx + 1) % periods.len();
        }
    }
    let total = days.iter().fold(0i64, |acc, (_, sum)| acc.saturating_add(cap(*sum, t.max_charge())));
    Fen(total.saturating_add(stay_overs(entry, end, t.midnight()).saturating_mul(t.stay_over().0)))
}

/// What a re-pricing needs: the tariff, where pricing starts (the entry, or a
/// monthly card's expiry), and what the stay has already settled.
#[derive(Clone, Debug, PartialEq)]
pub struct Repricing {
    pub tariff: TempTariff,
    pub from: NaiveDateTime,
    pub end: NaiveDateTime,
    pub settled: Fen,
}

impl Repricing {
    /// What is due with `gift_minutes` taken off the end and the windows free.
    fn due(&self, gift_minutes: i64, windows: &[Window]) -> Fen {
        let end = self.end.checked_sub_signed(Duration::minutes(gift_minutes.max(0))).unwrap_or(self.from).max(self.from);
        (fee_with_free_windows(&self.tariff, self.from, end, windows) - self.settled).max0()
    }
}

/// Rule 9's result for one order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// What each bill discount took off, in the order given.
    pub per_bill: Vec<Fen>,
    pub bill: Fen,
    pub shopping: Fen,
    pub score: Fen,
    pub amount: Fen,
}

/// Applies rule 9 to what is due (`parkcost`). `pricing` is needed by gift
/// time and free periods (without it, e.g. inside the grace or for a monthly
/// card, they give nothing). `shopping` is what the tickets are worth and
/// `score` what the membership card can cover; each takes at most what is left.
pub fn apply(parkcost: Fen, pricing: Option<&Repricing>, bills: &[Present], shopping: Fen, score: Fen) -> Outcome {
    let parkcost = parkcost.max0();
    let mut per_bill = vec![Fen::ZERO; bills.len()];
    let mut order: Vec<usize> = (0..bills.len()).collect();
    order.sort_by_key(|i| bills[*i].rank());

    let mut left = parkcost;
    let (mut gift_minutes, mut windows) = (0i64, Vec::new());
    let mut free = false;
    for i in order {
        if free {
            break;
        }
        let before = left;
        match &bills[i] {
            Present::GiftTime { minutes } => {
                gift_minutes = gift_minutes.saturating_add((*minutes).max(0));
                if let Some(p) = pricing {
                    left = p.due(gift_minutes, &windows).min(left);
                }
            }
            Present::FreePeriod { windows: w } => {
                windows.extend_from_slice(w);
                if let Some(p) = pricing {
                    left = p.due(gift_minutes, &windows).min(left);
                }
            }
            Present::FullyFree => {
                left = Fen::ZERO;
                free = true;
            }
            Present::Rate { per_mille, cap } => {
                let pay = rate_of(left, *per_mille);
                let cut = left - pay;
                let cut = if cap.0 > 0 { cut.min(*cap) } else { cut };
                left = (left - cut.max0()).max0();
            }
            Present::GiftAmount { fen } => left = (left - fen.max0()).max0(),
        }
        per_bill[i] = (before - left).max0();
    }
    let bill = parkcost - left;
    let shopping = shopping.max0().min(left);
    left = left - shopping;
    let score = score.max0().min(left);
    left = left - score;
    Outcome { per_bill, bill, shopping, score, amount: left }
}

/// `amount` × `per_mille` / 1000, rounded to the fen half up.
fn rate_of(amount: Fen, per_mille: i64) -> Fen {
    let per_mille = per_mille.clamp(0, 1000);
    Fen((amount.0.max(0).saturating_mul(per_mille) + 500) / 1000)
}

#[cfg(test)]
#[path = "discount_tests.rs"]
mod tests;
