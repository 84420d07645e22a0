//! The request pipeline shared by the Lambda functions, the local server and the
//! site link: route, check the size, authenticate for the route's wire kind,
//! authorise, parse, call the handler, answer in the wire kind's shape.
//!
//! Nothing here trusts the body: its size is checked before it is parsed, the
//! HMAC is checked over the raw bytes of `data` before `data` becomes a tree,
//! and a handler's panic is contained.

use crate::charset::{self, Charset};
use crate::codes::{ApiError, ApiResult, Code};
use crate::config::{self, Branch, Caller};
use crate::ctx::Ctx;
use crate::envelope::{response, response_owned, RequestEnvelope};
use crate::idempotency::{self, Claim, RequestKey};
use crate::kit::Effect;
use crate::registry::{Actor, Group, Registry, RouteSpec, Wire};
use crate::request::{Origin, Reply, Req};
use crate::sign;
use crate::time;
use futures::FutureExt;
use serde_json::{json, Value};
use std::panic::AssertUnwindSafe;

/// How far a request's timestamp may be from the server clock (decision 3).
pub const TIMESTAMP_WINDOW_SECS: i64 = 300;

/// An HTTP request as the pipeline needs it, from any front (axum, API Gateway).
#[derive(Clone, Copy, Debug)]
pub struct HttpIn<'a> {
    pub method: &'a str,
    /// The URL path, e.g. `/api.aspx/calc`.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The `Content-Type` header: its charset decides how the body is read
    /// (`charset::decode_body`).
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
}

/// The HTTP answer: status, content type, body and, for redirects, a location.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpOut {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub location: Option<String>,
}

const JSON: &str = "application/json; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

impl HttpOut {
    pub fn json(status: u16, v: &Value) -> Self {
        HttpOut { status, content_type: JSON, body: serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec()), location: None }
    }
    fn text(status: u16, s: impl Into<String>) -> Self {
        HttpOut { status, content_type: TEXT, body: s.into().into_bytes(), location: None }
    }
    /// The envelope JSON, for callers that want the value back.
    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

fn envelope_out(ctx: &Ctx, status: u16, result: ApiResult<Reply>, zone: &str) -> (HttpOut, Value) {
    if let Err(e) = &result {
        tracing::info!(code = e.code.0, message = %e.message, "refused");
    }
    let env = response_owned(result, &time::format(time::to_local(ctx.clock.now(), zone)));
    (HttpOut::json(status, &env), env)
}

/// Serves one HTTP request. `groups` limits which groups this process serves
/// (a Lambda serves one).
pub async fn serve(ctx: &Ctx, reg: &Registry, req: HttpIn<'_>, groups: Option<&[Group]>) -> HttpOut {
    let Some(spec) = reg.find(req.path).filter(|s| groups.is_none_or(|g| g.contains(&s.group))) else {
        let e = ApiError::new(Code::UNKNOWN_ROUTE, format!("unknown route '{}'", req.path.trim_start_matches('/')));
        return envelope_out(ctx, 200, Err(e), time::DEFAULT_TZ).0;
    };
    if spec.actor == Actor::Outbound {
        let e = ApiError::forbidden(format!("{} ({}) is an outbound interface: the cloud calls it, it is not served", spec.route, spec.section));
        return envelope_out(ctx, 200, Err(e), time::DEFAULT_TZ).0;
    }
    if req.body.len() > spec.body_limit() {
        let e = ApiError::bad_input(format!("request body of {} bytes is over this route's limit of {} bytes", req.body.len(), spec.body_limit()));
        return match spec.wire() {
            Wire::Envelope => envelope_out(ctx, 413, Err(e), time::DEFAULT_TZ).0,
            _ => HttpOut::json(413, &json!({"code": 413, "message": e.message})),
        };
    }
    match spec.wire() {
        Wire::Envelope => envelope(ctx, reg, spec, req.body, req.content_type).await,
        Wire::DataOnly => data_only(ctx, reg, spec, req).await,
        Wire::ProviderRedirect | Wire::ProviderForm => provider(ctx, reg, spec, req).await,
    }
}

