//! The agent's devices by id, and turning a cloud `Command` into board frames.

use crate::config::{DeviceKind, DeviceSpec};
use crate::door::Door;
use crate::frame::{relay, Payload, TextLine};
use crate::serial_driver::{Board, BoardConfig, DeviceError};
use crate::sim::{SimBoard, SimLog};
use onecard_core::link::{self, action, ack_code};
use onecard_core::sitelink::{Ack, Command};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Flash wears out: one fixed-text write per line per this long.
pub const FIXED_TEXT_MIN_GAP: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Device {
    pub spec: DeviceSpec,
    pub board: Board,
}

/// Called when a device stays silent or its port fails, to report a fault.
pub type FaultHook = Arc<dyn Fn(&DeviceSpec, &DeviceError) + Send + Sync>;

#[derive(Default)]
struct FixedState {
    last: HashMap<(String, u8), Instant>,
    waiting: HashMap<(String, u8), String>,
}

pub struct Devices {
    by_id: Mutex<HashMap<String, Device>>,
    sims: Mutex<Vec<SimBoard>>,
    sim: Option<SimLog>,
    sim_silent: Vec<String>,
    tries: u32,
    window: Duration,
    fault: Mutex<Option<FaultHook>>,
    fixed: Arc<Mutex<FixedState>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn params<T: DeserializeOwned + Default>(v: &Value) -> Result<T, String> {
    if v.is_null() {
        return Ok(T::default());
    }
    // Some clouds send params as a JSON string.
    let v = match v {
        Value::String(s) => serde_json::from_str(s).map_err(|e| e.to_string())?,
        v => v.clone(),
    };
    serde_json::from_value(v).map_err(|e| e.to_string())
}

fn ack(cmd: &Command, code: i64, message: impl Into<String>) -> Ack {
    Ack { id: cmd.id.clone(), ok: code == ack_code::OK, code, message: message.into() }
}

impl Devices {
    /// `sim`: Some(log) replaces every serial port with a virtual board.
    pub fn new(sim: Option<SimLog>, sim_silent: Vec<String>, tries: u32, window: Duration) -> Arc<Devices> {
        Arc::new(Devices {
            by_id: Mutex::new(HashMap::new()),
            sims: Mutex::new(Vec::new()),
            sim,
            sim_silent,
            tries,
            window,
            fault: Mutex::new(None),
            fixed: Arc::new(Mutex::new(FixedState::default())),
        })
    }

    pub fn set_fault_hook(&self, hook: FaultHook) {
        *lock(&self.fault) = Some(hook);
    }

    /// Adds (or replaces) a device. With the simulator, its port becomes a fresh
    /// pseudo-terminal whose board answers like a real one.
    pub fn add(&self, mut spec: DeviceSpec) -> std::io::Result<()> {
        if let Some(log) = &self.sim {
            let silent = spec.silent || self.sim_silent.contains(&spec.id);
            let sb = SimBoard::spawn(&spec.id, spec.address, silent, log.clone())?;
            spec.port = sb.path.to_string_lossy().into_owned();
            lock(&self.sims).push(sb);
        }
        let shared_line = lock(&self.by_id).values().find(|d| d.spec.port == spec.port).map(|d| d.board.with_address(spec.address));
        let board = match shared_line {
            Some(b) => b,
            None => {
                let mut bc = BoardConfig::new(&spec.port, spec.baud, spec.address);
                bc.tries = self.tries;
                bc.reply_window = self.window;
                Board::start(bc)
            }
        };
        tracing::info!(device = %spec.id, port = %spec.port, kind = ?spec.kind, "device ready");
        lock(&self.by_id).insert(spec.id.clone(), Device { spec, board });
        Ok(())
    }

    pub fn has(&self, id: &str) -> bool {
        lock(&self.by_id).contains_key(id)
    }

    pub fn get(&self, id: &str) -> Option<Device> {
        lock(&self.by_id).get(id).cloned()
    }

