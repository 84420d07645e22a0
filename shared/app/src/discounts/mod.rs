//! Discounts on parking orders (tariff.md rule 9): coupons (6.30, 6.31,
//! 6.57, 6.59, 6.60, 6.63), shopping tickets (6.40, 6.41), the discount
//! machine (6.43), membership cards (6.44), merchant discounts (6.50, 6.51),
//! plate discounts (6.106-6.108) and the discount sets they give (6.34);
//! also 6.53, the kiosk's find-car notice. See README.md beside this file.
//!
//! The life of a discount: a line on an open order (`lines`), gathered at
//! `calc` (`gather`) or added by a route (`order_routes`); `amount` is
//! recomputed from the lines by the fee engine (`tariff::discount`); the one
//! 6.2 commit transaction uses them (`consume`, through
//! `park::commit_extras`). An order lapsing or cancelled releases what it
//! held without a write: holds are judged against the order's status.

pub mod car_index;
pub mod codes;
pub mod consume;
pub mod coupons;
mod coupon_routes;
mod findcar;
mod gather;
pub mod import;
pub mod kinds;
pub mod lines;
pub mod members;
mod order_routes;
pub mod plates;
pub mod sets;
pub mod settings;
pub mod tolls;
pub mod wire;

pub use gather::at_calc;
pub use lines::OrderDiscounts;

use onecard_core::kit::RouteDef;

/// Every route of discounts and merchants.
pub fn routes() -> Vec<RouteDef> {
    let mut all = Vec::new();
    all.extend(sets::routes());
    all.extend(coupon_routes::routes());
    all.extend(order_routes::routes());
    all.extend(tolls::routes());
    all.extend(plates::routes());
    all.extend(findcar::routes());
    all.extend(crate::merchants::routes());
    all
}

#[cfg(all(test, feature = "cat", feature = "park"))]
mod race_tests;

#[cfg(all(test, feature = "cat", feature = "park"))]
mod index_tests;
