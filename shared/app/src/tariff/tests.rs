//! The pinned vectors, the worked example, validation cases and properties.

use super::engine::{self, price, MonthCover};
use super::{MonthAddIn, MonthTariff, MonthUpdateIn, Period, TempTariff};
use chrono::{Duration, NaiveDateTime, NaiveTime};
use onecard_core::kit::input;
use onecard_core::{ApiResult, Fen};
use serde_json::{json, Value};

mod props;

fn at(s: &str) -> NaiveDateTime {
    onecard_core::time::parse(s).unwrap_or_else(|| panic!("bad time {s}"))
}

fn vectors() -> Value {
    // TARIFF_VECTORS lets the module be tested from a scratch crate elsewhere.
    let path = match std::env::var_os("TARIFF_VECTORS") {
        Some(p) => std::path::PathBuf::from(p),
        None => std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())).join("../../../shared/spec/tariff-vectors.json"),
    };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("tariff vectors not found at {} ({e}); the spec kit must be at /work/shared", path.display()));
    serde_json::from_str(&text).expect("tariff-vectors.json is not JSON")
}

fn tariff(v: &Value) -> TempTariff {
    TempTariff::from_wire(v.clone()).unwrap_or_else(|e| panic!("tariff rejected: {e}"))
}

pub(super) fn t1() -> TempTariff {
    tariff(&vectors()["tariffs"]["T1"])
}

pub(super) fn t2() -> TempTariff {
    tariff(&vectors()["tariffs"]["T2"])
}

/// The conformance client's 6.96 body: the tariff plus the handler's fields.
fn conformance_body(name: &str) -> Value {
    let mut b = vectors()["tariffs"][name].clone();
    let o = b.as_object_mut().unwrap();
    o.insert("areaNo".into(), json!("FFFFFFFF"));
    o.insert("carTypeId".into(), json!("7"));
    o.insert("chargeMode".into(), json!(1));
    o.insert("generated".into(), json!(true));
    b
}

#[test]
fn every_vector_passes() {
    let v = vectors();
    let list = v["vectors"].as_array().expect("vectors array");
    assert!(list.len() >= 14, "expected the pinned vectors, found {}", list.len());
    let mut bad = Vec::new();
    for x in list {
        let name = x["tariff"].as_str().unwrap();
        let t = TempTariff::from_wire(conformance_body(name)).unwrap();
        let q = price(&t, at(x["entry"].as_str().unwrap()), at(x["end"].as_str().unwrap()));
        let got = engine::due(q.fee, Fen::ZERO).yuan();
        if got != x["parkcost"].as_str().unwrap() {
            bad.push(format!("{name} {}..{} want {} got {got}: {}", x["entry"], x["end"], x["parkcost"], engine::fee_detail(&q)));
        }
    }
    assert!(bad.is_empty(), "{} of {} vectors fail:\n{}", bad.len(), list.len(), bad.join("\n"));
}

#[test]
fn worked_example_t1_61_minutes_is_7_yuan() {
    let q = price(&t1(), at("2026-03-02 09:00:00"), at("2026-03-02 10:00:01"));
    assert_eq!(q.minutes, 61);
    assert_eq!(q.fee, Fen(700));
    assert_eq!(q.pieces.len(), 1);
    assert_eq!((q.pieces[0].minutes, q.pieces[0].fee), (61, Fen(700)));
    assert_eq!(t1().periods()[q.pieces[0].period].name, "day");
}

#[test]
fn pieces_cut_at_period_edges_and_whole_day_start() {
    let q = price(&t1(), at("2026-03-02 07:50:00"), at("2026-03-02 08:10:00"));
    let fees: Vec<i64> = q.pieces.iter().map(|p| p.fee.0).collect();
    assert_eq!(fees, vec![1000, 500]);
    // T2's single whole-day period starts at 00:00, so 00:00 cuts too.
    let q = price(&t2(), at("2026-03-02 22:00:00"), at("2026-03-03 07:00:00"));
    assert_eq!(q.pieces.iter().map(|p| p.minutes).collect::<Vec<_>>(), vec![120, 420]);
    assert_eq!((q.stay_overs, q.stay_over_fee, q.fee), (1, Fen(800), Fen(2750)));
}

