//! The plain-JSON delivery kind: partners whose own REST API takes the
//! record itself as the body, unsigned (Aibee, 11.32-11.36, the seed's
//! exception to decision 10). Retries and dead letters are the pipeline's,
//! as for the signed envelope.

use super::subscriptions::Partner;
use onecard_core::outbound::{Answer, Outbound};
use onecard_core::queue::OutEvent;
use serde_json::Value;

/// Aibee's answer: HTTP 2xx and `{code: 0, ...}` (integer, or the digit as
/// text).
pub fn interpret(a: &Answer) -> Result<(), String> {
    let snippet = || String::from_utf8_lossy(&a.body[..a.body.len().min(200)]).into_owned();
    if !(200..300).contains(&a.status) {
        return Err(format!("HTTP {}: {}", a.status, snippet()));
    }
    let v: Value = serde_json::from_slice(&a.body).map_err(|_| format!("answer is not JSON: {}", snippet()))?;
    match v.get("code") {
        Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(()),
        Some(Value::String(s)) if s.trim() == "0" => Ok(()),
        _ => Err(format!("partner refused: code {}, message {}", v.get("code").unwrap_or(&Value::Null), v.get("message").unwrap_or(&Value::Null))),
    }
}

pub async fn deliver(client: &dyn Outbound, partner: &Partner, ev: &OutEvent) -> Result<(), String> {
    let url = partner.endpoint(&ev.route);
    let answer = client.post_json(&url, ev.record.to_string()).await?;
    interpret(&answer).map_err(|e| format!("{url}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use onecard_core::outbound::Scripted;
    use serde_json::json;

    #[test]
    fn only_code_zero_is_delivered() {
        let a = |status: u16, body: &str| Answer { status, body: body.as_bytes().to_vec() };
        assert!(interpret(&a(200, r#"{"code":0,"message":"","data":{}}"#)).is_ok());
        assert!(interpret(&a(200, r#"{"code":"0"}"#)).is_ok());
        assert!(interpret(&a(200, r#"{"code":1,"message":"busy"}"#)).unwrap_err().contains("busy"));
        assert!(interpret(&a(500, r#"{"code":0}"#)).unwrap_err().contains("HTTP 500"));
        assert!(interpret(&a(200, r#"{"status":true}"#)).is_err());
    }

    #[tokio::test]
    async fn the_body_is_the_record_itself() {
        let far = Scripted::always(200, r#"{"code":0,"message":"","data":{}}"#);
        let p = Partner { branch: "1001".into(), name: "aibee".into(), url: "http://aibee:8080/".into(), secret: String::new(), from: "PARK".into(), events: vec![], enabled: true };
        let record = json!({"devices": [{"deviceId": "PL2", "status": 1, "color": 2}]});
        let ev = OutEvent::new("1001", "/api/setRedGreenLightStatus", record.clone(), chrono::NaiveDateTime::default());
        deliver(&*far, &p, &ev).await.unwrap();
        let sent = far.sent();
        assert_eq!(sent[0].0, "http://aibee:8080/api/setRedGreenLightStatus");
        assert_eq!(serde_json::from_str::<Value>(&sent[0].1).unwrap(), record);
    }
}
