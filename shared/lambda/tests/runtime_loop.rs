//! The HTTP glue end to end through the Lambda Runtime API, without AWS: a
//! mock runtime (plain TCP, HTTP/1.1 keep-alive) hands `serve` API Gateway
//! HTTP API events carrying signed envelopes; the store is the embedded one.

use base64::Engine;
use onecard_adapters::sqlite_store::SqliteStore;
use onecard_core::config::{self, Caller};
use onecard_core::ctx::{Ctx, Ports};
use onecard_core::time::{self, Clock, SystemClock};
use onecard_lambda::Group;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

const FROM: &str = "rt-test";
const SECRET: &str = "rt-secret";

/// An HTTP API payload 2.0 event carrying a signed chapter 5 request.
fn event(raw_path: &str, stage: &str, route_key: &str, data: &str, base64: bool, nonce: &str) -> String {
    let ts = time::format(time::to_local(SystemClock.now(), time::DEFAULT_TZ));
    let sign = onecard_core::sign::sign(SECRET, &onecard_core::sign::signing_string(FROM, &ts, nonce, data));
    let body = format!(
        r#"{{"from":"{FROM}","timestamp":"{ts}","nonce":"{nonce}","sign":"{sign}","branchno":"{}","data":{data}}}"#,
        config::DEMO_BRANCH
    );
    let body = if base64 { base64::engine::general_purpose::STANDARD.encode(body) } else { body };
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": { "content-type": "application/json", "host": "abc.execute-api.ap-east-1.amazonaws.com" },
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc", "domainName": "abc.execute-api.ap-east-1.amazonaws.com",
            "http": { "method": "POST", "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "t" },
            "requestId": "r", "routeKey": route_key, "stage": stage, "time": "x", "timeEpoch": 0
        },
        "body": body,
        "isBase64Encoded": base64
    })
    .to_string()
}

/// Reads one HTTP/1.1 request: (request line, body).
fn read_request(r: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some((line.trim_end().to_string(), body))
}

/// The mock Runtime API: serves `events` in order, sends each response (or
/// error) to `out` as (request id, JSON), and then holds `next` open.
fn mock_runtime(events: Vec<String>, out: mpsc::Sender<(String, Value)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let queue = Arc::new(Mutex::new(events.into_iter().enumerate().collect::<Vec<_>>()));
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let (queue, out) = (queue.clone(), out.clone());
            std::thread::spawn(move || {
                let mut w = conn.try_clone().unwrap();
                let mut r = BufReader::new(conn);
                while let Some((line, body)) = read_request(&mut r) {
                    if line.contains("/invocation/next") {
                        let next = {
                            let mut q = queue.lock().unwrap();
                            (!q.is_empty()).then(|| q.remove(0))
                        };
                        let Some((i, ev)) = next else {
                            std::thread::sleep(Duration::from_secs(3600));
                            return;
                        };
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: req-{i}\r\n\
                             Lambda-Runtime-Deadline-Ms: 99999999999999\r\n\
                             Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:ap-east-1:123456789012:function:t\r\n\
                             Lambda-Runtime-Trace-Id: Root=1-0-0\r\nContent-Type: application/json\r\n\
                             Content-Length: {}\r\n\r\n",
                            ev.len()
                        );
                        w.write_all(head.as_bytes()).unwrap();
                        w.write_all(ev.as_bytes()).unwrap();
                    } else {
                        // POST /2018-06-01/runtime/invocation/{id}/response (or /error)
                        let path = line.split_whitespace().nth(1).unwrap_or("");
                        let id = path.split('/').rev().nth(1).unwrap_or("?").to_string();
                        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let tag = if line.contains("/error") { format!("{id} error") } else { id };
                        let _ = out.send((tag, v));
                        w.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n").unwrap();
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_api_gateway_events_through_the_runtime_api() {
    let dir = std::env::temp_dir().join(format!("onecard-lambda-rt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(SqliteStore::open(&dir.join("store.db")).unwrap());
    config::put_branch(&*store, &config::demo_branch()).await.unwrap();
    let caller = Caller {
        from: FROM.into(),
        secret: SECRET.into(),
        enabled: true,
        branches: vec!["*".into()],
        groups: vec!["*".into()],
        verify_url: None,
        ..Default::default()
    };
    config::put_caller(&*store, &caller).await.unwrap();

    let events = vec![
        // $default stage, literal route key.
        event("/api.aspx/park.lot.status.total", "$default", "POST /api.aspx/park.lot.status.total", "{}", false, "1"),
        // Named stage in the raw path, no literal route key, base64 body, alias.
        event("/prod/api.aspx/getstates", "prod", "$default", "{}", true, "2"),
        // The same signature again: a read is answered again (decision 3).
        event("/api.aspx/park.lot.status.total", "$default", "POST /api.aspx/park.lot.status.total", "{}", false, "1"),
        // Another group's route: this function does not serve it.
        event("/api.aspx/hb", "$default", "POST /api.aspx/hb", "{}", false, "3"),
    ];
    let n = events.len();
    let (tx, rx) = mpsc::channel();
    let addr = mock_runtime(events, tx);
    for (k, v) in [
        ("AWS_LAMBDA_RUNTIME_API", addr.as_str()),
        ("AWS_LAMBDA_FUNCTION_NAME", "onecard-park"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "s"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "g"),
    ] {
        std::env::set_var(k, v);
    }
    let ctx = Ctx::new(Ports {
        store,
        queue: Arc::new(onecard_lambda::init::NoQueue),
        sites: Arc::new(onecard_core::sitelink::NoSites),
        clock: Arc::new(SystemClock),
    });
    let collect = tokio::task::spawn_blocking(move || {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(rx.recv_timeout(Duration::from_secs(30)).expect("a response from the function"));
        }
        v
    });
    // `serve` runs until the runtime stops: race it against the responses.
    let rx = tokio::select! {
        r = onecard_lambda::serve(ctx, onecard_app::registry(), &[Group::Park]) => panic!("serve ended: {r:?}"),
        v = collect => v.unwrap(),
    };
    let mut got = std::collections::BTreeMap::new();
    for (id, v) in rx {
        got.insert(id, v);
    }
    let _ = std::fs::remove_dir_all(&dir);

    let envelope = |id: &str| -> Value {
        let r = got.get(id).unwrap_or_else(|| panic!("no response for {id}: {got:?}"));
        assert_eq!(r["statusCode"], 200, "{id}: {r}");
        assert_eq!(r["headers"]["content-type"], "application/json; charset=utf-8", "{id}");
        serde_json::from_str(r["body"].as_str().expect("text body")).expect("a JSON envelope")
    };
    let e0 = envelope("req-0");
    assert_eq!(e0["code"], 200, "{e0}");
    assert_eq!(e0["data"]["total"], "500", "{e0}");
    let e1 = envelope("req-1");
    assert_eq!(e1["code"], 200, "{e1}");
    assert_eq!(e1["data"], e0["data"]);
    let e2 = envelope("req-2");
    assert_eq!(e2["code"], 200, "{e2}");
    assert_eq!(e2["data"], e0["data"]);
    let e3 = envelope("req-3");
    assert_eq!(e3["status"], false);
    assert!(e3["message"].as_str().unwrap().contains("unknown route"), "{e3}");
}
