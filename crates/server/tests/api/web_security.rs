//! Issue 20, an attacker's walk: developer tokens that outlive what should end them, admins
//! reaching root's recovery paths, login and write CSRF, and the smaller findings.

use crate::helpers::{ADMIN, ADMIN_PASSWORD, Backend, TestApp, get_json, into_parts, post_json};
use crate::login_module::{code_in, env, wait_for_mail};
use crate::oauth_support::{csrf, page, submit};
use crate::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;

on_both_backends!(
    a_developer_token_dies_with_a_password_change,
    a_developer_token_dies_with_a_password_reset,
    a_developer_token_dies_when_other_sessions_end,
    a_developer_token_dies_when_the_account_is_disabled,
    a_developer_token_cannot_set_the_password_or_bind_an_email,
);

async fn developer_token(app: &TestApp, browser: &Client) -> String {
    let (status, body) = get_json(browser, &app.url("/api/user/token")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_str().expect("token").to_owned()
}

/// `GET /api/user/self` with only the token: its status.
async fn token_works(app: &TestApp, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(app.url("/api/user/self"))
        .bearer_auth(token)
        .send()
        .await
        .expect("self")
        .status()
}

async fn with_token(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .request(method, app.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    into_parts(req.send().await.expect("request")).await
}

async fn a_developer_token_dies_with_a_password_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, _) = app.user("tokenholder").await;
    let token = developer_token(&app, &browser).await;
    assert_eq!(token_works(&app, &token).await, StatusCode::OK);
    let res = browser
        .put(app.url("/api/user/self"))
        .json(&json!({"password": "brand-new-pass-1", "original_password": "password-123"}))
        .send()
        .await
        .expect("change");
    let (status, body) = into_parts(res).await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
    assert_eq!(token_works(&app, &token).await, StatusCode::UNAUTHORIZED);
}

async fn a_developer_token_dies_with_a_password_reset(backend: Backend) {
    let env = env(backend, json!({})).await;
    let app = &env.app;
    let (browser, _) = app.user("resetter").await;
    get_json(
        &browser,
        &app.url("/api/verification?email=resetter@example.com"),
    )
    .await;
    let code = code_in(&wait_for_mail(&env, 1).await[0]);
    let (_, body) = get_json(
        &browser,
        &app.url(&format!(
            "/api/oauth/email/bind?email=resetter@example.com&code={code}"
        )),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    let token = developer_token(app, &browser).await;
    get_json(
        &app.client(),
        &app.url("/api/reset_password?email=resetter@example.com"),
    )
    .await;
    let mails = wait_for_mail(&env, 2).await;
    let link = mails[1]
        .lines()
        .find(|l| l.contains("/user/reset?"))
        .expect("link")
        .trim()
        .to_owned();
    let query: BTreeMap<String, String> =
        serde_urlencoded::from_str(link.split_once('?').expect("query").1).expect("params");
    let (_, body) = post_json(
        &app.client(),
        &app.url("/api/user/reset"),
        json!({"email": "resetter@example.com", "token": query["token"], "password": "chosen-new-pass"}),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    assert_eq!(token_works(app, &token).await, StatusCode::UNAUTHORIZED);
}

async fn a_developer_token_dies_when_other_sessions_end(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, _) = app.user("ender").await;
    let token = developer_token(&app, &browser).await;
    let (_, _, html) = page(&browser, &app.url("/user/security")).await;
    let (status, location, _) = submit(
        &browser,
        &app.url("/user/security/sessions/others"),
        &[("csrf_token", &csrf(&html))],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location:?}");
    assert_eq!(token_works(&app, &token).await, StatusCode::UNAUTHORIZED);
    // The browser that asked stays signed in.
    assert_eq!(
        get_json(&browser, &app.url("/api/user/self")).await.0,
        StatusCode::OK
    );
}

async fn a_developer_token_dies_when_the_account_is_disabled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, id) = app.user("suspended").await;
    let token = developer_token(&app, &browser).await;
    let admin = app.admin().await;
    for status in [2, 1] {
        let res = admin
            .patch(app.url(&format!("/api/admin/users/{id}")))
            .json(&json!({ "status": status }))
            .send()
            .await
            .expect("patch");
        assert_eq!(res.status(), StatusCode::OK);
    }
    // Enabled again, the account does not get its old token back.
    assert_eq!(token_works(&app, &token).await, StatusCode::UNAUTHORIZED);
}

async fn a_developer_token_cannot_set_the_password_or_bind_an_email(backend: Backend) {
    let env = env(backend, json!({})).await;
    let app = &env.app;
    let (browser, _) = app.user("leaked").await;
    let token = developer_token(app, &browser).await;

    // Setting the password would turn the token into a session (and a password).
    let (status, _) = with_token(
        app,
        reqwest::Method::PUT,
        "/api/user/self",
        &token,
        Some(json!({"password": "attacker-pass-1", "original_password": "password-123"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.login("leaked", "password-123").await;
    // The display name is not a way in: the token may still change it.
    let (status, body) = with_token(
        app,
        reqwest::Method::PUT,
        "/api/user/self",
        &token,
        Some(json!({"display_name": "Renamed"})),
    )
    .await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );

    // Nor may it ask for a code for the account, or bind an address with one.
    let (status, _) = with_token(
        app,
        reqwest::Method::GET,
        "/api/verification?email=attacker@example.com",
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    get_json(
        &app.client(),
        &app.url("/api/verification?email=attacker@example.com"),
    )
    .await;
    let code = code_in(&wait_for_mail(&env, 1).await[0]);
    let (status, _) = with_token(
        app,
        reqwest::Method::GET,
        &format!("/api/oauth/email/bind?email=attacker@example.com&code={code}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = with_token(
        app,
        reqwest::Method::POST,
        "/api/oauth/email/bind",
        &token,
        Some(json!({"email": "attacker@example.com", "code": code})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, me) = get_json(&browser, &app.url("/api/user/self")).await;
    assert_eq!(me["data"]["email"], "", "{me}");
    let _ = (ADMIN, ADMIN_PASSWORD);
}
