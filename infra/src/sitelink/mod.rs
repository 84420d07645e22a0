//! The local site-link hub: on-site agents connect to `ws://{listen}/ws`, and
//! hardware handlers reach them through the `SiteLink` port implemented here.
//!
//! One live connection per (branch, agent). A command goes to the branch's
//! agents in agent-id order; an agent that does not know the device (ack 404)
//! passes it on to the next, because a car park may split its lanes and doors
//! over several agents and the cloud does not keep a device map of its own.

mod config_push;
pub mod demo;
mod session;

use async_trait::async_trait;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use onecard_core::link::{self, ack_code, Msg};
use onecard_core::sitelink::{Ack, Command, SiteError, SiteLink};
use onecard_core::{Ctx, Registry};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Timings of the hub; tests shorten them.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// A connection that says nothing for this long is dropped.
    pub silence_limit: Duration,
    /// How often each connection's site configuration is rebuilt and, when it
    /// changed, sent again (monthly cards bought or expired, lanes edited).
    pub config_refresh: Duration,
    /// A socket that has not sent a valid `hello` by then is closed.
    pub hello_deadline: Duration,
    /// How far a hello's timestamp may be from the server clock.
    pub hello_skew_secs: i64,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            silence_limit: link::SILENCE_LIMIT,
            config_refresh: Duration::from_secs(30),
            hello_deadline: Duration::from_secs(10),
            hello_skew_secs: onecard_core::dispatch::TIMESTAMP_WINDOW_SECS,
        }
    }
}

/// A live, authenticated agent connection.
#[derive(Clone)]
struct Conn {
    session: String,
    out: mpsc::UnboundedSender<Message>,
    /// Woken when the branch's configuration changed (a card), so the
    /// session syncs it now instead of at the next refresh.
    config: Arc<tokio::sync::Notify>,
}

/// Queues a frame on a connection's writer. A frame over the 32 KiB limit is
/// logged and not sent (API Gateway would drop the connection for it, and an
/// agent must see the same limits behind the local hub).
fn send(out: &mpsc::UnboundedSender<Message>, m: &Msg) -> bool {
    match link::encode_frame(m) {
        Ok(text) => out.send(Message::Text(text.into())).is_ok(),
        Err(e) => {
            tracing::error!(error = %e, "frame not sent");
            false
        }
    }
}

#[derive(Default)]
struct Tables {
    /// branch -> agent id -> connection. BTreeMap so the agent order is stable.
    conns: HashMap<String, BTreeMap<String, Conn>>,
    /// command id -> the session it went out on and whoever waits for its ack.
    /// Keyed by session too so that a dropped connection fails its commands at
    /// once ("site offline") instead of leaving them to time out as 620.
    waiting: HashMap<String, (String, oneshot::Sender<Ack>)>,
}

pub struct Hub {
    cfg: HubConfig,
    tables: Mutex<Tables>,
    /// The handler context, set once the context (which holds this hub as its
    /// `SiteLink`) exists: the two refer to each other.
    app: OnceLock<(Ctx, Arc<Registry>)>,
    sessions: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Hub {
    pub fn new(cfg: HubConfig) -> Arc<Hub> {
        Arc::new(Hub { cfg, tables: Mutex::new(Tables::default()), app: OnceLock::new(), sessions: AtomicU64::new(0) })
    }

    /// Hands the hub the context its uplinks run in. Only the first call counts.
    pub fn attach(&self, ctx: Ctx, reg: Arc<Registry>) {
        let _ = self.app.set((ctx, reg));
    }

    fn app(&self) -> Option<&(Ctx, Arc<Registry>)> {
        self.app.get()
    }

    /// The `/ws` endpoint, to merge into the server's router.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new().route("/ws", get(upgrade)).with_state(self.clone())
    }

    /// Agents of a branch connected now, in id order.
    #[cfg(test)]
    pub fn agents(&self, branch: &str) -> Vec<String> {
        lock(&self.tables).conns.get(branch).map(|m| m.keys().cloned().collect()).unwrap_or_default()
    }

