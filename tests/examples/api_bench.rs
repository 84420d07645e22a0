//! Bench: `onecard serve` against a floor, side by side in one run, with the
//! ratios (issue 11).
//!
//! The floor is a store-free hyper server (this same executable re-run as
//! `api_bench floor PORT`, so it is a separate process like the real server)
//! that parses the envelope, checks the HMAC and answers a fixed body: what
//! no route can beat. The load generator is closed loop: N connections, each
//! sending its next request when the previous answer arrived, every body
//! uniquely signed (so replay markers cannot answer from memory). The mixed
//! profile is paced instead (a fixed rate), latency counted from when each
//! request was due, so a stall is not hidden by the generator waiting.
//!
//! `cargo build --release --bin onecard && cargo run --release -p onecard-tests --example api_bench -- [--secs 3] [--conns 16] [--cars 12000] [--rate 1000] [--only 6.3,calc]`
//!
//! To profile one route: `--only 6.9 --secs 20`, and attach `perf record -p`
//! to the server pid printed at the start once the entries are done.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use onecard_core::envelope::RequestEnvelope;
use onecard_core::sign;
use onecard_tests::{Server, DEMO_BRANCH, DEMO_FROM, DEMO_SECRET};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FLOOR_OK: &[u8] = br#"{"status":true,"code":200,"message":"success","time":"2026-01-01 00:00:00","data":{"total":"500","remain":"500"}}"#;
const FLOOR_REFUSED: &[u8] = br#"{"status":false,"code":100003,"message":"signature does not match","time":"2026-01-01 00:00:00","data":null}"#;

struct Args {
    secs: f64,
    conns: usize,
    cars: usize,
    rate: f64,
    /// Phases to run (empty: all). The phases a wanted one needs run too
    /// (the entries always; calc for 6.26, commit and mixed), so that one
    /// route can be driven alone under a profiler.
    only: Vec<String>,
}

impl Args {
    fn wants(&self, phase: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|p| p == phase)
    }
}

fn args() -> Args {
    let mut a = Args { secs: 3.0, conns: 16, cars: 12_000, rate: 1000.0, only: Vec::new() };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for w in argv.chunks(2) {
        let v = w.get(1).map(String::as_str).unwrap_or("");
        let bad = || -> ! {
            eprintln!("usage: api_bench [--secs S] [--conns N] [--cars N] [--rate R] [--only 6.3,6.9,calc,6.26,commit,mixed]");
            std::process::exit(2)
        };
        match w[0].as_str() {
            "--secs" => a.secs = v.parse().unwrap_or_else(|_| bad()),
            "--conns" => a.conns = v.parse().unwrap_or_else(|_| bad()),
            "--cars" => a.cars = v.parse().unwrap_or_else(|_| bad()),
            "--rate" => a.rate = v.parse().unwrap_or_else(|_| bad()),
            "--only" => a.only = v.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect(),
            _ => bad(),
        }
    }
    a.cars = a.cars.max(300);
    a
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("floor") {
        let port: u16 = argv.get(2).and_then(|p| p.parse().ok()).expect("api_bench floor PORT");
        return floor_main(port);
    }
    let a = args();
    bench(&a);
}

// ---------------------------------------------------------------- the floor

fn floor_main(port: u16) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind floor");
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(floor_answer);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
            });
        }
    });
}

async fn floor_answer(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let ok = RequestEnvelope::parse(&body).is_ok_and(|env| {
        let (Some(from), Some(ts), Some(given)) = (env.from.as_deref(), env.timestamp.as_deref(), env.sign.as_deref()) else {
            return false;
        };
        from == DEMO_FROM && sign::verify(DEMO_SECRET, &sign::signing_string(from, ts, env.nonce.as_deref().unwrap_or(""), &env.data_text), given)
    });
    let body = if ok { FLOOR_OK } else { FLOOR_REFUSED };
    Ok(Response::builder()
        .header("content-type", "application/json; charset=utf-8")
        .body(Full::new(Bytes::from_static(body)))
        .expect("static response"))
}

struct FloorProc(std::process::Child);

