//! The on-site agent as a library, so integration tests (here and elsewhere) can
//! reuse the frame codec, the simulator and the agent itself.

pub mod agent;
pub mod camera;
pub mod config;
pub mod decide;
pub mod devices;
pub mod door;
pub mod frame;
pub mod gbk;
pub mod link_client;
pub mod outbox;
pub mod plates;
pub mod serial_driver;
pub mod sim;

/// Branch-local wall-clock time in the spec's format. The agent runs in the car
/// park, so its local clock is the branch's clock.
pub fn now_text() -> String {
    chrono::Local::now().format(onecard_core::time::FMT).to_string()
}