#[test]
fn day_cap_groups_pieces_by_the_day_they_start_in() {
    let q = price(&t1(), at("2026-03-02 09:00:00"), at("2026-03-04 09:00:00"));
    let days: Vec<(i64, i64)> = q.days.iter().map(|d| (d.pieces_fee.0, d.fee.0)).collect();
    // The 20:00-08:00 night piece belongs to the day it starts in.
    assert_eq!(days, vec![(4000, 4000), (4000, 4000), (500, 500)]);
    let q = price(&t1(), at("2026-03-02 08:00:00"), at("2026-03-02 21:00:00"));
    assert_eq!((q.days[0].pieces_fee, q.days[0].fee), (Fen(4000), Fen(4000)));
}

#[test]
fn stay_over_counts_boundaries_strictly_inside() {
    let t = t2(); // midnight 06:00
    assert_eq!(price(&t, at("2026-03-02 06:00:00"), at("2026-03-03 06:00:00")).stay_overs, 0);
    assert_eq!(price(&t, at("2026-03-02 06:00:00"), at("2026-03-03 06:00:01")).stay_overs, 1);
    assert_eq!(price(&t, at("2026-03-02 05:00:00"), at("2026-03-02 06:00:01")).stay_overs, 1);
    // Inside the free minutes the whole fee is 0, overnight included.
    assert_eq!(price(&t, at("2026-03-02 05:59:59"), at("2026-03-02 06:00:01")).fee, Fen::ZERO);
    assert_eq!(price(&t, at("2026-03-02 05:00:00"), at("2026-03-05 05:00:00")).stay_overs, 3);
}

#[test]
fn zero_or_negative_stay_is_free() {
    let q = price(&t1(), at("2026-03-02 09:00:00"), at("2026-03-02 08:00:00"));
    assert_eq!((q.minutes, q.fee, q.free), (0, Fen::ZERO, true));
}

#[test]
fn minutes_round_up_started_minutes() {
    assert_eq!(engine::started_minutes(at("2026-03-02 09:00:00"), at("2026-03-02 09:00:01")), 1);
    assert_eq!(engine::started_minutes(at("2026-03-02 09:00:00"), at("2026-03-02 09:01:00")), 1);
    assert_eq!(engine::started_minutes(at("2026-03-02 09:00:00"), at("2026-03-02 09:01:01")), 2);
}

fn body(periods: Value) -> Value {
    json!({"midnight": "1970-01-01 00:00:00", "maxCharge": 0, "stayOver": 0, "chargePeriod": periods})
}

fn period(st: &str, end: &str) -> Value {
    json!({"periodName": format!("{st}-{end}"), "stTime": format!("1970-01-01 {st}"), "endTime": format!("1970-01-01 {end}"),
           "freeMinutes": 0, "fstSectTime": 60, "fstSectCharge": "1", "sectTime": 60, "sectCharge": "1", "maxCharge": 0, "fixCharge": 0})
}

fn parse(v: Value) -> Result<TempTariff, onecard_core::ApiError> {
    TempTariff::from_wire(v)
}

fn rejects(v: Value, field: &str) -> String {
    let e = parse(v).expect_err("should be rejected");
    assert_eq!(e.code.0, 100001);
    assert!(e.message.contains(&format!("'{field}'")), "message should name {field}: {}", e.message);
    e.message
}

#[test]
fn coverage_accepts_whole_day_and_wrap_around_in_any_order() {
    let t = parse(body(json!([period("00:00:00", "00:00:00")]))).unwrap();
    assert_eq!(t.periods().len(), 1);
    let t = parse(body(json!([period("22:00:00", "06:00:00"), period("06:00:00", "22:00:00")]))).unwrap();
    assert_eq!(t.periods()[0].start, NaiveTime::from_hms_opt(6, 0, 0).unwrap());
    assert_eq!(t.period_at(NaiveTime::from_hms_opt(3, 0, 0).unwrap()), 1);
    assert_eq!(t.period_at(NaiveTime::from_hms_opt(22, 0, 0).unwrap()), 1);
    assert_eq!(t.period_at(NaiveTime::from_hms_opt(21, 59, 59).unwrap()), 0);
    let three = json!([period("12:00:00", "18:30:00"), period("18:30:00", "07:00:00"), period("07:00:00", "12:00:00")]);
    assert!(parse(body(three)).is_ok());
    // A whole-day period not starting at 00:00.
    assert!(parse(body(json!([period("07:30:00", "07:30:00")]))).is_ok());
}

