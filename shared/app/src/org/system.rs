//! The system: workstations (10.36), whose logs 10.37 fetches, and the
//! system parameters (10.48). Both are admin written (`onecard org`).
//!
//! A workstation of a site (`J` entry/exit, `Z` kiosk, `C` guidance) is
//! served by one site agent, which reads the logs from its own log
//! directory; `LogDirectory` is the LAN path operators know it by and is
//! only shown and compared, never opened. The interface's own log (`Y`)
//! is the cloud's, listed without being stored.

use crate::keys;
use onecard_core::kit::{self, Empty, Page, RouteDef};
use onecard_core::store::{Cond, Item, ItemStore, Query};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// 10.36 `LogType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogType {
    /// Entry/exit control workstation (进出控制工作站).
    J,
    /// Self-service kiosk (自助机).
    Z,
    /// Parking guidance (车位引导).
    C,
    /// The one-card interface itself.
    Y,
}

impl LogType {
    pub fn parse(s: &str) -> Option<LogType> {
        match s.trim().to_ascii_uppercase().as_str() {
            "J" => Some(LogType::J),
            "Z" => Some(LogType::Z),
            "C" => Some(LogType::C),
            "Y" => Some(LogType::Y),
            _ => None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            LogType::J => "J",
            LogType::Z => "Z",
            LogType::C => "C",
            LogType::Y => "Y",
        }
    }
}

/// The interface's own entry of 10.36: its number and the directory name
/// clients send back in 10.37.
pub const API_WORKSTATION: &str = "API";
pub const API_LOG_DIRECTORY: &str = "onecard:logs";

/// A site workstation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workstation {
    pub no: String,
    pub log_type: LogType,
    pub name: String,
    pub ip: String,
    pub log_dir: String,
    /// The site agent that holds this workstation's logs.
    pub agent: String,
}

/// A workstation number: also the middle of 10.37's file names, so it
/// carries no `_` and nothing a file name could not.
pub fn check_no(no: &str) -> ApiResult<()> {
    let ok = !no.is_empty() && no.len() <= 32 && no.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !ok || no == API_WORKSTATION {
        return Err(ApiError::field("WorkstationNo", format!("'{no}' is not 1-32 letters, digits, '-' or '.' (and not '{API_WORKSTATION}')")));
    }
    Ok(())
}

