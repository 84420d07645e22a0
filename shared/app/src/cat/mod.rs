//! Chapter 9 (+10.4): the site's uplink.

pub mod heartbeat;
pub mod notices;
pub mod pass;
pub mod plate_reports;
pub mod site_time;
pub mod uploads;

use onecard_core::Registry;

pub fn register(reg: &mut Registry) {
    reg.add(heartbeat::routes());
    reg.add(notices::routes());
    reg.add(uploads::routes());
    reg.add(pass::routes());
}
