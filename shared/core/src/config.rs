//! Who may call (callers), where (branches = car parks) and which site agents may
//! connect. These records are read on every request, written by the admin
//! commands, and live in the item store like everything else.

use crate::store::{Cond, Item, ItemStore, Query, StoreError, StoreResult};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const WILDCARD: &str = "*";

/// An API caller: the `from` of the chapter 5 envelope and its secret.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Caller {
    pub from: String,
    pub secret: String,
    pub enabled: bool,
    /// Branch numbers this caller may act on; `*` for all.
    pub branches: Vec<String>,
    /// Groups (park, acss, ...) it may call; `*` for all.
    pub groups: Vec<String>,
    /// 6.2.3: where `commit` asks the caller to confirm a payment first.
    #[serde(default)]
    pub verify_url: Option<String>,
    /// The time zone its timestamps are written in (decision 3); Asia/Shanghai
    /// when unset.
    #[serde(default)]
    pub tz: Option<String>,
    /// The bearer token of the data-only routes (decision 11), which carry no
    /// signature.
    #[serde(default)]
    pub token: Option<String>,
    /// A data-only body's `parkId` → branch number (decision 11).
    #[serde(default)]
    pub park_ids: std::collections::BTreeMap<String, String>,
}

impl Caller {
    pub fn may_use_branch(&self, branch: &str) -> bool {
        self.branches.iter().any(|b| b == WILDCARD || b == branch)
    }
    pub fn may_use_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == WILDCARD || g == group)
    }

    pub fn tz(&self) -> &str {
        self.tz.as_deref().unwrap_or(crate::time::DEFAULT_TZ)
    }

    /// The branch a data-only request acts on: its `parkId` through the
    /// caller's mapping (or as a branch number it may use); without one, the
    /// caller's only branch.
    pub fn branch_for_park_id(&self, park_id: Option<&str>) -> Option<String> {
        match park_id {
            Some(p) => self.park_ids.get(p).cloned().or_else(|| (self.may_use_branch(p) && self.branches.iter().any(|b| b == p)).then(|| p.to_string())),
            None => match self.branches.as_slice() {
                [only] if only != WILDCARD => Some(only.clone()),
                _ => self.park_ids.values().next().filter(|_| self.park_ids.len() == 1).cloned(),
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lane {
    In,
    Out,
}

impl Lane {
    /// The seed's `inOrOut`-style flag: 0 entry, 1 exit.
    pub fn flag(self) -> &'static str {
        match self {
            Lane::In => "0",
            Lane::Out => "1",
        }
    }
}

/// A lane controller (camera + gate + display board) of a branch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Controller {
    #[serde(rename = "deviceID")]
    pub device_id: String,
    #[serde(rename = "controllerNo")]
    pub controller_no: String,
    pub name: String,
    pub lane: Lane,
    #[serde(default = "default_area")]
    pub area: String,
}

fn default_area() -> String {
    "1".into()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Area {
    pub id: String,
    pub name: String,
    /// Parking spaces for temporary and card cars together.
    pub capacity: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BranchSettings {
    /// Minutes a car may take to leave after paying in full (tariff rule 7).
    pub grace_minutes: i64,
    /// Minutes an unpaid order stays payable (seed 6.1: 15).
    pub order_minutes: i64,
    /// Seconds to wait for a device ack before answering 620.
    pub ack_timeout_secs: u64,
    /// Offline policy for temporary cars: allow / deny / manual.
    pub offline_entry: String,
    pub offline_exit: String,
}

impl Default for BranchSettings {
    fn default() -> Self {
        BranchSettings {
            grace_minutes: 15,
            order_minutes: 15,
            ack_timeout_secs: 5,
            offline_entry: "allow".into(),
            offline_exit: "manual".into(),
        }
    }
}

/// A car park.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Branch {
    pub branchno: String,
    pub name: String,
    #[serde(default = "default_tz")]
    pub tz: String,
    #[serde(default)]
    pub settings: BranchSettings,
    #[serde(default)]
    pub areas: Vec<Area>,
    #[serde(default)]
    pub controllers: Vec<Controller>,
}

fn default_tz() -> String {
    crate::time::DEFAULT_TZ.into()
}

impl Branch {
    pub fn controller(&self, device_or_no: &str) -> Option<&Controller> {
        self.controllers.iter().find(|c| c.device_id == device_or_no || c.controller_no == device_or_no)
    }
    pub fn capacity(&self) -> i64 {
        self.areas.iter().map(|a| a.capacity).sum()
    }
}

/// An on-site agent allowed to connect for a branch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteAgent {
    pub branch: String,
    pub agent_id: String,
    pub secret: String,
    pub enabled: bool,
}

// Keys. All configuration lives in three small partitions, so listing is one query.
const CALLERS: &str = "cfg#caller";
const BRANCHES: &str = "cfg#branch";
const SITES: &str = "cfg#site";

fn site_sk(branch: &str, agent: &str) -> String {
    format!("{branch}#{agent}")
}

/// Every request reads its caller and branch through here: the item is
/// ours, so its body is moved into the record (`Item::parse` borrows, and
/// would copy the whole tree first).
/// Read through `get_shared`: the configuration cache's copy is parsed in
/// place, neither it nor its tree is cloned per request.
async fn get_as<T: serde::de::DeserializeOwned>(s: &dyn ItemStore, pk: &str, sk: &str) -> StoreResult<Option<T>> {
    s.get_shared(pk, sk).await?.map(|item| item.parse()).transpose()
}

async fn list_as<T: serde::de::DeserializeOwned>(s: &dyn ItemStore, pk: &str) -> StoreResult<Vec<T>> {
    s.query_all(&Query::partition(pk)).await?.into_iter().map(into_record).collect()
}

/// `Item::parse` for an item the caller is done with (the same error).
fn into_record<T: serde::de::DeserializeOwned>(item: Item) -> StoreResult<T> {
    serde_json::from_value(item.body).map_err(|e| StoreError::Corrupt(format!("{}/{}: {e}", item.pk, item.sk)))
}

fn to_item<T: Serialize>(pk: &str, sk: &str, v: &T) -> Item {
    Item::new(pk, sk, serde_json::to_value(v).unwrap_or_else(|_| json!({})))
}

pub async fn get_caller(s: &dyn ItemStore, from: &str) -> StoreResult<Option<Caller>> {
    get_as(s, CALLERS, from).await
}
pub async fn put_caller(s: &dyn ItemStore, c: &Caller) -> StoreResult<()> {
    s.put(to_item(CALLERS, &c.from, c), Cond::None).await
}
pub async fn list_callers(s: &dyn ItemStore) -> StoreResult<Vec<Caller>> {
    list_as(s, CALLERS).await
}

/// The enabled caller holding this token, compared in constant time.
pub async fn caller_by_token(s: &dyn ItemStore, token: &str) -> StoreResult<Option<Caller>> {
    use subtle::ConstantTimeEq;
    Ok(list_callers(s).await?.into_iter().find(|c| {
        c.enabled && c.token.as_deref().is_some_and(|t| t.len() == token.len() && bool::from(t.as_bytes().ct_eq(token.as_bytes())))
    }))
}

pub async fn get_branch(s: &dyn ItemStore, branchno: &str) -> StoreResult<Option<Branch>> {
    get_as(s, BRANCHES, branchno).await
}
pub async fn put_branch(s: &dyn ItemStore, b: &Branch) -> StoreResult<()> {
    s.put(to_item(BRANCHES, &b.branchno, b), Cond::None).await
}
pub async fn list_branches(s: &dyn ItemStore) -> StoreResult<Vec<Branch>> {
    list_as(s, BRANCHES).await
}

pub async fn get_site(s: &dyn ItemStore, branch: &str, agent: &str) -> StoreResult<Option<SiteAgent>> {
    get_as(s, SITES, &site_sk(branch, agent)).await
}
pub async fn put_site(s: &dyn ItemStore, a: &SiteAgent) -> StoreResult<()> {
    s.put(to_item(SITES, &site_sk(&a.branch, &a.agent_id), a), Cond::None).await
}
pub async fn list_sites(s: &dyn ItemStore) -> StoreResult<Vec<SiteAgent>> {
    list_as(s, SITES).await
}

pub const DEMO_BRANCH: &str = "1001";
pub const DEMO_CALLER: &str = "demo";
pub const DEMO_SECRET: &str = "demo-secret";
/// The demo caller's token for the data-only routes (decision 11).
pub const DEMO_TOKEN: &str = "demo-token";
pub const DEMO_AGENT: &str = "A1";
pub const DEMO_AGENT_SECRET: &str = "demo-agent-secret";

pub fn demo_branch() -> Branch {
    Branch {
        branchno: DEMO_BRANCH.into(),
        name: "演示停车场".into(),
        tz: crate::time::DEFAULT_TZ.into(),
        settings: BranchSettings::default(),
        areas: vec![Area { id: "1".into(), name: "1".into(), capacity: 500 }],
        controllers: vec![
            Controller { device_id: "1".into(), controller_no: "C0000001".into(), name: "入口1".into(), lane: Lane::In, area: "1".into() },
            Controller { device_id: "2".into(), controller_no: "C0000002".into(), name: "出口1".into(), lane: Lane::Out, area: "1".into() },
        ],
    }
}

/// Seeds the demo branch, caller and site agent unless a branch already exists.
/// Returns true when it seeded.
pub async fn seed_demo(s: &dyn ItemStore) -> StoreResult<bool> {
    if !list_branches(s).await?.is_empty() {
        return Ok(false);
    }
    put_branch(s, &demo_branch()).await?;
    put_caller(
        s,
        &Caller {
            from: DEMO_CALLER.into(),
            secret: DEMO_SECRET.into(),
            enabled: true,
            branches: vec![DEMO_BRANCH.into()],
            groups: vec![WILDCARD.into()],
            verify_url: None,
            tz: None,
            token: Some(DEMO_TOKEN.into()),
            park_ids: Default::default(),
        },
    )
    .await?;
    put_site(
        s,
        &SiteAgent { branch: DEMO_BRANCH.into(), agent_id: DEMO_AGENT.into(), secret: DEMO_AGENT_SECRET.into(), enabled: true },
    )
    .await?;
    Ok(true)
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}
