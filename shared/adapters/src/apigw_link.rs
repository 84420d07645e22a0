//! The site link on AWS: agents hold WebSockets to an API Gateway WebSocket
//! API, and no process holds them in memory. So everything a connection needs
//! lives in the item store:
//!
//! - `ws#conn/{branch}` / agent id: the agent's live connection id (written
//!   when its hello is accepted on `$default`, removed on `$disconnect`);
//! - `ws#connid/{connectionId}` / `meta`: what a connection is (branch, agent,
//!   authenticated yet, last site configuration sent), read on every frame;
//! - `ws#ack/{commandId}` / `{connectionId}`: an agent's ack, written by the
//!   `ws` function on `$default` under the connection it came from and picked
//!   up by whichever function sent the command, which polls for it until its
//!   timeout and takes only the ack of the connection it sent the command to;
//! - `ws#pending` / `{helloBy}#{connectionId}`: a socket that has not said
//!   hello yet, with its deadline, so a sweep finds (and closes) the ones
//!   past it without scanning every connection;
//! - `ws#connid/{connectionId}` / `held`: what the agent on a connection holds
//!   of its site configuration (`link::sync::Held`), to send it deltas.
//!
//! Commands go out through the API Gateway Management API (PostToConnection).

use async_trait::async_trait;
use onecard_core::link::sync::Held;
use onecard_core::link::{self, ack_code, Msg};
use onecard_core::sitelink::{Ack, Command, SiteError, SiteLink};
use onecard_core::store::{Cond, Item, ItemStore, Query, StoreError, StoreResult};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// Connections older than API Gateway's 2-hour limit are gone for sure; their
/// records expire a little later in case `$disconnect` never came.
const CONN_TTL_SECS: i64 = 3 * 3600;
/// An ack nobody picked up (its waiter timed out) is cleared by TTL.
const ACK_TTL_SECS: i64 = 600;

pub fn conn_pk(branch: &str) -> String {
    format!("ws#conn/{branch}")
}
pub fn meta_pk(connection_id: &str) -> String {
    format!("ws#connid/{connection_id}")
}
pub fn ack_pk(command_id: &str) -> String {
    format!("ws#ack/{command_id}")
}
const META_SK: &str = "meta";
const HELD_SK: &str = "held";
const PENDING_PK: &str = "ws#pending";

fn pending_sk(hello_by: i64, connection_id: &str) -> String {
    format!("{hello_by:012}#{connection_id}")
}

/// A connection as the store knows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ConnMeta {
    pub connection_id: String,
    #[serde(default)]
    pub branch: String,
    #[serde(default)]
    pub agent_id: String,
    #[serde(default)]
    pub authenticated: bool,
    /// Unix seconds.
    #[serde(default)]
    pub since: i64,
    /// Version of the last `siteconfig` sent on this connection.
    #[serde(default)]
    pub config_version: String,
    /// Unix seconds by which an unauthenticated socket must have said hello.
    #[serde(default)]
    pub hello_by: i64,
}

/// The connection registry in the store.
#[derive(Clone)]
pub struct ConnRegistry {
    store: Arc<dyn ItemStore>,
}

fn now() -> i64 {
    onecard_core::store::now_unix()
}

impl ConnRegistry {
    pub fn new(store: Arc<dyn ItemStore>) -> Self {
        ConnRegistry { store }
    }

    fn meta_item(m: &ConnMeta) -> Item {
        Item::new(meta_pk(&m.connection_id), META_SK, serde_json::to_value(m).unwrap_or_default()).with_ttl(m.since + CONN_TTL_SECS)
    }

    /// `$connect`: the socket exists, not yet authenticated; it must say
    /// hello by `hello_by` (unix seconds) or [`ConnRegistry::overdue`] names it.
    pub async fn opened(&self, connection_id: &str, hello_by: i64) -> StoreResult<()> {
        let m = ConnMeta { connection_id: connection_id.into(), since: now(), hello_by, ..Default::default() };
        let pending = Item::new(PENDING_PK, pending_sk(hello_by, connection_id), serde_json::json!({"connectionId": connection_id}))
            .with_ttl(m.since + CONN_TTL_SECS);
        self.store.put(pending, Cond::None).await?;
        self.store.put(Self::meta_item(&m), Cond::None).await
    }

