//! The `keyward` binary: configuration, command line, and wiring a node together.

pub mod app;
pub mod cli;
pub mod config;
pub mod datamove;
pub mod tls;
