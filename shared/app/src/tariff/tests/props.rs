//! Properties over random tariffs and stays, and a cross-check against a naive
//! reference that cuts the stay at every period start of every calendar day.

use super::super::engine::price;
use super::super::{Period, TempTariff};
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use onecard_core::Fen;
use proptest::prelude::*;

fn tod(min: u32) -> NaiveTime {
    NaiveTime::from_num_seconds_from_midnight_opt(min * 60, 0).unwrap()
}

prop_compose! {
    fn arb_period()(free in 0u32..=60, first in 0u32..=120, first_charge in 0i64..=1000, step in 0u32..=90,
                    step_charge in 0i64..=500, max in prop_oneof![Just(0i64), 1i64..=5000],
                    fix in prop_oneof![3 => Just(0i64), 1 => 1i64..=2000]) -> Period {
        Period {
            name: String::new(), start: NaiveTime::MIN, end: NaiveTime::MIN,
            free_minutes: free, first_minutes: first, first_charge: Fen(first_charge),
            step_minutes: step, step_charge: Fen(step_charge), max_charge: Fen(max), fix_charge: Fen(fix),
            remark: String::new(),
        }
    }
}

prop_compose! {
    fn arb_tariff_with(stay_over: BoxedStrategy<i64>, day_cap: BoxedStrategy<i64>)
        (starts in proptest::collection::btree_set(0u32..1440, 1..=4), ps in proptest::collection::vec(arb_period(), 4),
         midnight in 0u32..1440, cap in day_cap, over in stay_over) -> TempTariff {
        let starts: Vec<u32> = starts.into_iter().collect();
        let periods = starts.iter().enumerate().map(|(i, s)| Period {
            name: format!("p{i}"),
            start: tod(*s),
            end: tod(starts[(i + 1) % starts.len()]),
            ..ps[i].clone()
        }).collect();
        TempTariff::new(tod(midnight), Fen(cap), Fen(over), periods).expect("generated tariff covers the day")
    }
}

fn arb_tariff() -> impl Strategy<Value = TempTariff> {
    arb_tariff_with((0i64..=1000).boxed(), prop_oneof![Just(0i64), 1i64..=8000].boxed())
}

fn base() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap().and_hms_opt(0, 0, 0).unwrap()
}

fn arb_entry() -> impl Strategy<Value = NaiveDateTime> {
    (0i64..7 * 86_400).prop_map(|s| base() + Duration::seconds(s))
}

