//! Password guessing is throttled per submitted name and per client IP, without revealing
//! which names exist.

use crate::helpers::{Backend, TestApp, into_parts, post_json};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    an_account_locks_after_five_failures_even_for_the_right_password,
    unknown_names_are_throttled_like_real_ones,
    one_ip_is_throttled_across_many_names,
    forwarded_for_is_only_believed_from_trusted_proxies,
);

async fn an_account_locks_after_five_failures_even_for_the_right_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("olivia", "password-123").await;
    app.register("peggy", "password-123").await;
    let client = app.client();
    let url = app.url("/api/user/login");
    for i in 0..5 {
        let (status, body) = post_json(
            &client,
            &url,
            json!({"username": "olivia", "password": format!("guess-{i}-x")}),
        )
        .await;
        assert_eq!(
            (status, body["success"].clone()),
            (StatusCode::OK, json!(false))
        );
    }
    let res = client
        .post(&url)
        .json(&json!({"username": "Olivia", "password": "password-123"}))
        .send()
        .await
        .expect("login");
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .expect("Retry-After");
    assert!((1..=900).contains(&retry_after));
    let (status, body) = into_parts(res).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["success"], false);
    // Other accounts are not affected.
    app.login("peggy", "password-123").await;
}

async fn unknown_names_are_throttled_like_real_ones(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.client();
    let url = app.url("/api/user/login");
    for _ in 0..5 {
        post_json(
            &client,
            &url,
            json!({"username": "no-such-user", "password": "guess-guess"}),
        )
        .await;
    }
    let (status, _) = post_json(
        &client,
        &url,
        json!({"username": "no-such-user", "password": "guess-guess"}),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

async fn one_ip_is_throttled_across_many_names(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.login_max_failures_per_ip = 3).await;
    app.register("quinn", "password-123").await;
    let client = app.client();
    let url = app.url("/api/user/login");
    for i in 0..3 {
        post_json(
            &client,
            &url,
            json!({"username": format!("spray{i}"), "password": "guess-guess"}),
        )
        .await;
    }
    let (status, _) = post_json(
        &client,
        &url,
        json!({"username": "quinn", "password": "password-123"}),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

async fn forwarded_for_is_only_believed_from_trusted_proxies(backend: Backend) {
    // Untrusted: a client rotating X-Forwarded-For still counts as one address.
    let app = TestApp::spawn_with(backend, |c| c.login_max_failures_per_ip = 2).await;
    let client = app.client();
    let url = app.url("/api/user/login");
    for i in 0..2 {
        client
            .post(&url)
            .header("X-Forwarded-For", format!("198.51.100.{i}"))
            .json(&json!({"username": format!("x{i}"), "password": "guess-guess"}))
            .send()
            .await
            .expect("login");
    }
    let res = client
        .post(&url)
        .header("X-Forwarded-For", "198.51.100.99")
        .json(&json!({"username": "x9", "password": "guess-guess"}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);

    // Trusted loopback proxy: each forwarded address has its own budget.
    let app = TestApp::spawn_with(backend, |c| {
        c.login_max_failures_per_ip = 2;
        c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("range")];
    })
    .await;
    let client = app.client();
    let url = app.url("/api/user/login");
    for i in 0..4 {
        let res = client
            .post(&url)
            .header("X-Forwarded-For", format!("198.51.100.{i}"))
            .json(&json!({"username": format!("y{i}"), "password": "guess-guess"}))
            .send()
            .await
            .expect("login");
        assert_eq!(res.status(), StatusCode::OK);
    }
}
