//! OpenID Connect: signing keys (stored encrypted, shared by every node, rotated with overlap)
//! and id_tokens.

pub mod id_token;
pub(crate) mod jws;
pub mod keys;
pub mod master_key;

pub use keys::{KeyError, KeyRing, SigningAlg};
pub use master_key::MasterKey;