impl Drop for FloorProc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_floor() -> (FloorProc, u16) {
    let port = onecard_tests::free_port();
    let exe = std::env::current_exe().expect("own path");
    let child = std::process::Command::new(exe).arg("floor").arg(port.to_string()).spawn().expect("spawn the floor");
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(10), "the floor did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    (FloorProc(child), port)
}

// ---------------------------------------------------------------- signing

static NONCE: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static STAMP: RefCell<(u64, String)> = const { RefCell::new((0, String::new())) };
}

/// The caller's local time (Asia/Shanghai), formatted once per second.
fn timestamp() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    STAMP.with(|s| {
        let mut s = s.borrow_mut();
        if s.0 != secs {
            *s = (secs, onecard_tests::now_local());
        }
        s.1.clone()
    })
}

/// A uniquely signed envelope around `data_text`.
fn signed(data_text: &str) -> String {
    let ts = timestamp();
    let nonce = NONCE.fetch_add(1, Ordering::Relaxed).to_string();
    let sig = sign::sign(DEMO_SECRET, &sign::signing_string(DEMO_FROM, &ts, &nonce, data_text));
    format!(
        r#"{{"from":"{DEMO_FROM}","timestamp":"{ts}","nonce":"{nonce}","sign":"{sig}","branchno":"{DEMO_BRANCH}","data":{data_text}}}"#
    )
}

// ---------------------------------------------------------------- the load generator

/// Job number → (route, data text), or None when the phase has no more work.
type Make = dyn Fn(u64, Duration) -> Option<(&'static str, String)> + Send + Sync;
/// Job number, route and answer body → success.
type Check = dyn Fn(u64, &'static str, &[u8]) -> bool + Send + Sync;

struct Phase {
    name: String,
    make: Box<Make>,
    check: Box<Check>,
    /// Paced at this many requests per second (else closed loop).
    rate: Option<f64>,
}

#[derive(Default)]
struct Outcome {
    lat_us: Vec<u32>,
    ok: u64,
    failed: u64,
    first_failure: Option<String>,
    wall: f64,
}

impl Outcome {
    fn rps(&self) -> f64 {
        (self.ok + self.failed) as f64 / self.wall.max(1e-9)
    }
    fn pct_ms(&self, p: f64) -> f64 {
        if self.lat_us.is_empty() {
            return 0.0;
        }
        let i = ((self.lat_us.len() as f64 - 1.0) * p).round() as usize;
        self.lat_us[i.min(self.lat_us.len() - 1)] as f64 / 1000.0
    }
}

fn reads_ok(body: &[u8]) -> bool {
    body.starts_with(br#"{"status":true"#)
}

async fn connect(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(conn);
    sender
}

async fn run_phase(addr: SocketAddr, conns: usize, phase: Arc<Phase>) -> Outcome {
    let next = Arc::new(AtomicU64::new(0));
    let out = Arc::new(Mutex::new(Outcome::default()));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (next, out, phase) = (next.clone(), out.clone(), phase.clone());
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(addr).await;
            let mut mine = Outcome::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let due = phase.rate.map(|r| t0 + Duration::from_secs_f64(i as f64 / r));
                if let Some(due) = due {
                    tokio::time::sleep_until(due.into()).await;
                }
                let Some((route, data)) = (phase.make)(i, t0.elapsed()) else { break };
                let body = signed(&data);
                let req = Request::post(format!("/api.aspx/{route}"))
                    .header("host", "127.0.0.1")
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body)))
                    .expect("request");
                let sent = due.unwrap_or_else(Instant::now);
                let answer = match sender.send_request(req).await {
                    Ok(res) => res.into_body().collect().await.map(|b| b.to_bytes()).ok(),
                    Err(_) => None,
                };
                mine.lat_us.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                match answer {
                    Some(b) if (phase.check)(i, route, &b) => mine.ok += 1,
                    other => {
                        mine.failed += 1;
                        if mine.first_failure.is_none() {
                            let text: String = other.map(|b| String::from_utf8_lossy(&b).chars().take(300).collect()).unwrap_or_else(|| "connection failed".into());
                            mine.first_failure = Some(format!("{route}: {text}"));
                        }
                        if sender.is_closed() {
                            sender = connect(addr).await;
                        }
                    }
                }
            }
            let mut o = out.lock().unwrap();
            o.lat_us.extend(mine.lat_us);
            o.ok += mine.ok;
            o.failed += mine.failed;
            if o.first_failure.is_none() {
                o.first_failure = mine.first_failure;
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
    let mut o = std::mem::take(&mut *out.lock().unwrap());
    o.wall = t0.elapsed().as_secs_f64();
    o.lat_us.sort_unstable();
    o
}

