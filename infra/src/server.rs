//! `onecard serve`: every group behind one HTTP listener, through the same
//! registry and dispatcher the Lambda functions use.

use crate::backend::DB_FILE;
use crate::cli::ServeArgs;
use anyhow::Context;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use onecard_adapters::embedded_queue::EmbeddedQueue;
use onecard_core::config;
use onecard_core::queue::EventQueue;
use crate::sitelink::{Hub, HubConfig};
use onecard_core::sitelink::SiteLink;
use onecard_core::time::OffsetClock;
use onecard_core::cors::Cors;
use onecard_core::{dispatch, Ctx, Ports, Registry};
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub ctx: Ctx,
    pub reg: Arc<Registry>,
    /// Present with `--test-clock`: the clock tests may move.
    pub test_clock: Option<Arc<OffsetClock>>,
    /// The origins allowed to call from a browser (`--cors-origin`).
    pub cors: Arc<Cors>,
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let (store, queue_in_store) = crate::backend::open_store_with_queue(&args.store, args.sqs_queue_url.is_none()).await?;
    if seed_demo_if_wanted(&*store, &args).await? {
        print_demo();
    }
    let demo_site = match args.no_demo_site || !wants_demo(&args) {
        true => None,
        false => config::get_branch(&*store, config::DEMO_BRANCH).await?,
    };
    if let Some(b) = &demo_site {
        crate::sitelink::demo::use_branch_zone(&b.tz);
    }
    let queue: Arc<dyn EventQueue> = match (&args.sqs_queue_url, queue_in_store) {
        (Some(url), _) => Arc::new(onecard_adapters::sqs_queue::SqsQueue::from_env(url, None).await),
        (None, Some(q)) => Arc::new(q),
        (None, None) => {
            std::fs::create_dir_all(&args.store.data_dir)?;
            Arc::new(EmbeddedQueue::open(&args.store.data_dir.join(DB_FILE)).context("opening the embedded queue")?)
        }
    };
    let hub = Hub::new(HubConfig::default());
    let sites: Arc<dyn SiteLink> = hub.clone();
    let clock = OffsetClock::new(chrono::Duration::seconds(args.clock_offset_secs));
    onecard_core::time::install(clock.clone());
    let http = onecard_adapters::http_out::HyperOutbound::shared(onecard_adapters::http_out::DEFAULT_TIMEOUT);
    let listener = tokio::net::TcpListener::bind(&args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let base = args.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    let blobs = crate::pictures::blob_store(&args, &base).await;
    let ctx = Ctx::new(Ports { store, queue, sites, clock: clock.clone() }).with_http(http).with_blobs(blobs);
    onecard_app::seed_demo(&ctx).await.context("seeding the demo data")?;
    let push = crate::push_worker::PushWorker::start(ctx.clone(), crate::push_worker::dead_letters(&args).await?, &args);
    let (stop_reconcile, reconcile_rx) = tokio::sync::watch::channel(false);
    let reconcile = tokio::spawn(onecard_app::payments::reconcile::run(ctx.clone(), std::time::Duration::from_secs(60), reconcile_rx));
    let cors = Arc::new(Cors::new(&args.cors_origins));
    let state = AppState { ctx, reg: Arc::new(onecard_app::registry()), test_clock: args.test_clock.then_some(clock), cors };
    hub.attach(state.ctx.clone(), state.reg.clone());

    let app = router(state).merge(hub.router());
    println!("onecard listening on http://{addr} (data dir {})", args.store.data_dir.display());
    println!("site agents connect to ws://{addr}/ws");
    // Kept alive for as long as the server runs.
    let _demo = match demo_site {
        Some(_) => match crate::sitelink::demo::start(addr, &args.store.data_dir).await {
            Ok(r) => {
                println!(
                    "demo site: agent {} of branch {} with simulated boards; cameras POST plates to http://{}/plate",
                    config::DEMO_AGENT,
                    config::DEMO_BRANCH,
                    r.camera_addr
                );
                Some(r)
            }
            Err(e) => {
                eprintln!("demo site not started: {e:#}");
                None
            }
        },
        None => None,
    };
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).with_graceful_shutdown(shutdown_signal()).await?;
    push.stop().await;
    let _ = stop_reconcile.send(true);
    let _ = reconcile.await;
    println!("onecard stopped");
    Ok(())
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi))
        .route("/_test/clock", axum::routing::post(set_test_clock))
        .route("/site/pictures/{sha}", axum::routing::put(crate::pictures::put_picture))
        .route("/blobs/{*key}", get(crate::pictures::get_blob))
        .route("/BarCode/BarcodeScanResult.aspx", get(crate::payments_admin::resolve_page))
        .fallback(api)
        .layer(axum::middleware::from_fn_with_state(state.cors.clone(), cors))
        .with_state(state)
}

/// Answers CORS preflights (before any route sees them: an API route would
/// read an OPTIONS as a call) and adds the CORS headers for listed origins.
async fn cors(State(cors): State<Arc<Cors>>, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let h = req.headers();
    let origin = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_string);
    let preflight = Cors::is_preflight(req.method().as_str(), h.get(header::ACCESS_CONTROL_REQUEST_METHOD).and_then(|v| v.to_str().ok()));
    if preflight {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        add_headers(&mut resp, cors.preflight_headers(origin.as_deref()));
        return resp;
    }
    let mut resp = next.run(req).await;
    add_headers(&mut resp, cors.response_headers(origin.as_deref()));
    resp
}

fn add_headers(resp: &mut Response, headers: Vec<(&'static str, String)>) {
    for (name, value) in headers {
        if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
            resp.headers_mut().insert(name, v);
        }
    }
}

