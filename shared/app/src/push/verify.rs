//! 6.2.3: for a caller configured with a verify URL, `commit` first asks the
//! caller's server to confirm the payment (orderId, thirdPayId, parkcost,
//! entertime, carNo, credential) and records it only on `"status": "success"`.
//! The body is plain JSON and the answer is the seed's own small object, not a
//! chapter 5 envelope.

use chrono::NaiveDateTime;
use onecard_core::config::Caller;
use onecard_core::outbound::Outbound;
use onecard_core::{ApiError, ApiResult, Fen, Origin};
use serde_json::{json, Value};
use std::time::Duration;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Overrides the wait for the caller's answer, in milliseconds.
pub const TIMEOUT_ENV: &str = "ONECARD_VERIFY_TIMEOUT_MS";

/// What 6.2.3 sends.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifyRequest {
    pub order_id: Option<String>,
    pub third_pay_id: Option<String>,
    pub parkcost: Fen,
    pub entertime: Option<NaiveDateTime>,
    pub car_no: Option<String>,
    pub credential: String,
}

impl VerifyRequest {
    /// The seed prints entertime as `2015-05-13-13:00:00`, evidently a typo
    /// of the format every other interface uses, which is what we send.
    pub fn body(&self) -> Value {
        json!({
            "orderId": self.order_id.clone().unwrap_or_default(),
            "thirdPayId": self.third_pay_id.clone().unwrap_or_default(),
            // The seed's table prints `parkeost`, evidently `parkcost`;
            // both are sent (decision 17).
            "parkeost": self.parkcost.to_string(),
            "parkcost": self.parkcost.to_string(),
            "entertime": self.entertime.map(onecard_core::time::format).unwrap_or_default(),
            "carNo": self.car_no.clone().unwrap_or_default(),
            "credential": self.credential,
        })
    }
}

fn timeout() -> Duration {
    std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// Reads the caller's answer: only `status` "success" lets the payment through.
pub fn interpret(status: u16, body: &[u8]) -> ApiResult<()> {
    if !(200..300).contains(&status) {
        return Err(ApiError::failed(format!("payment not verified: the caller's verification answered HTTP {status}")));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::failed("payment not verified: the caller's verification answer is not JSON"))?;
    match v.get("status").and_then(Value::as_str) {
        Some(s) if s.eq_ignore_ascii_case("success") => Ok(()),
        other => Err(ApiError::failed(format!(
            "payment refused by the caller's verification (status {}, errorCode {})",
            other.unwrap_or("missing"),
            v.get("errorCode").map(|c| c.to_string()).unwrap_or_else(|| "missing".into())
        ))),
    }
}

/// Asks the caller to confirm a payment; Ok when it has no verify URL.
pub async fn verify_payment(http: &dyn Outbound, caller: &Caller, req: &VerifyRequest) -> ApiResult<()> {
    let Some(url) = caller.verify_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(());
    };
    if req.third_pay_id.as_deref().is_none_or(|t| t.trim().is_empty()) {
        // 6.2.3 marks thirdPayId as the one field the caller cannot do without.
        return Err(ApiError::field("thirdPayId", "is required: this caller verifies its payments (6.2.3)"));
    }
    let answer = http.post_json_within(url, req.body().to_string(), timeout()).await.map_err(|e| {
        tracing::warn!(from = %caller.from, error = %e, "payment verification unreachable");
        ApiError::failed(format!("payment not verified: {e}"))
    })?;
    let r = interpret(answer.status, &answer.body);
    tracing::info!(from = %caller.from, ok = r.is_ok(), "payment verification");
    r
}

/// The 6.2 `commit` hook: verifies with the calling caller, if it has a verify
/// URL.
pub async fn verify_commit(http: &dyn Outbound, origin: &Origin, v: &VerifyRequest) -> ApiResult<()> {
    let Origin::Caller(caller) = origin else { return Ok(()) };
    if caller.verify_url.is_none() {
        return Ok(());
    }
    verify_payment(http, caller, v).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_success_passes() {
        assert!(interpret(200, br#"{"status":"success","errorCode":"null","time":"2015-06-30 12:50:20"}"#).is_ok());
        let e = interpret(200, br#"{"status":"fail","errorCode":"100001"}"#).unwrap_err();
        assert!(e.message.contains("100001"), "{}", e.message);
        assert!(interpret(200, b"{}").is_err());
        assert!(interpret(200, b"success").is_err());
        assert!(interpret(500, br#"{"status":"success"}"#).is_err());
    }

    #[test]
    fn body_has_the_seed_fields() {
        let r = VerifyRequest {
            order_id: Some("C1".into()),
            third_pay_id: Some("T1".into()),
            parkcost: Fen(2400),
            entertime: onecard_core::time::parse("2015-06-12 11:56:06"),
            car_no: Some("浙AIV587".into()),
            credential: "浙AIV587".into(),
        };
        assert_eq!(
            r.body(),
            json!({"orderId": "C1", "thirdPayId": "T1", "parkeost": "24.00", "parkcost": "24.00", "entertime": "2015-06-12 11:56:06", "carNo": "浙AIV587", "credential": "浙AIV587"})
        );
    }

    #[tokio::test]
    async fn no_url_no_call_and_missing_third_pay_id_is_100001() {
        let mut c = Caller { from: "x".into(), secret: "s".into(), enabled: true, branches: vec![], groups: vec![], verify_url: None, ..Default::default() };
        let mut r = VerifyRequest { order_id: None, third_pay_id: None, parkcost: Fen(0), entertime: None, car_no: None, credential: "A".into() };
        let down = onecard_core::outbound::Scripted::new(|url, _| Err(format!("POST {url}: connection refused")));
        assert!(verify_payment(&*down, &c, &r).await.is_ok());
        c.verify_url = Some("http://127.0.0.1:1/verify".into());
        assert_eq!(verify_payment(&*down, &c, &r).await.unwrap_err().code.0, 100001);
        assert!(down.sent().is_empty(), "nothing is asked without a thirdPayId");
        // The caller's server is down: refused, never let through.
        r.third_pay_id = Some("T".into());
        assert_eq!(verify_payment(&*down, &c, &r).await.unwrap_err().code.0, 500);
        let ok = onecard_core::outbound::Scripted::always(200, r#"{"status":"success"}"#);
        assert!(verify_payment(&*ok, &c, &r).await.is_ok());
        assert_eq!(ok.sent()[0].0, "http://127.0.0.1:1/verify");
    }
}
