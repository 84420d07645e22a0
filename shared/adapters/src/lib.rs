//! Adapters for the core ports.
