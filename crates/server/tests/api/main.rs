//! Integration tests: each starts a real Keyward node on a random loopback port with a fresh
//! database and talks HTTP to it, on SQLite and (when configured) PostgreSQL.

mod fakes;
mod fuzz;
mod guess_bursts;
mod helpers;
mod login_module;
mod logs;
mod oauth_support;
mod oidc;
mod openapi;

mod account_pages;
mod account_rules;
mod accounts;
mod admin;
mod admin_pages;
mod apps;
mod audit_trail;
mod bad_input;
mod cli;
mod cluster;
mod consent;
mod console_pages;
mod crash;
mod device_flow;
mod native_apps;
mod page_language;
mod pages;
mod private_key_jwt;
mod provider_flows;
mod provider_rules;
mod races;
mod rate_limits;
mod refresh_grace;
mod resource_pages;
mod resources;
mod security_pages;
mod sessions;
mod storage;
mod store_contract;
mod throttling;
mod tls;
mod token_core;
mod topup;
mod two_factor;
mod web_security;
