//! Bad input and faults: each a clear error, and nothing moved.

use super::{Scene, bearer_post_raw, charge_body, token_with_limit};
use crate::helpers::{Backend, into_parts};
use crate::oauth_support::{CALLBACK, obtain_code, register_app, token_b};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    bad_amounts_keys_and_bodies_are_refused_and_move_nothing,
    a_token_without_the_scope_a_dead_token_or_a_disabled_user_cannot_charge,
);

async fn bad_amounts_keys_and_bodies_are_refused_and_move_nothing(backend: Backend) {
    let s = Scene::new(backend).await;
    let token = s.token("10", "month").await;
    for body in [
        r#"{"amount": -1, "idempotency_key": "k"}"#,
        r#"{"amount": 0, "idempotency_key": "k"}"#,
        r#"{"amount": 1.5, "idempotency_key": "k"}"#,
        r#"{"amount": 1.0, "idempotency_key": "k"}"#,
        r#"{"amount": 1e3, "idempotency_key": "k"}"#,
        r#"{"amount": "5", "idempotency_key": "k"}"#,
        r#"{"amount": 10000000000000000000, "idempotency_key": "k"}"#,
        r#"{"amount": 1000000000000000001, "idempotency_key": "k"}"#,
        r#"{"amount": 5}"#,
        r#"{"amount": 5, "idempotency_key": ""}"#,
        r#"{"amount": 5, "idempotency_key": "has space"}"#,
        r#"{"amount": 5, "idempotency_key": 7}"#,
        r#"{"amount": 5, "idempotency_key": "k", "description": "two\nlines"}"#,
        r#"{"amount": 5, "idempotency_key": "k", "description": 3}"#,
        r#"[5]"#,
        r#"not json"#,
        "",
    ] {
        let (status, refused) =
            bearer_post_raw(&s.app, "/api/oauth2/balance/charge", &token, body).await;
        assert_eq!(
            (status, refused["error"].clone()),
            (StatusCode::BAD_REQUEST, json!("invalid_request")),
            "{body}: {refused}"
        );
    }
    // Above the balance (within the limit): 402.
    let (status, poor) = s.charge(&token, charge_body(5001, "big")).await;
    assert_eq!(
        (status, poor["error"].clone()),
        (StatusCode::PAYMENT_REQUIRED, json!("insufficient_balance")),
        "{poor}"
    );
    assert_eq!(s.balance().await, (5000, 0));
    s.done().await;
}

async fn a_token_without_the_scope_a_dead_token_or_a_disabled_user_cannot_charge(backend: Backend) {
    let s = Scene::new(backend).await;
    // A token of the same app with `balance` only.
    let code = obtain_code(
        &s.app,
        &s.payer,
        "/oauth/authorize",
        &[
            ("response_type", "code"),
            ("client_id", &s.client.client_id),
            ("redirect_uri", CALLBACK),
            ("scope", "balance"),
            ("state", "s"),
        ],
    )
    .await;
    let (_, reader) = token_b(
        &s.app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("client_id", &s.client.client_id),
            ("client_secret", &s.client.client_secret),
        ],
    )
    .await;
    let reader = reader["access_token"].as_str().expect("token").to_owned();
    let (status, refused) = s.charge(&reader, charge_body(1, "k1")).await;
    assert_eq!(
        (status, refused["error"].clone()),
        (StatusCode::FORBIDDEN, json!("insufficient_scope")),
        "{refused}"
    );

    // No token, a made-up one, a revoked one.
    let (status, _) = s.charge("", charge_body(1, "k2")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s.charge("at_made_up", charge_body(1, "k2")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let token = s.token("5", "month").await;
    let res = reqwest::Client::new()
        .post(s.app.url("/oauth2/revoke"))
        .basic_auth(&s.client.client_id, Some(&s.client.client_secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .expect("revoke");
    assert_eq!(res.status(), StatusCode::OK);
    let (status, refused) = s.charge(&token, charge_body(1, "k3")).await;
    assert_eq!(
        (status, refused["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("invalid_token"))
    );

    // A disabled user's tokens die with the account.
    let live = token_with_limit(&s.app, &s.payer, &s.client, "5", "month").await;
    let admin = s.app.admin().await;
    let res = admin
        .patch(s.app.url(&format!("/api/admin/users/{}", s.payer_id)))
        .json(&json!({"status": 2}))
        .send()
        .await
        .expect("disable");
    let (_, body) = into_parts(res).await;
    assert_eq!(body["success"], true, "{body}");
    let (status, _) = s.charge(&live, charge_body(1, "k4")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // An app disabled by the admin stops too (another app, still allowed to spend).
    let (developer, _) = s.app.user("dev2").await;
    let _other = register_app(&s.app, &developer, json!({"scopes": "balance"})).await;
    let res = admin
        .patch(s.app.url(&format!("/api/admin/users/{}", s.payer_id)))
        .json(&json!({"status": 1}))
        .send()
        .await
        .expect("enable");
    assert_eq!(res.status(), StatusCode::OK);
    // Disabling ended the sessions too.
    let payer = s.app.login("payer", "password-123").await;
    let live = token_with_limit(&s.app, &payer, &s.client, "5", "month").await;
    let (status, _) = crate::helpers::post_json(
        &admin,
        &s.app
            .url(&format!("/api/admin/oauth_apps/{}/disable", s.client.id)),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.charge(&live, charge_body(1, "k5")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(s.balance().await, (5000, 0));
    s.done().await;
}
