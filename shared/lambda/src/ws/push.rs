//! Site configuration syncs on API Gateway: after a hello, on a heartbeat when
//! the configuration changed, on an agent's `resync`, and from any function
//! whose request changed a card (`SiteLink::config_changed`). What the agent
//! holds is recorded per connection (`ConnRegistry::set_held`), so a change
//! goes out as a delta of the plate buckets that moved, in frames under the
//! 32 KiB limit.

use async_trait::async_trait;
use onecard_adapters::apigw_link::{ConfigPusher, ConnRegistry, PostError, Poster};
use onecard_core::config::{self, Branch};
use onecard_core::link::sync::Held;
use onecard_core::link::{self, Msg, CHUNK_BUDGET};
use onecard_core::store::ItemStore;
use onecard_core::Ctx;
use std::sync::Arc;

/// What the sender knows of the agent's copy.
#[derive(Clone, Copy, Debug)]
pub enum Known<'a> {
    /// The version the agent's hello names.
    Hello(&'a str),
    /// The version recorded for the connection at its last sync.
    Recorded(&'a str),
    /// Nothing (the agent asked for everything).
    Nothing,
}

#[derive(Clone)]
pub struct ConfigSync {
    pub conns: ConnRegistry,
    pub poster: Arc<dyn Poster>,
}

/// The pusher the functions' `ApiGwLink` calls when a card changed.
pub fn pusher(store: Arc<dyn ItemStore>, poster: Arc<dyn Poster>) -> Arc<dyn ConfigPusher> {
    Arc::new(ConfigSync { conns: ConnRegistry::new(store), poster })
}

impl ConfigSync {
    /// Posts one frame. A frame over the 32 KiB limit is logged and not sent
    /// (API Gateway would refuse it and drop the connection); a connection
    /// found gone is forgotten.
    pub async fn post(&self, conn: &str, m: &Msg) -> bool {
        let text = match link::encode_frame(m) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(conn, error = %e, "frame not sent");
                return false;
            }
        };
        match self.poster.post(conn, text).await {
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

    /// Sends the agent on `conn` what it lacks of the branch's configuration.
    /// Failures are logged: the next heartbeat tries again.
    pub async fn sync(&self, ctx: &Ctx, conn: &str, branch: &Branch, known: Known<'_>) {
        let state = match onecard_app::sitelink::site_state(ctx, branch).await {
            Ok(s) => s,
            Err(e) => return tracing::warn!(conn, error = %e.message, "site configuration not built"),
        };
        let version = state.version();
        let held = match known {
            Known::Hello(v) => Held::version_only(v),
            Known::Recorded(v) if v == version => return,
            Known::Recorded(v) => match self.conns.held(conn).await {
                Ok(Some(h)) if h.version == v => Some(h),
                _ => Held::version_only(v),
            },
            Known::Nothing => None,
        };
        let frames = match state.plan(held.as_ref(), CHUNK_BUDGET) {
            Ok(f) => f,
            Err(e) => return tracing::error!(conn, branch = %branch.branchno, error = %e, "site configuration cannot be framed; not sent"),
        };
        if let Some(first) = frames.first() {
            tracing::info!(conn, branch = %branch.branchno, version, delta = first.delta, frames = frames.len(), plates = state.plate_count(), cards = state.card_count(), blacklist = state.blacklist_count(), "site configuration sent");
        }
        for f in frames {
            if !self.post(conn, &Msg::SiteConfig(f)).await {
                return;
            }
        }
        if let Err(e) = self.conns.set_held(conn, &state.held()).await {
            tracing::warn!(conn, error = %e, "sync not recorded; the next heartbeat sends it again");
        }
    }

    /// Syncs every connected agent of the branch.
    pub async fn push_branch(&self, ctx: &Ctx, branchno: &str) {
        let branch = match config::get_branch(ctx.store(), branchno).await {
            Ok(Some(b)) => b,
            Ok(None) => return,
            Err(e) => return tracing::warn!(branchno, error = %e, "branch unreadable; card change not pushed"),
        };
        let agents = match self.conns.agents(branchno).await {
            Ok(a) => a,
            Err(e) => return tracing::warn!(branchno, error = %e, "connections unreadable; card change not pushed"),
        };
        for a in agents {
            let recorded = match self.conns.meta(&a.connection_id).await {
                Ok(Some(m)) => m.config_version,
                _ => continue,
            };
            self.sync(ctx, &a.connection_id, &branch, Known::Recorded(&recorded)).await;
        }
    }
}

#[async_trait]
impl ConfigPusher for ConfigSync {
    async fn push(&self, ctx: &Ctx, branch: &str) {
        self.push_branch(ctx, branch).await;
    }
}
