//! Core writes the audit record of every app action and every consent revocation: the developer
//! API, the admin API and the pages all reach the same core functions, so one trail covers them.

use crate::helpers::{Backend, TestApp, get_json, into_parts, post_json};
use crate::oauth_support::{CALLBACK, obtain_code, register_app};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(every_app_action_and_consent_revocation_is_audited_by_core);

async fn every_app_action_and_consent_revocation_is_audited_by_core(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, developer_id) = app.user("devon").await;
    let (browser, user_id) = app.user("uma").await;
    let admin = app.admin().await;
    let (_, me) = get_json(&admin, &app.url("/api/user/self")).await;
    let admin_id = me["data"]["id"].as_i64().expect("admin id");

    // created (pending) → approved by the admin → secret revealed on the owner's first view
    let registered = register_app(&app, &developer, json!({})).await;
    let id = registered.id;
    let (status, rotated) = post_json(
        &developer,
        &app.url(&format!("/api/oauth_apps/{id}/secret")),
        json!({"grace_seconds": 60}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let res = admin
        .patch(app.url(&format!("/api/admin/oauth_apps/{id}")))
        .json(&json!({"trusted": false, "scopes": "profile balance"}))
        .send()
        .await
        .expect("patch");
    assert_eq!(into_parts(res).await.0, StatusCode::OK);

    // A user authorizes the app, then revokes it; a second revocation finds nothing to record.
    obtain_code(
        &app,
        &browser,
        "/oauth/authorize",
        &[
            ("response_type", "code"),
            ("client_id", &registered.client_id),
            ("redirect_uri", CALLBACK),
            ("scope", "profile"),
            ("state", "s"),
        ],
    )
    .await;
    let revoke = app.url(&format!(
        "/api/user/authorizations/{}",
        registered.client_id
    ));
    let res = browser.delete(&revoke).send().await.expect("revoke");
    assert_eq!(into_parts(res).await.0, StatusCode::OK);
    let res = browser.delete(&revoke).send().await.expect("revoke again");
    assert_eq!(into_parts(res).await.0, StatusCode::NOT_FOUND);

    let (status, disabled) = post_json(
        &admin,
        &app.url(&format!("/api/admin/oauth_apps/{id}/disable")),
        json!({"reason": "spam"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{disabled}");
    let res = developer
        .delete(app.url(&format!("/api/oauth_apps/{id}")))
        .send()
        .await
        .expect("delete");
    assert_eq!(into_parts(res).await.0, StatusCode::OK);

    let (_, audit) = get_json(&admin, &app.url("/api/admin/audit?page_size=200")).await;
    let trail: Vec<(String, Option<i64>, Value)> = audit["data"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .rev()
        .filter(|e| e["target"] == registered.client_id.as_str())
        .map(|e| {
            (
                e["action"].as_str().expect("action").to_owned(),
                e["actor_id"].as_i64(),
                e["detail"].clone(),
            )
        })
        .collect();
    let expected = [
        ("app.created", developer_id),
        ("app.approved", admin_id),
        ("app.secret_revealed", developer_id),
        ("app.secret_rotated", developer_id),
        ("app.updated", admin_id),
        ("consent.granted", user_id),
        ("consent.revoked", user_id),
        ("app.disabled", admin_id),
        ("app.deleted", developer_id),
    ];
    let got: Vec<(&str, Option<i64>)> = trail.iter().map(|(a, u, _)| (a.as_str(), *u)).collect();
    let want: Vec<(&str, Option<i64>)> = expected.iter().map(|&(a, u)| (a, Some(u))).collect();
    assert_eq!(got, want, "{trail:?}");
    assert_eq!(trail[3].2["grace_seconds"], 60);
    assert_eq!(trail[7].2["reason"], "spam");
    assert_eq!(trail[4].2["scopes"], "profile balance");
}