#[test]
fn coverage_rejects_gap_overlap_and_nothing() {
    assert!(rejects(body(json!([period("08:00:00", "20:00:00")])), "chargePeriod").contains("gap"));
    assert!(rejects(body(json!([period("08:00:00", "20:00:00"), period("21:00:00", "08:00:00")])), "chargePeriod").contains("gap"));
    assert!(rejects(body(json!([period("08:00:00", "21:00:00"), period("20:00:00", "08:00:00")])), "chargePeriod").contains("overlap"));
    assert!(rejects(body(json!([period("00:00:00", "00:00:00"), period("08:00:00", "20:00:00")])), "chargePeriod").contains("overlap"));
    assert!(rejects(body(json!([period("08:00:00", "20:00:00"), period("08:00:00", "08:00:00")])), "chargePeriod").contains("overlap"));
    // Twice round the clock: each period ends where the next begins, but the day is covered twice.
    rejects(body(json!([period("08:00:00", "20:00:00"), period("20:00:00", "08:00:00"), period("12:00:00", "12:00:00")])), "chargePeriod");
    rejects(body(json!([])), "chargePeriod");
    rejects(json!({"midnight": "1970-01-01 00:00:00"}), "chargePeriod");
    rejects(body(json!("not an array")), "chargePeriod");
}

#[test]
fn bad_fields_are_100001_naming_the_field() {
    let mut v = body(json!([period("00:00:00", "00:00:00")]));
    v["maxCharge"] = json!("-1");
    rejects(v.clone(), "maxCharge");
    v["maxCharge"] = json!("1.234");
    rejects(v.clone(), "maxCharge");
    v["maxCharge"] = json!(0);
    v["stayOver"] = json!(-5);
    rejects(v.clone(), "stayOver");
    v["stayOver"] = json!(0);
    v["timeNumber"] = json!(2);
    rejects(v.clone(), "timeNumber");
    v["timeNumber"] = json!("x");
    rejects(v.clone(), "timeNumber");
    v["timeNumber"] = json!(1);
    assert!(parse(v.clone()).is_ok());
    for (f, bad) in [("freeMinutes", json!(-1)), ("fstSectTime", json!("-30")), ("sectTime", json!(1.5)), ("fstSectCharge", json!(-2)),
        ("sectCharge", json!("abc")), ("maxCharge", json!(-1)), ("fixCharge", json!("-0.01")), ("stTime", json!("25:00")),
        ("endTime", json!("")), ("stTime", json!([1]))]
    {
        let mut w = v.clone();
        w["chargePeriod"][0][f] = bad;
        rejects(w, &format!("chargePeriod[0].{f}"));
    }
    let mut w = v.clone();
    w["midnight"] = json!("noon");
    rejects(w.clone(), "midnight");
    w.as_object_mut().unwrap().remove("midnight");
    rejects(w, "midnight");
    let mut w = v.clone();
    w["chargePeriod"] = json!([5]);
    rejects(w, "chargePeriod[0]");
}

#[test]
fn accepts_seed_forms_strings_numbers_and_bare_times() {
    // The seed's 6.96 example, with the yuan as numbers.
    let seed = json!({ "areaNo": "FFFFFFFF", "carTypeId": 15, "chargeMode": 1, "midnight": "1970-01-01 10:58:00", "stayOver": 5, "maxCharge": 300,
        "remark": "", "generated": true, "timeNumber": 2, "chargePeriod": [
        { "periodName": "3", "stTime": "1970-01-01 08:00:00", "endTime": "1970-01-01 17:00:00", "freeMinutes": 30, "maxCharge": 300, "fixCharge": 0,
          "fstSectTime": 60, "fstSectCharge": 3, "sectTime": 60, "sectCharge": 2, "remark": "" },
        { "periodName": "4", "stTime": "1970-01-01 17:00:00", "endTime": "1970-01-01 08:00:00", "freeMinutes": 30, "maxCharge": 300, "fixCharge": 0,
          "fstSectTime": 60, "fstSectCharge": 3, "sectTime": 60, "sectCharge": 3, "remark": "" }] });
    let t = parse(seed).unwrap();
    assert_eq!((t.stay_over(), t.max_charge()), (Fen(500), Fen(30000)));
    assert_eq!(t.midnight(), NaiveTime::from_hms_opt(10, 58, 0).unwrap());
    let mut v = body(json!([period("00:00:00", "00:00:00")]));
    v["chargePeriod"][0]["stTime"] = json!("00:00");
    v["chargePeriod"][0]["endTime"] = json!("00:00:00");
    v["chargePeriod"][0]["fstSectCharge"] = json!(1.5);
    // Some clients send the array as a JSON string.
    let text = v["chargePeriod"].to_string();
    v["chargePeriod"] = json!(text);
    assert_eq!(parse(v).unwrap().periods()[0].first_charge, Fen(150));
}

