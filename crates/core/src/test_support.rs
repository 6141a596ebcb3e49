//! Fixtures the unit tests of several modules share.

use crate::model::{AuthMethod, Client, ClientKind, ClientStatus, GrantType};
use crate::oauth::scope::ScopeSet;
use crate::oidc::SigningAlg;
use proptest::collection::vec;
use proptest::prelude::*;

/// An approved confidential app, `client_abc`, registered for `https://app.example/cb` with
/// `openid profile balance` and the code and refresh grants. Tests change what they exercise.
pub fn approved_client() -> Client {
    Client {
        id: 1,
        client_id: "client_abc".into(),
        owner_id: Some(1),
        name: "App".into(),
        description: String::new(),
        redirect_uris: vec!["https://app.example/cb".into()],
        post_logout_redirect_uris: vec![],
        allowed_scopes: ScopeSet::parse("openid profile balance").expect("scopes"),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        public: false,
        secret_hash: None,
        previous_secret_hash: None,
        previous_secret_expires_at: None,
        secret_revealed_at: None,
        status: ClientStatus::Approved,
        review_note: String::new(),
        trusted: false,
        may_spend: false,
        billing_service: false,
        id_token_alg: SigningAlg::Rs256,
        allowed_resources: None,
        auth_method: AuthMethod::ClientSecretBasic,
        jwks: None,
        jwks_uri: None,
        kind: ClientKind::Console,
        registration_token_hash: None,
        metadata_expires_at: None,
        last_used_at: None,
        logo_uri: None,
        client_uri: None,
        policy_uri: None,
        pending_change: None,
        pending_since: None,
        reviewed_at: None,
        created_at: 0,
        updated_at: 0,
    }
}

/// Arbitrary text for the fuzzing properties (SECURITY.md, "Fuzzing"): any string, a long run
/// of any characters, or text matching `plausible` (a regex), which gets past the first checks.
pub fn hostile_text(plausible: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        vec(any::<char>(), 0..3000).prop_map(String::from_iter),
        plausible,
    ]
}
