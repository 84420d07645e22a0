//! The agent's side of the cloud link: one WebSocket, authenticated with a
//! signed `hello`, kept alive with heartbeats, replaced on purpose before API
//! Gateway's 2-hour cut, and re-dialled with capped, jittered backoff.

use futures::{SinkExt, StreamExt};
use onecard_core::link::sync::{Assembler, Fed};
use onecard_core::link::{self, Beat, Bye, Hello, Msg, Reply, Resync, SiteConfig, Uplink};
use onecard_core::sitelink::{Ack, Command};
use rand::Rng;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

#[derive(Clone, Debug)]
pub struct LinkConfig {
    pub url: String,
    pub branch: String,
    pub agent_id: String,
    pub secret: crate::secret::Secret,
    pub heartbeat: Duration,
    pub planned_reconnect: Duration,
    pub silence_limit: Duration,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
}

/// What the link tells the rest of the agent.
#[derive(Debug)]
pub enum Inbound {
    Up,
    Down,
    Command(Command),
    /// The whole configuration, once a sync (chunked or delta) is complete.
    SiteConfig(SiteConfig),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkError {
    #[error("cloud link is down")]
    Down,
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    #[error("connection lost before the reply")]
    Lost,
    #[error("frame of {0} bytes exceeds the WebSocket frame limit")]
    TooLarge(usize),
}

struct Shared {
    pending: Mutex<HashMap<String, oneshot::Sender<Reply>>>,
    conn: Mutex<Option<mpsc::UnboundedSender<Message>>>,
    up: watch::Sender<bool>,
    seq: AtomicU64,
    connects: AtomicU64,
    /// The site configuration held, and the parts of a sync in progress.
    sync: Mutex<Assembler>,
}

#[derive(Clone)]
pub struct Link {
    cfg: Arc<LinkConfig>,
    shared: Arc<Shared>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Exponential backoff with jitter: the n-th wait is drawn from the upper half
/// of `base * 2^n` (capped), so a fleet of agents restarting after a cloud
/// outage does not reconnect in lock-step.
#[derive(Clone, Debug)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    n: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff { base, cap, n: 0 }
    }
    pub fn next_delay(&mut self) -> Duration {
        let exp = self.base.saturating_mul(1u32 << self.n.min(16)).min(self.cap);
        self.n = self.n.saturating_add(1);
        let half = exp / 2;
        half + Duration::from_millis(rand::thread_rng().gen_range(0..=half.as_millis().max(1) as u64))
    }
    pub fn reset(&mut self) {
        self.n = 0;
    }
}

enum Ended {
    Planned,
    Lost(String),
}

impl Link {
    /// Starts the connection task. The receiver gets commands, site configs and
    /// up/down changes in arrival order.
    pub fn start(cfg: LinkConfig) -> (Link, mpsc::UnboundedReceiver<Inbound>) {
        Link::start_holding(None, cfg)
    }

