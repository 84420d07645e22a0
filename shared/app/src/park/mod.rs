//! Chapter 6: parking.

pub mod cardlink;
pub mod cartype;
pub mod commit_extras;
pub mod fees;
pub mod hardware;
pub mod lane;
pub mod lanes;
pub mod lpfix;
#[cfg(test)]
mod money_tests;
pub mod occupancy;
pub mod orders;
#[cfg(test)]
mod parking_tests;
#[cfg(test)]
mod round_trips_tests;
pub mod pay_types;
pub mod payments;
pub mod scan_pass;
pub mod records;
pub mod stays;
mod stored;
pub mod tariffs;

use onecard_core::Registry;

pub fn register(reg: &mut Registry) {
    reg.add(cartype::routes());
    reg.add(lanes::routes());
    reg.add(hardware::routes());
    reg.add(scan_pass::routes());
    reg.add(tariffs::routes());
    reg.add(fees::routes());
    reg.add(payments::routes());
    reg.add(records::routes());
    reg.add(lpfix::routes());
}
