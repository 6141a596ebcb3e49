//! The verification rules of RFC 7523 §3 and the JWK Set checks, on keys made here.

use super::*;
use crate::model::AuthMethod;
use crate::oidc::SigningAlg;
use crate::oidc::jws::JwsSigner;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use serde_json::json;

const NOW: i64 = 1_700_000_000;
const ISSUER: &str = "https://id.example";
const TOKEN_URL: &str = "https://id.example/api/oauth2/token";

fn audiences() -> AssertionAudiences {
    AssertionAudiences {
        issuer: ISSUER.into(),
        token: vec![
            TOKEN_URL.into(),
            "https://id.example/api/oauth/token".into(),
        ],
        introspection: vec!["https://id.example/oauth2/introspect".into()],
        revocation: vec!["https://id.example/oauth2/revoke".into()],
        device_authorization: vec!["https://id.example/oauth2/device_authorization".into()],
    }
}

struct Key {
    signer: JwsSigner,
    jwk: Value,
    alg: &'static str,
}

fn ed25519(kid: &str) -> Key {
    let der = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("key");
    let pair = Ed25519KeyPair::from_pkcs8(der.as_ref()).expect("pair");
    let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
    Key {
        signer: JwsSigner::from_pkcs8(SigningAlg::EdDsa, der.as_ref()).expect("signer"),
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid}),
        alg: "EdDSA",
    }
}

fn p256(kid: &str) -> Key {
    let alg = &ECDSA_P256_SHA256_FIXED_SIGNING;
    let der = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).expect("key");
    let pair = EcdsaKeyPair::from_pkcs8(alg, der.as_ref()).expect("pair");
    let point = pair.public_key().as_ref();
    Key {
        signer: JwsSigner::from_pkcs8(SigningAlg::Es256, der.as_ref()).expect("signer"),
        jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])}),
        alg: "ES256",
    }
}

fn client_with(keys: &[&Key]) -> Client {
    let mut client = crate::test_support::approved_client();
    client.auth_method = AuthMethod::PrivateKeyJwt;
    let set = json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()});
    client.jwks = Some(validate_jwks(&set).expect("valid jwks"));
    client
}

fn claims() -> Value {
    json!({"iss": "client_abc", "sub": "client_abc", "aud": TOKEN_URL,
        "exp": NOW + 60, "iat": NOW, "jti": "jti-1"})
}

