//! Chapter 7: door access. The model (`model`, `store`, `access`, `site`) is
//! also what visitors, faces and the channel gates (`crate::people`) and the
//! site link read, so it builds with any of them; the chapter 7 routes build
//! with the `acss` group only.

pub mod access;
pub mod cards;
#[cfg(feature = "acss")]
pub mod config;
pub mod directory;
#[cfg(feature = "acss")]
pub mod doors;
pub mod model;
#[cfg(feature = "acss")]
pub mod records;
pub mod site;
pub mod store;

use onecard_core::Registry;

#[cfg(feature = "acss")]
pub fn register(reg: &mut Registry) {
    reg.add(doors::routes());
    reg.add(config::routes());
    reg.add(cards::routes());
    reg.add(records::routes());
}

#[cfg(all(test, feature = "acss", feature = "pub", feature = "park"))]
mod tests;
