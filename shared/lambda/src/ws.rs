//! The `ws` function: the cloud's end of the agent protocol on an API Gateway
//! WebSocket API. Every frame is one invocation, so the connection's state
//! lives in the store (`onecard_adapters::apigw_link::ConnRegistry`) and
//! frames back to the agent go through the Management API.
//!
//! - `$connect`: the socket is recorded, not yet trusted, with a deadline
//!   for its hello (10 s). An agent may name itself in the query
//!   (`?branch=..&agentId=..`), so an unknown or disabled agent is turned
//!   away before it holds a connection. Sockets past their deadline are
//!   closed (`DeleteConnection`) by a sweep that runs on every `$connect`
//!   and on the EventBridge schedule of the template; a late hello is
//!   refused on arrival.
//! - `$default`: `hello` (authenticated as the local hub does, then `welcome`
//!   and the site configuration), `ping` (answered `pong`; the configuration
//!   is synced when it changed, so it is never older than one heartbeat),
//!   `resync`, `ack` (stored under its connection for the function waiting on
//!   it), `uplink` (run through the same handlers as HTTP, answered `reply`),
//!   `bye`.
//! - `$disconnect`: the connection is forgotten.
//! - a scheduled event (no `requestContext`): the sweep alone.

use crate::init::init;
use aws_lambda_events::event::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use onecard_adapters::apigw_link::{ConnRegistry, ManagementApi, PostError, Poster};
use onecard_app::sitelink;
use onecard_core::config::{self, Branch};
use onecard_core::link::{self, Beat, Bye, Msg, Refused};
use onecard_core::{time, Ctx, Registry};
use push::{ConfigSync, Known};
use std::sync::Arc;
use std::time::Duration;

pub use crate::config_push as push;

/// How far a hello's timestamp may be from the server clock.
const HELLO_SKEW_SECS: i64 = onecard_core::dispatch::TIMESTAMP_WINDOW_SECS;
/// A socket must say hello this long after `$connect`.
pub const HELLO_DEADLINE_SECS: i64 = 10;
/// Pause between the sweeps of one scheduled invocation.
const SWEEP_SPACING: Duration = Duration::from_secs(10);

/// The function's state, built once per execution environment.
pub struct Ws {
    pub ctx: Ctx,
    pub reg: Arc<Registry>,
    pub conns: ConnRegistry,
    pub poster: Arc<dyn Poster>,
}

pub async fn run_ws() -> Result<(), Error> {
    let clients = init().await?;
    let endpoint = clients.env.ws_endpoint.clone().ok_or("ONECARD_WS_ENDPOINT is not set: the ws function answers agents through it")?;
    let ws = Arc::new(Ws {
        ctx: clients.ctx(),
        reg: Arc::new(onecard_app::registry()),
        conns: ConnRegistry::new(clients.store.clone()),
        poster: Arc::new(ManagementApi::lazy(&endpoint)),
    });
    // `ONECARD_WS_SWEEP_PASSES`: sweeps per scheduled invocation, SWEEP_SPACING
    // apart, so a once-a-minute schedule still closes a silent socket within
    // about the spacing of its deadline.
    let passes: u32 = std::env::var("ONECARD_WS_SWEEP_PASSES").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(1).clamp(1, 6);
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<serde_json::Value>| {
        let ws = ws.clone();
        async move {
            if ev.payload.get("requestContext").is_none() {
                for pass in 0..passes {
                    if pass > 0 {
                        tokio::time::sleep(SWEEP_SPACING).await;
                    }
                    ws.sweep().await;
                }
                return Ok::<_, Error>(serde_json::Value::Null);
            }
            let req: ApiGatewayWebsocketProxyRequest = serde_json::from_value(ev.payload)?;
            Ok(serde_json::to_value(ws.handle(req).await)?)
        }
    }))
    .await
}

fn status(code: i64) -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = code;
    r
}

