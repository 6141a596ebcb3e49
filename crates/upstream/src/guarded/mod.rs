//! Outbound fetches of URLs that untrusted parties give us (client metadata documents, a
//! client's `jwks_uri`), guarded against server-side request forgery. See [`GuardedFetcher`].

pub mod address;
pub mod fetch;
pub mod resolver;

pub use address::address_allowed;
pub use fetch::{FetchError, FetchLimits, FetchedJson, GuardedFetcher};