/// A chapter 5 envelope request, answered with the envelope; the envelope as a
/// value (tests and the API Gateway front use it).
pub async fn http(ctx: &Ctx, reg: &Registry, path: &str, body: &[u8], groups: Option<&[Group]>) -> Value {
    let req = HttpIn { method: "POST", path, query: None, authorization: None, content_type: None, body };
    serve(ctx, reg, req, groups).await.value()
}

async fn envelope(ctx: &Ctx, reg: &Registry, spec: &'static RouteSpec, body: &[u8], content_type: Option<&str>) -> HttpOut {
    let mut zone = time::DEFAULT_TZ.to_string();
    let authed = async {
        let (body, charset) = charset::decode_body(content_type, body)?;
        let env = RequestEnvelope::parse(&body)?;
        let (caller, branch) = authenticate(ctx, spec, &env, charset).await?;
        Ok::<_, ApiError>((env, caller, branch))
    }
    .await;
    let (env, caller, branch) = match authed {
        Ok(x) => x,
        Err(e) => return envelope_out(ctx, 200, Err(e), &zone).0,
    };
    zone = branch.tz.clone();
    // Decision 3: a write is done once per signed request; its repeat gets the
    // first answer. Reads (and routes not built, which do nothing) keep nothing.
    let effect = reg.def(spec).map(|d| d.effect);
    let key = (effect == Some(Effect::Write)).then(|| {
        RequestKey::new(&caller.from, &branch.branchno, spec.route, env.sign.as_deref().unwrap_or_default())
    });
    // TTLs are read by the store against its own clock (DynamoDB's sweeper
    // runs on real time), so the later of the two clocks sets the expiry.
    let expires = crate::store::now_unix().max(ctx.clock.now().timestamp()) + 2 * TIMESTAMP_WINDOW_SECS;
    if let Some(key) = &key {
        match idempotency::claim(ctx.store(), key, expires).await {
            Ok(Claim::New) => {}
            Ok(Claim::Answered(answer)) => return HttpOut::json(200, &answer),
            Err(e) => return envelope_out(ctx, 200, Err(e), &zone).0,
        }
    }
    let result = match env.data() {
        Ok(data) => run(ctx, reg, spec, Origin::Caller(caller), branch, data, env.query).await,
        Err(e) => Err(e),
    };
    let (out, answer) = envelope_out(ctx, 200, result, &zone);
    if let Some(key) = &key {
        if let Err(e) = idempotency::finish(ctx.store(), key, expires, &answer).await {
            tracing::error!(route = spec.route, error = %e, "could not record the answer of a write");
        }
    }
    out
}

/// `charset` is the body's declared charset when not UTF-8: the signature
/// may then be over either encoding of S (see `charset`).
async fn authenticate(ctx: &Ctx, spec: &RouteSpec, env: &RequestEnvelope, charset: Option<Charset>) -> ApiResult<(Caller, Branch)> {
    let from = env.from.as_deref().ok_or_else(|| ApiError::auth("'from' is missing"))?;
    let sign_given = env.sign.as_deref().ok_or_else(|| ApiError::auth("'sign' is missing"))?;
    let ts_text = env.timestamp.as_deref().ok_or_else(|| ApiError::auth("'timestamp' is missing"))?;
    let nonce = env.nonce.as_deref().unwrap_or("");
    let branchno = env.branchno.as_deref().ok_or_else(|| ApiError::missing("branchno"))?;

    let caller = config::get_caller(ctx.store(), from)
        .await?
        .filter(|c| c.enabled)
        .ok_or_else(|| ApiError::auth("unknown or disabled caller"))?;
    let signed = sign::verify_parts(&caller.secret, from, ts_text, nonce, &env.data_text, sign_given)
        || charset.is_some_and(|cs| cs.verify(&caller.secret, &sign::signing_string(from, ts_text, nonce, &env.data_text), sign_given));
    if !signed {
        return Err(ApiError::auth("signature does not match"));
    }
    // The timestamp is read in the caller's zone, not the branch's, so a
    // request cannot be replayed against a branch in another zone.
    let ts = time::parse(ts_text).ok_or_else(|| ApiError::auth("timestamp is not yyyy-MM-dd HH:mm:ss"))?;
    let skew = (time::to_utc(ts, caller.tz()) - ctx.clock.now()).num_seconds().abs();
    if skew > TIMESTAMP_WINDOW_SECS {
        return Err(ApiError::auth(format!("timestamp is {skew} s from the server clock (window {TIMESTAMP_WINDOW_SECS} s)")));
    }
    let branch = authorise(ctx, spec, &caller, branchno).await?;
    Ok((caller, branch))
}

