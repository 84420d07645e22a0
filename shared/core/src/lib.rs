//! OneCard core: the chapter 5 protocol (envelopes, signing, codes), the ports
//! (item store, event queue, site link), configuration records and the method
//! registry. Everything here is free of any particular backend.

pub mod blob;
pub mod charset;
pub mod codes;
pub mod cors;
pub mod config;
pub mod config_cache;
pub mod ctx;
pub mod dispatch;
#[cfg(test)]
mod dispatch_tests;
pub mod envelope;
pub mod events;
pub mod fields;
pub mod idempotency;
pub mod kit;
pub mod link;
pub mod memstore;
pub mod money;
#[cfg(feature = "schemas")]
pub mod openapi;
pub mod outbound;
pub mod providers;
pub mod queue;
pub mod registry;
pub mod request;
pub mod retry;
pub mod sign;
pub mod sitelink;
pub mod spec;
pub mod store;
pub mod time;

pub use codes::{ApiError, ApiResult, Code};
pub use ctx::{Ctx, Ports};
pub use money::Fen;
pub use registry::{Group, Registry};
pub use request::{Origin, Reply, Req};
