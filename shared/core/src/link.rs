//! The cloud ↔ agent link: JSON text frames over one WebSocket per agent.
//! Both sides use these types, so a field renamed here is renamed on both ends.
//! `agent/PROTOCOL.md` describes the exchange in prose.
//!
//! Every frame is one JSON object with a `type` tag. Receivers ignore frames whose
//! `type` they do not know (see [`decode`]), so either side can add messages
//! without breaking an older peer.

use crate::config::Controller;
use crate::sitelink::{Ack, Command};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

pub mod logs;
pub mod doors;
pub mod sync;

/// Bumped only for changes an older peer cannot ignore. 2: door cards,
/// blacklist rows and locked plates travel in sync buckets (`sync`), no
/// longer inside `doors` and `lanes`; the cloud refuses a hello of an older
/// protocol, whose agent would hold a configuration without them.
pub const PROTOCOL_VERSION: u32 = 2;

/// Agent heartbeat interval. Far below API Gateway's 10-minute idle cut-off so a
/// lost heartbeat or two still keeps the connection alive.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);
/// API Gateway closes any WebSocket after 2 h. The agent reconnects on its own
/// before then, at a moment it chooses, instead of being cut mid-command.
pub const MAX_CONNECTION_AGE: Duration = Duration::from_secs(2 * 60 * 60);
pub const PLANNED_RECONNECT_AFTER: Duration = Duration::from_secs(110 * 60);
/// Reconnect backoff ceiling (exponential with jitter below it).
pub const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// How long the agent waits for the cloud's answer at a lane before deciding
/// offline: a driver will not wait longer in front of a closed gate.
pub const DECISION_TIMEOUT: Duration = Duration::from_secs(2);
/// The peer is taken as gone after this long without any frame from it.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(90);
/// API Gateway refuses WebSocket frames over 32 KiB (and closes the socket),
/// so no sender on either side may produce a bigger one.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;
/// What a `siteconfig` chunk aims at: well below the limit, so a plate with a
/// long area list cannot push a frame over it.
pub const CHUNK_BUDGET: usize = 24 * 1024;

/// Device actions the cloud sends in [`Command::action`]. Parameter structs
/// below describe each one's `params`.
pub mod action {
    /// params: [`super::GateParams`] (optional).
    pub const GATE_OPEN: &str = "gate.open";
    pub const GATE_CLOSE: &str = "gate.close";
    /// params: [`super::LedTemp`].
    pub const LED_TEMP: &str = "led.temp";
    /// params: [`super::LedFixed`]. Written to the board's flash, so the agent
    /// rate-limits it.
    pub const LED_FIXED: &str = "led.fixed";
    /// params: [`super::Voice`].
    pub const VOICE: &str = "voice";
    /// params: [`super::AllInOne`].
    pub const ALLINONE: &str = "allinone";
    /// params: [`super::PeakMode`].
    pub const GATE_PEAKMODE: &str = "gate.peakmode";
    /// Intercom actions share this prefix (`intercom.call`, `intercom.answer`,
    /// `intercom.hangup`); params are passed through to the intercom unit.
    pub const INTERCOM_PREFIX: &str = "intercom.";
    pub const INTERCOM_CALL: &str = "intercom.call";
    pub const INTERCOM_ANSWER: &str = "intercom.answer";
    pub const INTERCOM_HANGUP: &str = "intercom.hangup";
    /// params: [`super::DoorParams`] (optional).
    pub const DOOR_OPEN: &str = "door.open";
    /// params: [`super::DoorNormalOpen`].
    pub const DOOR_NORMALOPEN: &str = "door.normalopen";
    /// params: [`super::TimeSync`] (optional; absent = the agent's clock).
    pub const TIME_SYNC: &str = "time.sync";
    /// params: [`super::FreeSpace`].
    pub const FREESPACE: &str = "freespace";
    /// params: [`super::GuideScreen`]: a parking guidance screen (8.23).
    pub const GUIDE_SCREEN: &str = "guide.screen";
    /// Face terminals (`face.distribute`: params `{uuid, userNo, name, pictureUrl}`;
    /// `face.delete`: `{uuid}`), 7.14's IBMS point control (`ibms.control`:
    /// `{open}`) and the kiosk's scan notice (`kiosk.notice`: `{qrcodeType}`).
    pub const FACE_DISTRIBUTE: &str = "face.distribute";
    pub const FACE_DELETE: &str = "face.delete";
    pub const IBMS_CONTROL: &str = "ibms.control";
    pub const KIOSK_NOTICE: &str = "kiosk.notice";

