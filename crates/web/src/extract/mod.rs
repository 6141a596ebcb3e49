//! Request extractors: who is calling, and from where.

mod auth;
mod client;

pub use auth::{AdminUser, AuthVia, CurrentUser};
pub use client::Client;
