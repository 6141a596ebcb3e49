//! Core services without a server: each test builds the services on a fresh SQLite store in a
//! temporary file and a clock that moves only when told to, and calls them as the web layer
//! does — no HTTP, no envelopes. The HTTP-level tests live in `crates/server/tests/api`.

mod accounts;
mod apps;
mod device;
mod federation;
mod keys;
mod lifecycle;
mod metadata_documents;
mod published_keys;
mod tokens;
mod two_factor;
mod world;
