//! One event to one partner: the chapter 5 envelope signed with the partner's
//! secret (decision 10), POSTed to `{url}/{route}`, and the partner's answer
//! read. Only an answer envelope with `status` true is a delivery.

use onecard_core::outbound::{Answer, Outbound};
use super::subscriptions::Partner;
use onecard_core::queue::OutEvent;
use onecard_core::sign;
use serde_json::Value;

/// The request body. `data` is written once and signed as those exact bytes.
/// `nonce` is a random 0-99 as chapter 5 has it (decision 17): a partner that
/// checks its range refuses anything else. The event id, stable on every
/// retry, goes in the extra top-level `id` that partners de-duplicate on.
pub fn envelope(partner: &Partner, ev: &OutEvent, timestamp: &str) -> String {
    envelope_with_nonce(partner, ev, timestamp, rand::random::<u8>() % 100)
}

fn envelope_with_nonce(partner: &Partner, ev: &OutEvent, timestamp: &str, nonce: u8) -> String {
    let data_text = Value::Array(vec![ev.record.clone()]).to_string();
    let nonce = nonce.to_string();
    let signing = sign::signing_string(&partner.from, timestamp, &nonce, &data_text);
    let signature = sign::sign(&partner.secret, &signing);
    let s = |v: &str| Value::String(v.to_string()).to_string();
    format!(
        "{{\"from\":{},\"timestamp\":{},\"nonce\":{},\"sign\":{},\"branchno\":{},\"id\":{},\"data\":{}}}",
        s(&partner.from),
        s(timestamp),
        s(&nonce),
        s(&signature),
        s(&ev.branch),
        s(&ev.id),
        data_text
    )
}

/// Reads a partner's answer: HTTP 2xx and an envelope whose `status` is true.
pub fn interpret(a: &Answer) -> Result<(), String> {
    let snippet = || String::from_utf8_lossy(&a.body[..a.body.len().min(200)]).into_owned();
    if !(200..300).contains(&a.status) {
        return Err(format!("HTTP {}: {}", a.status, snippet()));
    }
    let v: Value = serde_json::from_slice(&a.body).map_err(|_| format!("answer is not a JSON envelope: {}", snippet()))?;
    let ok = match v.get("status") {
        Some(Value::Bool(b)) => *b,
        // Some partners write the seed's "every field is a string" literally.
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "partner refused: status {}, code {}, message {}",
            v.get("status").unwrap_or(&Value::Null),
            v.get("code").unwrap_or(&Value::Null),
            v.get("message").unwrap_or(&Value::Null)
        ))
    }
}

pub async fn deliver(client: &dyn Outbound, partner: &Partner, ev: &OutEvent, timestamp: &str) -> Result<(), String> {
    if crate::partner_hooks::aibee::is_plain(&ev.route) {
        return super::plain::deliver(client, partner, ev).await;
    }
    let url = partner.endpoint(&ev.route);
    let answer = client.post_json(&url, envelope(partner, ev, timestamp)).await?;
    interpret(&answer).map_err(|e| format!("{url}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use onecard_core::envelope::RequestEnvelope;
    use serde_json::json;

    fn partner() -> Partner {
        Partner {
            branch: "1001".into(),
            name: "acme".into(),
            url: "http://127.0.0.1:1".into(),
            secret: "k3y".into(),
            from: "PARK".into(),
            events: vec!["*".into()],
            enabled: true,
        }
    }

    fn event() -> OutEvent {
        OutEvent {
            id: "0000000000001-abc".into(),
            branch: "1001".into(),
            route: "report/parkInData".into(),
            record: json!({"plateNo": "粤B12345", "note": "quote \" and \\ slash"}),
            at: "2026-01-01 00:00:00".into(),
        }
    }

    #[test]
    fn envelope_verifies_with_the_partner_secret() {
        let ev = event();
        let body = envelope(&partner(), &ev, "2026-01-01 08:00:00");
        // Read back the way a partner (or our own dispatcher) reads a request.
        let env = RequestEnvelope::parse(body.as_bytes()).unwrap();
        assert_eq!(env.data().unwrap(), json!([ev.record]));
        assert_eq!(env.branchno.as_deref(), Some("1001"));
        let nonce = env.nonce.clone().unwrap();
        let signing = sign::signing_string("PARK", "2026-01-01 08:00:00", &nonce, &env.data_text);
        assert!(sign::verify("k3y", &signing, env.sign.as_deref().unwrap()));
        assert!(!sign::verify("other", &signing, env.sign.as_deref().unwrap()));
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["id"], json!(ev.id));
    }

    #[test]
    fn nonce_is_a_random_0_to_99_and_the_event_id_rides_in_id() {
        let ev = event();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..400 {
            let body = envelope(&partner(), &ev, "2026-01-01 08:00:00");
            let v: Value = serde_json::from_str(&body).unwrap();
            let n: u32 = v["nonce"].as_str().unwrap().parse().expect("a number");
            assert!(n < 100, "nonce {n}");
            assert_eq!(v["id"], json!(ev.id));
            seen.insert(n);
        }
        // Random, not a constant: 400 draws from 100 values hit many of them.
        assert!(seen.len() > 50, "{} distinct nonces", seen.len());
        let fixed = envelope_with_nonce(&partner(), &ev, "2026-01-01 08:00:00", 7);
        assert!(fixed.contains(r#""nonce":"7""#), "{fixed}");
    }

    #[test]
    fn only_status_true_is_delivered() {
        let a = |status: u16, body: &str| Answer { status, body: body.as_bytes().to_vec() };
        assert!(interpret(&a(200, r#"{"status":true,"code":200}"#)).is_ok());
        assert!(interpret(&a(200, r#"{"status":"true"}"#)).is_ok());
        assert!(interpret(&a(200, r#"{"status":false,"code":500,"message":"busy"}"#)).unwrap_err().contains("busy"));
        assert!(interpret(&a(500, r#"{"status":true}"#)).unwrap_err().contains("HTTP 500"));
        assert!(interpret(&a(200, "ok")).is_err());
        assert!(interpret(&a(200, "{}")).is_err());
    }
}