    fn next_session(&self) -> String {
        format!("s-{}-{}", std::process::id(), self.sessions.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// Registers a welcomed connection; answers the connection it replaced.
    fn register(&self, branch: &str, agent: &str, conn: Conn) -> Option<Conn> {
        lock(&self.tables).conns.entry(branch.to_string()).or_default().insert(agent.to_string(), conn)
    }

    /// Forgets a connection, unless a newer one for the same agent took its place.
    fn unregister(&self, branch: &str, agent: &str, session: &str) {
        let mut t = lock(&self.tables);
        if let Some(m) = t.conns.get_mut(branch) {
            if m.get(agent).is_some_and(|c| c.session == session) {
                m.remove(agent);
            }
            if m.is_empty() {
                t.conns.remove(branch);
            }
        }
        // Dropping the senders wakes their waiters with "gone".
        t.waiting.retain(|_, (s, _)| s != session);
    }

    /// An ack arrived on `session`: wake its waiter. Late acks (after the
    /// timeout) find nobody; an ack from a connection other than the one the
    /// command went out on is not the device's answer and is ignored.
    fn deliver_ack(&self, session: &str, ack: Ack) {
        let mut t = lock(&self.tables);
        match t.waiting.get(&ack.id) {
            Some((s, _)) if s != session => {
                tracing::warn!(id = %ack.id, from = session, sent_on = %s, "ack from another connection ignored");
            }
            Some(_) => {
                if let Some((_, w)) = t.waiting.remove(&ack.id) {
                    let _ = w.send(ack);
                }
            }
            None => tracing::debug!(id = %ack.id, "ack for no waiting command (late or unknown)"),
        }
    }

    fn forget(&self, id: &str) {
        lock(&self.tables).waiting.remove(id);
    }

    /// Sends `cmd` on one connection and waits until `deadline`.
    async fn ask(&self, conn: &Conn, cmd: &Command, deadline: tokio::time::Instant) -> Result<Ack, Asked> {
        let (tx, rx) = oneshot::channel();
        lock(&self.tables).waiting.insert(cmd.id.clone(), (conn.session.clone(), tx));
        if !send(&conn.out, &Msg::Command(cmd.clone())) {
            self.forget(&cmd.id);
            return Err(Asked::Gone);
        }
        let res = match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(ack)) => Ok(ack),
            // The waiter was dropped: the connection ended before the ack.
            Ok(Err(_)) => Err(Asked::Gone),
            Err(_) => Err(Asked::Timeout),
        };
        self.forget(&cmd.id);
        res
    }
}

enum Asked {
    Gone,
    Timeout,
}

#[async_trait]
impl SiteLink for Hub {
    async fn command(&self, branch: &str, cmd: Command, timeout: Duration) -> Result<Ack, SiteError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let conns: Vec<(String, Conn)> = lock(&self.tables)
            .conns
            .get(branch)
            .map(|m| m.iter().map(|(a, c)| (a.clone(), c.clone())).collect())
            .unwrap_or_default();
        let mut unknown: Option<Ack> = None;
        for (agent, conn) in conns {
            match self.ask(&conn, &cmd, deadline).await {
                Ok(ack) if ack.code == ack_code::UNKNOWN_DEVICE => {
                    tracing::debug!(branch, agent, device = %cmd.device, "agent does not know the device");
                    unknown = Some(ack);
                }
                Ok(ack) => {
                    tracing::info!(branch, agent, id = %cmd.id, action = %cmd.action, device = %cmd.device, code = ack.code, "command acked");
                    return Ok(ack);
                }
                Err(Asked::Gone) => tracing::info!(branch, agent, "agent left while a command was out"),
                Err(Asked::Timeout) => {
                    tracing::warn!(branch, agent, id = %cmd.id, action = %cmd.action, device = %cmd.device, "no ack in time");
                    return Err(SiteError::Timeout(timeout));
                }
            }
        }
        // Every agent said "not mine": the device is unknown at this site.
        unknown.ok_or_else(|| SiteError::Offline(branch.to_string()))
    }

    async fn config_changed(&self, _ctx: &Ctx, branch: &str) {
        if let Some(m) = lock(&self.tables).conns.get(branch) {
            for c in m.values() {
                c.config.notify_one();
            }
        }
    }
}

async fn upgrade(State(hub): State<Arc<Hub>>, ws: WebSocketUpgrade) -> Response {
    // Frames are small JSON objects; a megabyte is far beyond any legitimate one.
    ws.max_message_size(1 << 20).on_upgrade(move |socket| session::run(hub, socket))
}

#[cfg(test)]
mod tests;
