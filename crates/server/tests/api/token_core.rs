//! The token protocol core (issue 13 and issue 20 #9, #15, #17): the client-authentication
//! throttle at the token, introspection and revocation endpoints, the user check of a code
//! exchange, nothing spent before the id_token is signed, and scopes narrowed by the app's
//! current allowance and by a refresh request.

use crate::helpers::{Backend, TestApp, TestDatabase, into_parts, test_config};
use crate::oauth_support::*;
use crate::on_both_backends;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

on_both_backends!(
    a_public_client_id_does_not_lock_its_app_out,
    introspection_and_revocation_throttle_client_authentication,
    a_code_of_a_disabled_user_is_refused_and_not_spent,
    a_failed_signature_spends_neither_code_nor_refresh_token,
    narrowing_an_apps_scopes_narrows_existing_grants,
    introspection_shows_the_username_only_with_profile,
    a_narrower_refresh_keeps_the_grant_scope_for_the_next_one,
);

const WINDOW: i64 = 600;

async fn set(app: &TestApp, settings: Value) {
    let admin = app.admin().await;
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&settings)
        .send()
        .await
        .expect("settings");
    let (status, body) = into_parts(res).await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
}

/// A node that believes loopback's `X-Forwarded-For`, so each test address has its own budget.
async fn behind_proxy(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("range")];
    })
    .await
}

async fn post_from(app: &TestApp, path: &str, address: &str, form: &[(&str, &str)]) -> Response {
    reqwest::Client::new()
        .post(app.url(path))
        .header("X-Forwarded-For", address)
        .form(form)
        .send()
        .await
        .expect("post")
}

fn assert_busy(res: &Response) {
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let seconds: i64 = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=WINDOW).contains(&seconds), "{seconds}");
}

async fn code(
    app: &TestApp,
    browser: &reqwest::Client,
    registered: &RegisteredApp,
    scope: &str,
) -> String {
    let params = [
        ("client_id", registered.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "s"),
        ("nonce", "n"),
    ];
    obtain_code(app, browser, "/oauth/authorize", &params).await
}

fn exchange<'a>(
    code: &'a str,
    registered: &'a RegisteredApp,
    secret: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
        ("client_id", registered.client_id.as_str()),
        ("client_secret", secret),
    ]
}

async fn refresh(
    app: &TestApp,
    registered: &RegisteredApp,
    token: &str,
    scope: Option<&str>,
) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("client_id", registered.client_id.as_str()),
        ("client_secret", registered.client_secret.as_str()),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    token_b(app, &form).await
}