pub async fn workstations(store: &dyn ItemStore, branch: &str) -> ApiResult<Vec<Workstation>> {
    let items = store.query_all(&Query::partition(keys::workstations(branch))).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

pub async fn workstation(store: &dyn ItemStore, branch: &str, no: &str) -> ApiResult<Option<Workstation>> {
    match store.get(&keys::workstations(branch), no).await? {
        Some(i) => Ok(Some(i.parse()?)),
        None => Ok(None),
    }
}

/// Adds or replaces a workstation; true when it was new.
pub async fn put_workstation(store: &dyn ItemStore, branch: &str, w: &Workstation) -> ApiResult<bool> {
    check_no(&w.no)?;
    if w.log_type == LogType::Y {
        return Err(ApiError::field("LogType", "Y is the interface itself, not a site workstation"));
    }
    if w.agent.trim().is_empty() {
        return Err(ApiError::field("agent", "names the site agent that holds the logs"));
    }
    let new = workstation(store, branch, &w.no).await?.is_none();
    store.put(Item::new(keys::workstations(branch), w.no.clone(), serde_json::to_value(w).unwrap_or_default()), Cond::None).await?;
    Ok(new)
}

pub async fn remove_workstation(store: &dyn ItemStore, branch: &str, no: &str) -> ApiResult<()> {
    store.delete(&keys::workstations(branch), no, Cond::MustExist).await.map_err(|e| match e.is_conflict() {
        true => ApiError::not_found(format!("workstation {no}")),
        false => e.into(),
    })
}

/// 10.36 row.
#[derive(Serialize, JsonSchema)]
pub struct WorkstationRow {
    #[serde(rename = "LogType")]
    pub log_type: &'static str,
    #[serde(rename = "WorkstationNo")]
    pub no: String,
    #[serde(rename = "WorkstationName")]
    pub name: String,
    #[serde(rename = "WorkstationIP")]
    pub ip: String,
    #[serde(rename = "LogDirectory")]
    pub log_dir: String,
}

async fn list_workstations(ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<WorkstationRow>> {
    let mut rows: Vec<WorkstationRow> = workstations(ctx.store(), req.branchno())
        .await?
        .into_iter()
        .map(|w| WorkstationRow { log_type: w.log_type.code(), no: w.no, name: w.name, ip: w.ip, log_dir: w.log_dir })
        .collect();
    rows.push(WorkstationRow {
        log_type: LogType::Y.code(),
        no: API_WORKSTATION.into(),
        name: "一卡通APP接口".into(),
        ip: String::new(),
        log_dir: API_LOG_DIRECTORY.into(),
    });
    Ok(req.page(rows))
}

/// The system parameters of 10.48.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemParams {
    /// How long a visitor booking stays valid after its visit time.
    pub visitor_retention_hours: i64,
}

impl Default for SystemParams {
    fn default() -> Self {
        SystemParams { visitor_retention_hours: 24 }
    }
}

/// The branch's parameters (the defaults until an operator sets them).
pub async fn params(store: &dyn ItemStore, branch: &str) -> ApiResult<SystemParams> {
    match store.get(&keys::system_params(branch), "params").await? {
        Some(i) => Ok(i.parse()?),
        None => Ok(SystemParams::default()),
    }
}

pub async fn put_params(store: &dyn ItemStore, branch: &str, p: &SystemParams) -> ApiResult<()> {
    if !(1..=24 * 366).contains(&p.visitor_retention_hours) {
        return Err(ApiError::field("visitorRetentionTime", "must be 1-8784 hours"));
    }
    store.put(Item::new(keys::system_params(branch), "params", serde_json::to_value(p).unwrap_or_default()), Cond::None).await?;
    Ok(())
}

/// 10.48 output.
#[derive(Serialize, JsonSchema)]
pub struct ParamsOut {
    #[serde(rename = "visitorRetentionTime")]
    pub visitor_retention_time: String,
}

async fn get_params(ctx: Ctx, req: Req, _: Empty) -> ApiResult<ParamsOut> {
    let p = params(ctx.store(), req.branchno()).await?;
    Ok(ParamsOut { visitor_retention_time: p.visitor_retention_hours.to_string() })
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::read("pub.workstation.get", list_workstations), kit::read("pub.params.get", get_params)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use onecard_core::memstore::MemStore;

    #[tokio::test]
    async fn workstations_and_params_are_kept() {
        let s = MemStore::new();
        let w = Workstation { no: "WS0001".into(), log_type: LogType::J, name: "南进口".into(), ip: "192.168.1.101".into(), log_dir: r"\\192.168.1.101\ParkLog".into(), agent: "A1".into() };
        assert!(put_workstation(&s, "b", &w).await.unwrap());
        assert!(!put_workstation(&s, "b", &w).await.unwrap());
        assert!(put_workstation(&s, "b", &Workstation { no: "WS_1".into(), ..w.clone() }).await.is_err());
        assert!(put_workstation(&s, "b", &Workstation { log_type: LogType::Y, ..w.clone() }).await.is_err());
        assert_eq!(workstations(&s, "b").await.unwrap(), vec![w]);
        remove_workstation(&s, "b", "WS0001").await.unwrap();
        assert!(remove_workstation(&s, "b", "WS0001").await.is_err());
        assert_eq!(params(&s, "b").await.unwrap().visitor_retention_hours, 24);
        put_params(&s, "b", &SystemParams { visitor_retention_hours: 48 }).await.unwrap();
        assert_eq!(params(&s, "b").await.unwrap().visitor_retention_hours, 48);
        assert!(put_params(&s, "b", &SystemParams { visitor_retention_hours: 0 }).await.is_err());
    }
}