    /// As [`Link::start`], for an agent that kept a site configuration: its
    /// version goes in the hello, so an unchanged one is not sent again, and
    /// the cloud's deltas apply to it.
    pub fn start_holding(held: Option<&SiteConfig>, cfg: LinkConfig) -> (Link, mpsc::UnboundedReceiver<Inbound>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (up, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            pending: Mutex::new(HashMap::new()),
            conn: Mutex::new(None),
            up,
            seq: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            sync: Mutex::new(Assembler::new(held.filter(|c| !c.version.is_empty()))),
        });
        let link = Link { cfg: Arc::new(cfg), shared };
        let l = link.clone();
        tokio::spawn(async move { l.run(tx).await });
        (link, rx)
    }

    pub fn is_up(&self) -> bool {
        *self.shared.up.borrow()
    }

    pub fn watch_up(&self) -> watch::Receiver<bool> {
        self.shared.up.subscribe()
    }

    /// How many times a `welcome` was received (tests watch reconnects with it).
    pub fn connects(&self) -> u64 {
        self.shared.connects.load(Ordering::Relaxed)
    }

    pub fn next_id(&self, kind: &str) -> String {
        format!("{}-{kind}-{}", self.cfg.agent_id, self.shared.seq.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// The version of the site configuration held (empty: none).
    pub fn config_version(&self) -> String {
        lock(&self.shared.sync).version().to_string()
    }

    fn send_msg(&self, m: &Msg) -> Result<(), LinkError> {
        let text = link::encode_frame(m).map_err(|e| {
            tracing::error!(error = %e, "frame not sent");
            LinkError::TooLarge(e.bytes)
        })?;
        match lock(&self.shared.conn).as_ref() {
            Some(tx) if tx.send(Message::text(text)).is_ok() => Ok(()),
            _ => Err(LinkError::Down),
        }
    }

    pub fn send_ack(&self, ack: Ack) -> bool {
        self.send_msg(&Msg::Ack(ack)).is_ok()
    }

    pub async fn uplink(&self, route: &str, data: Value, timeout: Duration) -> Result<Reply, LinkError> {
        let id = self.next_id("u");
        self.uplink_with_id(&id, route, data, timeout).await
    }

    /// Calls a site route; the id is the caller's so resends keep it.
    pub async fn uplink_with_id(&self, id: &str, route: &str, data: Value, timeout: Duration) -> Result<Reply, LinkError> {
        let (tx, rx) = oneshot::channel();
        lock(&self.shared.pending).insert(id.to_string(), tx);
        let msg = Msg::Uplink(Uplink { id: id.to_string(), route: route.to_string(), data });
        match self.send_msg(&msg) {
            Ok(()) => {}
            Err(LinkError::TooLarge(bytes)) => {
                lock(&self.shared.pending).remove(id);
                // No resend can ever fit, so waiting would block every record
                // queued behind it: answer as the cloud answers bad input, with
                // the whole record in the log.
                let Msg::Uplink(up) = msg else { unreachable!() };
                tracing::error!(id, route, bytes, data = %up.data, "uplink over the frame limit refused");
                return Ok(Reply {
                    id: id.to_string(),
                    status: false,
                    code: onecard_core::Code::BAD_INPUT.0,
                    message: format!("record of {bytes} bytes exceeds the {}-byte site link frame limit", link::MAX_FRAME_BYTES),
                    time: crate::now_text(),
                    data: Value::Null,
                });
            }
            Err(e) => {
                lock(&self.shared.pending).remove(id);
                return Err(e);
            }
        }
        let res = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(_)) => Err(LinkError::Lost),
            Err(_) => Err(LinkError::Timeout(timeout)),
        };
        lock(&self.shared.pending).remove(id);
        res
    }

    async fn run(self, inbound: mpsc::UnboundedSender<Inbound>) {
        let mut backoff = Backoff::new(self.cfg.backoff_base, self.cfg.backoff_cap);
        loop {
            let welcomed_before = self.connects();
            let res = self.session(&inbound).await;
            let welcomed = self.connects() > welcomed_before;
            self.set_down(&inbound, welcomed);
            if welcomed {
                backoff.reset();
            }
            match res {
                Ok(Ended::Planned) => {
                    tracing::info!("planned reconnect");
                    continue;
                }
                Ok(Ended::Lost(why)) => tracing::warn!(why, "cloud link lost"),
                Err(e) => tracing::warn!(error = %e, "cloud link failed"),
            }
            if inbound.is_closed() {
                return;
            }
            let d = backoff.next_delay();
            tracing::info!(delay_ms = d.as_millis() as u64, "reconnecting after backoff");
            tokio::time::sleep(d).await;
        }
    }

    fn set_down(&self, inbound: &mpsc::UnboundedSender<Inbound>, was_up: bool) {
        *lock(&self.shared.conn) = None;
        // Dropping the senders wakes every waiting uplink with `Lost`.
        lock(&self.shared.pending).clear();
        self.shared.up.send_replace(false);
        if was_up {
            let _ = inbound.send(Inbound::Down);
        }
    }

    async fn session(&self, inbound: &mpsc::UnboundedSender<Inbound>) -> anyhow::Result<Ended> {
        let cfg = &self.cfg;
        let (ws, _) = tokio::time::timeout(Duration::from_secs(10), tokio_tungstenite::connect_async(cfg.url.as_str()))
            .await
            .map_err(|_| anyhow::anyhow!("connect timed out"))??;
        let (mut sink, mut stream) = ws.split();

        let nonce = rand::thread_rng().gen_range(100_000u64..1_000_000_000).to_string();
        let mut hello = Hello::new_signed(&cfg.branch, &cfg.agent_id, &crate::now_text(), &nonce, cfg.secret.expose());
        hello.software = format!("onecard-agent {}", env!("CARGO_PKG_VERSION"));
        {
            let mut sync = lock(&self.shared.sync);
            sync.reset_pending();
            hello.config_version = sync.version().to_string();
        }
        sink.send(Message::text(link::encode_frame(&Msg::Hello(hello))?)).await?;

        let mut heartbeat = cfg.heartbeat;
        let welcome_deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let frame = tokio::time::timeout_at(welcome_deadline, stream.next())
                .await
                .map_err(|_| anyhow::anyhow!("no welcome within 10 s"))?;
            let text = match frame {
                None => anyhow::bail!("closed before welcome"),
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(Message::Close(_))) => anyhow::bail!("closed before welcome"),
                Some(Ok(_)) => continue,
            };
            match link::decode(&text) {
                Ok(Msg::Welcome(w)) => {
                    if let Some(s) = w.heartbeat_secs.filter(|s| *s > 0) {
                        heartbeat = Duration::from_secs(s);
                    }
                    tracing::info!(session = %w.session, server_time = %w.server_time, "welcomed by the cloud");
                    break;
                }
                Ok(Msg::Refused(r)) => anyhow::bail!("cloud refused the agent: {} {}", r.code, r.message),
                Ok(other) => tracing::debug!(?other, "ignoring frame before welcome"),
                Err(e) => tracing::debug!(error = %e, "ignoring frame before welcome"),
            }
        }

        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Message>();
        *lock(&self.shared.conn) = Some(out_tx.clone());
        self.shared.connects.fetch_add(1, Ordering::Relaxed);
        self.shared.up.send_replace(true);
        let _ = inbound.send(Inbound::Up);

        let started = Instant::now();
        let planned_at = started + cfg.planned_reconnect;
        let mut last_heard = Instant::now();
        let mut ticker = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        let mut beat_seq = 0u64;
        // Before a planned close, give in-flight uplinks a moment to be answered.
        let mut draining: Option<Instant> = None;

        loop {
            tokio::select! {
                frame = stream.next() => {
                    last_heard = Instant::now();
                    let text = match frame {
                        None => return Ok(Ended::Lost("closed by the cloud".into())),
                        Some(Err(e)) => return Ok(Ended::Lost(e.to_string())),
                        Some(Ok(Message::Text(t))) => t,
                        Some(Ok(Message::Close(_))) => return Ok(Ended::Lost("close frame".into())),
                        Some(Ok(_)) => continue,
                    };
                    match link::decode(&text) {
                        Ok(Msg::Ping(b)) => {
                            let _ = out_tx.send(Message::text(link::encode_frame(&Msg::Pong(Beat { seq: b.seq, time: crate::now_text() }))?));
                        }
                        Ok(Msg::Pong(_)) => {}
                        Ok(Msg::Command(c)) => { let _ = inbound.send(Inbound::Command(c)); }
                        Ok(Msg::SiteConfig(s)) => self.site_config(s, inbound, &out_tx),
                        Ok(Msg::Reply(r)) => {
                            let waiter = lock(&self.shared.pending).remove(&r.id);
                            match waiter {
                                Some(w) => { let _ = w.send(r); }
                                None => tracing::debug!(id = %r.id, "reply for nobody (timed out earlier)"),
                            }
                        }
                        Ok(Msg::Bye(b)) => return Ok(Ended::Lost(format!("cloud said bye: {}", b.reason))),
                        Ok(Msg::Refused(r)) => return Ok(Ended::Lost(format!("refused: {} {}", r.code, r.message))),
                        Ok(other) => tracing::debug!(?other, "ignoring frame"),
                        Err(e) => tracing::warn!(error = %e, "ignoring undecodable frame"),
                    }
                }
                out = out_rx.recv() => {
                    let Some(m) = out else { return Ok(Ended::Lost("outgoing queue closed".into())) };
                    if let Err(e) = sink.send(m).await {
                        return Ok(Ended::Lost(e.to_string()));
                    }
                }
                _ = ticker.tick() => {
                    if last_heard.elapsed() > cfg.silence_limit {
                        return Ok(Ended::Lost("cloud silent".into()));
                    }
                    beat_seq += 1;
                    let ping = Msg::Ping(Beat { seq: beat_seq, time: crate::now_text() });
                    if let Err(e) = sink.send(Message::text(link::encode_frame(&ping)?)).await {
                        return Ok(Ended::Lost(e.to_string()));
                    }
                }
                _ = tokio::time::sleep_until(planned_at), if draining.is_none() => {
                    draining = Some(Instant::now() + Duration::from_secs(3));
                }
                _ = tokio::time::sleep(Duration::from_millis(50)), if draining.is_some() => {
                    let idle = lock(&self.shared.pending).is_empty();
                    if idle || draining.is_some_and(|d| Instant::now() >= d) {
                        *lock(&self.shared.conn) = None;
                        let bye = Msg::Bye(Bye { reason: "planned".into() });
                        let _ = sink.send(Message::text(link::encode_frame(&bye)?)).await;
                        let _ = sink.close().await;
                        return Ok(Ended::Planned);
                    }
                }
            }
        }
    }
}