fn sign(key: &Key, kid: Option<&str>, claims: &Value) -> String {
    let mut header = json!({"alg": key.alg, "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    key.signer.sign(&header, claims).expect("sign")
}

fn check(client: &Client, jwt: &str) -> Result<VerifiedAssertion, AssertionError> {
    verify(jwt, client, &audiences(), Endpoint::Token, NOW)
}

#[test]
fn rfc7523_3_a_well_formed_assertion_verifies_with_either_key_type() {
    for key in [ed25519("k1"), p256("k1")] {
        let client = client_with(&[&key]);
        let got = check(&client, &sign(&key, Some("k1"), &claims())).expect("verifies");
        assert_eq!(got.jti, "jti-1");
        assert!(got.expires_at >= NOW + 60);
        // Without a kid: the only key of the algorithm's type.
        check(&client, &sign(&key, None, &claims())).expect("only key");
    }
}

#[test]
fn rfc7523_3_iss_and_sub_must_be_the_client_id() {
    let key = ed25519("k1");
    let client = client_with(&[&key]);
    for (iss, sub) in [("other", "client_abc"), ("client_abc", "other")] {
        let mut c = claims();
        c["iss"] = json!(iss);
        c["sub"] = json!(sub);
        assert_eq!(
            check(&client, &sign(&key, Some("k1"), &c)),
            Err(AssertionError::Subject)
        );
    }
}

#[test]
fn rfc7523_3_aud_must_name_the_issuer_or_the_endpoint_called() {
    let key = ed25519("k1");
    let client = client_with(&[&key]);
    for (aud, endpoint, ok) in [
        (json!(ISSUER), Endpoint::Revocation, true),
        (json!(["x", TOKEN_URL]), Endpoint::Token, true),
        (
            json!("https://id.example/oauth2/introspect"),
            Endpoint::Introspection,
            true,
        ),
        (
            json!("https://id.example/oauth2/introspect"),
            Endpoint::Token,
            false,
        ),
        (json!(TOKEN_URL), Endpoint::Revocation, false),
        (json!("https://elsewhere.example"), Endpoint::Token, false),
        (json!(null), Endpoint::Token, false),
    ] {
        let mut c = claims();
        c["aud"] = aud.clone();
        let got = verify(
            &sign(&key, Some("k1"), &c),
            &client,
            &audiences(),
            endpoint,
            NOW,
        );
        assert_eq!(got.is_ok(), ok, "{aud} at {endpoint:?}: {got:?}");
    }
}

#[test]
fn rfc7523_3_exp_is_required_not_past_and_not_too_far_ahead() {
    let key = ed25519("k1");
    let client = client_with(&[&key]);
    for (exp, want) in [
        (json!(null), Err(AssertionError::Expired)),
        (json!(NOW - LEEWAY_SECS - 1), Err(AssertionError::Expired)),
        (
            json!(NOW + MAX_LIFETIME_SECS + LEEWAY_SECS + 1),
            Err(AssertionError::TooLong),
        ),
        (json!(NOW + MAX_LIFETIME_SECS), Ok(())),
    ] {
        let mut c = claims();
        c["exp"] = exp.clone();
        assert_eq!(
            check(&client, &sign(&key, Some("k1"), &c)).map(drop),
            want,
            "exp {exp}"
        );
    }
}

#[test]
fn rfc7523_3_iat_and_nbf_in_the_future_are_refused() {
    let key = ed25519("k1");
    let client = client_with(&[&key]);
    for claim in ["iat", "nbf"] {
        let mut c = claims();
        c[claim] = json!(NOW + LEEWAY_SECS + 10);
        assert_eq!(
            check(&client, &sign(&key, Some("k1"), &c)),
            Err(AssertionError::NotYetValid)
        );
    }
}

#[test]
fn rfc7523_3_jti_is_required() {
    let key = ed25519("k1");
    let client = client_with(&[&key]);
    for jti in [json!(null), json!(""), json!("x".repeat(JTI_MAX_LEN + 1))] {
        let mut c = claims();
        c["jti"] = jti;
        assert_eq!(
            check(&client, &sign(&key, Some("k1"), &c)),
            Err(AssertionError::Jti)
        );
    }
}

#[test]
fn oidc_core_9_the_key_is_chosen_by_kid_among_the_registered_keys() {
    let (k1, k2, stranger) = (ed25519("k1"), ed25519("k2"), ed25519("k1"));
    let client = client_with(&[&k1, &k2]);
    check(&client, &sign(&k2, Some("k2"), &claims())).expect("k2");
    // Two keys of the type and no kid: ambiguous.
    assert_eq!(
        check(&client, &sign(&k1, None, &claims())),
        Err(AssertionError::UnknownKey)
    );
    assert_eq!(
        check(&client, &sign(&k1, Some("k9"), &claims())),
        Err(AssertionError::UnknownKey)
    );
    // Signed by a key that is not registered, under a registered kid.
    assert_eq!(
        check(&client, &sign(&stranger, Some("k1"), &claims())),
        Err(AssertionError::Signature)
    );
    // A P-256 signature claimed for the Ed25519 key's kid.
    let ec = p256("k1");
    assert_eq!(
        check(&client, &sign(&ec, Some("k1"), &claims())),
        Err(AssertionError::UnknownKey)
    );
}

#[test]
fn rfc7523_3_alg_none_and_hmac_are_refused() {
    let key = ed25519("k1");
    let client = client_with(&[&key]);
    let body = URL_SAFE_NO_PAD.encode(claims().to_string());
    // `none` is no algorithm at all to the JWT library: the header does not even parse.
    for (header, want) in [
        (
            json!({"alg": "none", "kid": "k1"}),
            AssertionError::Malformed,
        ),
        (
            json!({"alg": "HS256", "kid": "k1"}),
            AssertionError::Algorithm,
        ),
    ] {
        let head = URL_SAFE_NO_PAD.encode(header.to_string());
        for sig in ["", "c2ln"] {
            let jwt = format!("{head}.{body}.{sig}");
            assert_eq!(check(&client, &jwt), Err(want), "{header}");
        }
    }
    // HS256 "signed" with the public key as the shared secret.
    let secret = serde_json::to_vec(&key.jwk).expect("json");
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &claims(),
        &jsonwebtoken::EncodingKey::from_secret(&secret),
    )
    .expect("hs256");
    assert_eq!(check(&client, &hs), Err(AssertionError::Algorithm));
    assert_eq!(check(&client, "not.a.jwt"), Err(AssertionError::Malformed));
}

#[test]
fn an_app_without_keys_cannot_use_assertions() {
    let key = ed25519("k1");
    let mut client = client_with(&[&key]);
    client.jwks = None;
    assert_eq!(
        check(&client, &sign(&key, Some("k1"), &claims())),
        Err(AssertionError::NotRegistered)
    );
}

#[test]
fn the_claimed_client_id_is_the_assertions_sub() {
    let key = ed25519("k1");
    let jwt = sign(&key, Some("k1"), &claims());
    assert_eq!(claimed_client_id(&jwt).as_deref(), Some("client_abc"));
    assert_eq!(claimed_client_id("garbage"), None);
}

#[test]
fn registered_jwks_hold_one_to_five_public_signing_keys() {
    let key = ed25519("k1").jwk;
    assert!(validate_jwks(&json!({"keys": [key.clone()]})).is_ok());
    assert_eq!(validate_jwks(&json!({"keys": []})), Err(JwksError::Shape));
    assert_eq!(validate_jwks(&json!([key.clone()])), Err(JwksError::Shape));
    let six: Vec<Value> = (0..6).map(|i| ed25519(&format!("k{i}")).jwk).collect();
    assert_eq!(validate_jwks(&json!({"keys": six})), Err(JwksError::Shape));
    for member in ["d", "p", "q", "k"] {
        let mut private = key.clone();
        private[member] = json!("AAAA");
        assert_eq!(
            validate_jwks(&json!({"keys": [private]})),
            Err(JwksError::PrivateKey)
        );
    }
    let mut x25519 = key.clone();
    x25519["crv"] = json!("X25519");
    let oct = json!({"kty": "oct", "kid": "s"});
    let short_x = json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"});
    let small_rsa = json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xffu8; 128]), "e": "AQAB"});
    let mut enc = key.clone();
    enc["use"] = json!("enc");
    for bad in [x25519, oct, short_x, small_rsa, enc] {
        assert_eq!(
            validate_jwks(&json!({"keys": [bad.clone()]})),
            Err(JwksError::KeyType),
            "{bad}"
        );
    }
    assert_eq!(
        validate_jwks(&json!({"keys": [key.clone(), ed25519("k1").jwk]})),
        Err(JwksError::DuplicateKid)
    );
}
