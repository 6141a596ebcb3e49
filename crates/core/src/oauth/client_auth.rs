//! Client authentication by `private_key_jwt` (RFC 7523 §2.2 and §3, OIDC Core §9): a JWT the
//! client signs with a private key whose public half it registered inline as a JWK Set
//! (`jwks`). This module checks a registered JWK Set and verifies an assertion against it; the
//! token service records the assertion's `jti` so that it is used once.
//!
//! A client may instead publish its set at a `jwks_uri`: the token service fetches it through
//! the client directory (and the outbound guard) and verifies against it the same way.

use crate::clock::UnixTime;
use crate::model::Client;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

/// `client_assertion_type` for a JWT (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The furthest ahead an assertion's `exp` may be: a short-lived credential, and the longest a
/// `jti` must be remembered.
pub const MAX_LIFETIME_SECS: i64 = 300;
/// Tolerated clock difference between the client and us.
pub const LEEWAY_SECS: i64 = 30;
/// How many keys an app may register.
pub const JWKS_MAX_KEYS: usize = 5;
/// The longest assertion read; a JWT of one RSA-8192 signature is well under this.
pub const ASSERTION_MAX_LEN: usize = 8192;
/// The longest `jti` remembered.
pub const JTI_MAX_LEN: usize = 256;
/// The signing algorithms accepted: asymmetric only, so never `none` nor HS* (whose "key" an
/// attacker would take from the published public key).
pub const ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// The endpoints where a client authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Token,
    Introspection,
    Revocation,
    DeviceAuthorization,
}

/// The `aud` values an assertion may carry: the issuer, or the URL of the endpoint it is sent
/// to (both API families' token endpoints for [`Endpoint::Token`]).
#[derive(Debug, Clone, Default)]
pub struct AssertionAudiences {
    pub issuer: String,
    pub token: Vec<String>,
    pub introspection: Vec<String>,
    pub revocation: Vec<String>,
    pub device_authorization: Vec<String>,
}

impl AssertionAudiences {
    /// Whether `aud` names us when sent to `endpoint`.
    pub fn accepts(&self, endpoint: Endpoint, aud: &str) -> bool {
        let urls = match endpoint {
            Endpoint::Token => &self.token,
            Endpoint::Introspection => &self.introspection,
            Endpoint::Revocation => &self.revocation,
            Endpoint::DeviceAuthorization => &self.device_authorization,
        };
        aud == self.issuer || urls.iter().any(|u| u == aud)
    }
}

/// Why an assertion was refused. Every one is answered `invalid_client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    #[error("the client assertion is not a well-formed JWT")]
    Malformed,
    #[error("the client assertion must be signed with RS256, ES256 or EdDSA")]
    Algorithm,
    #[error("this client does not authenticate with private_key_jwt")]
    NotRegistered,
    #[error("no registered key matches the client assertion")]
    UnknownKey,
    #[error("the client's jwks_uri could not be fetched or holds no usable key set")]
    KeysUnavailable,
    #[error("the client assertion's signature is invalid")]
    Signature,
    #[error("the client assertion's iss and sub must be the client_id")]
    Subject,
    #[error("the client assertion's aud does not name this server")]
    Audience,
    #[error("the client assertion has no exp or has expired")]
    Expired,
    #[error("the client assertion's exp is too far ahead")]
    TooLong,
    #[error("the client assertion is not valid yet")]
    NotYetValid,
    #[error("the client assertion needs a jti")]
    Jti,
    #[error("the client assertion was already used")]
    Replayed,
}

/// What a verified assertion leaves to remember: its `jti`, until its `exp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub jti: String,
    pub expires_at: UnixTime,
}

#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    #[serde(default)]
    aud: Value,
    exp: Option<i64>,
    iat: Option<i64>,
    nbf: Option<i64>,
    jti: Option<String>,
}

/// The `sub` of an assertion, read without verifying it: which client it claims to be, for
/// finding that client's keys and counting failures against it. Verification follows.
pub fn claimed_client_id(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

/// Verifies `assertion` for `client` sent to `endpoint` at `now`: signature by a registered
/// key, `iss` = `sub` = client_id, `aud`, `exp`, `iat`/`nbf` and the presence of a `jti`. The
/// caller records the `jti` (single use).
pub fn verify(
    assertion: &str,
    client: &Client,
    audiences: &AssertionAudiences,
    endpoint: Endpoint,
    now: UnixTime,
) -> Result<VerifiedAssertion, AssertionError> {
    if assertion.len() > ASSERTION_MAX_LEN {
        return Err(AssertionError::Malformed);
    }
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| AssertionError::Malformed)?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(AssertionError::Algorithm);
    }
    let jwks = client
        .jwks
        .as_deref()
        .ok_or(AssertionError::NotRegistered)?;
    let set: JwkSet = serde_json::from_str(jwks).map_err(|_| AssertionError::NotRegistered)?;
    let jwk = select_key(&set, header.kid.as_deref(), header.alg)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| AssertionError::UnknownKey)?;
    let mut validation = Validation::new(header.alg);
    validation.algorithms = vec![header.alg];
    // The time and audience rules are checked below, against the injected clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Claims>(assertion, &key, &validation)
        .map_err(|_| AssertionError::Signature)?
        .claims;
    check_claims(&claims, client, audiences, endpoint, now)
}

