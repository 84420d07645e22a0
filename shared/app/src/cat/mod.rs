//! Chapter 9 (+10.4): the site's uplink.

pub mod heartbeat;
pub mod pass;
pub mod uploads;

use onecard_core::Registry;

pub fn register(reg: &mut Registry) {
    heartbeat::register(reg);
    uploads::register(reg);
    pass::register(reg);
}