/// Cuts at every period start on every calendar day, the most literal reading of
/// rule 3, and prices pieces, days and overnights without sharing engine code.
fn reference(t: &TempTariff, entry: NaiveDateTime, end: NaiveDateTime) -> (Vec<(NaiveDateTime, NaiveDateTime, usize)>, i64) {
    let minutes = |a: NaiveDateTime, b: NaiveDateTime| ((b - a).num_seconds() + 59) / 60;
    let ps = t.periods();
    if minutes(entry, end) <= i64::from(ps[t.period_at(entry.time())].free_minutes) {
        return (vec![], 0);
    }
    let mut cuts = vec![entry, end];
    let mut overs = 0;
    let mut day = entry.date() - Duration::days(1);
    while day <= end.date() {
        cuts.extend(ps.iter().map(|p| day.and_time(p.start)).filter(|c| *c > entry && *c < end));
        let m = day.and_time(t.midnight());
        overs += i64::from(m > entry && m < end);
        day += Duration::days(1);
    }
    cuts.sort();
    cuts.dedup();
    let mut by_day: std::collections::BTreeMap<NaiveDate, i64> = Default::default();
    let mut pieces = vec![];
    for w in cuts.windows(2) {
        let i = t.period_at(w[0].time());
        let p = &ps[i];
        let m = minutes(w[0], w[1]);
        let mut fee = if p.fix_charge.0 > 0 {
            p.fix_charge.0
        } else {
            let mut f = p.first_charge.0;
            let mut left = m - i64::from(p.first_minutes);
            while p.step_minutes > 0 && left > 0 {
                f += p.step_charge.0;
                left -= i64::from(p.step_minutes);
            }
            f
        };
        if p.max_charge.0 > 0 {
            fee = fee.min(p.max_charge.0);
        }
        let d = if w[0].time() >= t.midnight() { w[0].date() } else { w[0].date() - Duration::days(1) };
        *by_day.entry(d).or_default() += fee;
        pieces.push((w[0], w[1], i));
    }
    let cap = t.max_charge().0;
    let days: i64 = by_day.values().map(|v| if cap > 0 { (*v).min(cap) } else { *v }).sum();
    (pieces, days + overs * t.stay_over().0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn matches_the_naive_reference(t in arb_tariff(), entry in arb_entry(), secs in 0i64..4 * 86_400) {
        let end = entry + Duration::seconds(secs);
        let q = price(&t, entry, end);
        let (pieces, fee) = reference(&t, entry, end);
        let got: Vec<_> = q.pieces.iter().map(|p| (p.start, p.end, p.period)).collect();
        prop_assert_eq!(got, pieces);
        prop_assert_eq!(q.fee.0, fee);
    }

    #[test]
    fn fee_never_decreases_as_the_end_grows(t in arb_tariff(), entry in arb_entry(), a in 0i64..5 * 86_400, b in 0i64..5 * 86_400) {
        let (a, b) = (a.min(b), a.max(b));
        let qa = price(&t, entry, entry + Duration::seconds(a));
        let qb = price(&t, entry, entry + Duration::seconds(b));
        prop_assert!(qa.fee <= qb.fee, "{} s: {}, {} s: {}", a, qa.fee, b, qb.fee);
    }

    #[test]
    fn each_day_stays_within_the_day_cap(
        t in arb_tariff_with(Just(0i64).boxed(), (1i64..=8000).boxed()), entry in arb_entry(), secs in 0i64..6 * 86_400,
    ) {
        let q = price(&t, entry, entry + Duration::seconds(secs));
        let cap = t.max_charge();
        let mut sum = Fen::ZERO;
        for d in &q.days {
            prop_assert!(d.fee <= cap, "day {} charged {} over cap {}", d.start, d.fee, cap);
            sum += d.fee;
        }
        prop_assert_eq!(sum, q.fee);
        // Independently: no more than one cap per tariff day the stay touches.
        let first_day = entry - (t.midnight() - NaiveTime::MIN);
        let touched = (q.end - (t.midnight() - NaiveTime::MIN)).date().signed_duration_since(first_day.date()).num_days() + 1;
        prop_assert!(q.fee.0 <= cap.0 * touched);
    }

    #[test]
    fn a_stay_inside_the_free_minutes_costs_nothing(t in arb_tariff(), entry in arb_entry(), frac in 0.0f64..=1.0) {
        let free = t.periods()[t.period_at(entry.time())].free_minutes;
        // f64 only picks a test duration here, never money.
        let secs = (f64::from(free * 60) * frac) as i64;
        let q = price(&t, entry, entry + Duration::seconds(secs));
        prop_assert_eq!(q.fee, Fen::ZERO);
        prop_assert!(q.free);
    }

    #[test]
    fn pieces_tile_the_stay_inside_one_period_each(t in arb_tariff(), entry in arb_entry(), secs in 0i64..3 * 86_400) {
        let end = entry + Duration::seconds(secs);
        let q = price(&t, entry, end);
        if !q.free {
            prop_assert_eq!(q.pieces.first().map(|p| p.start), Some(entry));
            prop_assert_eq!(q.pieces.last().map(|p| p.end), Some(end));
            for w in q.pieces.windows(2) {
                prop_assert_eq!(w[0].end, w[1].start);
            }
            for p in &q.pieces {
                prop_assert!(p.start < p.end);
                prop_assert_eq!(t.period_at(p.start.time()), p.period);
                prop_assert!(p.end - p.start <= Duration::days(1));
            }
        }
    }
}
