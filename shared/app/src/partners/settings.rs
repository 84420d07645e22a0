//! Per-partner settings at a branch: the partner's ids (its `parkId`, store
//! code, ...), its URL and key where the cloud calls it, and switches. Written
//! by `onecard partners set` (the API reads them, never writes them).

use crate::keys;
use onecard_core::store::{Cond, Item, ItemStore, Query};
use onecard_core::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The partners of chapter 11, by the name settings and the README use.
pub const PARTNERS: &[&str] = &[
    "upark", "jinying", "jinying-paylater", "maoku", "szgdj", "hanvon", "lvdeng", "changting", "zjdx", "dongling", "hisense", "aibee",
    "litian", "yanji",
];

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PartnerSettings {
    pub partner: String,
    pub branch: String,
    /// Where the cloud calls the partner (outbound partners, and the ports of
    /// Zhejiang University's canteen and Yanji Bailicheng's CRM). `standin:`
    /// names the built-in local stand-in instead of a real endpoint.
    #[serde(default)]
    pub url: Option<String>,
    /// The partner's key (a signing secret where its wire has one).
    #[serde(default)]
    pub key: Option<String>,
    /// The partner's own ids for this branch: `parkId`, `companyNo`, ...
    #[serde(default)]
    pub ids: BTreeMap<String, String>,
    /// Switches a partner reads (`transferFree`, `dayStart`, ...).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl PartnerSettings {
    pub fn new(partner: &str, branch: &str) -> Self {
        PartnerSettings { partner: partner.into(), branch: branch.into(), enabled: true, ..Default::default() }
    }
    pub fn id(&self, name: &str) -> Option<&str> {
        self.ids.get(name).map(String::as_str).filter(|s| !s.is_empty())
    }
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str).filter(|s| !s.is_empty())
    }
    /// The endpoint when one is configured and the partner is enabled.
    pub fn endpoint(&self) -> Option<&str> {
        self.url.as_deref().filter(|u| self.enabled && !u.is_empty())
    }
}

pub fn check_partner(name: &str) -> Result<(), String> {
    if PARTNERS.contains(&name) {
        Ok(())
    } else {
        Err(format!("unknown partner '{name}': one of {}", PARTNERS.join(", ")))
    }
}

pub async fn get(store: &dyn ItemStore, branch: &str, partner: &str) -> ApiResult<Option<PartnerSettings>> {
    match store.get(&keys::partner_settings(branch), partner).await? {
        Some(i) => Ok(Some(i.parse()?)),
        None => Ok(None),
    }
}

/// The settings, or the defaults of an unconfigured partner (enabled, no ids).
pub async fn get_or_default(store: &dyn ItemStore, branch: &str, partner: &str) -> ApiResult<PartnerSettings> {
    Ok(get(store, branch, partner).await?.unwrap_or_else(|| PartnerSettings::new(partner, branch)))
}

pub async fn put(store: &dyn ItemStore, s: &PartnerSettings) -> ApiResult<()> {
    check_partner(&s.partner).map_err(|e| ApiError::field("partner", e))?;
    let body = serde_json::to_value(s).map_err(ApiError::system)?;
    store.put(Item::new(keys::partner_settings(&s.branch), s.partner.clone(), body), Cond::None).await?;
    Ok(())
}

pub async fn list(store: &dyn ItemStore, branch: &str) -> ApiResult<Vec<PartnerSettings>> {
    let items = store.query_all(&Query::partition(keys::partner_settings(branch))).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

pub async fn remove(store: &dyn ItemStore, branch: &str, partner: &str) -> ApiResult<bool> {
    let had = get(store, branch, partner).await?.is_some();
    if had {
        store.delete(&keys::partner_settings(branch), partner, Cond::None).await?;
    }
    Ok(had)
}
