//! Keyward's HTTP surface. Handlers are thin: they parse the request at the edge, call the
//! domain in `keyward-core`, and map its outcome to the envelope of their API family.

pub mod access_log;
pub mod account;
pub mod admin;
pub mod apps;
pub mod envelope;
pub mod extract;
pub mod federation;
pub mod health;
pub mod metrics;
pub mod middleware;
pub mod oauth;
pub mod oidc;
pub mod openapi;
pub mod outbound;
pub mod pages;
pub mod routes;
pub mod state;

pub use routes::{openapi_document, router};
pub use state::{AppState, Services, WebConfig};
