//! Chapter 9 (+10.4): the site's uplink.

pub mod heartbeat;
pub mod notices;
pub mod pass;
pub mod uploads;

use onecard_core::Registry;

pub fn register(reg: &mut Registry) {
    heartbeat::register(reg);
    notices::register(reg);
    uploads::register(reg);
    pass::register(reg);
}
