//! Doing a thing once, however often it arrives: a signed request (decision
//! 3), an agent's hello, an agent's upload. One module, so the three share the
//! rules: a conditional put claims, an answer is remembered for a while, and a
//! failure the sender may retry is forgotten.
//!
//! Requests:
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

/// The identity of one thing to do once: where its marker lives.
pub struct RequestKey {
    pk: String,
    sk: String,
}

impl RequestKey {
    /// A signed request: the signature covers neither the route nor the
    /// branch, so both are part of the key.
    pub fn new(from: &str, branchno: &str, route: &str, sign: &str) -> Self {
        RequestKey { pk: format!("idem#{from}#{branchno}"), sk: format!("{route}#{}", sign.trim()) }
    }

    /// Any other marker, at a key its owner chose (hello replays, uploads).
    pub fn at(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        RequestKey { pk: pk.into(), sk: sk.into() }
    }
}

/// True the first time `key` is seen before `expires` (unix seconds); the
/// marker alone is the memory (an agent's hello: a captured one must not open
/// a second session).
pub async fn first_time(store: &dyn ItemStore, key: &RequestKey, expires: i64) -> ApiResult<bool> {
    match store.put(Item::new(key.pk.clone(), key.sk.clone(), Value::Null).with_ttl(expires), Cond::MustNotExist).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The answer remembered for `key`, if any (an agent's upload sent again).
pub async fn recall(store: &dyn ItemStore, key: &RequestKey) -> ApiResult<Option<Value>> {
    Ok(store.get(&key.pk, &key.sk).await?.map(|item| item.body.get(ANSWER).cloned().unwrap_or(item.body)))
}

/// Remembers `answer` for `key` until `expires`, unless it is a system error
/// (100002: the sender keeps the thing and retries, and the retry must run).
///
/// Waited for: nothing else stands between a repeat and a second run (an
/// upload is recalled by a read, not claimed), so the answer must be there
/// before the sender hears it.
pub async fn remember(store: &dyn ItemStore, key: &RequestKey, expires: i64, answer: &Value) -> ApiResult<()> {
    record(store, key, expires, answer, false).await
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
    // Decided is enough: the request's own writes come after the marker and
    // are durable only with it (`ItemStore::put_decided`).
    match store.put_decided(marker, Cond::MustNotExist).await {
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
    record(store, key, expires, answer, true).await
}

/// `behind`: the key was claimed, so a repeat's claim comes after this put
/// and waits for the answer; the put need not be waited for.
async fn record(store: &dyn ItemStore, key: &RequestKey, expires: i64, answer: &Value, behind: bool) -> ApiResult<()> {
    let retryable = answer.get("code").and_then(Value::as_i64) == Some(Code::SYSTEM.0);
    if retryable {
        store.delete(&key.pk, &key.sk, Cond::None).await?;
    } else {
        // Behind: a copy of the request claims after this put and polls until
        // the answer is there; lost with a crash, the claim alone remains, as
        // when the crash came before the answer was written.
        let item = Item::new(key.pk.clone(), key.sk.clone(), json!({ ANSWER: answer })).with_ttl(expires);
        if behind {
            store.put_behind(item).await?;
        } else {
            store.put(item, Cond::None).await?;
        }
    }
    Ok(())
}
