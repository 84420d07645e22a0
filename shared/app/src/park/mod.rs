//! Chapter 6: parking.

pub mod cardlink;
pub mod cartype;
pub mod fees;
pub mod hardware;
pub mod lane;
pub mod lanes;
pub mod lpfix;
pub mod orders;
#[cfg(test)]
mod parking_tests;
pub mod payments;
pub mod scan_pass;
pub mod records;
pub mod stays;
pub mod tariffs;

use onecard_core::Registry;

pub fn register(reg: &mut Registry) {
    reg.add(cartype::routes());
    reg.add(lanes::routes());
    hardware::register(reg);
    scan_pass::register(reg);
    reg.add(tariffs::routes());
    fees::register(reg);
    payments::register(reg);
    records::register(reg);
    reg.add(lpfix::routes());
}
