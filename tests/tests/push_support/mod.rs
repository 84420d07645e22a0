//! A partner on loopback for the push tests: a tiny HTTP/1.1 server that keeps
//! every request it gets and answers as scripted (fail the first N, refuse
//! everything, or accept).

#![allow(dead_code)]

use onecard_core::envelope::RequestEnvelope;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Got {
    pub path: String,
    pub body: String,
    /// Whether we answered `status: true` (a delivery).
    pub accepted: bool,
}

impl Got {
    pub fn envelope(&self) -> RequestEnvelope {
        RequestEnvelope::parse(self.body.as_bytes()).expect("a chapter 5 envelope")
    }
    /// The envelope's signature checks out with `secret` and `from`.
    pub fn signed_by(&self, from: &str, secret: &str) -> bool {
        let e = self.envelope();
        e.from.as_deref() == Some(from)
            && onecard_core::sign::verify(
                secret,
                &onecard_core::sign::signing_string(from, e.timestamp.as_deref().unwrap_or(""), e.nonce.as_deref().unwrap_or(""), &e.data_text),
                e.sign.as_deref().unwrap_or(""),
            )
    }
    pub fn record(&self) -> Value {
        let d = self.envelope().data().unwrap_or_default();
        assert!(d.is_array() && d.as_array().unwrap().len() == 1, "data is an array of one record: {d}");
        d[0].clone()
    }
    /// The event id (decision 17: a top-level `id`, stable on every retry).
    pub fn id(&self) -> String {
        let v: Value = serde_json::from_str(&self.body).unwrap_or_default();
        v["id"].as_str().unwrap_or_default().to_string()
    }
}

#[derive(Default)]
struct State {
    got: Vec<Got>,
    /// Requests to refuse before accepting.
    fail_first: usize,
    /// Refuse everything while set.
    down: bool,
    /// Bodies answered instead of the chapter 5 envelopes (accept, refuse).
    answers: Option<(String, String)>,
}

#[derive(Clone)]
pub struct Receiver {
    pub port: u16,
    state: Arc<Mutex<State>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let st = st.clone();
                std::thread::spawn(move || serve(conn, st));
            }
        });
        Receiver { port, state }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    pub fn fail_first(&self, n: usize) {
        self.state.lock().unwrap().fail_first = n;
    }
    /// Answers these bodies instead of envelopes (a 6.2.3 verifier).
    pub fn set_answers(&self, accept: &str, refuse: &str) {
        self.state.lock().unwrap().answers = Some((accept.into(), refuse.into()));
    }
    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }
    pub fn got(&self) -> Vec<Got> {
        self.state.lock().unwrap().got.clone()
    }
    pub fn accepted(&self) -> Vec<Got> {
        self.got().into_iter().filter(|g| g.accepted).collect()
    }
    /// Waits until `f` holds for what was received.
    pub fn wait_for(&self, within: Duration, what: &str, f: impl Fn(&[Got]) -> bool) -> Vec<Got> {
        let t0 = Instant::now();
        loop {
            let got = self.got();
            if f(&got) {
                return got;
            }
            if t0.elapsed() > within {
                panic!("receiver: {what} did not happen within {within:?}; got {} request(s): {:#?}", got.len(), got.iter().map(|g| (&g.path, g.accepted)).collect::<Vec<_>>());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn serve(mut conn: TcpStream, st: Arc<Mutex<State>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut r = BufReader::new(conn.try_clone().expect("clone"));
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let (accepted, custom) = {
            let mut s = st.lock().unwrap();
            let ok = if s.down {
                false
            } else if s.fail_first > 0 {
                s.fail_first -= 1;
                false
            } else {
                true
            };
            s.got.push(Got { path, body: String::from_utf8_lossy(&body).into_owned(), accepted: ok });
            (ok, s.answers.clone())
        };
        let answer = match (accepted, custom) {
            (true, Some((a, _))) => a,
            (false, Some((_, r))) => r,
            (true, None) => r#"{"status":true,"code":200,"message":"success","data":null}"#.to_string(),
            (false, None) => r#"{"status":false,"code":500,"message":"busy","data":null}"#.to_string(),
        };
        let resp = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}", answer.len());
        if conn.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

/// Runs `onecard` with arguments; answers stdout, panics with stderr on failure.
pub fn onecard(args: &[&str]) -> String {
    let out = std::process::Command::new(onecard_tests::binary("onecard")).args(args).output().expect("run onecard");
    assert!(out.status.success(), "onecard {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub const SECRET: &str = "partner-secret";

/// Subscribes a receiver to `events` of the demo branch.
pub fn add_partner(data_dir: &std::path::Path, name: &str, rx: &Receiver, events: &str) {
    onecard(&[
        "partner", "add", "--data-dir", data_dir.to_str().unwrap(), "--branch", "1001", "--name", name, "--url", &rx.url(), "--secret", SECRET,
        "--events", events,
    ]);
}
