//! Camera intake: `POST /plate` with the camera's JSON, answered with
//! `{ok, open, text}` once the lane has acted.

use crate::camera_auth::{self, Access, CameraRule};
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use chrono::NaiveDateTime;
use onecard_core::kit::{Picture, Text};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;

/// Largest body taken at all: a 2 MiB snapshot in base64 plus the fields.
pub const MAX_BODY: usize = 3 << 20;
/// Largest body without a picture: the fields are a few hundred bytes.
pub const MAX_BODY_NO_PICTURE: usize = 16 << 10;
/// A camera clock further off than this is not believed.
pub const MAX_CAMERA_SKEW_SECS: i64 = 120;

/// What takes the plates a camera reads: the agent. A trait, so the intake
/// does not depend on the agent (the agent depends on the intake).
pub trait PlateSink: Send + Sync + 'static {
    fn plate(&self, ev: PlateEvent) -> futures::future::BoxFuture<'_, PlateAnswer>;
    /// A card or code read at a door (`crate::doors_offline`).
    fn door(&self, read: crate::doors_offline::DoorRead) -> futures::future::BoxFuture<'_, crate::doors_offline::DoorAnswer> {
        let _ = read;
        Box::pin(async { crate::doors_offline::DoorAnswer { ok: false, open: false, reason: "no doors here".into() } })
    }
    /// A face terminal's recognition record (`crate::faces`).
    fn face(&self, record: Value) -> futures::future::BoxFuture<'_, crate::doors_offline::DoorAnswer> {
        let _ = record;
        Box::pin(async { crate::doors_offline::DoorAnswer { ok: false, open: false, reason: "no face terminals here".into() } })
    }
}

/// A plate read by a lane camera.
#[derive(Clone, Debug, Default)]
pub struct PlateEvent {
    pub device_id: String,
    pub plate_no: String,
    pub plate_color: String,
    pub time: String,
    /// The snapshot's raw bytes (decoded from the camera's base64).
    pub image: Option<Snapshot>,
}

/// Picture bytes; `Debug` gives the size, not megabytes of numbers.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Snapshot(pub Vec<u8>);

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Snapshot({} bytes)", self.0.len())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PlateAnswer {
    pub ok: bool,
    pub open: bool,
    pub text: String,
    /// `cloud` or the offline reason.
    pub reason: String,
}

/// The camera's JSON, read with the route kit's field types: each camera
/// brand spells the fields its own way.
#[derive(serde::Deserialize)]
struct CameraPlate {
    #[serde(rename = "deviceID", alias = "deviceId", alias = "device")]
    device_id: Text,
    #[serde(rename = "plateNo", alias = "licensePlate", alias = "plate")]
    plate_no: Text,
    #[serde(rename = "plateColor")]
    plate_color: Option<Text>,
    time: Option<Text>,
    image: Option<Picture>,
}

pub fn plate_event(v: &Value) -> Result<PlateEvent, String> {
    let c: CameraPlate = onecard_core::kit::input::parse(v.clone()).map_err(|e| e.message)?;
    Ok(PlateEvent {
        device_id: c.device_id.into_string(),
        plate_no: c.plate_no.into_string(),
        plate_color: c.plate_color.map(Text::into_string).unwrap_or_default(),
        time: c.time.map(Text::into_string).unwrap_or_default(),
        image: c.image.map(|p| decode_picture(&p.0)).transpose()?.filter(|b| !b.0.is_empty()),
    })
}

/// The camera's base64 (bare or as a `data:` URL, line breaks allowed).
fn decode_picture(text: &str) -> Result<Snapshot, String> {
    let body = text.split_once("base64,").map_or(text, |(_, b)| b);
    let clean: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean.as_bytes())
        .map(Snapshot)
        .map_err(|e| format!("image: not valid base64 ({e})"))
}

/// The event's time by the agent's clock: a camera's own clock drifts or was
/// never set, and a record stamped hours off bills the wrong stay. A camera
/// time within `MAX_CAMERA_SKEW_SECS` is kept (it is when the car was seen).
pub fn trusted_time(camera_time: &str, now: NaiveDateTime) -> NaiveDateTime {
    match onecard_core::time::parse(camera_time) {
        Some(t) if (t - now).num_seconds().abs() <= MAX_CAMERA_SKEW_SECS => t,
        Some(t) => {
            tracing::warn!(camera_time = %onecard_core::time::format(t), agent_time = %onecard_core::time::format(now), "camera clock is off; the event takes the agent's time");
            now
        }
        None => {
            if !camera_time.trim().is_empty() {
                tracing::warn!(camera_time, agent_time = %onecard_core::time::format(now), "camera time unreadable; the event takes the agent's time");
            }
            now
        }
    }
}

#[derive(Clone)]
pub struct Intake {
    pub(crate) sink: Arc<dyn PlateSink>,
    pub(crate) rules: Arc<Vec<CameraRule>>,
}

