//! id_tokens (OIDC Core §2, §3.1.3.6).

use super::keys::{KeyError, KeyRing, SigningAlg};
use crate::clock::UnixTime;
use crate::model::User;
use crate::oauth::scope::{Access, ScopeSet};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

#[derive(Debug, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub azp: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

/// What an id_token says and about whom.
pub struct IdTokenRequest<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub user: &'a User,
    pub scopes: ScopeSet,
    pub nonce: Option<&'a str>,
    pub auth_time: UnixTime,
    pub access_token: Option<&'a str>,
    pub alg: SigningAlg,
    pub now: UnixTime,
    pub ttl: i64,
}

/// The left half of the access token's hash, with the hash of the signing algorithm
/// (SHA-256 for RS256 and ES256, SHA-512 for Ed25519).
pub fn at_hash(alg: SigningAlg, access_token: &str) -> String {
    let digest = match alg {
        SigningAlg::Rs256 | SigningAlg::Es256 => Sha256::digest(access_token.as_bytes()).to_vec(),
        SigningAlg::EdDsa => Sha512::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

pub fn claims(request: &IdTokenRequest<'_>) -> IdTokenClaims {
    let user = request.user;
    let profile = request.scopes.gives(Access::Profile);
    let email = request.scopes.gives(Access::Email);
    IdTokenClaims {
        iss: request.issuer.to_owned(),
        sub: user.uuid.to_string(),
        aud: request.client_id.to_owned(),
        azp: request.client_id.to_owned(),
        exp: request.now + request.ttl,
        iat: request.now,
        auth_time: request.auth_time,
        nonce: request.nonce.map(str::to_owned),
        at_hash: request.access_token.map(|t| at_hash(request.alg, t)),
        preferred_username: profile.then(|| user.username.clone()),
        name: profile.then(|| user.display_name.clone()),
        picture: profile
            .then(|| user.avatar_url.clone())
            .filter(|p| !p.is_empty()),
        email: if email { user.email.clone() } else { None },
        email_verified: (email && user.email.is_some()).then_some(user.email_verified),
    }
}

pub async fn sign(keys: &KeyRing, request: &IdTokenRequest<'_>) -> Result<String, KeyError> {
    keys.sign(request.alg, &claims(request)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_oidc_example() {
        // OIDC Core, Appendix A.3: access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y".
        assert_eq!(
            at_hash(
                SigningAlg::Rs256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
