//! The OneCard domain and handlers.