// ---------------------------------------------------------------- the run

#[derive(Clone)]
struct Order {
    plate: String,
    order_no: String,
    parkcost: Value,
    amount: Value,
}

struct Row {
    name: String,
    out: Outcome,
}

fn setup(srv: &Server, tag: &str) -> i64 {
    let c = srv.client();
    let ct = c.call("park.cartype.add", json!({"carTypeName": format!("bench-{tag}")}));
    assert_eq!(ct["status"], true, "car type: {ct}");
    let car_type = ct["data"]["carTypeId"].as_i64().or_else(|| ct["data"]["carTypeId"].as_str().and_then(|s| s.parse().ok())).expect("carTypeId");
    let t = c.call(
        "park.temporarytariff.add",
        json!({
            "areaNo": "FFFFFFFF", "carTypeId": car_type, "chargeMode": 1, "midnight": "1970-01-01 00:00:00",
            "maxCharge": "40", "timeNumber": 1,
            "chargePeriod": [{"periodName": "all", "stTime": "1970-01-01 00:00:00", "endTime": "1970-01-01 00:00:00",
                "freeMinutes": 15, "fstSectTime": 60, "fstSectCharge": "5", "sectTime": 30, "sectCharge": "2",
                "maxCharge": "0", "fixCharge": "0"}]
        }),
    );
    assert_eq!(t["status"], true, "tariff: {t}");
    car_type
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_else(|_| "?".into())
}

