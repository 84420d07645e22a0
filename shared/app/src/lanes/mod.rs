//! Who may enter and leave: the lane decision's ordered rules, the car at each
//! lane, bookings (6.12-6.14, 6.101, 6.79), blacklists (6.72-6.78), car locks
//! (6.16-6.19, 6.54, 9.4) and groups (6.65-6.68).

pub mod blacklist;
pub mod bookings;
pub mod groups;
pub mod live_bookings;
#[cfg(test)]
mod live_bookings_tests;
pub mod locks;
pub mod presence;
pub mod rules;
pub mod site;
#[cfg(test)]
mod tests;

use onecard_core::Registry;

pub fn register(reg: &mut Registry) {
    reg.add(blacklist::routes());
    reg.add(bookings::routes());
    reg.add(locks::routes());
    reg.add(groups::routes());
}
