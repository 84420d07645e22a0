//! 10.37: a day's log of a workstation, in chunks. `queryFormat.rowindex` is
//! the chunk, `pagesize` its length in base64 characters (at most 20,000,
//! decision 12); the answer's `rowindex`/`total` are the chunk and the number
//! of chunks. Every chunk is the base64 of whole 3-byte groups, so the
//! chunks' `PageData` decoded one by one, or concatenated and decoded once,
//! give the file.
//!
//! The first call names the log (`LogType`, `WorkstationNo`,
//! `LogDirectory`, `LogDate`) and gets a `FileName`
//! (`{LogType}_{WorkstationNo}_{yyyyMMdd}.log`) that the next calls send
//! instead. Neither is ever a path: the name is parsed back into the three
//! parts and the workstation is looked up. A site workstation's logs come
//! from its agent (`logs.read`, read in the agent's own log directory); the
//! interface's own (`Y`) from the directory in `ONECARD_LOG_DIR`. An agent
//! that cannot be reached, a directory that is not the workstation's, or no
//! log directory configured answers `FileExists` 1.

use super::system::{self, LogType, API_LOG_DIRECTORY, API_WORKSTATION};
use onecard_core::kit::{Respond, Text};
use onecard_core::link::logs::{self, Found, LogChunk, ReadLog};
use onecard_core::request::Reply;
use onecard_core::sitelink::Command;
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Where the interface's own log files are (the server's stdout rotated by
/// the service manager, one file a day with the date in its name).
pub const LOG_DIR_ENV: &str = "ONECARD_LOG_DIR";

/// A chunk's default and largest length in characters (decision 12).
pub const MAX_CHUNK_CHARS: usize = 20_000;

/// How long an agent has to read a chunk.
const AGENT_TIMEOUT: Duration = Duration::from_secs(10);

/// 10.37 input.
#[derive(Deserialize, JsonSchema)]
pub struct LogIn {
    /// J, Z, C or Y; may be empty once `FileName` is known.
    #[serde(rename = "LogType")]
    pub log_type: Option<Text>,
    #[serde(rename = "WorkstationNo")]
    pub workstation: Option<Text>,
    /// The workstation's directory as 10.36 lists it.
    #[serde(rename = "LogDirectory")]
    pub directory: Option<Text>,
    /// yyyy-MM-dd.
    #[serde(rename = "LogDate")]
    pub date: Option<Text>,
    /// Empty on the first call; then the name the previous call answered.
    #[serde(rename = "FileName")]
    pub file: Option<Text>,
}

/// 10.37 output with the chunk position for the envelope.
#[derive(Serialize, JsonSchema)]
pub struct LogOut {
    #[serde(rename = "FileExists")]
    pub file_exists: &'static str,
    #[serde(rename = "FileName")]
    pub file_name: String,
    #[serde(rename = "PageData")]
    pub page_data: String,
}

/// The chunk and the envelope's (rowindex, total).
pub struct LogReply {
    pub out: LogOut,
    pub chunk: usize,
    pub chunks: usize,
}

impl Respond for LogReply {
    fn into_reply(self) -> ApiResult<Reply> {
        let data = serde_json::to_value(&self.out).map_err(ApiError::system)?;
        Ok(Reply { data, page: Some((self.chunk, self.chunks)), message: None })
    }
}

impl JsonSchema for LogReply {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        LogOut::schema_name()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        LogOut::json_schema(g)
    }
}

/// Which log: the parts of a file name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogName {
    pub log_type: LogType,
    pub workstation: String,
    /// yyyy-MM-dd.
    pub date: String,
}

impl LogName {
    pub fn file_name(&self) -> String {
        format!("{}_{}_{}.log", self.log_type.code(), self.workstation, self.date.replace('-', ""))
    }

    /// Reads a name this route answered; anything else is refused.
    pub fn parse(name: &str) -> Option<LogName> {
        let stem = name.trim().strip_suffix(".log")?;
        let (head, day) = stem.rsplit_once('_')?;
        let (t, ws) = head.split_once('_')?;
        let log_type = LogType::parse(t)?;
        let date = chrono::NaiveDate::parse_from_str(day, "%Y%m%d").ok()?.format("%Y-%m-%d").to_string();
        let ok = ws == API_WORKSTATION || system::check_no(ws).is_ok();
        ok.then(|| LogName { log_type, workstation: ws.to_string(), date })
    }
}

