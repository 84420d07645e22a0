//! The `logs.read` command (10.37): a chunk of this site's logs of one day,
//! from the agent's own log directory (`<data dir>/logs`, where the agent's
//! log output and the workstation software's log files are kept). The
//! directory is the agent's choice, never the caller's; see
//! `onecard_core::link::logs` for what a request can reach.

use onecard_core::link::{ack_code, logs};
use onecard_core::sitelink::{Ack, Command};
use std::path::{Path, PathBuf};

/// The whitelisted log directory under the agent's data dir.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("logs")
}

/// Answers a `logs.read` addressed to this agent (`device` = its id); a
/// command for another agent answers "unknown device", so the cloud asks
/// the next one.
pub fn serve(data_dir: &Path, agent_id: &str, cmd: &Command) -> Ack {
    let ack = |ok, code, message: String| Ack { id: cmd.id.clone(), ok, code, message };
    if cmd.device != agent_id {
        return ack(false, ack_code::UNKNOWN_DEVICE, format!("this is agent '{agent_id}', not '{}'", cmd.device));
    }
    let req: logs::ReadLog = match serde_json::from_value(cmd.params.clone()) {
        Ok(r) => r,
        Err(e) => return ack(false, ack_code::BAD_PARAMS, format!("logs.read: {e}")),
    };
    let chunk = logs::read(&log_dir(data_dir), &req);
    match serde_json::to_string(&chunk) {
        Ok(m) => ack(true, ack_code::OK, m),
        Err(e) => ack(false, ack_code::DEVICE_REFUSED, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use serde_json::json;

    #[test]
    fn answers_its_own_chunks_and_passes_on_others() {
        let dir = std::env::temp_dir().join(format!("agent-logs-{}", std::process::id()));
        std::fs::create_dir_all(log_dir(&dir)).unwrap();
        std::fs::write(log_dir(&dir).join("J_2026-11-29.log"), "入场 粤B12345\n").unwrap();
        let cmd = |device: &str, params| Command { id: "c1".into(), device: device.into(), action: logs::ACTION.into(), params };
        let a = serve(&dir, "A1", &cmd("A1", json!({"date": "2026-11-29", "offset": 0, "len": 100})));
        assert!(a.ok, "{}", a.message);
        let c: logs::LogChunk = serde_json::from_str(&a.message).unwrap();
        let bytes = base64::engine::general_purpose::STANDARD.decode(c.data).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), "入场 粤B12345\n");
        assert_eq!(serve(&dir, "A1", &cmd("A2", json!({}))).code, ack_code::UNKNOWN_DEVICE);
        assert_eq!(serve(&dir, "A1", &cmd("A1", json!({"date": 5}))).code, ack_code::BAD_PARAMS);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
