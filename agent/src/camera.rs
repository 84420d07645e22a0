//! Camera intake: `POST /plate` with the camera's JSON, answered with
//! `{ok, open, text}` once the lane has acted.

use crate::agent::{plate_event, Agent};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;

async fn plate(State(agent): State<Arc<Agent>>, body: Bytes) -> (StatusCode, Json<Value>) {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return (StatusCode::BAD_REQUEST, Json(json!({"ok": false, "open": false, "text": format!("bad JSON: {e}")}))),
    };
    let ev = match plate_event(&v) {
        Ok(ev) => ev,
        Err(e) => return (StatusCode::BAD_REQUEST, Json(json!({"ok": false, "open": false, "text": e}))),
    };
    let a = agent.on_plate(ev).await;
    let status = if a.ok { StatusCode::OK } else { StatusCode::NOT_FOUND };
    (status, Json(json!({"ok": a.ok, "open": a.open, "text": a.text, "reason": a.reason})))
}

pub fn router(agent: Arc<Agent>) -> Router {
    // Plate pictures arrive base64-encoded in the body; axum's 2 MB default is
    // too tight for a full-size snapshot.
    Router::new()
        .route("/plate", post(plate))
        .layer(axum::extract::DefaultBodyLimit::max(16 << 20))
        .with_state(agent)
}

/// Binds and serves in the background; returns the bound address.
pub async fn serve(agent: Arc<Agent>, addr: &str) -> anyhow::Result<SocketAddr> {
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
