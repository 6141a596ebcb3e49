//! Integration tests: each starts a real Keyward node on a random loopback port with a fresh
//! database and talks HTTP to it, on SQLite and (when configured) PostgreSQL.

mod fakes;
mod helpers;
mod login_module;
mod logs;
mod oauth_support;
mod oidc;
mod openapi;

mod accounts;
mod admin;
mod apps;
mod bad_input;
mod cli;
mod cluster;
mod provider_flows;
mod provider_rules;
mod sessions;
mod storage;
mod throttling;
mod tls;
mod two_factor;