    async fn not_pending(&self, m: &ConnMeta) -> StoreResult<()> {
        if m.hello_by > 0 {
            self.store.delete(PENDING_PK, &pending_sk(m.hello_by, &m.connection_id), Cond::None).await?;
        }
        Ok(())
    }

    /// Sockets still without an accepted hello whose deadline is before `now`.
    pub async fn overdue(&self, now: i64) -> StoreResult<Vec<String>> {
        // Not "": DynamoDB refuses an empty key value, and every key starts with a digit.
        let q = Query::between(PENDING_PK, "0", format!("{now:012}"));
        Ok(self
            .store
            .query_all(&q)
            .await?
            .iter()
            .filter_map(|i| i.sk.split_once('#').map(|(_, c)| c.to_string()))
            .collect())
    }

    pub async fn meta(&self, connection_id: &str) -> StoreResult<Option<ConnMeta>> {
        match self.store.get(&meta_pk(connection_id), META_SK).await? {
            Some(i) => Ok(Some(i.parse()?)),
            None => Ok(None),
        }
    }

    /// A hello was accepted: this connection is now the agent's. Answers the
    /// connection it replaces, if any, so the caller can close that one.
    pub async fn authenticated(&self, connection_id: &str, branch: &str, agent_id: &str) -> StoreResult<Option<ConnMeta>> {
        if let Some(before) = self.meta(connection_id).await? {
            self.not_pending(&before).await?;
        }
        let m = ConnMeta {
            connection_id: connection_id.into(),
            branch: branch.into(),
            agent_id: agent_id.into(),
            authenticated: true,
            since: now(),
            config_version: String::new(),
            hello_by: 0,
        };
        let previous: Option<ConnMeta> = match self.store.get(&conn_pk(branch), agent_id).await? {
            Some(i) => Some(i.parse()?),
            None => None,
        };
        self.store.put(Self::meta_item(&m), Cond::None).await?;
        let item = Item::new(conn_pk(branch), agent_id, serde_json::to_value(&m).unwrap_or_default()).with_ttl(m.since + CONN_TTL_SECS);
        self.store.put(item, Cond::None).await?;
        Ok(previous.filter(|p| p.connection_id != connection_id))
    }

    pub async fn set_config_version(&self, connection_id: &str, version: &str) -> StoreResult<()> {
        if let Some(mut m) = self.meta(connection_id).await? {
            m.config_version = version.into();
            self.store.put(Self::meta_item(&m), Cond::None).await?;
        }
        Ok(())
    }

    /// What the agent on the connection holds, as last sent to it.
    pub async fn held(&self, connection_id: &str) -> StoreResult<Option<Held>> {
        match self.store.get(&meta_pk(connection_id), HELD_SK).await? {
            Some(i) => Ok(Some(i.parse()?)),
            None => Ok(None),
        }
    }

    /// Records a completed sync: the bucket digests (for the next delta) and
    /// the version (read on every heartbeat to see whether anything changed).
    pub async fn set_held(&self, connection_id: &str, held: &Held) -> StoreResult<()> {
        let item = Item::new(meta_pk(connection_id), HELD_SK, serde_json::to_value(held).unwrap_or_default()).with_ttl(now() + CONN_TTL_SECS);
        self.store.put(item, Cond::None).await?;
        self.set_config_version(connection_id, &held.version).await
    }

    /// `$disconnect` (or a post that found the connection gone): forget it,
    /// but leave the agent's entry alone if a newer connection took its place.
    pub async fn closed(&self, connection_id: &str) -> StoreResult<()> {
        if let Some(m) = self.meta(connection_id).await? {
            if m.authenticated {
                self.forget_agent(&m.branch, &m.agent_id, connection_id).await?;
            }
            self.not_pending(&m).await?;
        }
        self.store.delete(&meta_pk(connection_id), HELD_SK, Cond::None).await?;
        self.store.delete(&meta_pk(connection_id), META_SK, Cond::None).await
    }

