//! Support for the integration tests: start the real `onecard serve` binary on a
//! free loopback port with a fresh data dir, and call it the way a client does
//! (signed chapter 5 envelopes over plain HTTP/1.1).
//!
//! The binaries are found next to the test executable (`target/<profile>/`), so
//! `cargo build --bins` must have run first; `infra/test.sh` does that.

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const DEMO_FROM: &str = "demo";
pub const DEMO_SECRET: &str = "demo-secret";
pub const DEMO_BRANCH: &str = "1001";

/// `target/<profile>/` of the running test.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/test-xxxx -> target/debug
    exe.parent().and_then(Path::parent).expect("target dir").to_path_buf()
}

/// Path of a workspace binary; panics with a clear message when not built.
pub fn binary(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(p.exists(), "{} is not built: run `cargo build --bins` first", p.display());
    p
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0").local_addr().expect("addr").port()
}

/// A fresh table named `{prefix}-{random}` on DynamoDB Local
/// (`ONECARD_DYNAMODB_ENDPOINT`, as `infra/scripts/dynamodb-local.sh` prints
/// it). None when `ONECARD_SKIP_DYNAMODB=1` says to skip; without either, the
/// test fails and says how to start it.
pub async fn dynamodb_table(prefix: &str) -> Option<onecard_adapters::DynamoStore> {
    let endpoint = match std::env::var("ONECARD_DYNAMODB_ENDPOINT") {
        Ok(url) if !url.trim().is_empty() => url.trim().to_string(),
        _ if std::env::var("ONECARD_SKIP_DYNAMODB").as_deref() == Ok("1") => {
            eprintln!("SKIPPED: ONECARD_DYNAMODB_ENDPOINT is not set and ONECARD_SKIP_DYNAMODB=1");
            return None;
        }
        _ => panic!(
            "ONECARD_DYNAMODB_ENDPOINT is not set. Start DynamoDB Local with \
             `infra/scripts/dynamodb-local.sh start` and export ONECARD_DYNAMODB_ENDPOINT=<the URL it prints>, \
             or set ONECARD_SKIP_DYNAMODB=1 to skip this test."
        ),
    };
    // DynamoDB Local takes any credentials, but the SDK must find some.
    for (k, v) in [("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"), ("AWS_REGION", "us-east-1")] {
        if std::env::var(k).is_err() {
            std::env::set_var(k, v);
        }
    }
    let table = unique(prefix);
    let store = onecard_adapters::DynamoStore::from_env(&table, Some(&endpoint)).await;
    store.create_table().await.expect("create table");
    Some(store)
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(unique(&format!("onecard-{tag}")));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A name no other test of any run shares: `name-pid-time-counter`.
/// The counter matters: tests start side by side, and on a machine whose
/// clock ticks coarsely two of them read the same nanoseconds (CI once gave
/// two tests one SQS queue that way, as CreateQueue is idempotent).
pub fn unique(name: &str) -> String {
    format!("{name}-{}-{}", std::process::id(), rand_suffix())
}

fn rand_suffix() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{:x}{n}", t & 0xffff_ffff)
}

/// A running `onecard serve`, killed on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub data_dir: PathBuf,
}

impl Server {
    /// Starts on a fresh data dir without the demo site.
    pub fn start() -> Server {
        Server::start_with(&temp_dir("data"), &["--no-demo-site"])
    }

    pub fn start_with(data_dir: &Path, extra: &[&str]) -> Server {
        Server::start_on(free_port(), data_dir, extra)
    }

    pub fn start_on(port: u16, data_dir: &Path, extra: &[&str]) -> Server {
        let log = std::fs::File::create(data_dir.with_extension("log")).expect("log file");
        let child = Command::new(binary("onecard"))
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn onecard serve");
        let s = Server { child, port, data_dir: data_dir.to_path_buf() };
        s.wait_healthy(Duration::from_secs(20));
        s
    }

    pub fn wait_healthy(&self, within: Duration) {
        let t0 = Instant::now();
        while t0.elapsed() < within {
            if let Ok((200, _)) = http(self.port, "GET", "/healthz", "") {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(self.data_dir.with_extension("log")).unwrap_or_default();
        panic!("onecard serve did not become healthy on port {}; log:\n{log}", self.port);
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn client(&self) -> Client {
        Client { port: self.port, from: DEMO_FROM.into(), secret: DEMO_SECRET.into(), branch: DEMO_BRANCH.into() }
    }

    /// Stops the server (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One HTTP/1.1 request with `Connection: close`; answers (status, body).
pub fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    http_with(port, method, path, &[], body).map(|(st, _, b)| (st, b))
}

/// `http` with extra headers; answers (status, head, body).
pub fn http_with(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> std::io::Result<(u16, String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(rest) } else { rest.to_string() };
    Ok((status, head.to_string(), body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A signing API client, like the mobile and partner front ends.
#[derive(Clone)]
pub struct Client {
    pub port: u16,
    pub from: String,
    pub secret: String,
    pub branch: String,
}

pub fn now_local() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M:%S").to_string()
}

fn nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    // Unique per process run so that two identical calls never share a signature.
    format!("{}{}", std::process::id() % 1000, N.fetch_add(1, Ordering::Relaxed))
}

impl Client {
    /// The raw body of a signed request for `data` (serialised compactly).
    pub fn body(&self, data: &Value) -> String {
        // Decision 2: a null `data` is signed as the empty string.
        let data_text = if data.is_null() { String::new() } else { serde_json::to_string(data).expect("json") };
        self.body_raw(&data_text, &now_local(), &nonce(), None)
    }

    pub fn body_raw(&self, data_text: &str, timestamp: &str, nonce: &str, secret: Option<&str>) -> String {
        let signing = onecard_core::sign::signing_string(&self.from, timestamp, nonce, data_text);
        let sign = onecard_core::sign::sign(secret.unwrap_or(&self.secret), &signing);
        let env = json!({"from": self.from, "timestamp": timestamp, "nonce": nonce, "sign": sign, "branchno": self.branch});
        let head = serde_json::to_string(&env).expect("json");
        format!("{},\"data\":{}}}", &head[..head.len() - 1], if data_text.is_empty() { "null" } else { data_text })
    }

    pub fn post_raw(&self, route: &str, body: &str) -> Value {
        let path = onecard_core::registry::http_path(route);
        let (status, text) = http(self.port, "POST", &path, body).expect("http");
        assert_eq!(status, 200, "HTTP status for {route}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{route} answered non-JSON ({e}): {text}"))
    }

    /// Calls a route; answers the response envelope.
    pub fn call(&self, route: &str, data: Value) -> Value {
        self.post_raw(route, &self.body(&data))
    }

    /// Calls a route and asserts success; answers `data`.
    pub fn ok(&self, route: &str, data: Value) -> Value {
        let env = self.call(route, data);
        assert_eq!(env["status"], json!(true), "{route} failed: {env}");
        env["data"].clone()
    }
}

/// The envelope's code.
pub fn code(env: &Value) -> i64 {
    env["code"].as_i64().unwrap_or(-1)
}