async fn introspect(app: &TestApp, registered: &RegisteredApp, token: &str) -> Value {
    let res = reqwest::Client::new()
        .post(app.url("/oauth2/introspect"))
        .basic_auth(&registered.client_id, Some(&registered.client_secret))
        .form(&[("token", token)])
        .send()
        .await
        .expect("introspect");
    let (status, body) = into_parts(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn text<'a>(body: &'a Value, key: &str) -> &'a str {
    body[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {body}"))
}

/// An app allowed `scopes`, its developer's and a user's browsers.
async fn app_with(app: &TestApp, scopes: &str) -> (RegisteredApp, reqwest::Client, i64) {
    let (developer, _) = app.user("dev").await;
    let registered = register_app(app, &developer, json!({"scopes": scopes})).await;
    let (browser, user_id) = app.user("uma").await;
    (registered, browser, user_id)
}

/// Issue 13 (a): wrong secrets sent with an app's (public) client_id from one address used to
/// make the token endpoint refuse the app's correct credentials from every address.
async fn a_public_client_id_does_not_lock_its_app_out(backend: Backend) {
    let app = behind_proxy(backend).await;
    set(
        &app,
        json!({"token_failures_max_per_client": 3, "token_failures_max_per_ip": 3, "token_failures_window_secs": WINDOW}),
    )
    .await;
    let (registered, browser, _) = app_with(&app, "profile").await;
    let good = code(&app, &browser, &registered, "profile").await;
    let guesser = "198.51.100.7";
    for _ in 0..3 {
        let res = post_from(
            &app,
            "/api/oauth2/token",
            guesser,
            &exchange(&good, &registered, "secret_wrong"),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // The guessing address is refused, whatever it sends.
    let res = post_from(
        &app,
        "/api/oauth2/token",
        guesser,
        &exchange(&good, &registered, "secret_wrong"),
    )
    .await;
    assert_busy(&res);
    let res = post_from(
        &app,
        "/api/oauth2/token",
        guesser,
        &exchange(&good, &registered, &registered.client_secret),
    )
    .await;
    assert_busy(&res);
    // Elsewhere, failed authentications for the exhausted client_id are refused too...
    let res = post_from(
        &app,
        "/api/oauth/token",
        "203.0.113.9",
        &exchange(&good, &registered, "secret_wrong"),
    )
    .await;
    assert_busy(&res);
    let res = post_from(
        &app,
        "/api/oauth2/token",
        "203.0.113.9",
        &exchange(&good, &registered, "secret_wrong"),
    )
    .await;
    assert_busy(&res);
    // ...but the app itself, authenticating correctly, is served at both endpoints.
    let res = post_from(
        &app,
        "/api/oauth2/token",
        "203.0.113.10",
        &exchange(&good, &registered, &registered.client_secret),
    )
    .await;
    let (status, body) = into_parts(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = code(&app, &browser, &registered, "profile").await;
    let res = post_from(
        &app,
        "/api/oauth/token",
        "203.0.113.11",
        &exchange(&second, &registered, &registered.client_secret),
    )
    .await;
    let (status, body) = into_parts(res).await;
    assert_eq!(
        (status, body["c"].clone()),
        (StatusCode::OK, json!(0)),
        "{body}"
    );
}

/// Issue 13 (b): introspection and revocation had no client-authentication throttle at all.
async fn introspection_and_revocation_throttle_client_authentication(backend: Backend) {
    let app = behind_proxy(backend).await;
    set(
        &app,
        json!({"token_failures_max_per_client": 4, "token_failures_max_per_ip": 2, "token_failures_window_secs": WINDOW}),
    )
    .await;
    let (registered, _, _) = app_with(&app, "profile").await;
    let wrong = [
        ("token", "kwat_whatever"),
        ("client_id", registered.client_id.as_str()),
        ("client_secret", "secret_wrong"),
    ];
    let right = [
        ("token", "kwat_whatever"),
        ("client_id", registered.client_id.as_str()),
        ("client_secret", registered.client_secret.as_str()),
    ];
    for (path, address) in [
        ("/oauth2/introspect", "198.51.100.1"),
        ("/oauth2/revoke", "198.51.100.2"),
    ] {
        for _ in 0..2 {
            let res = post_from(&app, path, address, &wrong).await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
        }
        let res = post_from(&app, path, address, &wrong).await;
        assert_busy(&res);
        let (_, body) = into_parts(res).await;
        assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    }
    // Four failures for the client in all: its failed authentications are refused everywhere,
    // its correct ones are not.
    let res = post_from(&app, "/oauth2/introspect", "203.0.113.1", &wrong).await;
    assert_busy(&res);
    let res = post_from(&app, "/oauth2/introspect", "203.0.113.1", &right).await;
    let (status, body) = into_parts(res).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"active": false})));
    let res = post_from(&app, "/oauth2/revoke", "203.0.113.1", &right).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Only a client secret is guessed here, so the budgets are read after a failure, not before:
    // the client's own correct request is answered even from an address over its budget.
    let res = post_from(&app, "/oauth2/introspect", "198.51.100.1", &right).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = post_from(&app, "/oauth2/introspect", "198.51.100.1", &wrong).await;
    assert_busy(&res);
}

