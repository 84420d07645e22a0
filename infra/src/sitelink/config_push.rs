//! Keeps one agent's site configuration current: sent after the welcome and
//! again whenever its content (lanes, monthly plates, offline policy) changes.

use axum::extract::ws::Message;
use onecard_core::link::{self, Msg};
use onecard_core::Ctx;
use tokio::sync::mpsc;

#[derive(Default)]
pub(super) struct ConfigPush {
    /// Version last sent on this connection.
    sent: Option<String>,
}

impl ConfigPush {
    /// Builds the configuration and sends it if it differs from the last one
    /// sent. A failure is logged and retried at the next refresh: the agent
    /// keeps working from its stored copy meanwhile.
    pub(super) async fn refresh(&mut self, ctx: &Ctx, branchno: &str, out: &mpsc::UnboundedSender<Message>) {
        let branch = match onecard_core::config::get_branch(ctx.store(), branchno).await {
            Ok(Some(b)) => b,
            Ok(None) => return tracing::warn!(branchno, "branch vanished; site configuration not sent"),
            Err(e) => return tracing::warn!(branchno, error = %e, "site configuration not built"),
        };
        match onecard_app::sitelink::site_config(ctx, &branch).await {
            Ok(cfg) if self.sent.as_deref() != Some(cfg.version.as_str()) => {
                tracing::info!(branchno, version = %cfg.version, monthly = cfg.monthly_plates.len(), "site configuration sent");
                let version = cfg.version.clone();
                if out.send(Message::Text(link::encode(&Msg::SiteConfig(cfg)).into())).is_ok() {
                    self.sent = Some(version);
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(branchno, error = %e.message, "site configuration not built"),
        }
    }
}
