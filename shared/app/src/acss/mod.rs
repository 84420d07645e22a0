//! Chapter 7: door access.

pub mod doors;

use onecard_core::Registry;

pub fn register(reg: &mut Registry) {
    reg.add(doors::routes());
}
