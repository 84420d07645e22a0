//! Doors decided at the site: a card read or a QR code shown at a door
//! (`POST /door` on the camera intake, `{deviceID, cardNo | qrcode}`) is
//! checked against the door rules the cloud last sent (`SiteConfig::doors`,
//! kept on disk with the rest of the configuration) by the same
//! `link::doors::DoorRules::decide_*` the cloud uses, so the answer is the
//! same whether the cloud is up or not: doors never wait on the network.
//! Every decision, open or refused, is queued in the outbox as a 9.1 upload
//! with `sourceType` 1 (7.7's swipe records), so nothing is lost offline.

use crate::agent::Agent;
use crate::camera_auth::{self, Access};
use crate::config::{DeviceKind, DeviceSpec};
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::Json;
use onecard_core::kit::Text;
use onecard_core::link::doors::Verdict;
use onecard_core::link::{action, route};
use onecard_core::sitelink::Command;
use serde_json::{json, Value};
use std::net::SocketAddr;

/// A read at a door.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoorRead {
    pub device_id: String,
    pub what: Credential,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    Card(String),
    Qr(String),
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DoorAnswer {
    pub ok: bool,
    pub open: bool,
    pub reason: String,
}

/// The reader's JSON (`cardNo`/`cardID` or `qrcode`).
#[derive(serde::Deserialize)]
struct ReaderJson {
    #[serde(rename = "deviceID", alias = "deviceId", alias = "device")]
    device_id: Text,
    #[serde(rename = "cardNo", alias = "cardID", alias = "card")]
    card: Option<Text>,
    #[serde(rename = "qrcode", alias = "qrCode", alias = "code")]
    qrcode: Option<Text>,
}

pub fn door_read(v: &Value) -> Result<DoorRead, String> {
    let r: ReaderJson = onecard_core::kit::input::parse(v.clone()).map_err(|e| e.message)?;
    let what = match (r.card, r.qrcode) {
        (Some(c), None) => Credential::Card(c.into_string()),
        (None, Some(q)) => Credential::Qr(q.into_string()),
        _ => return Err("give one of cardNo and qrcode".into()),
    };
    Ok(DoorRead { device_id: r.device_id.into_string(), what })
}

fn refuse(status: StatusCode, text: impl Into<String>) -> (StatusCode, Json<Value>) {
    (status, Json(json!({"ok": false, "open": false, "reason": text.into()})))
}

/// What `/door` and `/face` both do first: admit the sender like the cameras
/// (token, address) and read a JSON body of at most `limit` bytes. `who`
/// names the sender in refusals ("reader", "terminal").
async fn admit_json(
    intake: &crate::camera::Intake,
    peer: SocketAddr,
    headers: &HeaderMap,
    uri: &Uri,
    body: Body,
    limit: usize,
    who: &str,
) -> Result<(Vec<usize>, Value), (StatusCode, Json<Value>)> {
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let token = camera_auth::request_token(auth, uri.query());
    let admitted = match camera_auth::check(&intake.rules, peer.ip(), token.as_deref()) {
        Access::Admitted(a) => a,
        Access::BadToken => return Err(refuse(StatusCode::UNAUTHORIZED, format!("{who} token missing or wrong"))),
        Access::BadAddress => return Err(refuse(StatusCode::FORBIDDEN, format!("address {} is not an allowed {who}", peer.ip()))),
    };
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| refuse(StatusCode::PAYLOAD_TOO_LARGE, "body too large"))?;
    let v = serde_json::from_slice(&body).map_err(|e| refuse(StatusCode::BAD_REQUEST, format!("bad JSON: {e}")))?;
    Ok((admitted, v))
}

/// `POST /door`: admitted like the cameras (same rules), answered once the
/// door has acted.
pub async fn door(
    State(intake): State<crate::camera::Intake>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> (StatusCode, Json<Value>) {
    let (admitted, v) = match admit_json(&intake, peer, &headers, &uri, body, crate::camera::MAX_BODY_NO_PICTURE, "reader").await {
        Ok(x) => x,
        Err(refused) => return refused,
    };
    let read = match door_read(&v) {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e),
    };
    if !camera_auth::device_allowed(&intake.rules, &admitted, &read.device_id) {
        return refuse(StatusCode::FORBIDDEN, format!("this reader may not report for device '{}'", read.device_id));
    }
    let a = intake.sink.door(read).await;
    let status = if a.ok { StatusCode::OK } else { StatusCode::NOT_FOUND };
    (status, Json(json!({"ok": a.ok, "open": a.open, "reason": a.reason})))
}

