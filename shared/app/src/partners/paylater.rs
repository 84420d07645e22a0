//! Jinying pay-later (金鹰先行后付, 11.12-11.13): the cloud asks Jinying at
//! the entry whether a car may pay later (11.12, answered as 9.1's
//! `afterPay`) and, at the exit, hands Jinying the fee (11.13); when Jinying
//! takes the order the car is let out and the stay is paid through the one
//! 6.2 commit (payType 12 先行后付, `trade_no` `jinying-paylater:{orderNo}`,
//! so one Jinying order pays once whatever repeats).
//!
//! Wire: the chapter 5 envelope (the seed prints both methods as `api.aspx`
//! paths with a `Data` table) POSTed to the partner's URL + "/" + method and
//! signed with its key (`onecard partners set --partner jinying-paylater
//! --url URL --key SECRET`); `data` is the seed's object. The answer's
//! `afterPay`/`orderNo` are read from its `data` (object, array of one, or
//! the JSON text of either) or, as the seed prints them, from the top level.
//! Timestamps are Unix seconds (the seed says "11 digits"; its examples have
//! ten).
//!
//! A lane never waits on Jinying longer than [`LANE_TIMEOUT`]:
//! - at the entry, a failed check answers no `afterPay` and records nothing:
//!   the car is in either way; the check is asked again at the exit
//!   (`flag` 2), the one moment its answer matters;
//! - at the exit, a failed check or order falls through to the next rule
//!   (the driver pays the usual way). An order Jinying did take is kept per
//!   stay before it is paid, so a re-decision at the lane pays that order
//!   rather than asking Jinying for a second one.

use crate::keys;
use crate::lanes::rules::{Facts, RuleFuture, Step};
use crate::park::fees::{car_type_for, order_for, quote_stay};
use crate::park::orders;
use crate::park::payments::{commit_payment, Payment};
use crate::park::stays::{self, Stay};
use chrono::{Duration, NaiveDateTime, NaiveTime, Timelike};
use onecard_core::config::Branch;
use onecard_core::kit::{CredentialType, PayType};
use onecard_core::outbound::Answer;
use onecard_core::store::{Cond, Item};
use onecard_core::{sign, time, ApiResult, Ctx, Fen};
use serde_json::{json, Value};

/// The settings' partner name.
pub const PARTNER: &str = "jinying-paylater";
/// 11.12 and 11.13.
pub const CHECK: &str = "jinying.checkCarRule";
pub const ORDER: &str = "jinying.addAfterPayOrder";
/// 先行后付 in the seed's payType list.
pub const PAY_LATER: PayType = PayType(12);
/// How long a lane waits for Jinying.
pub const LANE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// The sender name of the envelope (decision 10's default).
const FROM: &str = "PARK";

/// Day and night minutes of [from, to), the day being [day_start, day_end).
/// Jinying's AppPort (11.10) and the pay-later order (11.13) split one 6.1
/// quote by these minutes: no second tariff.
pub fn split_minutes(from: NaiveDateTime, to: NaiveDateTime, day_start: NaiveTime, day_end: NaiveTime) -> (i64, i64) {
    let total = (to - from).num_minutes().max(0);
    let is_day = |t: NaiveDateTime| {
        let m = t.time().num_seconds_from_midnight();
        let (s, e) = (day_start.num_seconds_from_midnight(), day_end.num_seconds_from_midnight());
        if s <= e { m >= s && m < e } else { m >= s || m < e }
    };
    // Whole days contribute the same split each; the rest is counted by minute.
    let day_len = (0..1440).filter(|m| is_day(from + Duration::minutes(*m))).count() as i64;
    let (days, rest) = (total / 1440, total % 1440);
    let rest_day = (0..rest).filter(|m| is_day(from + Duration::minutes(days * 1440 + m))).count() as i64;
    let day = days * day_len + rest_day;
    (day, total - day)
}

/// The day window of a partner's settings (`dayStart`/`dayEnd`, HH:MM).
pub fn day_window(options: &std::collections::BTreeMap<String, String>) -> (NaiveTime, NaiveTime) {
    let t = |name: &str, default: &str| {
        let v = options.get(name).map(String::as_str).filter(|s| !s.is_empty()).unwrap_or(default);
        NaiveTime::parse_from_str(v, "%H:%M").or_else(|_| NaiveTime::parse_from_str(default, "%H:%M")).unwrap_or_default()
    };
    (t("dayStart", "08:00"), t("dayEnd", "20:00"))
}