fn bench(a: &Args) {
    println!("api_bench: {} connections, {:.1} s per phase, {} cars, mixed at {} req/s; load average {}", a.conns, a.secs, a.cars, a.rate, load());
    let (_floor, floor_port) = start_floor();
    let data_dir = onecard_tests::temp_dir("api-bench");
    let srv = Server::start_with(&data_dir, &["--no-demo-site"]);
    println!("server pid {}", srv.child.id());
    let tag: String = {
        let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let l = |k: u128| (b'A' + (n / k % 26) as u8) as char;
        String::from_iter([l(1_000), l(26_000)])
    };
    let car_type = setup(&srv, &tag);
    let floor: SocketAddr = ([127, 0, 0, 1], floor_port).into();
    let api: SocketAddr = ([127, 0, 0, 1], srv.port).into();

    // Plates: A are calculated then paid in the commit phase, B calculated
    // then paid in the mixed profile, C calculated in the mixed profile.
    let n = a.cars;
    let b_len = ((a.rate * a.secs * 0.1) as usize + 50).min(n / 3);
    let c_len = (n / 10).max(100).min(n / 3);
    let a_len = n - b_len - c_len;
    let plates: Arc<Vec<String>> = Arc::new((0..n).map(|i| format!("苏{tag}{i:05}")).collect());
    let entry = (chrono::Utc::now() + chrono::Duration::hours(8) - chrono::Duration::hours(2)).format("%Y-%m-%d %H:%M:%S").to_string();
    let secs = Duration::from_secs_f64(a.secs);
    let orders: Arc<Mutex<Vec<Option<Order>>>> = Arc::new(Mutex::new(vec![None; n]));

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let mut rows: Vec<Row> = Vec::new();
    let run = |addr: SocketAddr, phase: Phase, conns: usize| -> Outcome {
        let name = phase.name.clone();
        let o = rt.block_on(run_phase(addr, conns, Arc::new(phase)));
        println!(
            "  {name:<26} {:>7} req {:>5} failed {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
            o.ok + o.failed,
            o.failed,
            o.rps(),
            o.pct_ms(0.5),
            o.pct_ms(0.99)
        );
        if let Some(f) = &o.first_failure {
            println!("    first failure: {f}");
        }
        o
    };
    let timed = move |f: Box<dyn Fn(u64) -> (&'static str, String) + Send + Sync>| -> Box<Make> {
        Box::new(move |i, el| (el < secs).then(|| f(i)))
    };
    let lot = || r#"{"includeDetails":"1"}"#.to_string();
    let any_ok: fn(u64, &'static str, &[u8]) -> bool = |_, _, b| reads_ok(b);

    let floor_first = run(floor, Phase { name: "floor (HMAC, fixed body)".into(), make: timed(Box::new(move |_| ("park.lot.status.total", lot()))), check: Box::new(any_ok), rate: None }, a.conns);

    // Cars enter (a write per request, like the camera uplink).
    let p = plates.clone();
    let tg = tag.clone();
    let ent = entry.clone();
    let entries = run(
        api,
        Phase {
            name: "entry (cat.upload.indata)".into(),
            make: Box::new(move |i, _| {
                let i = i as usize;
                (i < p.len()).then(|| {
                    ("cat.upload.indata", format!(r#"{{"areaId":"1","cardInId":"{tg}{i:06}","licensePlate":"{}","inDate":"{ent}"}}"#, p[i]))
                })
            }),
            check: Box::new(any_ok),
            rate: None,
        },
        a.conns,
    );
    rows.push(Row { name: "entry".into(), out: entries });

    if a.wants("6.3") {
        let o = run(api, Phase { name: "6.3 park.lot.status.total".into(), make: timed(Box::new(move |_| ("park.lot.status.total", lot()))), check: Box::new(any_ok), rate: None }, a.conns);
        rows.push(Row { name: "6.3 lot.status.total".into(), out: o });
    }

    let p = plates.clone();
    if a.wants("6.9") {
        let o = run(
            api,
            Phase {
                name: "6.9 park.in.info".into(),
                make: timed(Box::new(move |i| ("park.in.info", format!(r#"{{"credentialtype":"1","credential":"{}"}}"#, p[i as usize % p.len()])))),
                check: Box::new(any_ok),
                rate: None,
            },
            a.conns,
        );
        rows.push(Row { name: "6.9 in.info".into(), out: o });
    }
    let needs_orders = ["calc", "6.26", "commit", "mixed"].iter().any(|p| a.wants(p));
    let mut mixed = None;
    if needs_orders {
        // calc: every plate of A and B at least once (their orders are paid later).
        let p = plates.clone();
        let ab = a_len + b_len;
        let keep = orders.clone();
        let o = run(
            api,
            Phase {
                name: "6.1 calc".into(),
                make: Box::new(move |i, el| {
                    let i = i as usize;
                    (i < ab || el < secs).then(|| ("calc", format!(r#"{{"credentialtype":"1","credential":"{}","calcendtime":"1970-01-01 00:00:00","carType":"{car_type}"}}"#, p[i % ab])))
                }),
                check: Box::new(move |i, _, body| {
                    let Ok(v) = serde_json::from_slice::<Value>(body) else { return false };
                    let d = &v["data"];
                    let Some(no) = d["orderNo"].as_str().filter(|_| v["status"] == true) else { return false };
                    let plate = d["carno"].as_str().unwrap_or_default().to_string();
                    keep.lock().unwrap()[i as usize % ab] =
                        Some(Order { plate, order_no: no.to_string(), parkcost: d["parkcost"].clone(), amount: d["amount"].clone() });
                    true
                }),
                rate: None,
            },
            a.conns,
        );
        rows.push(Row { name: "6.1 calc".into(), out: o });

        let all: Vec<Order> = orders.lock().unwrap().iter().flatten().cloned().collect();
        let (a_orders, b_orders): (Vec<Order>, Vec<Order>) = {
            let o = orders.lock().unwrap();
            (o[..a_len].iter().flatten().cloned().collect(), o[a_len..a_len + b_len].iter().flatten().cloned().collect())
        };
        assert!(!all.is_empty(), "calc produced no orders");
        let all = Arc::new(all);
        let order_get = move |all: &Arc<Vec<Order>>, i: u64| format!(r#"{{"orderNo":"{}"}}"#, all[i as usize % all.len()].order_no);
        let al = all.clone();
        if a.wants("6.26") {
            let o = run(api, Phase { name: "6.26 park.order.get".into(), make: timed(Box::new(move |i| ("park.order.get", order_get(&al, i)))), check: Box::new(any_ok), rate: None }, a.conns);
            rows.push(Row { name: "6.26 order.get".into(), out: o });
        }

        let commit = |o: &Order| {
            json!({"credentialtype": "1", "credential": o.plate, "parkcost": o.parkcost, "amount": o.amount, "payType": "7",
                   "orderNo": o.order_no, "thirdPayId": format!("bench-{}", o.order_no)})
            .to_string()
        };
        let ao = Arc::new(a_orders);
        if a.wants("commit") {
            let o = run(
                api,
                Phase {
                    name: "6.2 commit".into(),
                    make: Box::new(move |i, _| ao.get(i as usize).map(|o| ("commit", commit(o)))),
                    check: Box::new(any_ok),
                    rate: None,
                },
                a.conns,
            );
            rows.push(Row { name: "6.2 commit".into(), out: o });
        }

        // Mixed: 70 % reads (6.3, 6.9, 6.26), 20 % calc, 10 % commit.
        let (p, al, bo) = (plates.clone(), all.clone(), Arc::new(b_orders));
        let c_start = a_len + b_len;
        if a.wants("mixed") {
            let o = run(
                api,
                Phase {
                    name: format!("mixed 70/20/10 @{}/s", a.rate),
                    make: Box::new(move |i, el| {
                        if el >= secs {
                            return None;
                        }
                        let slot = i % 10;
                        let round = (i / 10) as usize;
                        Some(match slot {
                            0..=6 => match (i as usize) % 3 {
                                0 => ("park.lot.status.total", lot()),
                                1 => ("park.in.info", format!(r#"{{"credentialtype":"1","credential":"{}"}}"#, p[(i as usize * 7) % p.len()])),
                                _ => ("park.order.get", order_get(&al, i)),
                            },
                            7 | 8 => ("calc", format!(r#"{{"credentialtype":"1","credential":"{}","calcendtime":"1970-01-01 00:00:00","carType":"{car_type}"}}"#, p[c_start + (2 * round + slot as usize - 7) % c_len])),
                            _ => match bo.get(round) {
                                Some(o) => ("commit", commit(o)),
                                None => ("park.lot.status.total", lot()),
                            },
                        })
                    }),
                    check: Box::new(any_ok),
                    rate: Some(a.rate),
                },
                a.conns,
            );
            mixed = Some(o);
        }
    }

    let floor_last = run(floor, Phase { name: "floor again".into(), make: timed(Box::new(move |_| ("park.lot.status.total", lot()))), check: Box::new(any_ok), rate: None }, a.conns);
    let floor_rps = (floor_first.rps() + floor_last.rps()) / 2.0;

    println!();
    println!("floor: {:.0} req/s (first {:.0}, last {:.0}), p99 {:.2} ms", floor_rps, floor_first.rps(), floor_last.rps(), floor_first.pct_ms(0.99).max(floor_last.pct_ms(0.99)));
    println!("| row | req/s | ratio to floor | p50 ms | p99 ms | failed |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!("| {} | {:.0} | {:.3}× | {:.2} | {:.2} | {} |", r.name, r.out.rps(), r.out.rps() / floor_rps, r.out.pct_ms(0.5), r.out.pct_ms(0.99), r.out.failed);
    }
    if let Some(mixed) = &mixed {
        println!("| mixed 70/20/10 at {} req/s | {:.0} | (paced) | {:.2} | {:.2} | {} |", a.rate, mixed.rps(), mixed.pct_ms(0.5), mixed.pct_ms(0.99), mixed.failed);
    }
    println!("load average at the end: {}", load());
    drop(srv);
    let _ = std::fs::remove_dir_all(&data_dir);
}
