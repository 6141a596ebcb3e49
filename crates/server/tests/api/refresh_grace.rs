//! Refresh-token rotation with and without the operator's retry grace window
//! (`refresh_reuse_grace_seconds`), one request at a time and concurrently.

use crate::helpers::{Backend, TestApp, into_parts};
use crate::oauth_support::*;
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

on_both_backends!(
    without_grace_a_replayed_refresh_token_revokes_the_family,
    with_grace_a_retry_in_the_window_gets_the_same_working_pair,
    with_grace_a_retry_after_the_successor_was_used_revokes_the_family,
    with_grace_a_retry_after_the_window_revokes_the_family,
    without_grace_concurrent_refreshes_let_exactly_one_win,
    with_grace_concurrent_refreshes_all_get_the_same_pair,
    the_grace_window_is_bounded,
);

struct Setup {
    app: TestApp,
    registered: RegisteredApp,
    tokens: Value,
}

/// An approved app holding a first token pair, on a node with the given grace window.
async fn setup(backend: Backend, grace: i64) -> Setup {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&json!({"refresh_reuse_grace_seconds": grace}))
        .send()
        .await
        .expect("settings");
    let (_, body) = into_parts(res).await;
    assert_eq!(body["success"], true, "{body}");
    let (developer, _) = app.user("dev").await;
    let registered = register_app(&app, &developer, json!({})).await;
    let (browser, _) = app.user("rita").await;
    let (status, tokens) = code_flow(&app, &app, &browser, &registered, "profile").await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    Setup {
        app,
        registered,
        tokens,
    }
}

impl Setup {
    async fn refresh(&self, token: &str) -> (StatusCode, Value) {
        token_b(
            &self.app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
                ("client_id", &self.registered.client_id),
                ("client_secret", &self.registered.client_secret),
            ],
        )
        .await
    }

    async fn works(&self, access: &str) -> bool {
        userinfo_b(&self.app, access).await.0 == StatusCode::OK
    }
}

fn s(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {v}"))
        .to_owned()
}

async fn without_grace_a_replayed_refresh_token_revokes_the_family(backend: Backend) {
    let t = setup(backend, 0).await;
    let first = s(&t.tokens, "refresh_token");
    let (status, rotated) = t.refresh(&first).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert!(t.works(&s(&rotated, "access_token")).await);

    let (status, body) = t.refresh(&first).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_grant"))
    );
    // The replay killed what the rotation issued.
    assert!(!t.works(&s(&rotated, "access_token")).await);
    assert_eq!(
        t.refresh(&s(&rotated, "refresh_token")).await.0,
        StatusCode::BAD_REQUEST
    );
}

