//! Tariffs and the fee engine (tariff.md).