    pub const ALL: &[&str] = &[
        GATE_OPEN,
        GATE_CLOSE,
        LED_TEMP,
        LED_FIXED,
        VOICE,
        ALLINONE,
        GATE_PEAKMODE,
        INTERCOM_CALL,
        INTERCOM_ANSWER,
        INTERCOM_HANGUP,
        DOOR_OPEN,
        DOOR_NORMALOPEN,
        TIME_SYNC,
        FREESPACE,
        GUIDE_SCREEN,
        FACE_DISTRIBUTE,
        FACE_DELETE,
        IBMS_CONTROL,
        KIOSK_NOTICE,
    ];
}

/// Site routes the agent calls through [`Uplink`].
pub mod route {
    pub const UPLOAD_INDATA: &str = "cat.upload.indata";
    pub const UPLOAD_OUTDATA: &str = "cat.upload.outdata";
    pub const PASS_VALIDATE: &str = "cat.pass.validate";
    pub const CAR_INOUT_NOTICE: &str = "cat.car.inout.notice";
    pub const GATE_STATE_NOTICE: &str = "cat.gate.state.notice";
    pub const GATE_FAULT: &str = "cat.park.gateFault";
    /// Decisions the agent took while the cloud was unreachable.
    pub const OFFLINE_DECISION: &str = "cat.offline.decision";
}

/// Ack codes the agent uses (besides 200).
pub mod ack_code {
    pub const OK: i64 = 200;
    /// The device stayed silent after every retry.
    pub const DEVICE_TIMEOUT: i64 = 620;
    /// The device answered with a non-zero ACK byte.
    pub const DEVICE_REFUSED: i64 = 500;
    pub const UNKNOWN_DEVICE: i64 = 404;
    pub const UNSUPPORTED_ACTION: i64 = 501;
    pub const BAD_PARAMS: i64 = 100001;
}

// ---------------------------------------------------------------- frames

/// Everything that crosses the link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Msg {
    /// agent → cloud, first frame.
    Hello(Hello),
    /// cloud → agent: hello accepted.
    Welcome(Welcome),
    /// cloud → agent: hello refused; the cloud closes the socket after it.
    Refused(Refused),
    /// either way; the other side answers with `pong` carrying the same `seq`.
    Ping(Beat),
    Pong(Beat),
    /// cloud → agent: do something on a device.
    Command(Command),
    /// agent → cloud: the result of a command.
    Ack(Ack),
    /// agent → cloud: call a site route.
    Uplink(Uplink),
    /// cloud → agent: the route's response envelope.
    Reply(Reply),
    /// cloud → agent: the branch's controllers, monthly-card plates and offline
    /// policy. Sent after `welcome` and again whenever any of them changes.
    #[serde(rename = "siteconfig")]
    SiteConfig(SiteConfig),
    /// agent → cloud: "my copy does not add up, send me everything" (a delta
    /// whose result does not match its version).
    Resync(Resync),
    /// either way: "I am closing on purpose" (planned reconnect, shutdown).
    Bye(Bye),
}

/// Authentication, chapter 5 style: `sign = base64(HMAC-SHA1(secret,
/// sorted(agentId, timestamp, nonce) concatenated + branch))` where secret is the
/// site agent's secret. The branch stands in for the request's data text so a
/// signature for one car park cannot be replayed against another.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hello {
    pub branch: String,
    pub agent_id: String,
    /// `yyyy-MM-dd HH:mm:ss`, branch-local time.
    pub timestamp: String,
    pub nonce: String,
    pub sign: String,
    #[serde(default)]
    pub version: u32,
    /// The agent's software build, for the operators.
    #[serde(default)]
    pub software: String,
    /// Version of the site configuration the agent holds (empty: none). Not
    /// signed: a wrong value costs only a full resend.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub config_version: String,
}

impl Hello {
    pub fn signing_string(&self) -> String {
        crate::sign::signing_string(&self.agent_id, &self.timestamp, &self.nonce, &self.branch)
    }

    pub fn new_signed(branch: &str, agent_id: &str, timestamp: &str, nonce: &str, secret: &str) -> Hello {
        let mut h = Hello {
            branch: branch.into(),
            agent_id: agent_id.into(),
            timestamp: timestamp.into(),
            nonce: nonce.into(),
            sign: String::new(),
            version: PROTOCOL_VERSION,
            software: String::new(),
            config_version: String::new(),
        };
        h.sign = crate::sign::sign(secret, &h.signing_string());
        h
    }

