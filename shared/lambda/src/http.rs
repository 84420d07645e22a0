//! The HTTP API glue: an API Gateway HTTP API (payload 2.0) event in, the
//! pipeline's answer out (the envelope for chapter 5 routes; the wire kind's
//! own shape for data-only routes and provider callbacks).

use crate::init::init;
use lambda_http::request::RequestContext;
use lambda_http::{service_fn, Body, Error, Request, RequestExt, Response};
#[cfg(feature = "pictures")]
use onecard_app::pictures;
use onecard_core::cors::Cors;
use onecard_core::ctx::Ctx;
use onecard_core::dispatch;
use onecard_core::registry::{Group, Registry};
use std::sync::Arc;

/// What `dispatch::http` needs from an HTTP request.
#[derive(Debug, PartialEq, Eq)]
pub struct Inbound<'a> {
    /// The path the registry knows, `/api.aspx/{route}` or `/{route}`, without
    /// the stage.
    pub path: String,
    /// The body bytes (API Gateway's base64 already decoded by `lambda_http`).
    pub body: &'a [u8],
}

/// The HTTP → dispatch conversion, free of the Lambda runtime.
///
/// The path is the matched route key's path when API Gateway matched a literal
/// route (`POST /api.aspx/calc`): that is free of any stage or custom-domain
/// mapping. Otherwise (`$default`, `{proxy+}`, a local emulator) it is the raw
/// path with the stage prefix taken off (`/prod/api.aspx/calc` → `/api.aspx/calc`).
pub fn to_dispatch(req: &Request) -> Inbound<'_> {
    let (stage, route_key) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => (c.stage.as_deref(), c.route_key.as_deref()),
        _ => (None, None),
    };
    let raw = match req.raw_http_path() {
        "" => req.uri().path(),
        p => p,
    };
    let path = route_key
        .and_then(route_key_path)
        .map(str::to_string)
        .unwrap_or_else(|| strip_stage(raw, stage).to_string());
    Inbound { path, body: req.body().as_ref() }
}

/// `POST /api.aspx/calc` → `/api.aspx/calc`; `None` for `$default` and for
/// routes with path variables.
fn route_key_path(key: &str) -> Option<&str> {
    let (_method, path) = key.split_once(' ')?;
    (path.starts_with('/') && !path.contains('{')).then_some(path)
}

fn strip_stage<'a>(path: &'a str, stage: Option<&str>) -> &'a str {
    match stage {
        Some(s) if !s.is_empty() && s != "$default" => match path.strip_prefix('/').and_then(|p| p.strip_prefix(s)) {
            Some(rest) if rest.starts_with('/') => rest,
            _ => path,
        },
        _ => path,
    }
}

/// The pipeline's answer as an HTTP response.
pub fn reply(out: dispatch::HttpOut) -> Response<Body> {
    let mut b = Response::builder().status(out.status).header("content-type", out.content_type);
    if let Some(l) = &out.location {
        b = b.header("location", l.as_str());
    }
    b.body(Body::Binary(out.body)).expect("static response parts")
}

/// The origins of `ONECARD_CORS_ORIGINS` (comma-separated). API Gateway
/// answers preflights itself when the HTTP API has a CORS configuration
/// (template parameter `CorsOrigins`); these headers serve a function reached
/// without one (a `$default` route, a function URL, a local emulator).
pub fn cors_from_env() -> Cors {
    Cors::from_list(&std::env::var("ONECARD_CORS_ORIGINS").unwrap_or_default())
}

/// The answer to a CORS preflight, or None when `req` is a call.
pub fn preflight(cors: &Cors, req: &Request) -> Option<Response<Body>> {
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
    if !Cors::is_preflight(req.method().as_str(), header("access-control-request-method")) {
        return None;
    }
    let mut b = Response::builder().status(204);
    for (k, v) in cors.preflight_headers(header("origin")) {
        b = b.header(k, v);
    }
    Some(b.body(Body::Empty).expect("static response parts"))
}

/// Adds the CORS headers for the request's origin to an answer.
pub fn with_cors(cors: &Cors, origin: Option<&str>, mut resp: Response<Body>) -> Response<Body> {
    for (k, v) in cors.response_headers(origin) {
        if let Ok(v) = lambda_http::http::HeaderValue::from_str(&v) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

/// The `{sha}` of the agent's `PUT /site/pictures/{sha}`.
#[cfg(feature = "pictures")]
pub fn picture_upload<'p>(method: &str, path: &'p str) -> Option<&'p str> {
    (method == "PUT").then(|| pictures::sha_of_path(path)).flatten()
}

