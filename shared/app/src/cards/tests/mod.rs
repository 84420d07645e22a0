//! Card tests on the SQLite store, through the registry (as a client calls)
//! and through the domain functions the parking module uses.

mod brands;
mod concurrency;
mod fidelity;
mod holders;
mod inputs;
mod kit;
mod lifecycle;
mod monthly;
mod queries;
mod stored;
