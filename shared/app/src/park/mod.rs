//! Chapter 6: parking.

pub mod cartype;
pub mod lanes;

use onecard_core::Registry;

pub fn register(reg: &mut Registry) {
    cartype::register(reg);
    lanes::register(reg);
}
