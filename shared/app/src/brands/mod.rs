//! Car brands: reference data the API only reads (6.36, and the `CarBrandID`
//! a card of 10.15/10.42 carries). Operators add and rename brands with
//! `onecard brand ...`; a new store is seeded with the brands commonly sold in
//! China.
//!
//! Brands are the same for every car park, so they live in one partition that
//! no branch owns (`keys::car_brands`).

mod repo;
mod route;
mod seed;
#[cfg(test)]
mod tests;

pub use repo::{add, add_with_id, card_brand, ensure_seeded, get, list, rename, Brand};
pub use seed::SEED;

use onecard_core::Registry;

pub fn register(reg: &mut Registry) {
    reg.add(routes());
}

pub fn routes() -> Vec<onecard_core::kit::RouteDef> {
    route::routes()
}
