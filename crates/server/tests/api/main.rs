//! Integration tests: each starts a real Keyward node on a random loopback port with a fresh
//! database and talks HTTP to it, on SQLite and (when configured) PostgreSQL.

mod helpers;

mod accounts;
mod admin;
mod bad_input;
mod cli;
mod sessions;
mod throttling;
