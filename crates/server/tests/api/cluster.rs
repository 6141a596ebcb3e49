//! Several nodes on one database, and the signing keys' lifecycle over (mocked) time.

use crate::helpers::{Backend, TestApp, TestDatabase, get_json, test_config};
use crate::oauth_support::*;
use crate::on_both_backends;
use keyward_core::clock::{Clock, MockClock};
use keyward_core::oidc::keys::KeyPolicy;
use keyward_core::oidc::{KeyRing, MasterKey, SigningAlg};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

on_both_backends!(
    two_nodes_share_codes_tokens_revocations_and_keys,
    a_rotated_key_is_published_first_and_retired_only_after_its_tokens_expire,
    a_key_rotated_elsewhere_is_published_and_used_by_every_node_at_once,
);

async fn two_nodes_share_codes_tokens_revocations_and_keys(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let a = TestApp::start(db.clone(), test_config(&db)).await;
    let b = TestApp::start(db.clone(), test_config(&db)).await;
    let (developer, _) = a.user("dev").await;
    let registered =
        register_app(&a, &developer, json!({"scopes": "openid profile balance"})).await;

    // The user logs in and consents at A; the app redeems the code at B.
    let (browser, _) = a.user("uwe").await;
    let params = [
        ("client_id", registered.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("state", "s"),
        ("nonce", "n"),
    ];
    let code = obtain_code(&a, &browser, "/oauth/authorize", &params).await;
    let (status, tokens) = exchange_code(&b, &registered, &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    // The same code at A is now a replay.
    let (status, _) = exchange_code(&a, &registered, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Both nodes publish the key that signed the id_token.
    let id_token = tokens["id_token"].as_str().expect("id_token");
    let kid = id_token_kid(id_token);
    for node in [&a, &b] {
        let (_, jwks) = get_json(&node.client(), &node.url("/oauth2/jwks")).await;
        assert!(
            jwks["keys"]
                .as_array()
                .expect("keys")
                .iter()
                .any(|k| k["kid"] == kid.as_str())
        );
    }

    // A browser session made at A works at B (sessions are in the database; cookies ignore
    // the port, so the same browser sends it to both nodes).
    let (status, _) = get_json(&browser, &b.url("/api/user/self")).await;
    assert_eq!(status, StatusCode::OK);

    // The grant was made without offline_access: log in a plain app for a refresh chain A → B.
    let plain = register_app(&a, &developer, json!({})).await;
    let (_, first) = code_flow(&a, &a, &browser, &plain, "profile").await;
    let refresh = |node: &TestApp, token: String| {
        let url = node.url("/api/oauth2/token");
        let (id, secret) = (plain.client_id.clone(), plain.client_secret.clone());
        async move {
            crate::helpers::into_parts(
                reqwest::Client::new()
                    .post(url)
                    .form(&[
                        ("grant_type", "refresh_token".to_owned()),
                        ("refresh_token", token),
                        ("client_id", id),
                        ("client_secret", secret),
                    ])
                    .send()
                    .await
                    .expect("refresh"),
            )
            .await
        }
    };
    let (status, at_a) = refresh(&a, s(&first, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, at_b) = refresh(&b, s(&at_a, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
    // Reusing A's (now rotated) token at B kills the family everywhere.
    let (status, _) = refresh(&b, s(&at_a, "refresh_token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        userinfo_b(&a, &s(&at_b, "access_token")).await.0,
        StatusCode::UNAUTHORIZED
    );

    // The replay above revoked the first tokens, at both nodes.
    assert_eq!(
        userinfo_b(&b, &s(&tokens, "access_token")).await.0,
        StatusCode::UNAUTHORIZED
    );
    // A revocation at A is refused at B at once.
    let (_, fresh) = code_flow(&a, &a, &browser, &registered, "openid profile").await;
    let access = s(&fresh, "access_token");
    assert_eq!(userinfo_b(&b, &access).await.0, StatusCode::OK);
    let res = browser
        .delete(a.url(&format!(
            "/api/user/authorizations/{}",
            registered.client_id
        )))
        .send()
        .await
        .expect("revoke");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(userinfo_b(&b, &access).await.0, StatusCode::UNAUTHORIZED);
}

fn s(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .to_owned()
}

fn id_token_kid(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().expect("header");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64");
    let value: Value = serde_json::from_slice(&bytes).expect("json");
    s(&value, "kid")
}

async fn a_rotated_key_is_published_first_and_retired_only_after_its_tokens_expire(
    backend: Backend,
) {
    let db = TestDatabase::new(backend).await;
    let store = keyward::app::open_store(&db.url, 4).await.expect("store");
    let clock = Arc::new(MockClock::new(1_000_000));
    let policy = KeyPolicy {
        id_token_ttl_secs: 100,
        cache: Duration::ZERO,
    };
    let ring = KeyRing::new(store.clone(), clock.clone(), MasterKey::generate(), policy);
    ring.ensure_keys().await.expect("keys");
    let kids = |jwks: Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .filter(|k| k["alg"] == "RS256")
            .filter_map(|k| k["kid"].as_str().map(str::to_owned))
            .collect()
    };
    let signed_kid = |token: String| id_token_kid(&token);
    let claims = json!({"sub": "x"});
    let old = signed_kid(ring.sign(SigningAlg::Rs256, &claims).await.expect("sign"));

    let new = ring.rotate(SigningAlg::Rs256, 50).await.expect("rotate");
    // Published at once, but not yet signing.
    assert_eq!(
        kids(ring.jwks().await.expect("jwks")),
        vec![old.clone(), new.clone()]
    );
    assert_eq!(
        signed_kid(ring.sign(SigningAlg::Rs256, &claims).await.expect("sign")),
        old
    );
    clock.advance(50);
    assert_eq!(
        signed_kid(ring.sign(SigningAlg::Rs256, &claims).await.expect("sign")),
        new
    );
    // The old key covers its last tokens (the longer of the id_token ttl and the longest JWT
    // access token's, RFC 9068) plus a margin, then goes.
    clock.advance(keyward_core::oauth::resources::JWT_TTL_MAX + 300 - 1);
    assert!(kids(ring.jwks().await.expect("jwks")).contains(&old));
    assert_eq!(ring.purge().await.expect("purge"), 0);
    clock.advance(2);
    assert_eq!(kids(ring.jwks().await.expect("jwks")), vec![new.clone()]);
    assert_eq!(ring.purge().await.expect("purge"), 1);
    // Another algorithm's keys were never touched.
    let all = ring.jwks().await.expect("jwks");
    assert_eq!(all["keys"].as_array().map(Vec::len), Some(3));
    let _ = clock.now();
    // A node with the wrong master key cannot use the stored keys.
    let stranger = KeyRing::new(store, clock, MasterKey::generate(), policy);
    assert!(stranger.sign(SigningAlg::Rs256, &claims).await.is_err());
}

/// The kids a node's JWKS lists.
async fn published(node: &TestApp) -> Vec<String> {
    let (status, jwks) = get_json(&node.client(), &node.url("/oauth2/jwks")).await;
    assert_eq!(status, StatusCode::OK, "{jwks}");
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str().map(str::to_owned))
        .collect()
}

/// What may pass between a commit at one node and another node hearing of it: the
/// notification's way on loopback, far below the nodes' key cache of an hour.
const NOTIFIED_WITHIN: Duration = Duration::from_secs(2);

async fn a_key_rotated_elsewhere_is_published_and_used_by_every_node_at_once(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    // Caches that never expire in this test: only the change notification (PostgreSQL) or the
    // file's data_version (SQLite) can tell the nodes.
    let hour = |db: &TestDatabase| keyward::config::Config {
        key_cache_secs: 3600,
        ..test_config(db)
    };
    let a = TestApp::start(db.clone(), hour(&db)).await;
    let b = TestApp::start(db.clone(), hour(&db)).await;
    let (developer, _) = a.user("dev").await;
    let registered = register_app(&a, &developer, json!({"scopes": "openid profile"})).await;
    let (browser, _) = a.user("rita").await;
    let before = published(&b).await;
    assert_eq!(published(&a).await, before);

    // An operator rotates the RS256 key from outside both nodes (as `keyward keys rotate` does),
    // to sign from now on.
    let store = keyward::app::open_store(&db.url, 2).await.expect("store");
    let master = MasterKey::from_base64(&db.secret_key).expect("master key");
    let policy = KeyPolicy {
        id_token_ttl_secs: 3600,
        cache: Duration::ZERO,
    };
    let clock: Arc<dyn Clock> = Arc::new(keyward_core::clock::SystemClock);
    let operator = KeyRing::new(store, clock, master, policy);
    let new = operator.rotate(SigningAlg::Rs256, 0).await.expect("rotate");

    let deadline = std::time::Instant::now() + NOTIFIED_WITHIN;
    for node in [&a, &b] {
        loop {
            let kids = published(node).await;
            if kids.contains(&new) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{new} not published at {}: {kids:?}",
                node.base
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // A new key signs from its `not_before` (a second after the last key's at most): from then
    // on B signs id_tokens with it.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (status, tokens) = code_flow(&a, &b, &browser, &registered, "openid profile").await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(id_token_kid(&s(&tokens, "id_token")), new);
}
