//! Request extractors: who is calling, and from where.

mod auth;
pub(crate) mod client;
pub mod origin;

pub use auth::{AdminUser, AuthVia, CurrentUser, SIGN_IN_AGAIN, SessionUser};
pub use client::Client;
pub use origin::SameOrigin;