async fn with_grace_a_retry_in_the_window_gets_the_same_working_pair(backend: Backend) {
    let t = setup(backend, 120).await;
    let first = s(&t.tokens, "refresh_token");
    let (status, rotated) = t.refresh(&first).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let (status, retried) = t.refresh(&first).await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert_eq!(retried["access_token"], rotated["access_token"]);
    assert_eq!(retried["refresh_token"], rotated["refresh_token"]);
    assert_eq!(retried["scope"], rotated["scope"]);
    assert!(retried["expires_in"].as_i64().is_some_and(|e| e > 7000));
    assert_ne!(rotated["refresh_token"], t.tokens["refresh_token"]);

    // The pair works, and the chain goes on from it.
    assert!(t.works(&s(&rotated, "access_token")).await);
    let (status, next) = t.refresh(&s(&rotated, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{next}");
    assert!(t.works(&s(&next, "access_token")).await);
    // The first tokens of the family were not revoked by the retry either.
    assert!(t.works(&s(&t.tokens, "access_token")).await);
}

async fn with_grace_a_retry_after_the_successor_was_used_revokes_the_family(backend: Backend) {
    let t = setup(backend, 120).await;
    let first = s(&t.tokens, "refresh_token");
    let (_, rotated) = t.refresh(&first).await;
    let (status, next) = t.refresh(&s(&rotated, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{next}");

    // The client has moved on, so the old token can only be a leak.
    let (status, _) = t.refresh(&first).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!t.works(&s(&next, "access_token")).await);
    assert_eq!(
        t.refresh(&s(&next, "refresh_token")).await.0,
        StatusCode::BAD_REQUEST
    );
}

async fn with_grace_a_retry_after_the_window_revokes_the_family(backend: Backend) {
    let t = setup(backend, 1).await;
    let first = s(&t.tokens, "refresh_token");
    let (status, rotated) = t.refresh(&first).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    // Whole seconds are compared, so this is at least two seconds after the rotation: past
    // the window however slow the machine is.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, _) = t.refresh(&first).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!t.works(&s(&rotated, "access_token")).await);
    assert_eq!(
        t.refresh(&s(&rotated, "refresh_token")).await.0,
        StatusCode::BAD_REQUEST
    );
}

async fn concurrent_refreshes(t: &Setup, n: usize) -> Vec<(StatusCode, Value)> {
    let first = s(&t.tokens, "refresh_token");
    let mut tasks = Vec::new();
    for _ in 0..n {
        let url = t.app.url("/api/oauth2/token");
        let form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", first.clone()),
            ("client_id", t.registered.client_id.clone()),
            ("client_secret", t.registered.client_secret.clone()),
        ];
        tasks.push(tokio::spawn(async move {
            into_parts(
                reqwest::Client::new()
                    .post(url)
                    .form(&form)
                    .send()
                    .await
                    .expect("refresh"),
            )
            .await
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }
    results
}

async fn without_grace_concurrent_refreshes_let_exactly_one_win(backend: Backend) {
    let t = setup(backend, 0).await;
    let results = concurrent_refreshes(&t, 6).await;
    let winners: Vec<&Value> = results
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (status, body) in &results {
        if *status != StatusCode::OK {
            assert_eq!(
                (*status, body["error"].clone()),
                (StatusCode::BAD_REQUEST, json!("invalid_grant"))
            );
        }
    }
    // The losers were reuse: the winner's pair died with the family.
    assert!(!t.works(&s(winners[0], "access_token")).await);
    assert_eq!(
        t.refresh(&s(winners[0], "refresh_token")).await.0,
        StatusCode::BAD_REQUEST
    );
    let admin = t.app.admin().await;
    let (_, audit) = crate::helpers::get_json(
        &admin,
        &t.app.url("/api/admin/audit?action=refresh.reuse_detected"),
    )
    .await;
    assert!(
        !audit["data"]["items"].as_array().expect("items").is_empty(),
        "{audit}"
    );
}

async fn with_grace_concurrent_refreshes_all_get_the_same_pair(backend: Backend) {
    let t = setup(backend, 120).await;
    let results = concurrent_refreshes(&t, 6).await;
    let (status, first) = &results[0];
    assert_eq!(*status, StatusCode::OK, "{first}");
    for (status, body) in &results {
        assert_eq!(*status, StatusCode::OK, "{body}");
        assert_eq!(body["access_token"], first["access_token"]);
        assert_eq!(body["refresh_token"], first["refresh_token"]);
    }
    assert!(t.works(&s(first, "access_token")).await);
    assert_eq!(
        t.refresh(&s(first, "refresh_token")).await.0,
        StatusCode::OK
    );
}

async fn the_grace_window_is_bounded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    for bad in [json!(121), json!(-1), json!("5")] {
        let res = admin
            .put(app.url("/api/admin/settings"))
            .json(&json!({ "refresh_reuse_grace_seconds": bad }))
            .send()
            .await
            .expect("settings");
        let (_, body) = into_parts(res).await;
        assert_eq!(body["success"], false, "{bad}: {body}");
    }
    let (_, body) = crate::helpers::get_json(&admin, &app.url("/api/admin/settings")).await;
    assert_eq!(body["data"]["refresh_reuse_grace_seconds"], 0);
}
