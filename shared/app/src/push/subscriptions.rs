//! Partners and what they subscribe to, per branch: where to POST (base URL),
//! the secret that signs the envelope, the sender name (`from`), the outbound
//! routes (chapters 13 and 14) and whether it is enabled.

use crate::keys;
use onecard_core::registry::{Actor, Group, Registry};
use onecard_core::store::{Cond, Item, ItemStore, Query, StoreResult};
use onecard_core::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};

/// The seed's sender name when a partner has none configured (decision 10).
pub const DEFAULT_FROM: &str = "PARK";
/// Subscribes to every chapter 13 and 14 route.
pub const ALL: &str = "*";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Partner {
    pub branch: String,
    pub name: String,
    /// Routes are appended as `{url}/{route}`.
    pub url: String,
    pub secret: String,
    #[serde(default = "default_from")]
    pub from: String,
    /// Canonical outbound routes, or `*`.
    pub events: Vec<String>,
    pub enabled: bool,
}

fn default_from() -> String {
    DEFAULT_FROM.into()
}

impl Partner {
    pub fn subscribes(&self, route: &str) -> bool {
        // `*` is every chapter 13/14 push, not a partner-specific route (11.31).
        self.events.iter().any(|e| e == route || (e == ALL && !crate::partner_hooks::PARTNER_ROUTES.contains(&route)))
    }

    /// Where an event of `route` is POSTed.
    pub fn endpoint(&self, route: &str) -> String {
        format!("{}/{}", self.url.trim_end_matches('/'), route.trim_start_matches('/'))
    }
}

/// The routes a partner may subscribe to: the outbound pushes of chapters 13
/// and 14 (6.2.3 and the partner-specific callbacks are not subscriptions).
pub fn subscribable() -> impl Iterator<Item = &'static str> {
    Registry::new()
        .routes()
        .iter()
        .filter(|r| r.group == Group::Push && r.actor == Actor::Outbound)
        .filter(|r| r.section.starts_with("13.") || r.section.starts_with("14.") || crate::partner_hooks::PARTNER_ROUTES.contains(&r.route))
        .map(|r| r.route)
}

/// Reads `--events`: comma-separated routes (printed aliases accepted, e.g.
/// `reoport/parkTempCarCharge`), or `*`. Answers canonical routes.
pub fn parse_events(list: &str) -> ApiResult<Vec<String>> {
    let reg = Registry::new();
    let allowed: Vec<&str> = subscribable().collect();
    let mut out: Vec<String> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if name == ALL {
            return Ok(vec![ALL.into()]);
        }
        let route = reg
            .find(name)
            .map(|s| s.route)
            .filter(|r| allowed.contains(r))
            .ok_or_else(|| ApiError::field("events", format!("'{name}' is not a chapter 13/14 route ({})", allowed.join(", "))))?;
        if !out.iter().any(|r| r == route) {
            out.push(route.to_string());
        }
    }
    if out.is_empty() {
        return Err(ApiError::missing("events"));
    }
    Ok(out)
}

/// Checks a partner before it is saved: a usable base URL, a secret, events.
pub fn validate(p: &Partner) -> ApiResult<()> {
    if p.name.trim().is_empty() || p.name.contains('#') {
        return Err(ApiError::field("name", "must be non-empty and without '#'"));
    }
    // scheme://host[:port][/path]: the client port parses it fully when it sends.
    let rest = p.url.strip_prefix("http://").or_else(|| p.url.strip_prefix("https://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    if host.is_none_or(|h| h.is_empty() || h.starts_with(':') || h.chars().any(|c| c.is_whitespace())) {
        return Err(ApiError::field("url", "must be an http:// or https:// URL"));
    }
    if p.secret.is_empty() {
        return Err(ApiError::missing("secret"));
    }
    if p.from.trim().is_empty() {
        return Err(ApiError::missing("from"));
    }
    if p.events.is_empty() {
        return Err(ApiError::missing("events"));
    }
    Ok(())
}

pub async fn put(s: &dyn ItemStore, p: &Partner) -> ApiResult<()> {
    validate(p)?;
    let body = serde_json::to_value(p).map_err(ApiError::system)?;
    s.put(Item::new(keys::partners(&p.branch), p.name.clone(), body), Cond::None).await?;
    Ok(())
}

pub async fn get(s: &dyn ItemStore, branch: &str, name: &str) -> StoreResult<Option<Partner>> {
    match s.get(&keys::partners(branch), name).await? {
        Some(i) => Ok(Some(i.parse()?)),
        None => Ok(None),
    }
}

pub async fn list(s: &dyn ItemStore, branch: &str) -> StoreResult<Vec<Partner>> {
    s.query_all(&Query::partition(keys::partners(branch))).await?.iter().map(Item::parse).collect()
}

/// The enabled partners of a branch that subscribe to `route`.
pub async fn subscribers(s: &dyn ItemStore, branch: &str, route: &str) -> StoreResult<Vec<Partner>> {
    Ok(list(s, branch).await?.into_iter().filter(|p| p.enabled && p.subscribes(route)).collect())
}

/// Answers false when there is no such partner.
pub async fn set_enabled(s: &dyn ItemStore, branch: &str, name: &str, enabled: bool) -> ApiResult<bool> {
    let Some(item) = s.get(&keys::partners(branch), name).await? else { return Ok(false) };
    let mut p: Partner = item.parse()?;
    p.enabled = enabled;
    let body = serde_json::to_value(&p).map_err(ApiError::system)?;
    // Conditional, so a concurrent `partner add` with a new URL is not undone.
    s.put(
        Item::new(item.pk.clone(), item.sk.clone(), body).with_version(item.version + 1),
        Cond::VersionIs(item.version),
    )
    .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_canonical_outbound_routes() {
        assert_eq!(
            parse_events("report/parkInData, reoport/parkTempCarCharge,report/parkInData").unwrap(),
            ["report/parkInData", "report/parkTempCarCharge"]
        );
        assert_eq!(parse_events("report/parkInData,*").unwrap(), ["*"]);
        for bad in ["", "calc", "report/nope", "/api/v1/pay/request_verify", "notify/faceDistributeResult"] {
            let e = parse_events(bad).unwrap_err();
            assert!(e.message.contains("'events'"), "{bad}: {}", e.message);
        }
        let all: Vec<_> = subscribable().collect();
        // The 14 pushes of chapters 13 and 14, Hisense's 11.31 and Aibee's
        // three commands (11.32, 11.34, 11.36).
        assert_eq!(all.len(), 18, "{all:?}");
        assert_eq!(parse_events("/api/setRedGreenLightStatus,/api/setGuideLedStatus").unwrap(), ["/api/setRedGreenLightStatus", "/api/setGuideLedStatus"]);
    }

    #[test]
    fn endpoint_and_validation() {
        let mut p = Partner {
            branch: "1001".into(),
            name: "acme".into(),
            url: "http://127.0.0.1:9/hook/".into(),
            secret: "s".into(),
            from: DEFAULT_FROM.into(),
            events: vec!["report/parkInData".into()],
            enabled: true,
        };
        assert_eq!(p.endpoint("report/parkInData"), "http://127.0.0.1:9/hook/report/parkInData");
        assert!(p.subscribes("report/parkInData") && !p.subscribes("report/parkOutdata"));
        assert!(validate(&p).is_ok());
        p.url = "ftp://x".into();
        assert!(validate(&p).unwrap_err().message.contains("'url'"));
        p.url = "http://x".into();
        p.secret.clear();
        assert!(validate(&p).unwrap_err().message.contains("'secret'"));
    }
}