/// The partner's endpoint and key, when pay-later is configured and enabled.
struct Endpoint {
    url: String,
    key: String,
    options: std::collections::BTreeMap<String, String>,
}

async fn endpoint(ctx: &Ctx, branch: &str) -> ApiResult<Option<Endpoint>> {
    let Some(item) = ctx.store().get(&keys::partner_settings(branch), PARTNER).await? else { return Ok(None) };
    let v: Value = item.parse()?;
    let enabled = v.get("enabled").and_then(Value::as_bool).unwrap_or(true);
    let url = v.get("url").and_then(Value::as_str).unwrap_or("").trim().to_string();
    if !enabled || url.is_empty() {
        return Ok(None);
    }
    let key = v.get("key").and_then(Value::as_str).unwrap_or("").to_string();
    let options = v.get("options").and_then(|o| serde_json::from_value(o.clone()).ok()).unwrap_or_default();
    Ok(Some(Endpoint { url, key, options }))
}

/// Unix seconds of a branch-local time.
fn unix(t: NaiveDateTime, tz: &str) -> String {
    time::to_utc(t, tz).timestamp().to_string()
}

/// The signed request body.
pub fn envelope(key: &str, branch: &str, timestamp: &str, data: &Value) -> String {
    let data_text = data.to_string();
    let nonce = (rand::random::<u8>() % 100).to_string();
    let signature = sign::sign(key, &sign::signing_string(FROM, timestamp, &nonce, &data_text));
    let s = |v: &str| Value::String(v.to_string()).to_string();
    format!(
        "{{\"from\":{},\"timestamp\":{},\"nonce\":{},\"sign\":{},\"branchno\":{},\"data\":{}}}",
        s(FROM),
        s(timestamp),
        s(&nonce),
        s(&signature),
        s(branch),
        data_text
    )
}

/// A field of Jinying's answer: in `data` (object, array of one, or its JSON
/// text) or at the top level. An envelope with `status` false is a refusal.
pub fn answer_field(a: &Answer, field: &str) -> Result<Value, String> {
    let snippet = || String::from_utf8_lossy(&a.body[..a.body.len().min(200)]).into_owned();
    if !(200..300).contains(&a.status) {
        return Err(format!("HTTP {}: {}", a.status, snippet()));
    }
    let v: Value = serde_json::from_slice(&a.body).map_err(|_| format!("answer is not JSON: {}", snippet()))?;
    let refused = matches!(v.get("status"), Some(Value::Bool(false))) || v.get("status").and_then(Value::as_str).is_some_and(|s| s.eq_ignore_ascii_case("false"));
    if refused {
        return Err(format!("refused: code {}, message {}", v.get("code").unwrap_or(&Value::Null), v.get("message").unwrap_or(&Value::Null)));
    }
    let data = match v.get("data") {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
        Some(Value::Array(a)) => a.first().cloned().unwrap_or(Value::Null),
        Some(d) => d.clone(),
        None => Value::Null,
    };
    data.get(field).or_else(|| v.get(field)).cloned().filter(|f| !f.is_null()).ok_or_else(|| format!("answer has no {field}: {}", snippet()))
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    }
}

async fn call(ctx: &Ctx, branch: &Branch, ep: &Endpoint, method: &str, data: Value, now: NaiveDateTime) -> Result<Answer, String> {
    let url = format!("{}/{}", ep.url.trim_end_matches('/'), method);
    let body = envelope(&ep.key, &branch.branchno, &time::format(now), &data);
    ctx.http().post_json_within(&url, body, LANE_TIMEOUT).await.map_err(|e| format!("{url}: {e}"))
}

/// 11.12: may the car pay later? `flag` 1 entry, 2 exit.
async fn check(ctx: &Ctx, branch: &Branch, ep: &Endpoint, plate: &str, at: NaiveDateTime, flag: u8) -> Result<bool, String> {
    let data = json!({"carNo": plate, "passTime": unix(at, &branch.tz), "flag": flag.to_string()});
    let a = call(ctx, branch, ep, CHECK, data, at).await?;
    let v = answer_field(&a, "afterPay")?;
    match as_text(&v).as_str() {
        "1" => Ok(true),
        "0" => Ok(false),
        other => Err(format!("afterPay {other} is not 0 or 1")),
    }
}

