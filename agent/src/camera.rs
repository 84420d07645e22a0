//! Camera intake: `POST /plate` with the camera's JSON, answered with
//! `{ok, open, text}` once the lane has acted.

use axum::body::Bytes;
use onecard_core::kit::{Picture, Text};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;

/// What takes the plates a camera reads: the agent. A trait, so the intake
/// does not depend on the agent (the agent depends on the intake).
pub trait PlateSink: Send + Sync + 'static {
    fn plate(&self, ev: PlateEvent) -> futures::future::BoxFuture<'_, PlateAnswer>;
}

/// A plate read by a lane camera.
#[derive(Clone, Debug, Default)]
pub struct PlateEvent {
    pub device_id: String,
    pub plate_no: String,
    pub plate_color: String,
    pub time: String,
    pub image: Option<String>,
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
        image: c.image.map(|p| p.0),
    })
}

async fn plate(State(agent): State<Arc<dyn PlateSink>>, body: Bytes) -> (StatusCode, Json<Value>) {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return (StatusCode::BAD_REQUEST, Json(json!({"ok": false, "open": false, "text": format!("bad JSON: {e}")}))),
    };
    let ev = match plate_event(&v) {
        Ok(ev) => ev,
        Err(e) => return (StatusCode::BAD_REQUEST, Json(json!({"ok": false, "open": false, "text": e}))),
    };
    let a = agent.plate(ev).await;
    let status = if a.ok { StatusCode::OK } else { StatusCode::NOT_FOUND };
    (status, Json(json!({"ok": a.ok, "open": a.open, "text": a.text, "reason": a.reason})))
}

pub fn router(agent: Arc<dyn PlateSink>) -> Router {
    // Plate pictures arrive base64-encoded in the body; axum's 2 MB default is
    // too tight for a full-size snapshot.
    Router::new()
        .route("/plate", post(plate))
        .layer(axum::extract::DefaultBodyLimit::max(16 << 20))
        .with_state(agent)
}

/// Binds and serves in the background; returns the bound address.
pub async fn serve(agent: Arc<dyn PlateSink>, addr: &str) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = router(agent);
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
}
