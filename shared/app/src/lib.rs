//! The OneCard domain and the handlers of every group, registered in one registry.
//! Lambda mains and the local server both call `registry()`, so a route is
//! written once.

pub mod bindings;
pub mod cat;
pub mod ids;
pub mod keys;
pub mod park;
pub mod tariff;

use onecard_core::Registry;

/// Every route of the spec with the handlers built so far; the rest answer 501.
pub fn registry() -> Registry {
    let mut reg = Registry::new();
    park::register(&mut reg);
    cat::register(&mut reg);
    reg
}
