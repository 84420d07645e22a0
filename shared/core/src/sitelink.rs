//! The link from the cloud to the site agents. Handlers that need hardware (gates,
//! LED screens, voice, doors) send a command through it and wait for the ack.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// A command for one device of one site. `action` names what to do
/// (`gate.open`, `led.temp`, `voice`, ...); `params` carries its fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub id: String,
    pub device: String,
    pub action: String,
    #[serde(default)]
    pub params: Value,
}

/// The agent's answer to a command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    pub id: String,
    pub ok: bool,
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SiteError {
    #[error("site offline: no agent of branch {0} is connected")]
    Offline(String),
    #[error("device did not answer within {0:?}")]
    Timeout(Duration),
    #[error("site link: {0}")]
    Link(String),
}

pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(5);

#[async_trait]
pub trait SiteLink: Send + Sync + 'static {
    async fn command(&self, branch: &str, cmd: Command, timeout: Duration) -> Result<Ack, SiteError>;

    /// The branch's site configuration changed (a card issued, renewed,
    /// cancelled or re-plated): its connected agents should get it now, not
    /// at the next periodic refresh. Best effort; the refresh stays as the
    /// safety net, so a link that cannot push does nothing.
    async fn config_changed(&self, _ctx: &crate::Ctx, _branch: &str) {}
}

/// The link used where no site can be reached (tests, functions without one).
pub struct NoSites;

#[async_trait]
impl SiteLink for NoSites {
    async fn command(&self, branch: &str, _cmd: Command, _t: Duration) -> Result<Ack, SiteError> {
        Err(SiteError::Offline(branch.to_string()))
    }
}