    /// Signature only; the cloud also checks the timestamp's skew and that the
    /// (branch, agent) pair is enabled.
    pub fn verify(&self, secret: &str) -> bool {
        crate::sign::verify(secret, &self.signing_string(), &self.sign)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Welcome {
    pub branch: String,
    pub agent_id: String,
    /// `yyyy-MM-dd HH:mm:ss`, branch-local; lets the agent see clock skew.
    #[serde(default)]
    pub server_time: String,
    /// Overrides the agent's heartbeat interval when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_secs: Option<u64>,
    /// The cloud's id for this connection, for logs on both sides.
    #[serde(default)]
    pub session: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Refused {
    /// 100003 bad signature / unknown agent, 403 agent disabled, 100001 malformed.
    pub code: i64,
    #[serde(default)]
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct Beat {
    #[serde(default)]
    pub seq: u64,
    /// Sender's clock, `yyyy-MM-dd HH:mm:ss`.
    #[serde(default)]
    pub time: String,
}

/// A site route call. The cloud runs `route` as a request from this agent's
/// branch (`branchno` = the hello's branch, `from` = the agent id), trusting the
/// authenticated connection instead of a per-message signature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Uplink {
    /// Unique per agent; the reply carries it back. Uploads keep the same id
    /// across resends, so a cloud may also use it to spot repeats.
    pub id: String,
    pub route: String,
    #[serde(default)]
    pub data: Value,
}

/// The chapter 5 response envelope plus the uplink's id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub id: String,
    pub status: bool,
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub time: String,
    #[serde(default)]
    pub data: Value,
}

impl Reply {
    /// Builds the reply from a response envelope (`envelope::response`).
    pub fn from_envelope(id: &str, env: &Value) -> Reply {
        Reply {
            id: id.to_string(),
            status: env.get("status").and_then(Value::as_bool).unwrap_or(false),
            code: env.get("code").and_then(Value::as_i64).unwrap_or(crate::Code::SYSTEM.0),
            message: env.get("message").and_then(Value::as_str).unwrap_or_default().to_string(),
            time: env.get("time").and_then(Value::as_str).unwrap_or_default().to_string(),
            data: env.get("data").cloned().unwrap_or(Value::Null),
        }
    }

    pub fn ok(&self) -> bool {
        self.status && self.code == crate::Code::OK.0
    }
}

/// One frame of a site configuration sync (`sync` module). A branch with
/// 20,000 monthly plates does not fit one 32 KiB frame, so a sync is `parts`
/// frames sharing one `version`, applied when the last one arrived; and once
/// the agent holds a copy, a change is sent as a `delta` that replaces only the
/// plate buckets (`sync::bucket_of`) whose content changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SiteConfig {
    /// Digest of the whole configuration after this sync (`sync::SiteState::version`).
    #[serde(default)]
    pub version: String,
    /// Carried by the first part only.
    #[serde(default)]
    pub controllers: Vec<Controller>,
    /// Plates whose monthly card is valid now or later. Normalised as
    /// `fields::normalize_plate` does. In a chunked sync, this part's share.
    #[serde(default)]
    pub monthly_plates: Vec<MonthlyPlate>,
    /// Offline policy for temporary cars at entrances and exits (first part).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<OfflinePolicy>,
    /// Blacklist entries and locked plates the lanes honour offline (first
    /// part). Absent from an older cloud, and then nothing is refused for them.
    /// On the wire its `blacklist` and `locked` are empty: they travel in
    /// `blacklist` and `locked` below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lanes: Option<LaneRules>,
    /// Door access the site decides with, offline too (first part; `doors`).
    /// On the wire its `cards` are empty: they travel in `door_cards`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doors: Option<doors::DoorRules>,
    /// This part's share of the door cards (`sync` buckets); an assembled
    /// configuration holds them in `doors.cards` and leaves this empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub door_cards: Vec<doors::DoorCard>,
    /// This part's share of the blacklist rows (`sync` buckets); an assembled
    /// configuration holds them in `lanes.blacklist` and leaves this empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blacklist: Vec<BlackRow>,
    /// This part's share of the locked plates (`sync` buckets); an assembled
    /// configuration holds them in `lanes.locked` and leaves this empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locked: Vec<String>,
    /// 0-based index of this frame in its sync.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub part: u32,
    /// Frames in the sync; 0 (absent) reads as 1.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub parts: u32,
    /// false: the plates replace the agent's whole list. true: they replace
    /// only the buckets named in `buckets`, and the controllers and policy of
    /// the first part replace the agent's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delta: bool,
    /// The buckets a delta replaces (rows of other buckets are kept): plate
    /// buckets are 0..256, door cards 256..512, blacklist rows 512..768,
    /// locked plates 768..1024 (`sync::Kind`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<u32>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct Resync {
    /// The version the agent holds after giving up on the delta.
    #[serde(default)]
    pub version: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct MonthlyPlate {
    pub plate_no: String,
    /// `yyyy-MM-dd HH:mm:ss`; empty = no bound (and left out of the frame:
    /// with 20,000 plates every byte counts).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub valid_from: String,
    #[serde(default)]
    pub valid_to: String,
    /// Area ids the card is good for; empty = every area.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub areas: Vec<String>,
}

/// `allow`, `deny` or `manual` (the gate stays shut and the LED asks the driver
/// to wait for staff), as in `config::BranchSettings`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OfflinePolicy {
    pub entry: String,
    pub exit: String,
}

impl Default for OfflinePolicy {
    fn default() -> Self {
        OfflinePolicy { entry: "allow".into(), exit: "manual".into() }
    }
}

/// One blacklist row as the agent holds it: the car is refused entry while
/// the agent's clock (branch time) is within `start..=end`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct BlackRow {
    /// Normalised plate.
    pub plate: String,
    /// `yyyy-MM-dd HH:mm:ss`, branch-local, both ends inclusive.
    pub start: String,
    pub end: String,
    /// The text shown and said at the lane.
    #[serde(default)]
    pub hint: String,
}

