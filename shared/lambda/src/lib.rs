//! Lambda glue shared by every function main: read the environment, build the
//! AWS clients once per execution environment, and hand each event to the
//! registry through `onecard_core::dispatch`.
//!
//! A served function's main is one call:
//!
//! ```no_run
//! use onecard_lambda::Group;
//! #[tokio::main]
//! async fn main() -> Result<(), onecard_lambda::Error> {
//!     onecard_lambda::run_http(&[Group::Park]).await
//! }
//! ```

pub mod http;
pub mod init;
pub mod routes;
#[cfg(feature = "config-push")]
#[path = "ws/push.rs"]
pub mod config_push;
#[cfg(feature = "ws")]
pub mod ws;

pub use http::{run_http, serve, to_dispatch, Inbound};
pub use init::{init, init_tracing, Clients, LambdaEnv};
pub use lambda_http::Error;
pub use onecard_core::registry::Group;
pub use routes::{function_of, served_paths, FUNCTIONS};
#[cfg(feature = "ws")]
pub use ws::run_ws;