/// Moves the clock of a server started with `--test-clock`; refused otherwise
/// and from anywhere but loopback.
async fn set_test_clock(
    State(s): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    uri: axum::http::Uri,
) -> Response {
    let Some(clock) = s.test_clock.as_ref().filter(|_| peer.ip().is_loopback()) else {
        return (StatusCode::NOT_FOUND, "not a test server\n").into_response();
    };
    let offset = uri.query().unwrap_or("").split('&').find_map(|kv| kv.strip_prefix("offset_secs=")).and_then(|v| v.parse::<i64>().ok());
    match offset {
        Some(secs) => {
            clock.set_offset(chrono::Duration::seconds(secs));
            format!("clock offset {secs} s\n").into_response()
        }
        None => (StatusCode::BAD_REQUEST, "offset_secs=N is required\n").into_response(),
    }
}

/// The OpenAPI document, made from the registry this server serves.
async fn openapi(State(s): State<AppState>) -> Response {
    let doc = onecard_core::openapi::document(&s.reg);
    ([(header::CONTENT_TYPE, "application/json; charset=utf-8")], doc.to_string()).into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

/// Every path that is not a fixed endpoint is an API route, answered in its
/// wire kind's shape (decisions 1 and 11). The body is read only up to the
/// route's limit: a bigger one answers 413 without being read whole.
async fn api(State(s): State<AppState>, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let limit = s.reg.find(path).map(|spec| spec.body_limit()).unwrap_or(onecard_core::registry::BODY_LIMIT);
    let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    let body = match declared {
        Some(n) if n > limit => None,
        _ => http_body_util::BodyExt::collect(http_body_util::Limited::new(body, limit)).await.ok().map(|c| c.to_bytes()),
    };
    let Some(body) = body else {
        let env = serde_json::json!({
            "status": false, "code": 100001, "data": null,
            "message": format!("request body is over this route's limit of {limit} bytes"),
        });
        return (StatusCode::PAYLOAD_TOO_LARGE, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], env.to_string()).into_response();
    };
    let http_in = dispatch::HttpIn {
        method: parts.method.as_str(),
        path,
        query: parts.uri.query(),
        authorization: parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()),
        content_type: parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
        body: &body,
    };
    let out = dispatch::serve(&s.ctx, &s.reg, http_in, None).await;
    let mut resp = (StatusCode::from_u16(out.status).unwrap_or(StatusCode::OK), [(header::CONTENT_TYPE, out.content_type)], out.body).into_response();
    if let Some(l) = out.location.and_then(|l| axum::http::HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    resp
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

fn print_demo() {
    println!("seeded the demo:");
    println!("  branch  {} \"演示停车场\", area 1", config::DEMO_BRANCH);
    println!("  lanes   deviceID 1 / C0000001 / 入口1 (entry), deviceID 2 / C0000002 / 出口1 (exit)");
    println!("  caller  from={} secret={} (every group of branch {})", config::DEMO_CALLER, config::DEMO_SECRET, config::DEMO_BRANCH);
    println!("  site    agent {} secret={}", config::DEMO_AGENT, config::DEMO_AGENT_SECRET);
}

/// The demo data (with its published secrets) goes into a local data dir,
/// which only this machine reaches, but into a DynamoDB table only on request.
fn wants_demo(args: &ServeArgs) -> bool {
    args.demo || args.store.dynamodb_table.is_none()
}

/// Seeds the demo branch, caller and agent into an empty store when
/// [`wants_demo`]; answers whether it seeded.
async fn seed_demo_if_wanted(store: &dyn onecard_core::store::ItemStore, args: &ServeArgs) -> anyhow::Result<bool> {
    if !wants_demo(args) {
        if config::list_branches(store).await?.is_empty() {
            tracing::warn!("empty DynamoDB table and no --demo: nothing seeded; add a branch, callers and agents with the admin commands");
        }
        return Ok(false);
    }
    Ok(config::seed_demo(store).await?)
}

#[cfg(test)]
mod demo_seed_tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;
    use onecard_core::memstore::MemStore;

    fn serve_args(argv: &[&str]) -> ServeArgs {
        let mut full = vec!["onecard", "serve"];
        full.extend_from_slice(argv);
        match Cli::try_parse_from(full).unwrap().command {
            Command::Serve(a) => a,
            _ => unreachable!(),
        }
    }

    #[tokio::test]
    async fn a_dynamodb_table_gets_the_demo_secrets_only_with_demo() {
        let table = MemStore::new();
        assert!(!seed_demo_if_wanted(&table, &serve_args(&["--dynamodb-table", "prod"])).await.unwrap());
        assert!(config::list_branches(&table).await.unwrap().is_empty());
        assert!(config::get_site(&table, config::DEMO_BRANCH, config::DEMO_AGENT).await.unwrap().is_none(), "no demo agent secret");
        assert!(!wants_demo(&serve_args(&["--dynamodb-table", "prod"])), "and no demo site connecting to it");

        assert!(seed_demo_if_wanted(&table, &serve_args(&["--dynamodb-table", "dev", "--demo"])).await.unwrap());
        assert!(config::get_site(&table, config::DEMO_BRANCH, config::DEMO_AGENT).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_fresh_data_dir_is_seeded_as_the_readme_promises() {
        let dir = MemStore::new();
        assert!(seed_demo_if_wanted(&dir, &serve_args(&["--data-dir", "/tmp/x"])).await.unwrap());
        assert_eq!(config::list_branches(&dir).await.unwrap().len(), 1);
        // Seeding is for empty stores only.
        assert!(!seed_demo_if_wanted(&dir, &serve_args(&[])).await.unwrap());
    }
}