fn check_claims(
    claims: &Claims,
    client: &Client,
    audiences: &AssertionAudiences,
    endpoint: Endpoint,
    now: UnixTime,
) -> Result<VerifiedAssertion, AssertionError> {
    let id = client.client_id.as_str();
    if claims.iss.as_deref() != Some(id) || claims.sub.as_deref() != Some(id) {
        return Err(AssertionError::Subject);
    }
    let names_us = match &claims.aud {
        Value::String(aud) => audiences.accepts(endpoint, aud),
        Value::Array(list) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|aud| audiences.accepts(endpoint, aud)),
        _ => false,
    };
    if !names_us {
        return Err(AssertionError::Audience);
    }
    let exp = claims.exp.ok_or(AssertionError::Expired)?;
    if exp <= now - LEEWAY_SECS {
        return Err(AssertionError::Expired);
    }
    if exp > now + MAX_LIFETIME_SECS + LEEWAY_SECS {
        return Err(AssertionError::TooLong);
    }
    let future = |t: Option<i64>| t.is_some_and(|t| t > now + LEEWAY_SECS);
    if future(claims.iat) || future(claims.nbf) {
        return Err(AssertionError::NotYetValid);
    }
    let jti = claims
        .jti
        .as_deref()
        .filter(|j| !j.is_empty() && j.len() <= JTI_MAX_LEN)
        .ok_or(AssertionError::Jti)?;
    Ok(VerifiedAssertion {
        jti: jti.to_owned(),
        // Remembered at least until the assertion can no longer be accepted.
        expires_at: exp + LEEWAY_SECS,
    })
}

/// The key `kid` names, or without a `kid` the only key of the algorithm's type; its type
/// (and `alg`, when the key names one) must match the header's algorithm.
fn select_key<'a>(
    set: &'a JwkSet,
    kid: Option<&str>,
    alg: Algorithm,
) -> Result<&'a Jwk, AssertionError> {
    let fits = |jwk: &&Jwk| key_fits(jwk, alg);
    let jwk = match kid {
        Some(kid) => set
            .keys
            .iter()
            .find(|k| k.common.key_id.as_deref() == Some(kid))
            .filter(fits),
        None => {
            let mut matching = set.keys.iter().filter(fits);
            match (matching.next(), matching.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        }
    };
    jwk.ok_or(AssertionError::UnknownKey)
}

fn key_fits(jwk: &Jwk, alg: Algorithm) -> bool {
    let type_fits = match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(_), Algorithm::RS256) => true,
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
            ec.curve == EllipticCurve::P256
        }
        (AlgorithmParameters::OctetKeyPair(okp), Algorithm::EdDSA) => {
            okp.curve == EllipticCurve::Ed25519
        }
        _ => false,
    };
    let declared = match jwk.common.key_algorithm {
        None => true,
        Some(KeyAlgorithm::RS256) => alg == Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => alg == Algorithm::ES256,
        Some(KeyAlgorithm::EdDSA) => alg == Algorithm::EdDSA,
        Some(_) => false,
    };
    type_fits && declared
}

/// Why a JWK Set was refused at registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    #[error("jwks must be a JWK Set with 1 to 5 keys")]
    Shape,
    #[error("jwks may hold public keys only")]
    PrivateKey,
    #[error("jwks keys must be RSA (2048 to 8192 bits), EC P-256 or OKP Ed25519")]
    KeyType,
    #[error("jwks keys must have distinct kids")]
    DuplicateKid,
}

/// Members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Checks an app's JWK Set: 1 to 5 public signing keys of a supported type and size, with
/// distinct `kid`s. Returns the set as stored.
pub fn validate_jwks(value: &Value) -> Result<String, JwksError> {
    let keys = value
        .get("keys")
        .and_then(Value::as_array)
        .filter(|k| (1..=JWKS_MAX_KEYS).contains(&k.len()))
        .ok_or(JwksError::Shape)?;
    let mut kids = Vec::new();
    for key in keys {
        let object = key.as_object().ok_or(JwksError::Shape)?;
        if PRIVATE_MEMBERS.iter().any(|m| object.contains_key(*m)) {
            return Err(JwksError::PrivateKey);
        }
        if object.get("use").is_some_and(|u| u != "sig") {
            return Err(JwksError::KeyType);
        }
        check_key_material(key)?;
        let jwk: Jwk = serde_json::from_value(key.clone()).map_err(|_| JwksError::KeyType)?;
        if !ALGORITHMS.iter().any(|alg| key_fits(&jwk, *alg)) {
            return Err(JwksError::KeyType);
        }
        DecodingKey::from_jwk(&jwk).map_err(|_| JwksError::KeyType)?;
        if let Some(kid) = jwk.common.key_id {
            if kids.contains(&kid) {
                return Err(JwksError::DuplicateKid);
            }
            kids.push(kid);
        }
    }
    serde_json::to_string(value).map_err(|_| JwksError::Shape)
}

/// Sizes: RSA moduli of 2048 to 8192 bits, 32-byte P-256 coordinates and Ed25519 keys.
fn check_key_material(key: &Value) -> Result<(), JwksError> {
    let bytes = |name: &str| {
        key.get(name)
            .and_then(Value::as_str)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .ok_or(JwksError::KeyType)
    };
    let text = |name: &str| key.get(name).and_then(Value::as_str);
    match (text("kty"), text("crv")) {
        (Some("RSA"), _) => {
            let n = bytes("n")?;
            let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
            let e = bytes("e")?;
            if !(2048..=8192).contains(&bits) || e.is_empty() || e.len() > 8 {
                return Err(JwksError::KeyType);
            }
        }
        (Some("EC"), Some("P-256")) => {
            if bytes("x")?.len() != 32 || bytes("y")?.len() != 32 {
                return Err(JwksError::KeyType);
            }
        }
        (Some("OKP"), Some("Ed25519")) => {
            if bytes("x")?.len() != 32 {
                return Err(JwksError::KeyType);
            }
        }
        _ => return Err(JwksError::KeyType),
    }
    Ok(())
}

#[cfg(test)]
mod tests;
