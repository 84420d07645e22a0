//! The on-site agent as a library, so integration tests (here and elsewhere) can
//! reuse the frame codec, the simulator and the agent itself.

pub mod agent;
pub mod camera;
pub mod camera_auth;
pub mod cli;
pub mod config;
pub mod decide;
pub mod devices;
pub mod door;
pub mod doors_offline;
pub mod faces;
pub mod frame;
pub mod gbk;
pub mod guidance_screen;
pub mod http;
pub mod inpark;
pub mod link_client;
pub mod logs;
pub mod outbox;
pub mod pictures;
pub mod plates;
pub mod sd_notify;
pub mod secret;
pub mod serial_driver;
pub mod service;
pub mod sim;

use std::sync::OnceLock;

static TZ: OnceLock<String> = OnceLock::new();

/// Sets the branch's time zone once at start-up. The machine's own zone is not
/// used because site PCs are often left on UTC.
pub fn set_timezone(tz: &str) {
    let _ = TZ.set(tz.to_string());
}

/// Branch-local wall-clock time.
pub fn now_local() -> chrono::NaiveDateTime {
    let tz = TZ.get().map(String::as_str).unwrap_or(onecard_core::time::DEFAULT_TZ);
    onecard_core::time::to_local(onecard_core::time::now(), tz)
}

/// Branch-local wall-clock time in the spec's format.
pub fn now_text() -> String {
    onecard_core::time::format(now_local())
}
