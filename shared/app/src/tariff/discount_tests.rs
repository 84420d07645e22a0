//! Rule 9's worked examples (T1, 09:00 to 14:00, fee 21.00) and its properties.

use super::*;
use crate::tariff::engine::price;
use crate::tariff::tests::{t1, t2};
use proptest::prelude::*;

fn at(s: &str) -> NaiveDateTime {
    onecard_core::time::parse(s).unwrap()
}

fn five_hours() -> Repricing {
    Repricing { tariff: t1(), from: at("2026-03-02 09:00:00"), end: at("2026-03-02 14:00:00"), settled: Fen::ZERO }
}

fn amount(bills: &[Present]) -> Fen {
    let p = five_hours();
    let parkcost = price(&p.tariff, p.from, p.end).fee;
    assert_eq!(parkcost, Fen(2100));
    apply(parkcost, Some(&p), bills, Fen::ZERO, Fen::ZERO).amount
}

#[test]
fn worked_examples() {
    assert_eq!(amount(&[Present::GiftAmount { fen: Fen(500) }]), Fen(1600));
    assert_eq!(amount(&[Present::Rate { per_mille: 800, cap: Fen(300) }]), Fen(1800));
    assert_eq!(amount(&[Present::Rate { per_mille: 800, cap: Fen::ZERO }]), Fen(1680));
    assert_eq!(amount(&[Present::GiftTime { minutes: 60 }]), Fen(1700));
    let window = Window { start: at("2026-03-02 10:00:00"), end: at("2026-03-02 12:00:00") };
    assert_eq!(amount(&[Present::FreePeriod { windows: vec![window] }]), Fen(1400));
    assert_eq!(amount(&[Present::FullyFree]), Fen::ZERO);
    // Given in any order, applied in rule 9's.
    let mixed = [Present::GiftAmount { fen: Fen(500) }, Present::Rate { per_mille: 800, cap: Fen(300) }, Present::GiftTime { minutes: 60 }];
    assert_eq!(amount(&mixed), Fen(900));
}

#[test]
fn each_line_reports_what_it_took_and_kinds_add_up() {
    let p = five_hours();
    let bills = [Present::GiftAmount { fen: Fen(500) }, Present::GiftTime { minutes: 60 }];
    let o = apply(Fen(2100), Some(&p), &bills, Fen(300), Fen(10_000));
    assert_eq!(o.per_bill, vec![Fen(500), Fen(400)]);
    assert_eq!((o.bill, o.shopping, o.score, o.amount), (Fen(900), Fen(300), Fen(900), Fen::ZERO));
}

#[test]
fn fully_free_stops_what_follows() {
    let o = apply(Fen(2100), None, &[Present::GiftAmount { fen: Fen(500) }, Present::FullyFree], Fen(100), Fen(100));
    assert_eq!(o.per_bill, vec![Fen::ZERO, Fen(2100)]);
    assert_eq!((o.amount, o.shopping, o.score), (Fen::ZERO, Fen::ZERO, Fen::ZERO));
}

#[test]
fn rate_rounds_half_up() {
    // 10.05 at 8.5折 is 8.5425 -> 8.54; 0.03 at 5折 is 0.015 -> 0.02.
    assert_eq!(apply(Fen(1005), None, &[Present::Rate { per_mille: 850, cap: Fen::ZERO }], Fen::ZERO, Fen::ZERO).amount, Fen(854));
    assert_eq!(apply(Fen(3), None, &[Present::Rate { per_mille: 500, cap: Fen::ZERO }], Fen::ZERO, Fen::ZERO).amount, Fen(2));
}

#[test]
fn time_discounts_without_a_tariff_give_nothing() {
    let o = apply(Fen(2100), None, &[Present::GiftTime { minutes: 60 }], Fen::ZERO, Fen::ZERO);
    assert_eq!(o.amount, Fen(2100));
}

#[test]
fn settled_money_is_taken_off_the_repriced_fee() {
    let p = Repricing { settled: Fen(1000), ..five_hours() };
    // Due 11.00; priced to 13:00 the stay costs 17.00, so 7.00 is due.
    assert_eq!(apply(Fen(1100), Some(&p), &[Present::GiftTime { minutes: 60 }], Fen::ZERO, Fen::ZERO).amount, Fen(700));
}

#[test]
fn daily_windows_cover_each_day_of_the_stay() {
    let w = daily_windows(
        NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
        NaiveTime::from_hms_opt(6, 0, 0).unwrap(),
        at("2026-03-02 09:00:00"),
        at("2026-03-04 01:00:00"),
    );
    assert_eq!(w.first().unwrap().start, at("2026-03-02 22:00:00"));
    assert_eq!(w.last().unwrap().start, at("2026-03-03 22:00:00"));
    assert_eq!(w.len(), 2);
}

fn present() -> impl Strategy<Value = Present> {
    prop_oneof![
        (0i64..5000).prop_map(|f| Present::GiftAmount { fen: Fen(f) }),
        (0i64..3000).prop_map(|minutes| Present::GiftTime { minutes }),
        (0i64..=1000, 0i64..2000).prop_map(|(per_mille, c)| Present::Rate { per_mille, cap: Fen(c) }),
        Just(Present::FullyFree),
        (0i64..4000, 0i64..600).prop_map(|(s, l)| {
            let start = at("2026-03-02 00:00:00") + Duration::minutes(s);
            Present::FreePeriod { windows: vec![Window { start, end: start + Duration::minutes(l) }] }
        }),
    ]
}

proptest! {
    /// A discount never raises `amount`, `amount` is never below 0, and the
    /// kinds add up to `parkcost`.
    #[test]
    fn discounts_only_lower_amount(
        minutes in 1i64..4000, settled in 0i64..3000, shopping in 0i64..3000, score in 0i64..3000,
        bills in proptest::collection::vec(present(), 0..5), use_t2 in any::<bool>(),
    ) {
        let tariff = if use_t2 { t2() } else { t1() };
        let from = at("2026-03-02 09:00:00");
        let end = from + Duration::minutes(minutes);
        let fee = price(&tariff, from, end).fee;
        let parkcost = (fee - Fen(settled)).max0();
        let p = Repricing { tariff, from, end, settled: Fen(settled) };
        let o = apply(parkcost, Some(&p), &bills, Fen(shopping), Fen(score));
        prop_assert!(o.amount >= Fen::ZERO);
        prop_assert!(o.amount <= parkcost);
        prop_assert_eq!(o.bill + o.shopping + o.score + o.amount, parkcost);
        prop_assert!(o.per_bill.iter().all(|f| *f >= Fen::ZERO));
        prop_assert_eq!(o.per_bill.iter().copied().sum::<Fen>(), o.bill);
        // One more discount never raises what is paid.
        let mut more = bills.clone();
        more.push(Present::GiftAmount { fen: Fen(1) });
        prop_assert!(apply(parkcost, Some(&p), &more, Fen(shopping), Fen(score)).amount <= o.amount);
    }

    /// Without windows the window-aware pricing is the engine's.
    #[test]
    fn no_window_prices_as_the_engine(minutes in 0i64..6000, start in 0i64..1440, use_t2 in any::<bool>()) {
        let tariff = if use_t2 { t2() } else { t1() };
        let entry = at("2026-03-02 00:00:00") + Duration::minutes(start);
        let end = entry + Duration::minutes(minutes) + Duration::seconds(minutes % 7);
        prop_assert_eq!(fee_with_free_windows(&tariff, entry, end, &[]), price(&tariff, entry, end).fee);
    }
}