/// What the lanes refuse without the cloud: blacklisted entries and exits of
/// locked cars.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct LaneRules {
    #[serde(default)]
    pub blacklist: Vec<BlackRow>,
    /// Normalised plates held at every exit. On the wire they travel in the
    /// sync's `locked` buckets, and this is empty.
    #[serde(default)]
    pub locked: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct Bye {
    #[serde(default)]
    pub reason: String,
}

// ---------------------------------------------------------------- command params

/// `gate.open` / `gate.close`: seconds the relay stays pulled (board default when
/// absent).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct GateParams {
    #[serde(default)]
    pub seconds: Option<u8>,
}

/// `led.temp`: a line shown for `seconds`, then the board's fixed text returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct LedTemp {
    /// 1-based line number.
    #[serde(default = "one")]
    pub line: u8,
    /// 1 red, 2 green, 3 yellow (the board's palette).
    #[serde(default = "one")]
    pub color: u8,
    #[serde(default = "five")]
    pub seconds: u8,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct LedFixed {
    #[serde(default = "one")]
    pub line: u8,
    pub text: String,
}

/// `voice`: `opt` 0 queue, 1 queue and play, 2 clear the queue and play now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct Voice {
    pub text: String,
    #[serde(default = "two")]
    pub opt: u8,
}

/// `allinone`: several temporary lines and one voice text in a single frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct AllInOne {
    #[serde(default)]
    pub lines: Vec<LedTemp>,
    #[serde(default)]
    pub voice: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct PeakMode {
    pub on: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct DoorParams {
    #[serde(default)]
    pub seconds: Option<u8>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct DoorNormalOpen {
    pub on: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct TimeSync {
    /// `yyyy-MM-dd HH:mm:ss`, branch-local.
    #[serde(default)]
    pub time: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct FreeSpace {
    pub count: u32,
}

/// A guidance screen's arrow and texts, in 8.23's terms: `arrow` 0-7
/// (right, left, up, down; +4 scrolling) or 0xFF none; `arrow_to_left` the
/// arrow's offset in characters (0 far left, 0xFF far right).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct GuideScreen {
    pub arrow: u8,
    #[serde(default)]
    pub arrow_to_left: Option<u8>,
    #[serde(default)]
    pub left: String,
    #[serde(default)]
    pub right: String,
}

fn one() -> u8 {
    1
}
fn two() -> u8 {
    2
}
fn five() -> u8 {
    5
}

// ---------------------------------------------------------------- pass decision

/// What the agent reads from a `cat.pass.validate` reply. The reading is lenient
/// so the cloud's handler may use any of the documented names.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PassAnswer {
    pub open: bool,
    pub hint_text: String,
    pub hint_voice: String,
    /// Fen-free text as the cloud sent it (e.g. "12.50").
    pub off_money: String,
    /// For exits: the entry record the cloud matched.
    pub card_in_id: Option<String>,
}

fn truthy(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_f64().map(|f| f != 0.0).unwrap_or(false)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "open" | "pass" => Some(true),
            "0" | "false" | "no" | "" | "close" | "deny" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn text_of(data: &Value, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| match data.get(*n) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::Number(x)) => Some(x.to_string()),
        _ => None,
    })
}

