//! Tariffs and the fee engine (tariff.md).

pub mod discount;
pub mod engine;
pub mod model;
pub mod month;
mod text;
pub mod wire;

pub use engine::{due, fee_detail, price, price_rule_text, Day, Piece, Quote};
pub use model::{Period, TempTariff};
pub use month::{MonthAddIn, MonthTariff, MonthTariffOut, MonthUpdateIn};
pub use wire::{PeriodIn, PeriodOut, TariffIn, TariffOut};

#[cfg(test)]
mod tests;