/// The caller's branch and group rights (decision 13).
async fn authorise(ctx: &Ctx, spec: &RouteSpec, caller: &Caller, branchno: &str) -> ApiResult<Branch> {
    let branch = config::get_branch(ctx.store(), branchno)
        .await?
        .ok_or_else(|| ApiError::forbidden(format!("unknown branch '{branchno}'")))?;
    if !caller.may_use_branch(branchno) {
        return Err(ApiError::forbidden(format!("caller '{}' may not act on branch '{branchno}'", caller.from)));
    }
    if !caller.may_use_group(spec.group.name()) {
        return Err(ApiError::forbidden(format!("caller '{}' may not call group '{}'", caller.from, spec.group.name())));
    }
    Ok(branch)
}

/// Decision 11: bare JSON in, the partner's JSON out, a caller token instead
/// of a signature. Refusals before the handler are HTTP statuses (401 no or bad
/// token, 403 not allowed, 501 not built); the handler's own refusals are
/// answered in the route's shape.
async fn data_only(ctx: &Ctx, reg: &Registry, spec: &'static RouteSpec, req: HttpIn<'_>) -> HttpOut {
    let refuse = |status: u16, msg: String| HttpOut::json(status, &json!({"code": status, "message": msg}));
    let token = req
        .authorization
        .and_then(|a| a.strip_prefix("Bearer ").or_else(|| a.strip_prefix("bearer ")))
        .map(str::trim)
        .or_else(|| query_param(req.query, "token"));
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return refuse(401, "a caller token is required: Authorization: Bearer <token>".into());
    };
    let caller = match config::caller_by_token(ctx.store(), token).await {
        Ok(Some(c)) => c,
        Ok(None) => return refuse(401, "unknown token".into()),
        Err(e) => return refuse(500, ApiError::from(e).message),
    };
    let Some(def) = reg.def(spec) else {
        return refuse(501, format!("{} ({} {}) is not built yet", spec.route, spec.section, spec.title));
    };
    let body = match charset::decode_body(req.content_type, req.body) {
        Ok((body, _)) => body,
        Err(e) => return answer_refusal(def.refusal, &e),
    };
    let data: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return answer_refusal(def.refusal, &ApiError::bad_input(format!("malformed JSON: {e}"))),
        }
    };
    let park_id = data.get("parkId").and_then(crate::fields::scalar_text).filter(|s| !s.trim().is_empty());
    let Some(branchno) = caller.branch_for_park_id(park_id.as_deref()) else {
        return refuse(403, format!("parkId {} is not one of this caller's car parks", park_id.unwrap_or_default()));
    };
    let branch = match authorise(ctx, spec, &caller, &branchno).await {
        Ok(b) => b,
        Err(e) => return refuse(403, e.message),
    };
    match run(ctx, reg, spec, Origin::Caller(caller), branch, data, None).await {
        Ok(reply) => HttpOut::json(200, &reply.data),
        Err(e) => answer_refusal(def.refusal, &e),
    }
}

fn answer_refusal(shape: Option<fn(&ApiError) -> Value>, e: &ApiError) -> HttpOut {
    let body = match shape {
        Some(f) => f(e),
        None => json!({"code": e.code.0, "message": e.message}),
    };
    HttpOut::json(200, &body)
}