#[test]
fn wire_round_trip_keeps_names_and_money_strings() {
    for t in [t1(), t2()] {
        let w = serde_json::to_value(t.to_wire()).unwrap();
        assert_eq!(parse(w.clone()).unwrap(), t);
        for f in ["midnight", "maxCharge", "stayOver", "timeNumber", "chargePeriod"] {
            assert!(w.get(f).is_some(), "missing {f}");
        }
    }
    let w = serde_json::to_value(t1().to_wire()).unwrap();
    assert_eq!(w["maxCharge"], json!("40.00"));
    assert_eq!(w["midnight"], json!("1970-01-01 00:00:00"));
    let p = &w["chargePeriod"][0];
    assert_eq!(p["stTime"], json!("1970-01-01 08:00:00"));
    assert_eq!((p["fstSectCharge"].clone(), p["sectCharge"].clone(), p["fstSectTime"].clone()), (json!("5.00"), json!("2.00"), json!(60)));
    assert_eq!(w["chargePeriod"][1]["fixCharge"], json!("10.00"));
    assert_eq!(serde_json::to_value(t2().to_wire()).unwrap()["chargePeriod"][0]["sectCharge"], json!("1.50"));
}

#[test]
fn storage_round_trip_and_validation_on_load() {
    for t in [t1(), t2()] {
        let s = serde_json::to_string(&t).unwrap();
        let back: TempTariff = serde_json::from_str(&s).unwrap();
        assert_eq!(back, t);
    }
    let mut stored = serde_json::to_value(t1()).unwrap();
    stored["periods"][0]["end"] = json!("19:00:00");
    let e = serde_json::from_value::<TempTariff>(stored).unwrap_err().to_string();
    assert!(e.contains("gap"), "{e}");
}

#[test]
fn constructor_guards_money_and_coverage() {
    let p = Period {
        name: "x".into(),
        start: NaiveTime::MIN,
        end: NaiveTime::MIN,
        free_minutes: 0,
        first_minutes: 0,
        first_charge: Fen(-1),
        step_minutes: 0,
        step_charge: Fen::ZERO,
        max_charge: Fen::ZERO,
        fix_charge: Fen::ZERO,
        remark: String::new(),
    };
    let e = TempTariff::new(NaiveTime::MIN, Fen::ZERO, Fen::ZERO, vec![p.clone()]).unwrap_err();
    assert!(e.message.contains("chargePeriod[0].fstSectCharge"), "{}", e.message);
    assert!(TempTariff::new(NaiveTime::MIN, Fen(-1), Fen::ZERO, vec![Period { first_charge: Fen(1), ..p.clone() }]).is_err());
    assert!(TempTariff::new(NaiveTime::MIN, Fen::ZERO, Fen::ZERO, vec![]).is_err());
}

#[test]
fn payment_and_coupon_helpers() {
    assert_eq!(engine::due(Fen(700), Fen(500)), Fen(200));
    assert_eq!(engine::due(Fen(700), Fen(900)), Fen::ZERO);
    assert_eq!(engine::apply_amount_coupon(Fen(700), Fen(300)), Fen(400));
    assert_eq!(engine::apply_amount_coupon(Fen(700), Fen(800)), Fen::ZERO);
    let t = t1();
    // 09:00-12:10 with a 2 h coupon prices 09:00-10:10: 5 + 1 step = 7.00.
    let q = engine::price_with_time_coupon(&t, at("2026-03-02 09:00:00"), at("2026-03-02 12:10:00"), 2);
    assert_eq!((q.end, q.fee), (at("2026-03-02 10:10:00"), Fen(700)));
    let q = engine::price_with_time_coupon(&t, at("2026-03-02 09:00:00"), at("2026-03-02 10:10:00"), 5);
    assert_eq!((q.end, q.fee), (at("2026-03-02 09:00:00"), Fen::ZERO));
    let paid = at("2026-03-02 10:00:00");
    assert!(engine::within_grace(paid, at("2026-03-02 10:15:00"), engine::DEFAULT_FREE_LEAVE_MINUTES));
    assert!(!engine::within_grace(paid, at("2026-03-02 10:15:01"), engine::DEFAULT_FREE_LEAVE_MINUTES));
    let (from, to) = (at("2026-03-01 00:00:00"), at("2026-03-31 23:59:59"));
    assert_eq!(engine::month_cover(at("2026-03-02 09:00:00"), at("2026-03-03 09:00:00"), from, to), MonthCover::Free);
    assert_eq!(engine::month_cover(at("2026-03-31 09:00:00"), at("2026-04-01 09:00:00"), from, to), MonthCover::PriceFrom(to));
    assert_eq!(engine::month_cover(at("2026-02-28 09:00:00"), at("2026-03-02 09:00:00"), from, to), MonthCover::Temporary);
}

