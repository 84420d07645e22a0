//! Doing a request once, however often it arrives (decision 3).
//!
//! A write route's signed request is remembered, keyed by what makes it unique
//! (caller, branch, route and signature: the signature covers neither the route
//! nor the branch, and the seed's nonce is only 0-99), together with the answer
//! it got. The same request again gets that answer again, unchanged, and does
//! nothing; a client's retry after a lost answer is safe and a replay useless.
//!
//! Claiming is a conditional put, so two copies racing in get one winner; the
//! loser waits briefly for the winner's answer. A request that failed for a
//! reason the caller may retry (a system error) is forgotten, so the retry runs.

use crate::codes::{ApiError, ApiResult, Code};
use crate::store::{Cond, Item, ItemStore, StoreError};
use serde_json::{json, Value};
use std::time::Duration;

/// The identity of one signed request.
pub struct RequestKey {
    pk: String,
    sk: String,
}

impl RequestKey {
    pub fn new(from: &str, branchno: &str, route: &str, sign: &str) -> Self {
        RequestKey { pk: format!("idem#{from}#{branchno}"), sk: format!("{route}#{}", sign.trim()) }
    }
}

/// What claiming a request found.
pub enum Claim {
    /// First time: do the work, then `finish`.
    New,
    /// Done before: answer this, unchanged.
    Answered(Value),
}

const ANSWER: &str = "answer";
/// How long a loser of a race waits for the winner's answer.
const WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(20);

/// Claims the request for `ttl_secs` (unix time `expires`).
pub async fn claim(store: &dyn ItemStore, key: &RequestKey, expires: i64) -> ApiResult<Claim> {
    let marker = Item::new(key.pk.clone(), key.sk.clone(), json!({})).with_ttl(expires);
    match store.put(marker, Cond::MustNotExist).await {
        Ok(()) => return Ok(Claim::New),
        Err(StoreError::ConditionFailed) => {}
        Err(e) => return Err(e.into()),
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(item) = store.get(&key.pk, &key.sk).await? {
            if let Some(answer) = item.body.get(ANSWER) {
                return Ok(Claim::Answered(answer.clone()));
            }
        } else {
            // The first attempt failed and was forgotten: this one may run.
            return Box::pin(claim(store, key, expires)).await;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::auth("the same request is still being processed; retry later"));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Records the answer of a claimed request, or forgets the claim when the
/// caller may retry (a system error: nothing was done, or the store failed).
pub async fn finish(store: &dyn ItemStore, key: &RequestKey, expires: i64, answer: &Value) -> ApiResult<()> {
    let retryable = answer.get("code").and_then(Value::as_i64) == Some(Code::SYSTEM.0);
    if retryable {
        store.delete(&key.pk, &key.sk, Cond::None).await?;
    } else {
        let item = Item::new(key.pk.clone(), key.sk.clone(), json!({ ANSWER: answer })).with_ttl(expires);
        store.put(item, Cond::None).await?;
    }
    Ok(())
}
