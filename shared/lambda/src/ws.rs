//! The `ws` function: the cloud's end of the agent protocol on an API Gateway
//! WebSocket API. Every frame is one invocation, so the connection's state
//! lives in the store (`onecard_adapters::apigw_link::ConnRegistry`) and
//! frames back to the agent go through the Management API.
//!
//! - `$connect`: the socket is recorded, not yet trusted. An agent may name
//!   itself in the query (`?branch=..&agentId=..`), so an unknown or disabled
//!   agent is turned away before it holds a connection.
//! - `$default`: `hello` (authenticated as the local hub does, then `welcome`
//!   and `siteconfig`), `ping` (answered `pong`; the site configuration is
//!   re-sent when it changed, so it is never older than one heartbeat),
//!   `ack` (stored for the function waiting on it), `uplink` (run through
//!   the same handlers as HTTP, answered `reply`), `bye`.
//! - `$disconnect`: the connection is forgotten.

use crate::init::init;
use aws_lambda_events::event::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use onecard_adapters::apigw_link::{ConnRegistry, ManagementApi, PostError, Poster};
use onecard_app::sitelink;
use onecard_core::config::{self, Branch};
use onecard_core::link::{self, Beat, Bye, Msg, Refused};
use onecard_core::{time, Ctx, Registry};
use std::sync::Arc;

/// How far a hello's timestamp may be from the server clock.
const HELLO_SKEW_SECS: i64 = onecard_core::dispatch::TIMESTAMP_WINDOW_SECS;

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
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<ApiGatewayWebsocketProxyRequest>| {
        let ws = ws.clone();
        async move { Ok::<_, Error>(ws.handle(ev.payload).await) }
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
        match self.conns.opened(conn).await {
            Ok(()) => 200,
            Err(e) => {
                tracing::error!(conn, error = %e, "connection not recorded");
                500
            }
        }
    }

    async fn send(&self, conn: &str, m: &Msg) -> bool {
        match self.poster.post(conn, link::encode(m)).await {
            Ok(()) => true,
            Err(PostError::Gone) => {
                let _ = self.conns.closed(conn).await;
                false
            }
            Err(e) => {
                tracing::warn!(conn, error = %e, "frame not sent");
                false
            }
        }
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
                    self.push_config(conn, &b, &m.config_version).await;
                }
            }
            (Msg::Ack(a), Some(_)) => {
                if let Err(e) = self.conns.store_ack(&a).await {
                    tracing::error!(id = %a.id, error = %e, "ack not stored; its command will time out");
                }
            }
            (Msg::Uplink(up), Some(m)) => {
                let reply = sitelink::serve_uplink(&self.ctx, &self.reg, &m.branch, &m.agent_id, up).await;
                self.send(conn, &Msg::Reply(reply)).await;
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
        self.push_config(conn, &branch, "").await;
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

    /// Sends the site configuration when it differs from what the connection has.
    async fn push_config(&self, conn: &str, branch: &Branch, sent: &str) {
        match sitelink::site_config(&self.ctx, branch).await {
            Ok(cfg) if cfg.version != sent => {
                let version = cfg.version.clone();
                if self.send(conn, &Msg::SiteConfig(cfg)).await {
                    if let Err(e) = self.conns.set_config_version(conn, &version).await {
                        tracing::warn!(conn, error = %e, "config version not recorded; it will be sent again");
                    }
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(conn, error = %e.message, "site configuration not built"),
        }
    }
}

#[cfg(test)]
mod tests;
