//! Cards and cardholders: holders (10.11-10.14), the card lifecycle (10.15-10.18,
//! 10.42), monthly and stored-value cards with their payments and queries
//! (6.4-6.8, 6.28, 6.32-6.39).
//!
//! For the parking module: `card_for_plate` (lane and fee decisions),
//! `debit_writes` (payType 3, inside the parking payment transaction),
//! `month_tariff_in_use` (6.93) and `monthly_plates` (offline lists for sites).
//!
//! Storage (all of it in `store`, the one file that knows the keys): a card at
//! `keys::cards` with a plate index at `keys::plate_cards` written in the same
//! transaction; payments keyed by their idempotency key
//! (orderNo, else thirdPayId) and written with `MustNotExist` together with the
//! card's `VersionIs` update, so a payment happens exactly once (a repeat
//! answers 511). Renewals push 13.5 through the outbox in the same transaction.
//!
//! Files: `model` (records, code tables), `store` (reads, plate index,
//! credentials), `holders` (10.11-10.14), `lifecycle` + `params` (10.15-10.18,
//! 10.42, 6.38), `monthly` + `group` + `months` (6.5, 6.6, 6.35, 6.39),
//! `stored` + `debit` (6.7, 6.8, 6.28, payType 3), `queries` (6.4), `catalog`
//! (6.32, 6.33, 6.37), `bindings` (what parking and the site link ask),
//! `input` (nested objects, plate lists, credentials).
//!
//! Dependencies go one way: parking depends on cards, so cards reads car types
//! and tariffs from the store (`catalog`), never through `crate::park`.

pub mod site_notify;
pub mod berths;
pub mod bindings;
pub mod catalog;
pub mod debit;
pub mod group;
pub mod holders;
mod in_park;
pub mod input;
pub mod lifecycle;
pub mod model;
pub mod monthly;
mod months;
mod params;
pub mod payments;
pub mod queries;
pub mod store;
pub mod stored;
mod timefmt;

#[cfg(test)]
mod tests;

pub use bindings::{card_of_month_tariff, month_tariff_in_use, monthly_plates};
pub use debit::{debit_of_order, debit_writes};
pub use model::{Card, CardKind, CardState, Holder};
pub use store::{card_for_plate, get_card};

use onecard_core::Registry;

pub fn register(reg: &mut Registry) {
    reg.add(holders::routes());
    reg.add(lifecycle::routes());
    reg.add(monthly::routes());
    reg.add(stored::routes());
    reg.add(queries::routes());
    reg.add(catalog::routes());
}