    /// A device by id or by the controller number it serves.
    pub fn find(&self, id_or_controller: &str) -> Option<Device> {
        let m = lock(&self.by_id);
        m.get(id_or_controller)
            .or_else(|| m.values().find(|d| !d.spec.controller_no.is_empty() && d.spec.controller_no == id_or_controller))
            .cloned()
    }

    pub fn ids(&self) -> Vec<String> {
        let mut v: Vec<String> = lock(&self.by_id).keys().cloned().collect();
        v.sort();
        v
    }

    /// Sends one payload, reporting a fault when the board does not answer.
    pub async fn send(&self, dev: &Device, p: &Payload) -> Result<(), DeviceError> {
        let res = dev.board.send(p).await;
        if let Err(e) = &res {
            if !matches!(e, DeviceError::Refused(_)) {
                let hook = lock(&self.fault).clone();
                if let Some(h) = hook {
                    h(&dev.spec, e);
                }
            }
        }
        res
    }

    /// Runs a cloud command and says how it went. Never fails: every problem is
    /// an ack code.
    pub async fn execute(self: &Arc<Self>, cmd: &Command) -> Ack {
        let Some(dev) = self.find(&cmd.device) else {
            return ack(cmd, ack_code::UNKNOWN_DEVICE, format!("no device '{}' at this agent", cmd.device));
        };
        let is_door = dev.spec.kind == DeviceKind::Door;
        let payload: Result<Payload, Ack> = match cmd.action.as_str() {
            action::GATE_OPEN | action::GATE_CLOSE if !is_door => params::<link::GateParams>(&cmd.params)
                .map(|p| Payload::Relay {
                    channel: if cmd.action == action::GATE_OPEN { relay::OPEN } else { relay::CLOSE },
                    seconds: p.seconds.unwrap_or(0),
                })
                .map_err(|e| ack(cmd, ack_code::BAD_PARAMS, e)),
            action::GATE_PEAKMODE if !is_door => params::<link::PeakMode>(&cmd.params)
                .map(|p| Payload::Relay { channel: if p.on { relay::HOLD_OPEN } else { relay::RELEASE }, seconds: 0 })
                .map_err(|e| ack(cmd, ack_code::BAD_PARAMS, e)),
            action::LED_TEMP if !is_door => params::<link::LedTemp>(&cmd.params)
                .map(|p| Payload::TempText { line: p.line, color: p.color, seconds: p.seconds, text: p.text })
                .map_err(|e| ack(cmd, ack_code::BAD_PARAMS, e)),
            action::LED_FIXED if !is_door => match params::<link::LedFixed>(&cmd.params) {
                Ok(p) => return self.fixed_text(cmd, dev, p.line, p.text).await,
                Err(e) => Err(ack(cmd, ack_code::BAD_PARAMS, e)),
            },
            action::VOICE if !is_door => params::<link::Voice>(&cmd.params)
                .map(|p| Payload::Voice { opt: p.opt.min(2), text: p.text })
                .map_err(|e| ack(cmd, ack_code::BAD_PARAMS, e)),
            action::ALLINONE if !is_door => params::<link::AllInOne>(&cmd.params)
                .map(|p| Payload::Multi {
                    lines: p.lines.into_iter().map(|l| TextLine { line: l.line, color: l.color, seconds: l.seconds, text: l.text }).collect(),
                    voice: p.voice,
                })
                .map_err(|e| ack(cmd, ack_code::BAD_PARAMS, e)),
            action::TIME_SYNC if !is_door => params::<link::TimeSync>(&cmd.params)
                .map(|p| time_sync_payload(&p.time))
                .map_err(|e| ack(cmd, ack_code::BAD_PARAMS, e)),
            action::FREESPACE if !is_door => params::<link::FreeSpace>(&cmd.params)
                .map(|p| Payload::FreeSpace { count: p.count.min(u16::MAX as u32) as u16 })
                .map_err(|e| ack(cmd, ack_code::BAD_PARAMS, e)),
            action::GUIDE_SCREEN if !is_door => params::<link::GuideScreen>(&cmd.params)
                .map(|p| crate::guidance_screen::payload(&p))
                .map_err(|e| ack(cmd, ack_code::BAD_PARAMS, e)),
            action::DOOR_OPEN if is_door => match params::<link::DoorParams>(&cmd.params) {
                Ok(p) => return self.door_result(cmd, &dev, Door::new(dev.board.clone()).open(p.seconds).await),
                Err(e) => Err(ack(cmd, ack_code::BAD_PARAMS, e)),
            },
            action::DOOR_NORMALOPEN if is_door => match params::<link::DoorNormalOpen>(&cmd.params) {
                Ok(p) => return self.door_result(cmd, &dev, Door::new(dev.board.clone()).normal_open(p.on).await),
                Err(e) => Err(ack(cmd, ack_code::BAD_PARAMS, e)),
            },
            a if a.starts_with(action::INTERCOM_PREFIX) => {
                Err(ack(cmd, ack_code::UNSUPPORTED_ACTION, "no intercom unit is configured at this agent"))
            }
            a => Err(ack(cmd, ack_code::UNSUPPORTED_ACTION, format!("device '{}' does not support '{a}'", dev.spec.id))),
        };
        match payload {
            Err(a) => a,
            Ok(p) => match self.send(&dev, &p).await {
                Ok(()) => ack(cmd, ack_code::OK, "ok"),
                Err(e) => ack(cmd, e.ack_code(), e.to_string()),
            },
        }
    }

