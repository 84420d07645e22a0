//! Site actions beyond the serial boards: face terminals (`face.distribute`,
//! `face.delete`), IBMS door points (`ibms.control`) and the kiosk's scan
//! notice (`kiosk.notice`). `handle` answers the commands it owns and leaves
//! the rest to the boards.
//!
//! Face terminals are the ones the cloud lists (`DoorRules::terminals`). With
//! `--sim` each is a virtual terminal that keeps the faces it was given and
//! answers like a real one; a terminal named in `--sim-silent` never answers,
//! and the command is acked 620 after the boards' retry time, as a silent
//! board is. Without `--sim` no terminal vendor's driver is built in, and the
//! command is refused as unsupported (the cloud reports it) rather than
//! pretended.

use crate::agent::Agent;
use onecard_core::link::{ack_code, action};
use onecard_core::sitelink::{Ack, Command};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

/// How long a silent virtual device keeps the command before 620.
const SILENT_AFTER: Duration = Duration::from_millis(1500);

/// The faces each virtual terminal holds.
#[derive(Default)]
pub struct SimTerminals {
    faces: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

impl SimTerminals {
    pub fn holds(&self, device: &str) -> Vec<String> {
        let g = self.faces.lock().unwrap_or_else(|p| p.into_inner());
        g.get(device).map(|s| s.iter().cloned().collect()).unwrap_or_default()
    }
}

static SIM: std::sync::OnceLock<SimTerminals> = std::sync::OnceLock::new();

pub fn sim_terminals() -> &'static SimTerminals {
    SIM.get_or_init(SimTerminals::default)
}

fn ack(cmd: &Command, code: i64, message: impl Into<String>) -> Ack {
    Ack { id: cmd.id.clone(), ok: code == ack_code::OK, code, message: message.into() }
}

fn text<'a>(p: &'a Value, k: &str) -> &'a str {
    p.get(k).and_then(Value::as_str).unwrap_or("")
}

/// `Some(ack)` for the commands this module owns.
pub async fn handle(agent: &Agent, cmd: &Command) -> Option<Ack> {
    match cmd.action.as_str() {
        action::FACE_DISTRIBUTE | action::FACE_DELETE => Some(face(agent, cmd).await),
        action::IBMS_CONTROL => Some(ibms(agent, cmd).await),
        action::KIOSK_NOTICE => Some(kiosk(agent, cmd).await),
        _ => None,
    }
}

async fn silent(agent: &Agent, cmd: &Command) -> Option<Ack> {
    if agent.cfg.sim && agent.cfg.sim_silent.contains(&cmd.device) {
        tokio::time::sleep(SILENT_AFTER).await;
        return Some(ack(cmd, ack_code::DEVICE_TIMEOUT, format!("device '{}' did not answer", cmd.device)));
    }
    None
}

async fn face(agent: &Agent, cmd: &Command) -> Ack {
    let known = agent.with_door_rules(|d| d.is_some_and(|d| d.terminals.iter().any(|t| t.device == cmd.device)));
    if !known {
        return ack(cmd, ack_code::UNKNOWN_DEVICE, format!("no face terminal '{}' at this site", cmd.device));
    }
    if !agent.cfg.sim {
        return ack(cmd, ack_code::UNSUPPORTED_ACTION, "no face terminal driver is configured at this agent");
    }
    if let Some(a) = silent(agent, cmd).await {
        return a;
    }
    let uuid = text(&cmd.params, "uuid");
    if uuid.is_empty() {
        return ack(cmd, ack_code::BAD_PARAMS, "uuid is required");
    }
    let mut g = sim_terminals().faces.lock().unwrap_or_else(|p| p.into_inner());
    let held = g.entry(cmd.device.clone()).or_default();
    if cmd.action == action::FACE_DISTRIBUTE {
        if text(&cmd.params, "pictureKey").is_empty() && text(&cmd.params, "pictureUrl").is_empty() {
            return ack(cmd, ack_code::BAD_PARAMS, "a face needs its picture");
        }
        held.insert(uuid.to_string());
        tracing::info!(terminal = %cmd.device, uuid, faces = held.len(), "face stored on terminal");
    } else {
        held.remove(uuid);
        tracing::info!(terminal = %cmd.device, uuid, faces = held.len(), "face removed from terminal");
    }
    ack(cmd, ack_code::OK, "ok")
}

/// An IBMS point is the door's relay held open (0 open) or released (1 close).
async fn ibms(agent: &Agent, cmd: &Command) -> Ack {
    let open = cmd.params.get("open").and_then(Value::as_bool).unwrap_or(false);
    let c = Command { id: cmd.id.clone(), device: cmd.device.clone(), action: action::DOOR_NORMALOPEN.into(), params: serde_json::json!({ "on": open }) };
    agent.devices.execute(&c).await
}

async fn kiosk(agent: &Agent, cmd: &Command) -> Ack {
    if !agent.cfg.sim {
        return ack(cmd, ack_code::UNSUPPORTED_ACTION, "no kiosk is configured at this agent");
    }
    if let Some(a) = silent(agent, cmd).await {
        return a;
    }
    tracing::info!(kiosk = %cmd.device, params = %cmd.params, "kiosk told of a scan");
    ack(cmd, ack_code::OK, "ok")
}

/// The agent-protocol uplink a recognition record travels by (the cloud's
/// `people::recognition::UPLINK`).
pub const RECOGNITION_UPLINK: &str = "cat.face.record";

/// A terminal's recognition: checked (a terminal the cloud lists, a
/// similarity) and queued durably for the cloud, which keeps it (10.39) and
/// pushes it (10.54). Pictures travel inside the record only as far as the
/// cloud, which moves them to the blob store.
pub async fn on_recognition(agent: &Agent, mut v: Value) -> crate::doors_offline::DoorAnswer {
    let answer = |ok: bool, reason: &str| crate::doors_offline::DoorAnswer { ok, open: false, reason: reason.into() };
    let device = v.get("deviceID").or_else(|| v.get("controllerNo")).and_then(Value::as_str).unwrap_or_default().to_string();
    let known = agent.with_door_rules(|d| d.is_some_and(|d| d.terminals.iter().any(|t| t.device == device)));
    if !known {
        return answer(false, &format!("no face terminal '{device}' at this site"));
    }
    if v.get("similarity").is_none() {
        return answer(false, "similarity is required");
    }
    let now = crate::now_local();
    // The cloud reads one spelling; a terminal may send either.
    if let Some(m) = v.as_object_mut() {
        m.remove("deviceID");
    }
    v["controllerNo"] = Value::from(device.clone());
    if v.get("time").and_then(Value::as_str).is_none_or(str::is_empty) {
        v["time"] = Value::from(crate::now_text());
    }
    if v.get("threshold").is_none() {
        v["threshold"] = Value::from(80.0);
    }
    v["id"] = Value::from(format!("{device}-{}-{:08x}", now.format("%Y%m%d%H%M%S%3f"), rand::random::<u32>()));
    if agent.record_upload(RECOGNITION_UPLINK, v) {
        tracing::info!(terminal = %device, "recognition queued");
        answer(true, "queued")
    } else {
        answer(false, "not recorded (outbox)")
    }
}