/// Issue 13 (c): a code issued before its user was disabled was still exchanged.
async fn a_code_of_a_disabled_user_is_refused_and_not_spent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (registered, browser, user_id) = app_with(&app, "profile").await;
    let good = code(&app, &browser, &registered, "profile").await;
    let admin = app.admin().await;
    let status = |status: i64| {
        admin
            .patch(app.url(&format!("/api/admin/users/{user_id}")))
            .json(&json!({"status": status}))
            .send()
    };
    assert_eq!(status(2).await.expect("disable").status(), StatusCode::OK);
    let (status_code, body) = token_b(
        &app,
        &exchange(&good, &registered, &registered.client_secret),
    )
    .await;
    assert_eq!(
        (status_code, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_grant")),
        "{body}"
    );
    // Nothing was written: the same code works once the user is enabled again.
    assert_eq!(status(1).await.expect("enable").status(), StatusCode::OK);
    let (status_code, body) = token_b(
        &app,
        &exchange(&good, &registered, &registered.client_secret),
    )
    .await;
    assert_eq!(status_code, StatusCode::OK, "{body}");
}

/// Issue 13 (d): the id_token was signed after the code or refresh token was spent, so a
/// signing failure cost the client its grant (and, with strict rotation, its retry revoked the
/// family).
async fn a_failed_signature_spends_neither_code_nor_refresh_token(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let app = TestApp::start(db.clone(), test_config(&db)).await;
    let store = keyward::app::open_store(&db.url, 2).await.expect("store");
    let (registered, browser, _) = app_with(&app, "openid profile offline_access").await;
    // Signing fails while the node's key ring is empty (its cache lives one second in tests).
    let break_signing = || async {
        let keys = store.signing_keys().await.expect("keys");
        for key in &keys {
            store
                .delete_signing_key(&key.kid)
                .await
                .expect("delete key");
        }
        tokio::time::sleep(Duration::from_millis(1200)).await;
        keys
    };
    let restore_signing = |keys: Vec<keyward_core::model::StoredKey>| async {
        for key in keys {
            store.insert_signing_key(key).await.expect("insert key");
        }
        tokio::time::sleep(Duration::from_millis(1200)).await;
    };

    let good = code(&app, &browser, &registered, "openid profile offline_access").await;
    let keys = break_signing().await;
    let (status, body) = token_b(
        &app,
        &exchange(&good, &registered, &registered.client_secret),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    restore_signing(keys).await;
    let (status, tokens) = token_b(
        &app,
        &exchange(&good, &registered, &registered.client_secret),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the code was not spent: {tokens}");
    assert!(tokens["id_token"].is_string(), "{tokens}");

    let refresh_token = text(&tokens, "refresh_token").to_owned();
    let keys = break_signing().await;
    let (status, body) = refresh(&app, &registered, &refresh_token, None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    restore_signing(keys).await;
    // Strict rotation (no grace window): a spent token here would count as reuse.
    let (status, next) = refresh(&app, &registered, &refresh_token, None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the refresh token was not spent: {next}"
    );
    assert!(next["id_token"].is_string(), "{next}");
    let (status, body) = userinfo_b(&app, text(&next, "access_token")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn patch_app_scopes(app: &TestApp, registered: &RegisteredApp, scopes: &str) {
    let admin = app.admin().await;
    let res = admin
        .patch(app.url(&format!("/api/admin/oauth_apps/{}", registered.id)))
        .json(&json!({"scopes": scopes}))
        .send()
        .await
        .expect("patch app");
    let (status, body) = into_parts(res).await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
}

/// Issue 20 #9: narrowing an app's allowed scopes left its existing grants able to use and
/// refresh the removed scopes. Grants are cut to the app's current scopes wherever used.
async fn narrowing_an_apps_scopes_narrows_existing_grants(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (registered, browser, _) = app_with(&app, "profile balance").await;
    let good = code(&app, &browser, &registered, "profile balance").await;
    let (status, tokens) = token_b(
        &app,
        &exchange(&good, &registered, &registered.client_secret),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = text(&tokens, "access_token").to_owned();
    let refresh_token = text(&tokens, "refresh_token").to_owned();
    let (_, info) = userinfo_b(&app, &access).await;
    assert!(info["quota"].is_i64(), "{info}");

    patch_app_scopes(&app, &registered, "profile").await;
    // The access token already issued: userinfo, /api/oauth/me and introspection.
    let (status, info) = userinfo_b(&app, &access).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert!(info.get("quota").is_none(), "{info}");
    assert_eq!(info["username"], "uma");
    let (status, me) = me_a(&app, &access).await;
    assert_eq!(
        (status, me["d"]["username"].clone()),
        (StatusCode::OK, json!("uma")),
        "{me}"
    );
    assert_eq!(
        introspect(&app, &registered, &access).await["scope"],
        "profile"
    );
    assert_eq!(
        introspect(&app, &registered, &refresh_token).await["scope"],
        "profile"
    );
    // The refresh token: the removed scope can be neither asked for nor carried on.
    let (status, body) = refresh(&app, &registered, &refresh_token, Some("balance")).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_scope")),
        "{body}"
    );
    let (status, next) = refresh(&app, &registered, &refresh_token, None).await;
    assert_eq!(
        (status, next["scope"].clone()),
        (StatusCode::OK, json!("profile")),
        "{next}"
    );
    assert_eq!(
        introspect(&app, &registered, text(&next, "refresh_token")).await["scope"],
        "profile"
    );
    let (_, info) = userinfo_b(&app, text(&next, "access_token")).await;
    assert!(info.get("quota").is_none(), "{info}");
}

/// Issue 20 #15: introspection told the username of tokens granted without `profile`.
async fn introspection_shows_the_username_only_with_profile(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (registered, browser, _) = app_with(&app, "profile balance").await;
    for (scope, username) in [("balance", Value::Null), ("profile", json!("uma"))] {
        let good = code(&app, &browser, &registered, scope).await;
        let (status, tokens) = token_b(
            &app,
            &exchange(&good, &registered, &registered.client_secret),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        for kind in ["access_token", "refresh_token"] {
            let body = introspect(&app, &registered, text(&tokens, kind)).await;
            assert_eq!(body["active"], true, "{body}");
            assert!(body["sub"].is_string(), "{body}");
            assert_eq!(body["username"], username, "{scope} {kind}: {body}");
        }
    }
}

/// Issue 20 #17: a refresh with a narrower `scope` narrowed the new refresh token for good;
/// RFC 6749 §6 narrows the access token only. The retry of a rotation within the grace window
/// gets the same narrowed pair.
async fn a_narrower_refresh_keeps_the_grant_scope_for_the_next_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    set(&app, json!({"refresh_reuse_grace_seconds": 60})).await;
    let (registered, browser, _) = app_with(&app, "profile balance").await;
    let good = code(&app, &browser, &registered, "profile balance").await;
    let (status, tokens) = token_b(
        &app,
        &exchange(&good, &registered, &registered.client_secret),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let first = text(&tokens, "refresh_token").to_owned();

    let (status, narrow) = refresh(&app, &registered, &first, Some("profile")).await;
    assert_eq!(
        (status, narrow["scope"].clone()),
        (StatusCode::OK, json!("profile")),
        "{narrow}"
    );
    let second = text(&narrow, "refresh_token").to_owned();
    assert_eq!(
        introspect(&app, &registered, text(&narrow, "access_token")).await["scope"],
        "profile"
    );
    assert_eq!(
        introspect(&app, &registered, &second).await["scope"],
        "profile balance"
    );
    // The honest retry of that rotation: the same pair, the same scopes.
    let (status, again) = refresh(&app, &registered, &first, Some("profile")).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["access_token"], narrow["access_token"]);
    assert_eq!(again["refresh_token"], narrow["refresh_token"]);
    assert_eq!(again["scope"], "profile");

    let (status, wide) = refresh(&app, &registered, &second, None).await;
    assert_eq!(
        (status, wide["scope"].clone()),
        (StatusCode::OK, json!("profile balance")),
        "{wide}"
    );
    let (_, info) = userinfo_b(&app, text(&wide, "access_token")).await;
    assert!(info["quota"].is_i64(), "{info}");
}
