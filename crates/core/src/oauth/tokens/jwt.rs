//! JWT access tokens (RFC 9068) for resources that choose them. The token's row is stored like an
//! opaque token's, under the hash of a random secret that is never sent; the JWT carries that hash
//! as `jti`, so introspection and revocation find the row from a JWT they have verified.

use crate::clock::UnixTime;
use crate::model::{Resource, User};
use crate::oidc::{KeyError, KeyRing};
use crate::secret::SecretHash;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Validation, decode, decode_header};
use serde::{Deserialize, Serialize};

/// RFC 9068 §2.2.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub exp: i64,
    pub aud: String,
    /// The user's UUID; for a client-credentials token, the app's `client_id` (§2.2).
    pub sub: String,
    pub client_id: String,
    pub iat: i64,
    pub jti: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The user's name, when the user shared the `profile` scope with the app: an API (an MCP
    /// server's tool, say) can then say who is calling without a userinfo request, which an
    /// API-bound token cannot make.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
}

/// What one JWT access token says.
pub struct JwtAccess<'a> {
    pub issuer: &'a str,
    pub resource: &'a Resource,
    pub client_id: &'a str,
    pub user: Option<&'a User>,
    pub auth_time: UnixTime,
    pub scope: String,
    /// Whether the grant includes `profile`.
    pub profile: bool,
    /// The row's hash.
    pub hash: &'a SecretHash,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
}

pub async fn sign(keys: &KeyRing, access: &JwtAccess<'_>) -> Result<String, KeyError> {
    let claims = AccessTokenClaims {
        iss: access.issuer.to_owned(),
        exp: access.expires_at,
        aud: access.resource.identifier.clone(),
        sub: access
            .user
            .map_or_else(|| access.client_id.to_owned(), |u| u.uuid.to_string()),
        client_id: access.client_id.to_owned(),
        iat: access.issued_at,
        jti: URL_SAFE_NO_PAD.encode(access.hash.as_bytes()),
        scope: access.scope.clone(),
        auth_time: access.user.map(|_| access.auth_time),
        preferred_username: access
            .user
            .filter(|_| access.profile)
            .map(|u| u.username.clone()),
    };
    keys.sign_typed(access.resource.signing_alg, "at+jwt", &claims)
        .await
}

/// Whether `token` has the shape of a JWS (three base64url parts), worth verifying at all.
pub fn looks_like_jwt(token: &str) -> bool {
    token.len() <= 8192
        && token.split('.').count() == 3
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The row hash of a JWT access token this provider signed, once its signature checks out with
/// one of the published keys. Expiry and revocation are the row's business.
pub async fn row_hash(keys: &KeyRing, token: &str) -> Result<Option<SecretHash>, KeyError> {
    let Ok(header) = decode_header(token) else {
        return Ok(None);
    };
    if !header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("at+jwt"))
    {
        return Ok(None);
    }
    let Some(kid) = header.kid.as_deref() else {
        return Ok(None);
    };
    let Some((alg, key)) = keys.decoding_key(kid).await? else {
        return Ok(None);
    };
    if alg.jwt() != header.alg {
        return Ok(None);
    }
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let Ok(data) = decode::<AccessTokenClaims>(token, &key, &validation) else {
        return Ok(None);
    };
    Ok(URL_SAFE_NO_PAD
        .decode(data.claims.jti)
        .ok()
        .and_then(|bytes| SecretHash::from_slice(&bytes)))
}