#[test]
fn texts_read_as_chinese_rules_and_details() {
    let r = engine::price_rule_text(&t1());
    assert_eq!(
        r,
        "day 08:00-20:00 免费15分钟，首60分钟5.00元，之后每30分钟2.00元，段内最高30.00元；\
         night 20:00-08:00 免费15分钟，每段固定10.00元；每日最高40.00元"
    );
    let r2 = engine::price_rule_text(&t2());
    assert!(r2.contains("全天(00:00起)") && r2.contains("过夜费每次8.00元") && r2.contains("每日以06:00为界"), "{r2}");
    let d = engine::fee_detail(&price(&t1(), at("2026-03-02 09:00:00"), at("2026-03-02 10:00:01")));
    assert!(d.starts_with("临时停车计费 7.00 元"), "{d}");
    assert!(d.contains("61分钟 7.00元"), "{d}");
    let d = engine::fee_detail(&price(&t1(), at("2026-03-02 09:00:00"), at("2026-03-02 09:10:00")));
    assert_eq!(d, "临时停车计费 0.00 元（10分钟，免费时长内）");
    let d = engine::fee_detail(&price(&t2(), at("2026-03-02 22:00:00"), at("2026-03-03 07:00:00")));
    assert!(d.starts_with("临时停车计费 27.50 元") && d.contains("过夜1次 8.00元"), "{d}");
    // 01:00 starts a day with night 10 + day 30 + night 10 = 50, capped at 40.
    let d = engine::fee_detail(&price(&t1(), at("2026-03-02 01:00:00"), at("2026-03-03 07:00:00")));
    assert!(d.starts_with("临时停车计费 40.00 元") && d.contains("03-02 00:00起当日50.00元封顶为40.00元"), "{d}");
    assert!(!d.contains("过夜"), "{d}");
}

fn month_add(v: Value) -> ApiResult<MonthTariff> {
    MonthTariff::from_add(&input::parse::<MonthAddIn>(v)?)
}

fn month_update(v: Value) -> ApiResult<MonthTariff> {
    MonthTariff::from_update(&input::parse::<MonthUpdateIn>(v)?)
}

#[test]
fn month_tariff_add_update_wire() {
    let m = month_add(json!({ "tariffName": " 测 试", "carTypeId": 1, "charge": 1, "remark": "123" })).unwrap();
    assert_eq!((m.name.as_str(), m.car_type_id, m.charge), ("测 试", Some(1), Fen(100)));
    assert_eq!(serde_json::to_value(m.to_wire()).unwrap(), json!({"tariffName": "测 试", "carTypeId": 1, "charge": "1.00", "remark": "123"}));
    let m = month_add(json!({ "tariffName": "x" })).unwrap();
    assert_eq!((m.car_type_id, m.charge), (None, Fen::ZERO));
    assert_eq!(serde_json::to_value(m.to_wire()).unwrap()["carTypeId"], Value::Null);
    assert!(month_update(json!({ "tariffId": 1, "tariffName": "x" })).unwrap_err().message.contains("'carTypeId'"));
    assert!(month_update(json!({ "tariffName": "x", "carTypeId": 1 })).unwrap_err().message.contains("'tariffId'"));
    assert_eq!(month_update(json!({ "tariffId": 1, "tariffName": "x", "carTypeId": "2" })).unwrap().car_type_id, Some(2));
    assert!(month_add(json!({ "tariffName": "x", "charge": -1 })).unwrap_err().message.contains("'charge'"));
    assert!(month_add(json!({ "tariffName": "x", "charge": "1.005" })).unwrap_err().message.contains("'charge'"));
    assert!(month_add(json!({ "charge": 1 })).unwrap_err().message.contains("'tariffName'"));
    let back: MonthTariff = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(back, m);
}

#[test]
fn a_week_is_a_handful_of_pieces() {
    let q = price(&t1(), at("2026-03-02 09:00:00"), at("2026-03-02 09:00:00") + Duration::days(7));
    assert_eq!(q.pieces.len(), 15);
    assert_eq!(q.days.len(), 8);
}