fn text(t: &Option<Text>) -> Option<&str> {
    t.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Directories compare as operators type them: case, slashes and a trailing
/// separator aside.
fn same_directory(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.trim().replace('/', "\\").trim_end_matches('\\').to_lowercase();
    norm(a) == norm(b)
}

/// Where the log is read: the cloud's own directory or a site agent, or
/// nowhere (`FileExists` 1).
enum Source {
    Cloud,
    Agent(String),
    Unreachable,
}

async fn source(ctx: &Ctx, branch: &str, name: &LogName, directory: Option<&str>) -> ApiResult<Source> {
    if name.log_type == LogType::Y {
        let ok = name.workstation == API_WORKSTATION && directory.is_none_or(|d| same_directory(d, API_LOG_DIRECTORY));
        return Ok(if ok { Source::Cloud } else { Source::Unreachable });
    }
    let w = system::workstation(ctx.store(), branch, &name.workstation)
        .await?
        .ok_or_else(|| ApiError::field("WorkstationNo", format!("workstation {} does not exist (see 10.36)", name.workstation)))?;
    if w.log_type != name.log_type {
        return Err(ApiError::field("LogType", format!("workstation {} keeps {} logs", w.no, w.log_type.code())));
    }
    Ok(match directory {
        Some(d) if !same_directory(d, &w.log_dir) => Source::Unreachable,
        _ => Source::Agent(w.agent),
    })
}

/// The log the request names: from `FileName`, or from the first call's fields.
async fn log_name(ctx: &Ctx, branch: &str, i: &LogIn) -> ApiResult<LogName> {
    if let Some(f) = text(&i.file) {
        let n = LogName::parse(f).ok_or_else(|| ApiError::field("FileName", format!("'{f}' is not a name this interface answered")))?;
        if text(&i.log_type).is_some_and(|t| LogType::parse(t) != Some(n.log_type)) {
            return Err(ApiError::field("LogType", "differs from FileName's"));
        }
        return Ok(n);
    }
    let t = text(&i.log_type).ok_or_else(|| ApiError::missing("LogType"))?;
    let log_type = LogType::parse(t).ok_or_else(|| ApiError::field("LogType", format!("'{t}' is not J, Z, C or Y")))?;
    let d = text(&i.date).ok_or_else(|| ApiError::missing("LogDate"))?;
    let date = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| ApiError::field("LogDate", format!("'{d}' is not yyyy-MM-dd")))?;
    let dir = text(&i.directory).ok_or_else(|| ApiError::missing("LogDirectory"))?;
    let workstation = match (log_type, text(&i.workstation)) {
        (LogType::Y, _) => API_WORKSTATION.to_string(),
        (_, Some(w)) => w.to_string(),
        // The seed makes the number optional: the directory then names it.
        (_, None) => system::workstations(ctx.store(), branch)
            .await?
            .into_iter()
            .find(|w| w.log_type == log_type && same_directory(&w.log_dir, dir))
            .map(|w| w.no)
            .ok_or_else(|| ApiError::field("WorkstationNo", format!("no {t} workstation keeps its logs in '{dir}'")))?,
    };
    Ok(LogName { log_type, workstation, date: date.format("%Y-%m-%d").to_string() })
}

async fn read_chunk(ctx: &Ctx, branch: &str, src: Source, read: ReadLog) -> LogChunk {
    let none = |found| LogChunk { found, size: 0, data: String::new() };
    match src {
        Source::Unreachable => none(Found::NoDirectory),
        Source::Cloud => match std::env::var_os(LOG_DIR_ENV) {
            Some(dir) => logs::read(std::path::Path::new(&dir), &read),
            None => none(Found::NoDirectory),
        },
        Source::Agent(agent) => {
            let cmd = Command {
                id: format!("log-{}", uuid::Uuid::new_v4().simple()),
                device: agent.clone(),
                action: logs::ACTION.to_string(),
                params: serde_json::to_value(&read).unwrap_or_default(),
            };
            match ctx.sites.command(branch, cmd, AGENT_TIMEOUT).await {
                Ok(ack) if ack.ok => serde_json::from_str(&ack.message).unwrap_or_else(|e| {
                    tracing::warn!(agent, error = %e, "agent answered logs.read with something else");
                    none(Found::NoDirectory)
                }),
                Ok(ack) => {
                    tracing::info!(agent, code = ack.code, message = %ack.message, "agent refused logs.read");
                    none(Found::NoDirectory)
                }
                Err(e) => {
                    tracing::info!(agent, error = %e, "logs.read: agent not reachable");
                    none(Found::NoDirectory)
                }
            }
        }
    }
}

async fn get(ctx: Ctx, req: Req, i: LogIn) -> ApiResult<LogReply> {
    let b = req.branchno();
    let name = log_name(&ctx, b, &i).await?;
    let first_call = text(&i.file).is_none();
    let src = source(&ctx, b, &name, text(&i.directory).filter(|_| first_call)).await?;
    let q = req.query.unwrap_or(onecard_core::request::QueryFormat { rowindex: 0, pagesize: None });
    let chars = q.pagesize.unwrap_or(MAX_CHUNK_CHARS).clamp(4, MAX_CHUNK_CHARS);
    let bytes = chars / 4 * 3;
    let read = ReadLog { date: name.date.clone(), offset: (q.rowindex as u64).saturating_mul(bytes as u64), len: bytes };
    let chunk = read_chunk(&ctx, b, src, read).await;
    let chunks = if chunk.found == Found::Exists { (chunk.size as usize).div_ceil(bytes).max(1) } else { 0 };
    let file_name = if chunk.found == Found::Exists { name.file_name() } else { String::new() };
    Ok(LogReply { out: LogOut { file_exists: chunk.found.code(), file_name, page_data: chunk.data }, chunk: q.rowindex, chunks })
}

pub fn routes() -> Vec<onecard_core::kit::RouteDef> {
    vec![onecard_core::kit::read("pub.systemlog.get", get)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip_and_paths_are_refused() {
        let n = LogName { log_type: LogType::J, workstation: "WS0001".into(), date: "2018-09-18".into() };
        assert_eq!(n.file_name(), "J_WS0001_20180918.log");
        assert_eq!(LogName::parse(&n.file_name()), Some(n));
        for bad in ["../../etc/passwd", "J_WS_1_20180918.log", "J_..%2f_20180918.log", "X_WS1_20180918.log", "J_WS1_2018.log", "J_a/b_20180918.log"] {
            assert_eq!(LogName::parse(bad), None, "{bad}");
        }
        assert!(same_directory(r"\\192.168.1.101\ParkLog\", "//192.168.1.101/parklog"));
    }
}
