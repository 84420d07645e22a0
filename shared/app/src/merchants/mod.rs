//! Merchants of the car park (6.46-6.52): who gives discounts and pays for
//! them from gift-amount and gift-time balances; their passwords (argon2
//! hashes, locked after three failures) and their consumption points.
//! Operators create them (`onecard merchant ...`); the API reads them, logs
//! them in and spends their balances (coupons, merchant discounts).

mod model;
mod password;
pub mod points;
mod routes;

pub use model::{get, list, must_get, put, Cost, Merchant, LOCK_AFTER};
pub use password::{check_new as check_password_rule, hash as hash_password};

pub fn routes() -> Vec<onecard_core::kit::RouteDef> {
    routes::routes()
}
