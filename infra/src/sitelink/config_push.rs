//! Keeps one agent's site configuration current: synced after the welcome,
//! again whenever a card changes (`SiteLink::config_changed`), and at each
//! periodic refresh as the safety net. A sync is chunked and, once the agent
//! holds a copy, a delta of the changed plate buckets (`link::sync`).

use super::send;
use axum::extract::ws::Message;
use onecard_core::link::sync::Held;
use onecard_core::link::{Msg, CHUNK_BUDGET};
use onecard_core::Ctx;
use tokio::sync::mpsc;

pub(super) struct ConfigPush {
    /// What the agent holds as far as this connection knows: from its hello
    /// (version only) until the first sync, then what was sent.
    held: Option<Held>,
}

impl ConfigPush {
    /// `agent_version`: the version the hello says the agent holds.
    pub(super) fn new(agent_version: &str) -> ConfigPush {
        ConfigPush { held: Held::version_only(agent_version) }
    }

    /// The agent could not apply a delta: the next refresh sends everything.
    pub(super) fn resync(&mut self) {
        self.held = None;
    }

    /// Builds the configuration and sends what the agent lacks. A failure is
    /// logged and retried at the next refresh: the agent keeps working from
    /// its stored copy meanwhile.
    pub(super) async fn refresh(&mut self, ctx: &Ctx, branchno: &str, out: &mpsc::UnboundedSender<Message>) {
        let branch = match onecard_core::config::get_branch(ctx.store(), branchno).await {
            Ok(Some(b)) => b,
            Ok(None) => return tracing::warn!(branchno, "branch vanished; site configuration not sent"),
            Err(e) => return tracing::warn!(branchno, error = %e, "site configuration not built"),
        };
        let state = match onecard_app::sitelink::site_state(ctx, &branch).await {
            Ok(s) => s,
            Err(e) => return tracing::warn!(branchno, error = %e.message, "site configuration not built"),
        };
        let frames = match state.plan(self.held.as_ref(), CHUNK_BUDGET) {
            Ok(f) => f,
            Err(e) => return tracing::error!(branchno, error = %e, "site configuration cannot be framed; not sent"),
        };
        if let Some(first) = frames.first() {
            let bytes: usize = frames.iter().map(|f| onecard_core::link::encode(&Msg::SiteConfig(f.clone())).len()).sum();
            tracing::info!(branchno, version = %first.version, delta = first.delta, frames = frames.len(), bytes, plates = state.plate_count(), cards = state.card_count(), blacklist = state.blacklist_count(), "site configuration sent");
        }
        for f in frames {
            if !send(out, &Msg::SiteConfig(f)) {
                // Partly sent: the agent drops the incomplete sync, and the
                // next attempt starts from what it held before.
                return;
            }
        }
        self.held = Some(state.held());
    }
}
