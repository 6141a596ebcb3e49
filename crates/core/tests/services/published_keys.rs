//! `private_key_jwt` with keys published at a `jwks_uri`: fetched (through the fetcher, here
//! from memory) and cached per the document's lifetime, fetched again when a rotated key shows
//! up (at most once a minute), and refused when the set cannot be fetched.

use crate::world::{IP, ISSUER, REDIRECT, World};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use keyward_core::clock::Clock as _;
use keyward_core::model::{AuthMethod, Client};
use keyward_core::oauth::TokenError;
use keyward_core::oauth::apps::{AppForm, AppPolicy};
use keyward_core::oauth::client_auth::AssertionError;
use keyward_core::oauth::tokens::{ClientAuth, ClientCredentials, Grant, TokenRequest};
use serde_json::{Value, json};
use std::time::Duration;

const JWKS_URI: &str = "https://app.example.test/.well-known/jwks.json";

struct Key {
    der: Vec<u8>,
    jwk: Value,
}

fn key(kid: &str) -> Key {
    let der = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("key");
    let pair = Ed25519KeyPair::from_pkcs8(der.as_ref()).expect("pair");
    let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
    Key {
        der: der.as_ref().to_vec(),
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig"}),
    }
}

async fn app(w: &World) -> Client {
    let owner = w.user("developer").await;
    let form = AppForm {
        name: "Signed".into(),
        redirect_uris: vec![REDIRECT.into()],
        scopes: Some("profile".into()),
        grant_types: Some(vec!["client_credentials".into()]),
        token_endpoint_auth_method: Some("private_key_jwt".into()),
        jwks_uri: Some(JWKS_URI.into()),
        ..AppForm::default()
    };
    let policy = AppPolicy {
        review_required: false,
        allow_http_redirect_uris: false,
    };
    let (client, secret) = w
        .apps
        .register(&owner, form, policy, IP)
        .await
        .expect("app");
    assert!(secret.is_none(), "a key-signing app has no secret");
    assert_eq!(client.auth_method, AuthMethod::PrivateKeyJwt);
    assert_eq!(client.jwks_uri.as_deref(), Some(JWKS_URI));
    client
}

async fn token(w: &World, client: &Client, key: &Key, kid: &str) -> Result<(), TokenError> {
    let now = w.clock.now();
    let claims = json!({"iss": client.client_id, "sub": client.client_id, "aud": ISSUER,
        "exp": now + 60, "iat": now, "jti": uuid::Uuid::new_v4().to_string()});
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.into());
    let jwt =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(&key.der)).expect("sign");
    let request = TokenRequest {
        client: ClientCredentials {
            client_id: client.client_id.clone(),
            auth: ClientAuth::Assertion(jwt),
        },
        grant: Grant::ClientCredentials {
            scope: None,
            resources: Vec::new(),
        },
    };
    w.tokens.token(&request, IP).await.map(drop)
}

#[tokio::test]
async fn published_keys_are_fetched_cached_and_refetched_for_a_rotated_key() {
    let w = World::new().await;
    let client = app(&w).await;
    let first = key("k1");
    w.documents.serve(
        JWKS_URI,
        json!({"keys": [first.jwk]}),
        Duration::from_secs(3600),
    );

    token(&w, &client, &first, "k1")
        .await
        .expect("signed by k1");
    token(&w, &client, &first, "k1").await.expect("again");
    assert_eq!(w.documents.fetches(), 1, "cached");

    // The app rotates to k2. Right after the last fetch, an unknown kid does not make us fetch.
    let second = key("k2");
    w.documents.serve(
        JWKS_URI,
        json!({"keys": [second.jwk]}),
        Duration::from_secs(3600),
    );
    assert!(matches!(
        token(&w, &client, &second, "k2").await,
        Err(TokenError::BadClientAssertion(AssertionError::UnknownKey))
    ));
    assert_eq!(w.documents.fetches(), 1);
    // A minute on, it does, and the new key works.
    w.clock.advance(61);
    token(&w, &client, &second, "k2")
        .await
        .expect("signed by k2");
    assert_eq!(w.documents.fetches(), 2);
}

#[tokio::test]
async fn unpublished_or_unusable_keys_refuse_the_client() {
    let w = World::new().await;
    let client = app(&w).await;
    let signer = key("k1");
    assert!(matches!(
        token(&w, &client, &signer, "k1").await,
        Err(TokenError::BadClientAssertion(
            AssertionError::KeysUnavailable
        ))
    ));
    // A private key published by mistake is not a key set we verify with.
    let mut private = signer.jwk.clone();
    private["d"] = json!("c2VjcmV0");
    w.documents.serve(
        JWKS_URI,
        json!({"keys": [private]}),
        Duration::from_secs(60),
    );
    assert!(matches!(
        token(&w, &client, &signer, "k1").await,
        Err(TokenError::BadClientAssertion(
            AssertionError::KeysUnavailable
        ))
    ));
}

#[tokio::test]
async fn a_jwks_uri_must_be_https_and_exclusive_of_jwks() {
    let w = World::new().await;
    let owner = w.user("developer").await;
    let policy = AppPolicy {
        review_required: false,
        allow_http_redirect_uris: false,
    };
    for (uri, jwks) in [
        ("http://app.example.test/jwks.json", None),
        ("https://app.example.test", None),
        (JWKS_URI, Some(json!({"keys": [key("k").jwk]}))),
    ] {
        let form = AppForm {
            name: "Signed".into(),
            redirect_uris: vec![REDIRECT.into()],
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            jwks_uri: Some(uri.into()),
            jwks,
            ..AppForm::default()
        };
        assert!(
            w.apps.register(&owner, form, policy, IP).await.is_err(),
            "{uri}"
        );
    }
}