fn permission_sk(stay: &Stay) -> String {
    format!("afterPay#{}", stay.card_in_id)
}

fn order_sk(stay: &Stay) -> String {
    format!("order#{}", stay.card_in_id)
}

async fn remember(ctx: &Ctx, branch: &str, sk: String, body: Value) -> ApiResult<()> {
    ctx.store().put(Item::new(keys::partner_records(branch, PARTNER), sk, body), Cond::None).await?;
    Ok(())
}

async fn recall(ctx: &Ctx, branch: &str, sk: &str) -> ApiResult<Option<Value>> {
    Ok(ctx.store().get(&keys::partner_records(branch, PARTNER), sk).await?.map(|i| i.body))
}

/// 9.1: asks Jinying about a car that just entered. Answers the `afterPay`
/// of 9.1's answer: `None` when pay-later is not configured or Jinying did
/// not answer in time (the car is in either way; the exit asks again).
pub async fn at_entry(ctx: &Ctx, branch: &Branch, stay: &Stay) -> Option<i64> {
    if stay.plate.is_empty() {
        return None;
    }
    let ep = match endpoint(ctx, &branch.branchno).await {
        Ok(Some(ep)) => ep,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(error = %e.message, "pay-later settings unreadable");
            return None;
        }
    };
    match check(ctx, branch, &ep, &stay.plate, stay.entry, 1).await {
        Ok(allowed) => {
            let v = json!({"afterPay": allowed as i64, "plate": stay.plate});
            if let Err(e) = remember(ctx, &branch.branchno, permission_sk(stay), v).await {
                tracing::warn!(error = %e.message, "pay-later permission not kept; the exit asks again");
            }
            Some(allowed as i64)
        }
        Err(e) => {
            tracing::warn!(plate = %stay.plate, error = %e, "Jinying pay-later check failed at the entry; asked again at the exit");
            None
        }
    }
}

/// The exit rule: a pay-later car that owes money is handed to Jinying and
/// let out. Anything that goes wrong continues to the next rule.
pub fn exit_rule(f: &Facts) -> RuleFuture<'_> {
    Box::pin(async move {
        match pay_later(f).await {
            Ok(Some(step)) => Ok(step),
            Ok(None) => Ok(Step::Continue),
            Err(e) => {
                tracing::warn!(plate = %f.plate, error = %e.message, "pay-later at the exit failed; the car pays the usual way");
                Ok(Step::Continue)
            }
        }
    })
}

