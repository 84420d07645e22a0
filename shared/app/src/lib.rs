//! The OneCard domain and the handlers of every group, registered in one registry.

pub mod tariff;