impl Ws {
    pub async fn handle(&self, ev: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        let ctx = &ev.request_context;
        let Some(conn) = ctx.connection_id.clone() else { return status(400) };
        match ctx.route_key.as_deref().unwrap_or("$default") {
            "$connect" => {
                let (branch, agent) = (ev.query_string_parameters.first("branch"), ev.query_string_parameters.first("agentId"));
                status(self.connect(&conn, branch, agent).await)
            }
            "$disconnect" => {
                if let Err(e) = self.conns.closed(&conn).await {
                    tracing::warn!(conn, error = %e, "disconnect not recorded; the record expires on its own");
                }
                status(200)
            }
            _ => {
                self.frame(&conn, ev.body.as_deref().unwrap_or("")).await;
                status(200)
            }
        }
    }

    fn sync(&self) -> ConfigSync {
        ConfigSync { conns: self.conns.clone(), poster: self.poster.clone() }
    }

    fn now(&self) -> i64 {
        self.ctx.clock.now().timestamp()
    }

    /// Closes the sockets that did not say hello by their deadline. Answers
    /// how many.
    pub async fn sweep(&self) -> usize {
        let overdue = match self.conns.overdue(self.now()).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "pending connections unreadable; sweep skipped");
                return 0;
            }
        };
        for conn in &overdue {
            self.close_silent(conn).await;
        }
        overdue.len()
    }

    async fn close_silent(&self, conn: &str) {
        tracing::warn!(conn, "no hello within {HELLO_DEADLINE_SECS} s; connection closed");
        match self.poster.close(conn).await {
            Ok(()) | Err(PostError::Gone) => {}
            Err(e) => tracing::warn!(conn, error = %e, "connection not closed; its record is dropped anyway"),
        }
        if let Err(e) = self.conns.closed(conn).await {
            tracing::warn!(conn, error = %e, "closed connection not forgotten");
        }
    }

    /// Answers the HTTP status of the upgrade: 200 accepts the socket.
    pub async fn connect(&self, conn: &str, branch: Option<&str>, agent: Option<&str>) -> i64 {
        if let (Some(b), Some(a)) = (branch, agent) {
            match config::get_site(self.ctx.store(), b, a).await {
                Ok(Some(s)) if s.enabled => {}
                Ok(_) => {
                    tracing::warn!(conn, branch = b, agent = a, "unknown or disabled agent turned away at connect");
                    return 403;
                }
                Err(e) => {
                    tracing::error!(error = %e, "site lookup failed at connect");
                    return 500;
                }
            }
        }
        let status = match self.conns.opened(conn, self.now() + HELLO_DEADLINE_SECS).await {
            Ok(()) => 200,
            Err(e) => {
                tracing::error!(conn, error = %e, "connection not recorded");
                500
            }
        };
        // Every new socket is a chance to close the ones that never spoke.
        self.sweep().await;
        status
    }

    async fn send(&self, conn: &str, m: &Msg) -> bool {
        self.sync().post(conn, m).await
    }

    /// One `$default` frame.
    pub async fn frame(&self, conn: &str, text: &str) {
        let msg = match link::decode(text) {
            Ok(m) => m,
            Err(e) => return tracing::warn!(conn, error = %e, "frame ignored"),
        };
        let meta = match self.conns.meta(conn).await {
            Ok(m) => m,
            Err(e) => return tracing::error!(conn, error = %e, "connection state unreadable; frame dropped"),
        };
        if let Some(m) = meta.as_ref().filter(|m| !m.authenticated && m.hello_by > 0 && self.now() > m.hello_by) {
            return self.close_silent(&m.connection_id).await;
        }
        let trusted = meta.as_ref().filter(|m| m.authenticated);
        match (msg, trusted) {
            (Msg::Hello(h), None) => self.hello(conn, h).await,
            (Msg::Hello(_), Some(_)) => tracing::debug!(conn, "second hello ignored"),
            (_, None) => tracing::debug!(conn, "frame before an accepted hello ignored"),
            (Msg::Ping(b), Some(m)) => {
                let branch = self.branch(&m.branch).await;
                let zone = branch.as_ref().map(|b| b.tz.clone()).unwrap_or_else(|| time::DEFAULT_TZ.into());
                self.send(conn, &Msg::Pong(Beat { seq: b.seq, time: time::format(time::to_local(self.ctx.clock.now(), &zone)) })).await;
                if let Some(b) = branch {
                    self.sync().sync(&self.ctx, conn, &b, Known::Recorded(&m.config_version)).await;
                }
            }
            (Msg::Resync(r), Some(m)) => {
                tracing::warn!(conn, agent = %m.agent_id, held = %r.version, "agent asked for a full site configuration");
                if let Some(b) = self.branch(&m.branch).await {
                    self.sync().sync(&self.ctx, conn, &b, Known::Nothing).await;
                }
            }
            (Msg::Ack(a), Some(_)) => {
                if let Err(e) = self.conns.store_ack(conn, &a).await {
                    tracing::error!(id = %a.id, error = %e, "ack not stored; its command will time out");
                }
            }
            (Msg::Uplink(up), Some(m)) => {
                let reply = sitelink::serve_uplink(&self.ctx, &self.reg, &m.branch, &m.agent_id, up).await;
                if link::encode_frame(&Msg::Reply(reply.clone())).is_err() {
                    // The agent must neither wait for a reply that cannot be
                    // sent nor take it as success.
                    tracing::error!(conn, id = %reply.id, "reply over the frame limit; answered as a system error");
                    let fail = link::Reply { status: false, code: onecard_core::Code::SYSTEM.0, message: "reply too large for the site link".into(), data: serde_json::Value::Null, ..reply };
                    self.send(conn, &Msg::Reply(fail)).await;
                } else {
                    self.send(conn, &Msg::Reply(reply)).await;
                }
            }
            (Msg::Bye(b), Some(m)) => tracing::info!(conn, agent = %m.agent_id, reason = %b.reason, "agent closing"),
            (Msg::Pong(_), Some(_)) => {}
            (other, Some(_)) => tracing::debug!(conn, ?other, "frame not meant for the cloud ignored"),
        }
    }

    async fn branch(&self, branchno: &str) -> Option<Branch> {
        config::get_branch(self.ctx.store(), branchno).await.ok().flatten()
    }

    async fn hello(&self, conn: &str, h: link::Hello) {
        let branch = match sitelink::authenticate(&self.ctx, &h, HELLO_SKEW_SECS).await {
            Ok(b) => b,
            Err(r) => return self.refuse(conn, &h, r).await,
        };
        let old = match self.conns.authenticated(conn, &branch.branchno, &h.agent_id).await {
            Ok(old) => old,
            Err(e) => {
                let r = Refused { code: onecard_core::Code::SYSTEM.0, message: format!("system error: {e}") };
                return self.refuse(conn, &h, r).await;
            }
        };
        self.send(conn, &Msg::Welcome(sitelink::welcome(&self.ctx, &branch, &h.agent_id, conn))).await;
        self.sync().sync(&self.ctx, conn, &branch, Known::Hello(&h.config_version)).await;
        if let Some(old) = old {
            // The agent reconnected: its older socket must not get commands.
            self.send(&old.connection_id, &Msg::Bye(Bye { reason: "replaced by a newer connection".into() })).await;
            let _ = self.poster.close(&old.connection_id).await;
            let _ = self.conns.closed(&old.connection_id).await;
        }
        tracing::info!(conn, branch = %branch.branchno, agent = %h.agent_id, software = %h.software, "agent connected");
    }

    async fn refuse(&self, conn: &str, h: &link::Hello, r: Refused) {
        tracing::warn!(conn, branch = %h.branch, agent = %h.agent_id, code = r.code, message = %r.message, "agent refused");
        self.send(conn, &Msg::Refused(r)).await;
        let _ = self.poster.close(conn).await;
        let _ = self.conns.closed(conn).await;
    }
}

#[cfg(test)]
mod tests;
