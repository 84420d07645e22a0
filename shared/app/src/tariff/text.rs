//! Human-readable tariff and fee texts (`priceRule`, `feeDetail`), in Chinese as
//! the seed's clients show them.

use super::engine::Quote;
use super::model::{Period, TempTariff};
use chrono::{NaiveDateTime, NaiveTime, Timelike};
use std::fmt::Write;

fn clock(t: NaiveTime) -> String {
    if t.second() == 0 {
        t.format("%H:%M").to_string()
    } else {
        t.format("%H:%M:%S").to_string()
    }
}

fn period_text(p: &Period) -> String {
    let mut s = if p.start == p.end {
        format!("{} 全天({}起)", p.name, clock(p.start))
    } else {
        format!("{} {}-{}", p.name, clock(p.start), clock(p.end))
    };
    let mut parts: Vec<String> = Vec::new();
    if p.free_minutes > 0 {
        parts.push(format!("免费{}分钟", p.free_minutes));
    }
    if p.fix_charge.0 > 0 {
        parts.push(format!("每段固定{}元", p.fix_charge));
    } else if p.first_charge.0 == 0 && (p.step_minutes == 0 || p.step_charge.0 == 0) {
        parts.push("不收费".into());
    } else {
        let has_first = p.first_minutes > 0 || p.first_charge.0 > 0;
        if has_first {
            parts.push(format!("首{}分钟{}元", p.first_minutes, p.first_charge));
        }
        if p.step_minutes > 0 {
            let lead = if has_first { "之后" } else { "" };
            parts.push(format!("{lead}每{}分钟{}元", p.step_minutes, p.step_charge));
        }
    }
    if p.max_charge.0 > 0 && p.fix_charge.0 == 0 {
        parts.push(format!("段内最高{}元", p.max_charge));
    }
    s.push(' ');
    s.push_str(&parts.join("，"));
    s
}

/// `priceRule`: every period, then the day rules.
/// E.g. "白天 08:00-20:00 免费15分钟，首60分钟5.00元，之后每30分钟2.00元，段内最高30.00元；…；每日最高40.00元".
pub fn price_rule_text(t: &TempTariff) -> String {
    let mut parts: Vec<String> = t.periods().iter().map(period_text).collect();
    if t.max_charge().0 > 0 {
        parts.push(format!("每日最高{}元", t.max_charge()));
    }
    if t.stay_over().0 > 0 {
        parts.push(format!("过夜费每次{}元", t.stay_over()));
    }
    if t.midnight() != NaiveTime::MIN && (t.max_charge().0 > 0 || t.stay_over().0 > 0) {
        parts.push(format!("每日以{}为界", clock(t.midnight())));
    }
    parts.join("；")
}

fn stamp(t: NaiveDateTime) -> String {
    t.format("%m-%d %H:%M").to_string()
}

/// `feeDetail`: the total, then each piece, each capped day and the overnight
/// fees. E.g. "临时停车计费 7.00 元（03-02 09:00至03-02 10:00 61分钟 7.00元）".
pub fn fee_detail(q: &Quote) -> String {
    let mut s = format!("临时停车计费 {} 元", q.fee);
    if q.free {
        if q.minutes > 0 {
            let _ = write!(s, "（{}分钟，免费时长内）", q.minutes);
        }
        return s;
    }
    let mut parts: Vec<String> = q
        .pieces
        .iter()
        .map(|p| format!("{}至{} {}分钟 {}元", stamp(p.start), stamp(p.end), p.minutes, p.fee))
        .collect();
    for d in q.days.iter().filter(|d| d.fee != d.pieces_fee) {
        parts.push(format!("{}起当日{}元封顶为{}元", stamp(d.start), d.pieces_fee, d.fee));
    }
    if q.stay_over_fee.0 > 0 {
        parts.push(format!("过夜{}次 {}元", q.stay_overs, q.stay_over_fee));
    }
    if !parts.is_empty() {
        let _ = write!(s, "（{}）", parts.join("；"));
    }
    s
}
