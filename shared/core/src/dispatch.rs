//! The request pipeline shared by the Lambda functions, the local server and the
//! site link: route, authenticate, authorise, decode, call the handler, encode.

use crate::codes::{ApiError, ApiResult, Code};
use crate::config::{self, Branch, Caller};
use crate::ctx::Ctx;
use crate::envelope::{response, RequestEnvelope};
use crate::fields::Data;
use crate::registry::{Actor, Group, Registry, RouteSpec};
use crate::request::{Origin, Reply, Req};
use crate::sign;
use crate::store::{Cond, Item, StoreError};
use crate::time;
use futures::FutureExt;
use serde_json::Value;
use std::panic::AssertUnwindSafe;

/// How far a request's timestamp may be from the server clock (decision 3).
pub const TIMESTAMP_WINDOW_SECS: i64 = 300;

/// An HTTP request from a caller: `path` is the URL path, `body` the raw bytes.
/// `groups` limits which groups this process serves (a Lambda serves one).
/// Always answers an envelope.
pub async fn http(ctx: &Ctx, reg: &Registry, path: &str, body: &[u8], groups: Option<&[Group]>) -> Value {
    let mut zone = time::DEFAULT_TZ.to_string();
    let result = http_inner(ctx, reg, path, body, groups, &mut zone).await;
    if let Err(e) = &result {
        tracing::info!(path, code = e.code.0, message = %e.message, "refused");
    }
    response(&result, &time::format(time::to_local(ctx.clock.now(), &zone)))
}

async fn http_inner(
    ctx: &Ctx,
    reg: &Registry,
    path: &str,
    body: &[u8],
    groups: Option<&[Group]>,
    zone: &mut String,
) -> ApiResult<Reply> {
    let spec = reg
        .find(path)
        .filter(|s| groups.is_none_or(|g| g.contains(&s.group)))
        .ok_or_else(|| ApiError::new(Code::UNKNOWN_ROUTE, format!("unknown route '{}'", path.trim_start_matches('/'))))?;
    if spec.actor == Actor::Outbound {
        return Err(ApiError::forbidden(format!(
            "{} ({}) is an outbound interface: the cloud calls it, it is not served",
            spec.route, spec.section
        )));
    }
    let env = RequestEnvelope::parse(body)?;
    let (caller, branch) = authenticate(ctx, spec, &env).await?;
    *zone = branch.tz.clone();
    let origin = Origin::Caller(caller);
    run(ctx, reg, spec, origin, branch, env.data, env.query).await
}

async fn authenticate(ctx: &Ctx, spec: &RouteSpec, env: &RequestEnvelope) -> ApiResult<(Caller, Branch)> {
    let from = env.from.as_deref().ok_or_else(|| ApiError::auth("'from' is missing"))?;
    let sign_given = env.sign.as_deref().ok_or_else(|| ApiError::auth("'sign' is missing"))?;
    let ts_text = env.timestamp.as_deref().ok_or_else(|| ApiError::auth("'timestamp' is missing"))?;
    let nonce = env.nonce.as_deref().unwrap_or("");
    let branchno = env.branchno.as_deref().ok_or_else(|| ApiError::missing("branchno"))?;

    let caller = config::get_caller(ctx.store(), from)
        .await?
        .filter(|c| c.enabled)
        .ok_or_else(|| ApiError::auth("unknown or disabled caller"))?;
    let signing = sign::signing_string(from, ts_text, nonce, &env.data_text);
    if !sign::verify(&caller.secret, &signing, sign_given) {
        return Err(ApiError::auth("signature does not match"));
    }
    let branch = config::get_branch(ctx.store(), branchno)
        .await?
        .ok_or_else(|| ApiError::forbidden(format!("unknown branch '{branchno}'")))?;
    if !caller.may_use_branch(branchno) {
        return Err(ApiError::forbidden(format!("caller '{from}' may not act on branch '{branchno}'")));
    }
    if !caller.may_use_group(spec.group.name()) {
        return Err(ApiError::forbidden(format!("caller '{from}' may not call group '{}'", spec.group.name())));
    }
    let ts = time::parse(ts_text).ok_or_else(|| ApiError::auth("timestamp is not yyyy-MM-dd HH:mm:ss"))?;
    let now = ctx.clock.now();
    let skew = (time::to_utc(ts, &branch.tz) - now).num_seconds().abs();
    if skew > TIMESTAMP_WINDOW_SECS {
        return Err(ApiError::auth(format!("timestamp is {skew} s from the server clock (window {TIMESTAMP_WINDOW_SECS} s)")));
    }
    // A signature covers the timestamp, so the same (from, sign) can only recur
    // inside the window; remembering it a little longer than the window is enough.
    let marker = Item::new(format!("replay#{from}"), sign_given.trim(), Value::Null)
        .with_ttl(now.timestamp() + 2 * TIMESTAMP_WINDOW_SECS);
    match ctx.store.put(marker, Cond::MustNotExist).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed) => return Err(ApiError::auth("replayed request")),
        Err(e) => return Err(e.into()),
    }
    Ok((caller, branch))
}

/// Calls a route's handler for an already authenticated origin.
pub async fn run(
    ctx: &Ctx,
    reg: &Registry,
    spec: &'static RouteSpec,
    origin: Origin,
    branch: Branch,
    data: Value,
    query: Option<crate::request::QueryFormat>,
) -> ApiResult<Reply> {
    let Some(h) = reg.handler(spec) else {
        return Err(ApiError::new(
            Code::NOT_BUILT,
            format!("{} ({} {}) is not built yet", spec.route, spec.section, spec.title),
        ));
    };
    let now = time::to_local(ctx.clock.now(), &branch.tz);
    let req = Req { route: spec, origin, branch, data: Data::new(data), query, now };
    // A handler must never take the process down; a panic is a bug, answered as
    // a system error and logged.
    match AssertUnwindSafe(h(ctx.clone(), req)).catch_unwind().await {
        Ok(r) => r,
        Err(_) => {
            tracing::error!(route = spec.route, "handler panicked");
            Err(ApiError::new(Code::SYSTEM, "internal error"))
        }
    }
}

/// A request from an authenticated site agent (the site link's uplink).
pub async fn site(ctx: &Ctx, reg: &Registry, branchno: &str, agent_id: &str, route: &str, data: Value) -> Value {
    let mut zone = time::DEFAULT_TZ.to_string();
    let result = async {
        let spec = reg.find(route).ok_or_else(|| ApiError::new(Code::UNKNOWN_ROUTE, format!("unknown route '{route}'")))?;
        let branch = config::get_branch(ctx.store(), branchno)
            .await?
            .ok_or_else(|| ApiError::forbidden(format!("unknown branch '{branchno}'")))?;
        zone = branch.tz.clone();
        let data = match data {
            Value::String(s) => serde_json::from_str(&s).map_err(|e| ApiError::field("data", e))?,
            v => v,
        };
        run(ctx, reg, spec, Origin::Site { agent_id: agent_id.to_string() }, branch, data, None).await
    }
    .await;
    response(&result, &time::format(time::to_local(ctx.clock.now(), &zone)))
}