impl Link {
    /// One `siteconfig` frame: a complete sync goes to the agent whole; one
    /// that does not add up asks the cloud for everything.
    fn site_config(&self, frame: SiteConfig, inbound: &mpsc::UnboundedSender<Inbound>, out: &mpsc::UnboundedSender<Message>) {
        let fed = lock(&self.shared.sync).feed(frame);
        match fed {
            Fed::Waiting => {}
            Fed::Applied(cfg) => {
                let _ = inbound.send(Inbound::SiteConfig(cfg));
            }
            Fed::Resync(why) => {
                let version = self.config_version();
                tracing::warn!(why, held = %version, "site configuration delta not applied; asking for all of it");
                if let Ok(text) = link::encode_frame(&Msg::Resync(Resync { version })) {
                    let _ = out.send(Message::text(text));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_uplink_over_the_frame_limit_is_refused_locally_not_left_to_block_the_outbox() {
        let (link, _rx) = Link::start(LinkConfig {
            url: "ws://127.0.0.1:9/ws".into(),
            branch: "1001".into(),
            agent_id: "A1".into(),
            secret: "s".into(),
            heartbeat: Duration::from_secs(30),
            planned_reconnect: Duration::from_secs(3600),
            silence_limit: Duration::from_secs(90),
            backoff_base: Duration::from_secs(5),
            backoff_cap: Duration::from_secs(5),
        });
        let huge = serde_json::json!({"licensePlate": "粤B12345", "note": "x".repeat(link::MAX_FRAME_BYTES)});
        let r = link.uplink_with_id("A1-u-1", link::route::UPLOAD_INDATA, huge, Duration::from_secs(1)).await.unwrap();
        assert_eq!((r.id.as_str(), r.code, r.status), ("A1-u-1", 100001, false));
        assert!(r.message.contains("frame limit"), "{}", r.message);
        // A frame that fits waits for the link as before.
        let small = serde_json::json!({"licensePlate": "粤B12345"});
        assert_eq!(link.uplink_with_id("A1-u-2", link::route::UPLOAD_INDATA, small, Duration::from_secs(1)).await, Err(LinkError::Down));
        assert!(!link.send_ack(Ack { id: "c".into(), ok: true, code: 200, message: "m".repeat(link::MAX_FRAME_BYTES) }));
    }

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let d: Vec<Duration> = (0..10).map(|_| b.next_delay()).collect();
        assert!(d[0] >= Duration::from_millis(500) && d[0] <= Duration::from_secs(1) + Duration::from_millis(1));
        assert!(d[3] >= Duration::from_secs(4));
        assert!(d.iter().all(|x| *x <= Duration::from_secs(30) + Duration::from_millis(1)));
        assert!(d[9] >= Duration::from_secs(15));
        b.reset();
        assert!(b.next_delay() <= Duration::from_secs(1) + Duration::from_millis(1));
    }
}
