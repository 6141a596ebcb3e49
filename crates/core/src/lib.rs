//! Keyward's domain: accounts, sessions and developer tokens, and the storage interface they
//! stand on. Nothing here knows about HTTP or SQL: the web crate turns requests into calls on
//! [`accounts::Accounts`], and a store crate implements [`store::Store`] for one database.

pub mod accounts;
pub mod audit;
pub mod billing;
pub mod clock;
pub mod datamove;
pub mod limits;
pub mod model;
pub mod oauth;
pub mod oidc;
pub mod secret;
pub mod settings;
pub mod store;
pub mod telemetry;
#[cfg(test)]
mod test_support;
pub mod user_agent;
pub mod vault;

pub use clock::{Clock, SystemClock};
pub use store::{Store, StoreError};