/// `POST /face`: a face terminal's recognition record, admitted like the
/// cameras; queued for the cloud (`faces::on_recognition`).
pub async fn face(
    State(intake): State<crate::camera::Intake>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> (StatusCode, Json<Value>) {
    let (admitted, v) = match admit_json(&intake, peer, &headers, &uri, body, crate::camera::MAX_BODY, "terminal").await {
        Ok(x) => x,
        Err(refused) => return refused,
    };
    let device = v.get("deviceID").or_else(|| v.get("controllerNo")).and_then(Value::as_str).unwrap_or_default().to_string();
    if !camera_auth::device_allowed(&intake.rules, &admitted, &device) {
        return refuse(StatusCode::FORBIDDEN, format!("this terminal may not report for device '{device}'"));
    }
    let a = intake.sink.face(v).await;
    let status = if a.ok { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    (status, Json(json!({"ok": a.ok, "reason": a.reason})))
}

/// 9.1's `openmode` for a decision: 1 card opened (the seed's example), 2
/// code opened, 3 card refused, 4 code refused.
fn open_mode(what: &Credential, open: bool) -> (&'static str, &'static str) {
    match (what, open) {
        (Credential::Card(_), true) => ("1", "刷卡开门"),
        (Credential::Qr(_), true) => ("2", "二维码开门"),
        (Credential::Card(_), false) => ("3", "刷卡无权限"),
        (Credential::Qr(_), false) => ("4", "二维码无效"),
    }
}

/// Decides, drives the door, records. `ok` false only for a door this site
/// does not know.
pub async fn on_read(agent: &Agent, read: DoorRead) -> DoorAnswer {
    let now = crate::now_local();
    let decided = agent.with_door_rules(|rules| {
        let rules = rules.ok_or_else(|| "no door rules from the cloud yet".to_string())?;
        let door = rules.door(&read.device_id).cloned().ok_or_else(|| format!("no door '{}' at this site", read.device_id))?;
        let v: Verdict = match &read.what {
            Credential::Card(c) => rules.decide_card(&door.device, c, now),
            Credential::Qr(q) => rules.decide_qr(&door.device, q, now),
        };
        let order = match &read.what {
            Credential::Qr(q) => onecard_core::link::doors::Token::verify(&rules.qr_key, q).ok().and_then(|t| t.subject.split_once('/').map(|(o, _)| o.to_string())),
            Credential::Card(_) => None,
        };
        Ok::<_, String>((door, v, order))
    });
    let (door, v, order) = match decided {
        Ok(d) => d,
        Err(reason) => return DoorAnswer { ok: false, open: false, reason },
    };
    let mut opened = v.open;
    let mut reason = v.reason.clone();
    if v.open {
        let cmd = Command { id: format!("door-{}", uuid_like()), device: door.device.clone(), action: action::DOOR_OPEN.into(), params: json!({}) };
        let ack = agent.devices.execute(&cmd).await;
        if !ack.ok {
            opened = false;
            reason = format!("{reason}; door did not open: {}", ack.message);
        }
    }
    tracing::info!(door = %door.device, open = opened, reason = %reason, cloud_up = agent.link.is_up(), "door decision");
    let (mode, mode_name) = open_mode(&read.what, opened);
    let card = match &read.what {
        Credential::Card(c) => c.clone(),
        Credential::Qr(_) => v.card.clone(),
    };
    let mut rec = json!({
        "areaId": "acss",
        "cardInId": format!("{}-{}-{}", agent.cfg.agent_id, now.format("%Y%m%d%H%M%S%3f"), uuid_like()),
        "inDate": crate::now_text(),
        "sourceType": "1",
        "gateno": door.device,
        "gatename": door.name,
        "controllerNo": door.controller_no,
        "doorNo": door.door_no,
        "openmode": mode,
        "openmodename": mode_name,
        "opened": opened,
        "reason": reason,
        "userno": v.user,
    });
    if !card.is_empty() {
        rec["cardNo"] = json!(card);
    } else {
        rec["cardNo"] = json!(format!("QR@{}", door.device));
    }
    if let Some(o) = order {
        rec["visitorOrderNo"] = json!(o);
    }
    agent.record_upload(route::UPLOAD_INDATA, rec);
    DoorAnswer { ok: true, open: opened, reason }
}

fn uuid_like() -> String {
    format!("{:08x}", rand::random::<u32>())
}

/// With `--sim` and no device file, one virtual door board per door the cloud
/// configures, so doors run like the lanes do.
pub fn ensure_sim_doors(agent: &Agent) {
    if !agent.cfg.sim || agent.cfg.devices_from_file {
        return;
    }
    let Some(doors) = agent.with_door_rules(|r| r.map(|r| r.doors.clone())) else { return };
    for d in doors {
        if agent.devices.has(&d.device) {
            continue;
        }
        let spec = DeviceSpec {
            id: d.device.clone(),
            kind: DeviceKind::Door,
            port: String::new(),
            baud: 9600,
            address: 0,
            controller_no: d.controller_no.clone(),
            name: d.name.clone(),
            lane: None,
            area: String::new(),
            silent: false,
        };
        if let Err(e) = agent.devices.add(spec) {
            tracing::error!(door = %d.device, error = %e, "cannot start a virtual door board");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_json_names_one_credential() {
        assert_eq!(door_read(&json!({"deviceID": "C1-1", "cardNo": 123})).unwrap().what, Credential::Card("123".into()));
        assert_eq!(door_read(&json!({"device": "C1-1", "qrcode": "Q1*x"})).unwrap().what, Credential::Qr("Q1*x".into()));
        assert!(door_read(&json!({"deviceID": "C1-1"})).is_err());
        assert!(door_read(&json!({"deviceID": "C1-1", "cardNo": "1", "qrcode": "2"})).is_err());
        assert!(door_read(&json!({"cardNo": "1"})).is_err());
    }
}