fn refuse(status: StatusCode, text: impl Into<String>) -> (StatusCode, Json<Value>) {
    (status, Json(json!({"ok": false, "open": false, "text": text.into()})))
}

async fn plate(State(intake): State<Intake>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, uri: Uri, body: Body) -> (StatusCode, Json<Value>) {
    // Credentials first: an unknown sender's body is never read.
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let token = camera_auth::request_token(auth, uri.query());
    let admitted = match camera_auth::check(&intake.rules, peer.ip(), token.as_deref()) {
        Access::Admitted(a) => a,
        Access::BadToken => {
            tracing::warn!(%peer, token_given = token.is_some(), "camera refused: missing or wrong token");
            return refuse(StatusCode::UNAUTHORIZED, "camera token missing or wrong");
        }
        Access::BadAddress => {
            tracing::warn!(%peer, "camera refused: address not allowed");
            return refuse(StatusCode::FORBIDDEN, format!("address {} is not an allowed camera", peer.ip()));
        }
    };
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, format!("body over {MAX_BODY} bytes"));
    }
    // Stops reading at the cap, so a chunked body without a length cannot
    // make the agent buffer it whole.
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return refuse(StatusCode::PAYLOAD_TOO_LARGE, format!("body over {MAX_BODY} bytes")),
    };
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("bad JSON: {e}")),
    };
    let ev = match plate_event(&v) {
        Ok(ev) => ev,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e),
    };
    if ev.image.is_none() && body.len() > MAX_BODY_NO_PICTURE {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, format!("body over {MAX_BODY_NO_PICTURE} bytes without a picture"));
    }
    if !camera_auth::device_allowed(&intake.rules, &admitted, &ev.device_id) {
        tracing::warn!(%peer, device = %ev.device_id, "camera refused: not bound to this device");
        return refuse(StatusCode::FORBIDDEN, format!("this camera may not report for device '{}'", ev.device_id));
    }
    let a = intake.sink.plate(ev).await;
    let status = if a.ok { StatusCode::OK } else { StatusCode::NOT_FOUND };
    (status, Json(json!({"ok": a.ok, "open": a.open, "text": a.text, "reason": a.reason})))
}

/// The intake's routes; `rules` empty means loopback only.
pub fn router(agent: Arc<dyn PlateSink>, rules: Vec<CameraRule>) -> Router {
    let rules = if rules.is_empty() { vec![CameraRule::loopback()] } else { rules };
    Router::new()
        .route("/plate", post(plate))
        .route("/door", post(crate::doors_offline::door))
        .route("/face", post(crate::doors_offline::face))
        .with_state(Intake { sink: agent, rules: Arc::new(rules) })
}

/// Binds and serves in the background; returns the bound address.
pub async fn serve(agent: Arc<dyn PlateSink>, addr: &str, rules: Vec<CameraRule>) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = router(agent, rules).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "camera intake stopped");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camera_json_is_read_leniently() {
        let e = plate_event(&json!({"deviceID": 1, "plateNo": "浙A12345", "time": "2026-01-01 08:00:00"})).unwrap();
        assert_eq!(e.device_id, "1");
        assert!(plate_event(&json!({"deviceID": "1"})).is_err());
        assert!(plate_event(&json!({"plateNo": "x"})).is_err());
        assert!(plate_event(&json!([1, 2])).is_err());
    }

    #[test]
    fn picture_is_decoded_from_base64_or_data_url() {
        let e = plate_event(&json!({"deviceID": "1", "plateNo": "浙A1", "image": "data:image/jpeg;base64,aGVs\nbG8="})).unwrap();
        assert_eq!(e.image.unwrap().0, b"hello");
        let err = plate_event(&json!({"deviceID": "1", "plateNo": "浙A1", "image": "aGVsbG8"})).unwrap_err();
        assert!(err.contains("image"), "{err}");
        assert!(plate_event(&json!({"deviceID": "1", "plateNo": "浙A1", "image": ""})).unwrap().image.is_none());
    }

    #[test]
    fn camera_time_far_from_the_agent_clock_is_replaced() {
        let now = onecard_core::time::parse("2026-03-01 08:00:00").unwrap();
        assert_eq!(trusted_time("2026-03-01 07:58:30", now), onecard_core::time::parse("2026-03-01 07:58:30").unwrap());
        assert_eq!(trusted_time("2026-03-01 08:02:00", now), onecard_core::time::parse("2026-03-01 08:02:00").unwrap());
        assert_eq!(trusted_time("2026-03-01 08:02:01", now), now);
        assert_eq!(trusted_time("2019-01-01 00:00:00", now), now);
        assert_eq!(trusted_time("", now), now);
        assert_eq!(trusted_time("garbage", now), now);
    }
}