async fn pay_later(f: &Facts) -> ApiResult<Option<Step>> {
    let b = f.branch.branchno.as_str();
    let Some(ep) = endpoint(&f.ctx, b).await? else { return Ok(None) };
    let Some((stay, _)) = stays::in_park(&f.ctx, b, 1, &f.plate).await? else { return Ok(None) };
    let car_type = car_type_for(&f.ctx, b, None, f.card.as_ref()).await?;
    let out = f.at.max(stay.entry);
    let q = quote_stay(&f.ctx, &f.branch, &stay, car_type, f.card.as_ref(), out).await?;
    if q.due == Fen::ZERO {
        return Ok(None);
    }
    let jinying_order = match recall(&f.ctx, b, &order_sk(&stay)).await?.and_then(|v| v.get("orderNo").and_then(Value::as_str).map(str::to_string)) {
        Some(no) => no,
        None => {
            let allowed = match recall(&f.ctx, b, &permission_sk(&stay)).await?.and_then(|v| v.get("afterPay").and_then(Value::as_i64)) {
                Some(known) => known == 1,
                None => match check(&f.ctx, &f.branch, &ep, &f.plate, out, 2).await {
                    Ok(allowed) => allowed,
                    Err(e) => {
                        tracing::warn!(plate = %f.plate, error = %e, "Jinying pay-later check failed at the exit");
                        return Ok(None);
                    }
                },
            };
            if !allowed {
                return Ok(None);
            }
            let (day_start, day_end) = day_window(&ep.options);
            let (day_min, night_min) = split_minutes(q.calc_start, out, day_start, day_end);
            let day_sum = Fen(q.due.0 * day_min / (day_min + night_min).max(1));
            let night_sum = Fen(q.due.0 - day_sum.0);
            let data = json!({
                "carNo": f.plate,
                "dayTime": day_min.to_string(),
                "nightTime": night_min.to_string(),
                "daySum": day_sum.to_string(),
                "nightSum": night_sum.to_string(),
                "enterTime": unix(stay.entry, &f.branch.tz),
                "outTime": unix(out, &f.branch.tz),
            });
            let no = match call(&f.ctx, &f.branch, &ep, ORDER, data, out).await.and_then(|a| answer_field(&a, "orderNo")).map(|v| as_text(&v)) {
                Ok(no) if !no.is_empty() => no,
                Ok(_) => return Ok(None),
                Err(e) => {
                    tracing::warn!(plate = %f.plate, error = %e, "Jinying pay-later order not created; the car pays the usual way");
                    return Ok(None);
                }
            };
            remember(&f.ctx, b, order_sk(&stay), json!({"orderNo": no, "due": q.due.0, "at": time::format(out)})).await?;
            no
        }
    };
    let order = orders::create(&f.ctx, b, order_for(&stay, &q, out, f.branch.settings.order_minutes, Some(PAY_LATER))).await?;
    let p = Payment::of_order(CredentialType::Plate, &f.plate, &order.order_no, q.due, PAY_LATER, Some(format!("{PARTNER}:{jinying_order}")));
    match commit_payment(&f.ctx, &f.branch, &p, out).await {
        Ok(_) => Ok(Some(Step::Pass { hint: format!("{} 先行后付{}元 一路顺风", f.plate, q.due), hint_type: 1, off: Fen::ZERO })),
        Err(e) => {
            tracing::warn!(plate = %f.plate, order = %jinying_order, error = %e.message, "Jinying pay-later order not paid");
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(status: u16, body: &str) -> Answer {
        Answer { status, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn answers_are_read_from_data_or_the_top_level() {
        assert_eq!(answer_field(&a(200, r#"{"afterPay": 1}"#), "afterPay").unwrap(), json!(1));
        assert_eq!(answer_field(&a(200, r#"{"status":true,"data":{"afterPay":"0"}}"#), "afterPay").unwrap(), json!("0"));
        assert_eq!(answer_field(&a(200, r#"{"status":true,"data":[{"orderNo":"1709220702299302"}]}"#), "orderNo").unwrap(), json!("1709220702299302"));
        assert_eq!(answer_field(&a(200, r#"{"status":"true","data":"{\"orderNo\":\"9\"}"}"#), "orderNo").unwrap(), json!("9"));
        assert!(answer_field(&a(200, r#"{"status":false,"code":500,"data":{"orderNo":"1"}}"#), "orderNo").unwrap_err().contains("refused"));
        assert!(answer_field(&a(502, "bad gateway"), "orderNo").unwrap_err().contains("HTTP 502"));
        assert!(answer_field(&a(200, r#"{"status":true}"#), "orderNo").is_err());
    }

    #[test]
    fn the_envelope_verifies_with_the_key() {
        let body = envelope("k", "1001", "2026-01-01 08:00:00", &json!({"carNo": "苏AG5D51"}));
        let env = onecard_core::envelope::RequestEnvelope::parse(body.as_bytes()).unwrap();
        let signing = sign::signing_string(FROM, "2026-01-01 08:00:00", env.nonce.as_deref().unwrap(), &env.data_text);
        assert!(sign::verify("k", &signing, env.sign.as_deref().unwrap()));
        assert_eq!(env.data().unwrap(), json!({"carNo": "苏AG5D51"}));
    }

    #[test]
    fn day_and_night_minutes() {
        let t = |s: &str| time::parse(s).unwrap();
        let (d, n) = (NaiveTime::from_hms_opt(8, 0, 0).unwrap(), NaiveTime::from_hms_opt(20, 0, 0).unwrap());
        assert_eq!(split_minutes(t("2026-01-01 07:00:00"), t("2026-01-01 09:00:00"), d, n), (60, 60));
        assert_eq!(split_minutes(t("2026-01-01 19:30:00"), t("2026-01-02 08:30:00"), d, n), (60, 720));
        let opts = [("dayStart".to_string(), "07:30".to_string())].into_iter().collect();
        assert_eq!(day_window(&opts), (NaiveTime::from_hms_opt(7, 30, 0).unwrap(), n));
    }
}
