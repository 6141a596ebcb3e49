//! The `keyward` binary: configuration, command line, and wiring a node together.

pub mod app;
pub mod audit_export;
pub mod cli;
pub mod config;
pub mod datamove;
pub mod telemetry;
pub mod tls;
mod traced_store;