impl PassAnswer {
    /// The open decision is the first of `passFlag` (9.18's own name), `isPass`,
    /// `pass`, `open`, `isOpen` in `data` that reads as a boolean (true/false, 1/0, "1"/"0"); when none is
    /// present, a successful envelope (status true, code 200) means open.
    pub fn from_reply(reply: &Reply) -> PassAnswer {
        let d = &reply.data;
        let explicit = ["passFlag", "isPass", "pass", "open", "isOpen"].iter().find_map(|n| d.get(*n).and_then(truthy));
        PassAnswer {
            open: reply.ok() && explicit.unwrap_or(true),
            hint_text: text_of(d, &["hintText", "ledText", "text"]).unwrap_or_default(),
            hint_voice: text_of(d, &["hintVoice", "voiceText", "voice"]).unwrap_or_default(),
            off_money: text_of(d, &["offMoney", "payMoney", "money"]).unwrap_or_default(),
            card_in_id: text_of(d, &["cardInId", "cardinid"]),
        }
    }
}

// ---------------------------------------------------------------- coding

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("frame is not a JSON object with a string 'type'")]
    NotAFrame,
    /// A newer peer's message: log and ignore.
    #[error("unknown frame type '{0}'")]
    UnknownType(String),
    #[error("bad '{kind}' frame: {reason}")]
    Bad { kind: String, reason: String },
}

const KNOWN: &[&str] =
    &["hello", "welcome", "refused", "ping", "pong", "command", "ack", "uplink", "reply", "siteconfig", "resync", "bye"];

pub fn decode(text: &str) -> Result<Msg, DecodeError> {
    let v: Value = serde_json::from_str(text).map_err(|_| DecodeError::NotAFrame)?;
    let kind = v.get("type").and_then(Value::as_str).ok_or(DecodeError::NotAFrame)?.to_string();
    if !KNOWN.contains(&kind.as_str()) {
        return Err(DecodeError::UnknownType(kind));
    }
    serde_json::from_value(v).map_err(|e| DecodeError::Bad { kind, reason: e.to_string() })
}