/// A payment provider's callbacks (10.6 GET answered by a redirect, 10.7 form
/// POST answered in plain text). The provider's own signature is the
/// handler's to check (it knows the provider); the branch is named by the
/// `branchno` parameter of the URL the cloud gave the provider.
async fn provider(ctx: &Ctx, reg: &Registry, spec: &'static RouteSpec, req: HttpIn<'_>) -> HttpOut {
    let redirect = spec.wire() == Wire::ProviderRedirect;
    let want = if redirect { "GET" } else { "POST" };
    // Refusals before the provider's request is understood are envelopes, so
    // a client that mistakes the route for a chapter 5 one still reads them.
    if reg.def(spec).is_none() {
        let e = ApiError::new(Code::NOT_BUILT, format!("{} ({} {}) is not built yet", spec.route, spec.section, spec.title));
        return envelope_out(ctx, 501, Err(e), time::DEFAULT_TZ).0;
    }
    if !req.method.eq_ignore_ascii_case(want) {
        let e = ApiError::bad_input(format!("{} is the payment provider's callback and takes {want}", spec.route));
        return envelope_out(ctx, 405, Err(e), time::DEFAULT_TZ).0;
    }
    // A JSON body is a client that took the route for a chapter 5 one: tell
    // it so in an envelope. A form never starts with `{`; the body decides,
    // not the header, which some providers' clients set carelessly.
    if !redirect && req.body.trim_ascii_start().starts_with(b"{") {
        let e = ApiError::bad_input(format!("{} is the payment provider's callback and takes an application/x-www-form-urlencoded POST", spec.route));
        return envelope_out(ctx, 415, Err(e), time::DEFAULT_TZ).0;
    }
    let form = if redirect { req.query.unwrap_or("") } else { std::str::from_utf8(req.body).unwrap_or("") };
    let mut fields = parse_form(form);
    if let Some(q) = req.query.filter(|_| !redirect) {
        for (k, v) in parse_form(q) {
            fields.entry(k).or_insert(v);
        }
    }
    let Some(branchno) = fields.get("branchno").and_then(Value::as_str).map(str::to_string) else {
        return HttpOut::text(400, "branchno is missing from the callback URL");
    };
    let branch = match config::get_branch(ctx.store(), &branchno).await {
        Ok(Some(b)) => b,
        Ok(None) => return HttpOut::text(404, format!("unknown branch '{branchno}'")),
        Err(e) => return HttpOut::text(500, e.to_string()),
    };
    let data = Value::Object(fields);
    match run(ctx, reg, spec, Origin::Provider, branch, data, None).await {
        Ok(reply) => {
            let text = match &reply.data {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            if redirect {
                HttpOut { status: 302, content_type: TEXT, body: Vec::new(), location: Some(text) }
            } else {
                HttpOut::text(200, text)
            }
        }
        Err(e) => HttpOut::text(if e.code == Code::BAD_INPUT || e.code == Code::AUTH { 400 } else { 500 }, e.message),
    }
}

fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v))
}

/// `application/x-www-form-urlencoded` into a JSON object of strings.
fn parse_form(s: &str) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    for pair in s.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        m.insert(percent_decode(k), Value::String(percent_decode(v)));
    }
    m
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space, a bad
/// `%` escape is kept as it is). Also used for query strings.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
    let req = Req { route: spec, origin, branch, data, query, now };
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

/// A request from an authenticated site agent (the site link's uplink). An
/// agent may call only the routes whose actor is the site (decision 13): a
/// stolen agent secret must not pay orders, top up cards or issue them.
pub async fn site(ctx: &Ctx, reg: &Registry, branchno: &str, agent_id: &str, route: &str, data: Value) -> Value {
    let mut zone = time::DEFAULT_TZ.to_string();
    let result = async {
        let spec = reg.find(route).ok_or_else(|| ApiError::new(Code::UNKNOWN_ROUTE, format!("unknown route '{route}'")))?;
        if spec.actor != Actor::Site {
            return Err(ApiError::forbidden(format!(
                "{} ({}) is not a site route: an on-site agent may call only the site's uplink routes",
                spec.route, spec.section
            )));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode() {
        let m = parse_form("a=1&b=%E6%B5%99+A&c=&d=%zz");
        assert_eq!(m["a"], "1");
        assert_eq!(m["b"], "浙 A");
        assert_eq!(m["c"], "");
        assert_eq!(m["d"], "%zz");
        assert_eq!(query_param(Some("x=1&token=abc"), "token"), Some("abc"));
    }
}