    fn door_result(&self, cmd: &Command, dev: &Device, r: Result<(), DeviceError>) -> Ack {
        match r {
            Ok(()) => ack(cmd, ack_code::OK, "ok"),
            Err(e) => {
                if !matches!(e, DeviceError::Refused(_)) {
                    if let Some(h) = lock(&self.fault).clone() {
                        h(&dev.spec, &e);
                    }
                }
                ack(cmd, e.ack_code(), e.to_string())
            }
        }
    }

    /// Writes fixed text at most once per line per `FIXED_TEXT_MIN_GAP`; a write
    /// inside the gap is deferred and only the newest deferred text is written.
    async fn fixed_text(self: &Arc<Self>, cmd: &Command, dev: Device, line: u8, text: String) -> Ack {
        let key = (dev.spec.id.clone(), line);
        let wait = {
            let mut st = lock(&self.fixed);
            let last = st.last.get(&key).copied();
            match last {
                Some(t) if t.elapsed() < FIXED_TEXT_MIN_GAP => {
                    let first = st.waiting.insert(key.clone(), text.clone()).is_none();
                    Some((FIXED_TEXT_MIN_GAP.saturating_sub(t.elapsed()), first))
                }
                _ => {
                    st.last.insert(key.clone(), Instant::now());
                    None
                }
            }
        };
        match wait {
            None => match self.send(&dev, &Payload::FixedText { line, text }).await {
                Ok(()) => ack(cmd, ack_code::OK, "ok"),
                Err(e) => ack(cmd, e.ack_code(), e.to_string()),
            },
            Some((delay, first)) => {
                if first {
                    let me = Arc::clone(self);
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let text = {
                            let mut st = lock(&me.fixed);
                            st.last.insert(key.clone(), Instant::now());
                            st.waiting.remove(&key)
                        };
                        if let Some(text) = text {
                            if let Err(e) = me.send(&dev, &Payload::FixedText { line, text }).await {
                                tracing::warn!(device = %dev.spec.id, error = %e, "deferred fixed text failed");
                            }
                        }
                    });
                }
                ack(cmd, ack_code::OK, "deferred")
            }
        }
    }
}

pub fn time_sync_payload(time: &str) -> Payload {
    use chrono::Datelike;
    let t = onecard_core::time::parse(time).unwrap_or_else(crate::now_local);
    Payload::TimeSync { time: onecard_core::time::format(t), weekday: t.weekday().num_days_from_sunday() as u8 }
}
