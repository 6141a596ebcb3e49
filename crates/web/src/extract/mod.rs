//! Request extractors: who is calling, and from where.

mod auth;
mod client;
pub mod origin;

pub use auth::{AdminUser, AuthVia, CurrentUser, SessionUser};
pub use client::Client;
pub use origin::SameOrigin;