    async fn forget_agent(&self, branch: &str, agent_id: &str, connection_id: &str) -> StoreResult<()> {
        if let Some(i) = self.store.get(&conn_pk(branch), agent_id).await? {
            let current: ConnMeta = i.parse()?;
            if current.connection_id == connection_id {
                match self.store.delete(&conn_pk(branch), agent_id, Cond::VersionIs(i.version)).await {
                    Ok(()) | Err(StoreError::ConditionFailed) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// The branch's connected agents, in agent-id order.
    pub async fn agents(&self, branch: &str) -> StoreResult<Vec<ConnMeta>> {
        self.store.query_all(&Query::partition(conn_pk(branch))).await?.iter().map(Item::parse).collect()
    }

    /// `$default` got an ack on `connection_id`: leave it where the sender
    /// polls, under the connection it came from.
    pub async fn store_ack(&self, connection_id: &str, ack: &Ack) -> StoreResult<()> {
        let item = Item::new(ack_pk(&ack.id), connection_id, serde_json::to_value(ack).unwrap_or_default()).with_ttl(now() + ACK_TTL_SECS);
        self.store.put(item, Cond::None).await
    }

    /// The ack for a command from the connection it was sent to, if it
    /// arrived; removed once taken. Acks for the same id from any other
    /// connection are not the device's answer: logged, removed, ignored.
    pub async fn take_ack(&self, command_id: &str, connection_id: &str) -> StoreResult<Option<Ack>> {
        let mut found = None;
        for i in self.store.query_all(&Query::partition(ack_pk(command_id))).await? {
            if i.sk == connection_id {
                found = Some(i.parse::<Ack>()?);
            } else {
                tracing::warn!(id = command_id, from = %i.sk, sent_to = connection_id, "ack from another connection ignored");
            }
            if let Err(e) = self.store.delete(&ack_pk(command_id), &i.sk, Cond::None).await {
                tracing::debug!(error = %e, "ack not cleared; its TTL will");
            }
        }
        Ok(found)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The connection no longer exists (410 GoneException).
    #[error("connection gone")]
    Gone,
    #[error("post failed: {0}")]
    Other(String),
}

/// Sends a frame to a connection and closes connections. The Management API
/// in production; tests script it.
/// Pushes a branch's changed site configuration to its connected agents.
/// Building a configuration needs the cards, which this crate does not know,
/// so the Lambda wiring installs one (`onecard_lambda::ws::push`).
#[async_trait]
pub trait ConfigPusher: Send + Sync + 'static {
    async fn push(&self, ctx: &onecard_core::Ctx, branch: &str);
}

#[async_trait]
pub trait Poster: Send + Sync + 'static {
    async fn post(&self, connection_id: &str, text: String) -> Result<(), PostError>;
    async fn close(&self, connection_id: &str) -> Result<(), PostError>;
}

/// The API Gateway Management API of one WebSocket API stage. The client is
/// built on first use, so a function that never sends a command never loads
/// the AWS configuration for it, and construction needs no runtime.
#[derive(Clone)]
pub struct ManagementApi {
    endpoint: String,
    client: Arc<tokio::sync::OnceCell<aws_sdk_apigatewaymanagement::Client>>,
}

impl ManagementApi {
    /// `endpoint` is `https://{api}.execute-api.{region}.amazonaws.com/{stage}`.
    pub fn lazy(endpoint: &str) -> Self {
        ManagementApi { endpoint: endpoint.to_string(), client: Arc::new(tokio::sync::OnceCell::new()) }
    }

    async fn client(&self) -> &aws_sdk_apigatewaymanagement::Client {
        self.client
            .get_or_init(|| async {
                let conf = crate::sdk_config::load().await;
                let c = aws_sdk_apigatewaymanagement::config::Builder::from(&conf).endpoint_url(&self.endpoint).build();
                aws_sdk_apigatewaymanagement::Client::from_conf(c)
            })
            .await
    }
}

/// GoneException is the one error with a meaning of its own: the agent left.
macro_rules! post_error {
    ($e:expr) => {{
        let se = $e.into_service_error();
        if se.is_gone_exception() {
            PostError::Gone
        } else {
            PostError::Other(aws_sdk_apigatewaymanagement::error::DisplayErrorContext(&se).to_string())
        }
    }};
}

#[async_trait]
impl Poster for ManagementApi {
    async fn post(&self, connection_id: &str, text: String) -> Result<(), PostError> {
        self.client()
            .await
            .post_to_connection()
            .connection_id(connection_id)
            .data(aws_sdk_apigatewaymanagement::primitives::Blob::new(text.into_bytes()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| post_error!(e))
    }

    async fn close(&self, connection_id: &str) -> Result<(), PostError> {
        self.client()
            .await
            .delete_connection()
            .connection_id(connection_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| post_error!(e))
    }
}

/// The `SiteLink` of the Lambda functions.
#[derive(Clone)]
pub struct ApiGwLink {
    registry: ConnRegistry,
    poster: Arc<dyn Poster>,
    pusher: Option<Arc<dyn ConfigPusher>>,
    /// First pause between looks for the ack; it grows to `max_poll`.
    pub first_poll: Duration,
    pub max_poll: Duration,
}

impl ApiGwLink {
    pub fn new(store: Arc<dyn ItemStore>, poster: Arc<dyn Poster>) -> Self {
        ApiGwLink {
            registry: ConnRegistry::new(store),
            poster,
            pusher: None,
            first_poll: Duration::from_millis(20),
            max_poll: Duration::from_millis(200),
        }
    }

    /// Card changes are then pushed to the branch's agents at once.
    pub fn with_config_pusher(mut self, pusher: Arc<dyn ConfigPusher>) -> Self {
        self.pusher = Some(pusher);
        self
    }

    pub fn registry(&self) -> &ConnRegistry {
        &self.registry
    }

    /// Waits for the ack of `id` until `deadline`. Reads are cheap and the
    /// wait is short, so polling with a growing pause is enough: a stream
    /// would need another moving part for a few seconds of waiting.
    async fn wait_ack(&self, id: &str, connection_id: &str, deadline: tokio::time::Instant) -> Result<Option<Ack>, SiteError> {
        let mut pause = self.first_poll;
        loop {
            match self.registry.take_ack(id, connection_id).await {
                Ok(Some(a)) => return Ok(Some(a)),
                Ok(None) => {}
                Err(e) => tracing::warn!(id, error = %e, "ack lookup failed; still waiting"),
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 3 / 2).min(self.max_poll);
        }
    }
}

#[async_trait]
impl SiteLink for ApiGwLink {
    async fn command(&self, branch: &str, cmd: Command, timeout: Duration) -> Result<Ack, SiteError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let agents = self.registry.agents(branch).await.map_err(|e| SiteError::Link(e.to_string()))?;
        let text = link::encode_frame(&Msg::Command(cmd.clone())).map_err(|e| {
            tracing::error!(branch, id = %cmd.id, error = %e, "command not sent");
            SiteError::Link(e.to_string())
        })?;
        let mut unknown: Option<Ack> = None;
        for conn in agents {
            match self.poster.post(&conn.connection_id, text.clone()).await {
                Ok(()) => {}
                Err(PostError::Gone) => {
                    tracing::info!(branch, agent = %conn.agent_id, "connection gone; forgetting it");
                    if let Err(e) = self.registry.closed(&conn.connection_id).await {
                        tracing::warn!(error = %e, "stale connection not forgotten");
                    }
                    continue;
                }
                Err(PostError::Other(e)) => return Err(SiteError::Link(e)),
            }
            match self.wait_ack(&cmd.id, &conn.connection_id, deadline).await? {
                // This agent does not have the device; a car park may split its
                // devices over several agents.
                Some(a) if a.code == ack_code::UNKNOWN_DEVICE => unknown = Some(a),
                Some(a) => return Ok(a),
                None => return Err(SiteError::Timeout(timeout)),
            }
        }
        unknown.ok_or_else(|| SiteError::Offline(branch.to_string()))
    }

    async fn config_changed(&self, ctx: &onecard_core::Ctx, branch: &str) {
        if let Some(p) = &self.pusher {
            p.push(ctx, branch).await;
        }
    }
}

#[cfg(test)]
mod tests;