/// The text of a frame, whatever its size. Senders use [`encode_frame`].
pub fn encode(msg: &Msg) -> String {
    // Every variant is plain data with string keys; serialisation cannot fail.
    serde_json::to_string(msg).unwrap_or_else(|_| "{}".into())
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{kind}' frame of {bytes} bytes exceeds the {limit}-byte WebSocket frame limit; not sent")]
pub struct FrameTooLarge {
    pub kind: String,
    pub bytes: usize,
    pub limit: usize,
}

/// The text of a frame that may go on the wire: API Gateway drops the whole
/// connection on a frame over [`MAX_FRAME_BYTES`], so such a frame is an error
/// for the sender to log, never something to send.
pub fn encode_frame(msg: &Msg) -> Result<String, FrameTooLarge> {
    let text = encode(msg);
    if text.len() > MAX_FRAME_BYTES {
        let kind = serde_json::to_value(msg).ok().and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_string));
        return Err(FrameTooLarge { kind: kind.unwrap_or_default(), bytes: text.len(), limit: MAX_FRAME_BYTES });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hello_signs_and_verifies() {
        let h = Hello::new_signed("1001", "A1", "2026-01-01 08:00:00", "42", "s3cret");
        assert_eq!(h.signing_string(), "2026-01-01 08:00:0042A11001");
        assert!(h.verify("s3cret"));
        assert!(!h.verify("other"));
        let mut moved = h.clone();
        moved.branch = "1002".into();
        assert!(!moved.verify("s3cret"));
    }

    #[test]
    fn wire_shapes() {
        let c = Msg::Command(Command { id: "c1".into(), device: "1".into(), action: action::GATE_OPEN.into(), params: json!({}) });
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({"type":"command","id":"c1","device":"1","action":"gate.open","params":{}})
        );
        let a = decode(r#"{"type":"ack","id":"c1","ok":false,"code":620,"message":"device silent"}"#).unwrap();
        assert_eq!(a, Msg::Ack(Ack { id: "c1".into(), ok: false, code: 620, message: "device silent".into() }));
        let s = decode(r#"{"type":"siteconfig","monthlyPlates":[{"plateNo":"浙A12345"}]}"#).unwrap();
        let Msg::SiteConfig(s) = s else { panic!("not siteconfig") };
        assert_eq!(s.monthly_plates[0].plate_no, "浙A12345");
        for m in [
            Msg::Ping(Beat { seq: 3, time: "t".into() }),
            Msg::Bye(Bye { reason: "planned".into() }),
            Msg::Uplink(Uplink { id: "u".into(), route: route::PASS_VALIDATE.into(), data: json!({"a":1}) }),
            Msg::Welcome(Welcome { branch: "1".into(), agent_id: "A".into(), server_time: "".into(), heartbeat_secs: Some(5), session: "x".into() }),
        ] {
            assert_eq!(decode(&encode(&m)).unwrap(), m);
        }
    }

    #[test]
    fn a_frame_over_32_kib_is_refused_by_the_encoder() {
        let small = Msg::Reply(Reply { id: "u".into(), status: true, code: 200, message: String::new(), time: String::new(), data: json!({"x": "y"}) });
        assert!(encode_frame(&small).is_ok());
        let big = Msg::Reply(Reply { data: json!({"x": "y".repeat(MAX_FRAME_BYTES)}), ..match small { Msg::Reply(r) => r, _ => unreachable!() } });
        let e = encode_frame(&big).unwrap_err();
        assert_eq!(e.kind, "reply");
        assert!(e.bytes > MAX_FRAME_BYTES);
        // Exactly at the limit still goes: the bound is inclusive.
        let pad = MAX_FRAME_BYTES - encode(&Msg::Bye(Bye { reason: String::new() })).len();
        assert_eq!(encode_frame(&Msg::Bye(Bye { reason: "b".repeat(pad) })).unwrap().len(), MAX_FRAME_BYTES);
        assert!(encode_frame(&Msg::Bye(Bye { reason: "b".repeat(pad + 1) })).is_err());
    }

    #[test]
    fn hello_carries_the_held_config_version_outside_the_signature() {
        let mut h = Hello::new_signed("1001", "A1", "2026-01-01 08:00:00", "42", "s3cret");
        h.config_version = "abc".into();
        assert!(h.verify("s3cret"));
        let Msg::Hello(back) = decode(&encode(&Msg::Hello(h.clone()))).unwrap() else { panic!() };
        assert_eq!(back.config_version, "abc");
        assert_eq!(decode(r#"{"type":"resync","version":"v"}"#).unwrap(), Msg::Resync(Resync { version: "v".into() }));
    }

    #[test]
    fn unknown_and_bad_frames_are_errors_not_panics() {
        assert_eq!(decode(r#"{"type":"future"}"#), Err(DecodeError::UnknownType("future".into())));
        assert_eq!(decode("[]"), Err(DecodeError::NotAFrame));
        assert_eq!(decode("nope"), Err(DecodeError::NotAFrame));
        assert!(matches!(decode(r#"{"type":"command"}"#), Err(DecodeError::Bad { .. })));
    }

    #[test]
    fn pass_answer_is_lenient() {
        let r = |status: bool, code: i64, data: Value| Reply { id: "x".into(), status, code, message: "".into(), time: "".into(), data };
        assert!(PassAnswer::from_reply(&r(true, 200, json!({"isPass": "1"}))).open);
        // 9.18 answers passFlag; a refusal must keep the gate shut.
        assert!(!PassAnswer::from_reply(&r(true, 200, json!({"passFlag": "0", "hintText": "请缴费5.00元"}))).open);
        assert!(PassAnswer::from_reply(&r(true, 200, json!({"passFlag": "1"}))).open);
        assert!(!PassAnswer::from_reply(&r(true, 200, json!({"pass": false}))).open);
        assert!(PassAnswer::from_reply(&r(true, 200, json!({"hintText": "欢迎"}))).open);
        assert!(!PassAnswer::from_reply(&r(false, 500, json!({"open": true}))).open);
        let a = PassAnswer::from_reply(&r(true, 200, json!({"open": 0, "hintText": "请缴费", "offMoney": 12.5, "cardInId": "in-1"})));
        assert!(!a.open);
        assert_eq!(a.hint_text, "请缴费");
        assert_eq!(a.off_money, "12.5");
        assert_eq!(a.card_in_id.as_deref(), Some("in-1"));
    }
}