/// The agent's picture upload, checked and stored exactly as `onecard serve`
/// does (`onecard_app::pictures`). API Gateway has read the body already
/// (its own limit is 10 MB); `accept` refuses one over 2 MiB.
#[cfg(feature = "pictures")]
async fn put_picture(ctx: &Ctx, req: &Request, sha: &str, body: &[u8]) -> Response<Body> {
    let h = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let head = pictures::UploadHead {
        sha,
        branch: h(pictures::HEADER_BRANCH),
        agent: h(pictures::HEADER_AGENT),
        timestamp: h(pictures::HEADER_TIMESTAMP),
        sign: h(pictures::HEADER_SIGN),
    };
    let (status, json) = match pictures::accept(ctx, &head, body.to_vec()).await {
        Ok(key) => (200, pictures::accepted_body(&key)),
        Err(r) => (r.status, r.body()),
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(Body::Text(json))
        .expect("static response parts")
}

/// Serves `groups` over the HTTP API until the runtime stops.
pub async fn run_http(groups: &'static [Group]) -> Result<(), Error> {
    let clients = init().await?;
    serve(clients.ctx(), onecard_app::registry(), groups).await
}

/// Serves `groups` with the given context and registry through the Lambda
/// Runtime API (`AWS_LAMBDA_RUNTIME_API`).
pub async fn serve(ctx: Ctx, registry: Registry, groups: &'static [Group]) -> Result<(), Error> {
    let reg = Arc::new(registry);
    let cors = Arc::new(cors_from_env());
    tracing::info!(groups = ?groups.iter().map(|g| g.name()).collect::<Vec<_>>(), "serving");
    lambda_http::run(service_fn(move |req: Request| {
        let (ctx, reg, cors) = (ctx.clone(), reg.clone(), cors.clone());
        async move {
            if let Some(answer) = preflight(&cors, &req) {
                return Ok::<_, Error>(answer);
            }
            let inbound = to_dispatch(&req);
            // The agents' picture uploads reach the function of the site's
            // routes (cat); the others are built without them.
            #[cfg(feature = "pictures")]
            if let Some(sha) = picture_upload(req.method().as_str(), &inbound.path) {
                return Ok::<_, Error>(put_picture(&ctx, &req, sha, inbound.body).await);
            }
            let http_in = dispatch::HttpIn {
                method: req.method().as_str(),
                path: &inbound.path,
                query: req.uri().query(),
                authorization: req.headers().get("authorization").and_then(|v| v.to_str().ok()),
                content_type: req.headers().get("content-type").and_then(|v| v.to_str().ok()),
                body: inbound.body,
            };
            let out = dispatch::serve(&ctx, &reg, http_in, Some(groups)).await;
            let origin = req.headers().get("origin").and_then(|v| v.to_str().ok());
            Ok::<_, Error>(with_cors(&cors, origin, reply(out)))
        }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(raw_path: &str, stage: &str, route_key: &str, body: &str, base64: bool) -> Request {
        let ev = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": raw_path,
            "rawQueryString": "",
            "headers": { "content-type": "application/json", "host": "abc.execute-api.ap-east-1.amazonaws.com" },
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc",
                "domainName": "abc.execute-api.ap-east-1.amazonaws.com",
                "domainPrefix": "abc",
                "http": { "method": "POST", "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "t" },
                "requestId": "r1",
                "routeKey": route_key,
                "stage": stage,
                "time": "28/Nov/2026:14:00:00 +0000",
                "timeEpoch": 1795874400000u64
            },
            "body": body,
            "isBase64Encoded": base64
        });
        lambda_http::request::from_str(&ev.to_string()).expect("an HTTP API 2.0 event")
    }

    #[test]
    fn default_stage_literal_route() {
        let req = event("/api.aspx/calc", "$default", "POST /api.aspx/calc", r#"{"from":"x"}"#, false);
        let i = to_dispatch(&req);
        assert_eq!(i.path, "/api.aspx/calc");
        assert_eq!(i.body, br#"{"from":"x"}"#);
    }

    #[test]
    fn named_stage_in_raw_path() {
        let req = event("/prod/api.aspx/calc", "prod", "POST /api.aspx/calc", "{}", false);
        assert_eq!(to_dispatch(&req).path, "/api.aspx/calc");
        // Without a literal route key the stage is taken off the raw path.
        let req = event("/prod/api.aspx/calc", "prod", "$default", "{}", false);
        assert_eq!(to_dispatch(&req).path, "/api.aspx/calc");
        let req = event("/prod/maoku/Maoku.GetTraffic", "prod", "ANY /{proxy+}", "{}", false);
        assert_eq!(to_dispatch(&req).path, "/maoku/Maoku.GetTraffic");
        // A path that merely starts like the stage keeps it.
        let req = event("/production/x", "prod", "$default", "{}", false);
        assert_eq!(to_dispatch(&req).path, "/production/x");
    }

    #[test]
    fn the_agents_picture_put_is_recognised_behind_a_stage() {
        let sha = "ab".repeat(32);
        let req = event(&format!("/prod/site/pictures/{sha}"), "prod", "PUT /site/pictures/{sha}", "", false);
        let path = to_dispatch(&req).path;
        assert_eq!(path, format!("/site/pictures/{sha}"));
        assert_eq!(picture_upload("PUT", &path), Some(sha.as_str()));
        assert_eq!(picture_upload("POST", &path), None);
        assert_eq!(picture_upload("PUT", "/site/pictures/a/b"), None);
        assert_eq!(picture_upload("PUT", "/api.aspx/calc"), None);
    }

    #[test]
    fn base64_body_is_decoded() {
        use base64::Engine;
        let text = r#"{"data":"{\"carNo\":\"粤B12345\"}"}"#;
        let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
        let req = event("/api.aspx/calc", "$default", "POST /api.aspx/calc", &b64, true);
        assert_eq!(to_dispatch(&req).body, text.as_bytes());
    }

    #[test]
    fn empty_body() {
        let ev = json!({
            "version": "2.0", "routeKey": "$default", "rawPath": "/api.aspx/hb", "rawQueryString": "",
            "headers": {}, "isBase64Encoded": false,
            "requestContext": { "http": { "method": "POST", "path": "/api.aspx/hb" }, "stage": "$default", "routeKey": "$default" }
        });
        let req = lambda_http::request::from_str(&ev.to_string()).unwrap();
        let i = to_dispatch(&req);
        assert_eq!(i.path, "/api.aspx/hb");
        assert!(i.body.is_empty());
    }

    #[test]
    fn reply_keeps_status_type_and_location() {
        let r = reply(dispatch::HttpOut::json(200, &json!({"code": 0})));
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/json; charset=utf-8");
        assert_eq!(r.body().as_ref(), br#"{"code":0}"#);
        let r = reply(dispatch::HttpOut { status: 302, content_type: "text/plain; charset=utf-8", body: vec![], location: Some("https://x/".into()) });
        assert_eq!(r.status(), 302);
        assert_eq!(r.headers()["location"], "https://x/");
    }

    /// The whole path through dispatch, without the runtime or AWS: an unknown
    /// route and a route of another group both answer an envelope.
    #[tokio::test]
    async fn dispatches_through_the_registry() {
        use onecard_core::ctx::{Ctx, Ports};
        let ctx = Ctx::new(Ports {
            store: std::sync::Arc::new(NullStore),
            queue: std::sync::Arc::new(crate::init::NoQueue),
            sites: std::sync::Arc::new(onecard_core::sitelink::NoSites),
            clock: std::sync::Arc::new(onecard_core::time::SystemClock),
        });
        let reg = onecard_app::registry();
        let req = event("/prod/api.aspx/calc", "prod", "$default", "{}", false);
        let i = to_dispatch(&req);
        // calc is park's: the pls function does not serve it.
        let v = dispatch::http(&ctx, &reg, &i.path, i.body, Some(&[Group::Pls])).await;
        assert!(v.to_string().contains("unknown route"), "{v}");
    }

    use onecard_core::store::{Cond, Item, Page, Query, StoreError, StoreResult, Write};
    struct NullStore;
    #[async_trait::async_trait]
    impl onecard_core::store::ItemStore for NullStore {
        async fn get(&self, _: &str, _: &str) -> StoreResult<Option<Item>> {
            Err(StoreError::Invalid("no store in this test".into()))
        }
        async fn put(&self, _: Item, _: Cond) -> StoreResult<()> {
            Err(StoreError::Invalid("no store in this test".into()))
        }
        async fn delete(&self, _: &str, _: &str, _: Cond) -> StoreResult<()> {
            Err(StoreError::Invalid("no store in this test".into()))
        }
        async fn query(&self, _: &Query) -> StoreResult<Page> {
            Err(StoreError::Invalid("no store in this test".into()))
        }
        async fn transact(&self, _: Vec<Write>) -> StoreResult<()> {
            Err(StoreError::Invalid("no store in this test".into()))
        }
    }

    #[test]
    fn cors_preflight_and_headers_for_listed_origins_only() {
        let cors = Cors::new(["https://h5.example"]);
        let pre = |origin: &str| {
            let req: Request = lambda_http::http::Request::builder()
                .method("OPTIONS")
                .uri("/api.aspx/calc")
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .body(Body::Empty)
                .unwrap();
            preflight(&cors, &req).expect("a preflight")
        };
        let ok = pre("https://h5.example");
        assert_eq!(ok.status(), 204);
        assert_eq!(ok.headers()["access-control-allow-origin"], "https://h5.example");
        assert!(ok.headers()["access-control-allow-methods"].to_str().unwrap().contains("POST"));
        let refused = pre("https://evil.example");
        assert!(refused.headers().get("access-control-allow-origin").is_none());
        // A POST is a call, not a preflight; its answer carries the origin.
        let post = event("/api.aspx/calc", "$default", "POST /api.aspx/calc", "{}", false);
        assert!(preflight(&cors, &post).is_none());
        let out = dispatch::HttpOut::json(200, &json!({"status": true}));
        let resp = with_cors(&cors, Some("https://h5.example"), reply(out.clone()));
        assert_eq!(resp.headers()["access-control-allow-origin"], "https://h5.example");
        assert!(with_cors(&cors, Some("https://evil.example"), reply(out)).headers().get("access-control-allow-origin").is_none());
    }
}
