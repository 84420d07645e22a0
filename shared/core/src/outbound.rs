//! Outbound HTTP as a port: pushes to partners (chapters 13, 14) and the 6.2.3
//! payment verification POST JSON through this trait, so the domain crate has
//! no HTTP client and tests can answer for the far end (`Scripted`).

use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An HTTP answer: status and body.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

#[async_trait]
pub trait Outbound: Send + Sync + 'static {
    /// The deadline of `post_json`.
    fn timeout(&self) -> Duration;

    /// POSTs a JSON body within `timeout`. Errors are one line, for logs and
    /// dead letters.
    async fn post_json_within(&self, url: &str, body: String, timeout: Duration) -> Result<Answer, String>;

    async fn post_json(&self, url: &str, body: String) -> Result<Answer, String> {
        self.post_json_within(url, body, self.timeout()).await
    }
}

/// A far end for tests: every request is recorded, and `answer` decides what
/// comes back (an answer, or a transport error).
pub struct Scripted {
    pub requests: Mutex<Vec<(String, String)>>,
    answer: Box<dyn Fn(&str, &str) -> Result<Answer, String> + Send + Sync>,
}

impl Scripted {
    pub fn new(answer: impl Fn(&str, &str) -> Result<Answer, String> + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Scripted { requests: Mutex::new(Vec::new()), answer: Box::new(answer) })
    }

    /// Answers every request with `status` and `body`.
    pub fn always(status: u16, body: &str) -> Arc<Self> {
        let body = body.as_bytes().to_vec();
        Scripted::new(move |_, _| Ok(Answer { status, body: body.clone() }))
    }

    pub fn sent(&self) -> Vec<(String, String)> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl Outbound for Scripted {
    fn timeout(&self) -> Duration {
        Duration::from_secs(1)
    }
    async fn post_json_within(&self, url: &str, body: String, _timeout: Duration) -> Result<Answer, String> {
        let a = (self.answer)(url, &body);
        self.requests.lock().unwrap_or_else(|e| e.into_inner()).push((url.to_string(), body));
        a
    }
}

/// The outbound port of a process that sends nothing (tests of other parts).
pub struct NoOutbound;

#[async_trait]
impl Outbound for NoOutbound {
    fn timeout(&self) -> Duration {
        Duration::from_secs(1)
    }
    async fn post_json_within(&self, url: &str, _body: String, _timeout: Duration) -> Result<Answer, String> {
        Err(format!("POST {url}: this process has no outbound HTTP"))
    }
}
