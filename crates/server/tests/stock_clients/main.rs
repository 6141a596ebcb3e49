//! Stock client libraries, untouched, against a real Keyward node: the Node harness in
//! `clients/node` (exact pinned versions of openid-client, jose and the MCP SDK) runs a script as
//! `node clients/node/<script>.mjs <args>`, and the test judges it by its exit code and the JSON
//! lines it prints, playing the user's part itself (HTTP requests to the pages with a session).
//!
//! SQLite only: what is proved here is the wire protocol, which the `api` tests cover on both
//! backends.
//!
//! The tests are `#[ignore]`d, so that a machine without the harness reports them as skipped,
//! never as passed: `scripts/test.sh` runs them (`-- --ignored`) when `clients/node/node_modules`
//! and `examples/mcp-server/node_modules` are installed, or when `KEYWARD_REQUIRE_STOCK_CLIENTS=1`
//! (set by `.ci/run`, which runs `npm ci` there first); run without the harness, they fail.

mod harness;
#[allow(dead_code, unused_macros)]
#[path = "../api/helpers.rs"]
mod helpers;
mod mcp_sdk;
#[allow(dead_code, unused_imports)]
#[path = "../api/oauth_support.rs"]
mod oauth_support;
mod sample_app;
mod spend_example;

use harness::Harness;
use helpers::{Backend, TestApp};
use oauth_support::{RegisteredApp, answer_consent, hidden_fields, page, register_app, submit};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const PASSWORD: &str = "password-123";

/// A public CLI app with the device grant (and refresh tokens), approved.
async fn cli(app: &TestApp) -> RegisteredApp {
    let (developer, _) = app.user("developer").await;
    register_app(
        app,
        &developer,
        json!({
            "name": "Stock CLI",
            "public": true,
            "redirect_uri": "",
            "grant_types": [DEVICE_GRANT, "refresh_token"],
            "scopes": "openid profile offline_access",
        }),
    )
    .await
}

/// The user's part: types `user_code` at `/device` and answers with `decision`.
async fn answer_at_device_page(app: &TestApp, browser: &Client, user_code: &str, decision: &str) {
    let (status, _, entry) = page(browser, &app.url("/device")).await;
    assert_eq!(status, StatusCode::OK, "{entry}");
    let csrf = keyward_testkit::hidden_field(&entry, "csrf_token").expect("csrf_token");
    let (status, _, consent) = submit(
        browser,
        &app.url("/device"),
        &[("csrf_token", &csrf), ("user_code", user_code)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{consent}");
    let mut fields = hidden_fields(&consent);
    fields.push(("decision".into(), decision.into()));
    let res = browser
        .post(app.url("/device"))
        .form(&fields)
        .send()
        .await
        .expect("decision");
    assert_eq!(res.status(), StatusCode::OK);
}

/// RFC 8628 with openid-client 6: discovery, the device authorization request, polling at the
/// interval until the user approves, id_token validation and userinfo, all by the library.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Node harness (npm ci in clients/node; KEYWARD_REQUIRE_STOCK_CLIENTS)"]
async fn openid_client_runs_the_device_flow_unchanged() {
    let harness = Harness::find();
    let app = TestApp::spawn(Backend::Sqlite).await;
    let cli = cli(&app).await;
    app.register("nora", PASSWORD).await;
    let browser = app.login("nora", PASSWORD).await;

    let mut node = harness.run(
        "device-flow.mjs",
        &[&app.base, &cli.client_id, "openid profile offline_access"],
    );
    let started = node.next_event().await;
    assert_eq!(started["event"], "started", "{started}");
    assert_eq!(started["verification_uri"], app.url("/device"));
    let user_code = started["user_code"].as_str().expect("user_code");
    answer_at_device_page(&app, &browser, user_code, "approve").await;

    let (success, events) = node.finish().await;
    let last = events.last().cloned().unwrap_or(Value::Null);
    assert!(success, "the script failed: {events:?}");
    assert_eq!(last["event"], "tokens", "{last}");
    assert_eq!(last["preferred_username"], "nora", "{last}");
    assert_eq!(last["scope"], "openid profile offline_access", "{last}");
    assert_eq!(last["refresh_token"], true, "{last}");
    let claims = last["id_token_claims"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for claim in ["iss", "sub", "aud", "exp", "iat", "auth_time"] {
        assert!(claims.contains(&json!(claim)), "{claim} in {last}");
    }
}

/// The user denies: openid-client stops polling with the RFC 8628 `access_denied` error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Node harness (npm ci in clients/node; KEYWARD_REQUIRE_STOCK_CLIENTS)"]
async fn openid_client_reports_a_denied_device_flow() {
    let harness = Harness::find();
    let app = TestApp::spawn(Backend::Sqlite).await;
    let cli = cli(&app).await;
    app.register("nora", PASSWORD).await;
    let browser = app.login("nora", PASSWORD).await;

    let mut node = harness.run("device-flow.mjs", &[&app.base, &cli.client_id, "profile"]);
    let started = node.next_event().await;
    let user_code = started["user_code"].as_str().expect("user_code");
    answer_at_device_page(&app, &browser, user_code, "deny").await;

    let (success, events) = node.finish().await;
    assert!(!success, "{events:?}");
    let last = events.last().cloned().unwrap_or(Value::Null);
    assert_eq!(
        (last["event"].clone(), last["error"].clone()),
        (json!("error"), json!("access_denied")),
        "{events:?}"
    );
}

/// RFC 8707, RFC 8252 and RFC 9068 with stock libraries: openid-client signs the user in from a
/// loopback redirect on a port it picked, for an API named by `resource`; jose verifies the JWT
/// access token against `jwks_uri` with the audience; and a protected API written with jose alone
/// (clients/node/protected-api.mjs, the integration guide's example) serves RFC 9728 metadata,
/// accepts the token and refuses anything else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Node harness (npm ci in clients/node; KEYWARD_REQUIRE_STOCK_CLIENTS)"]
async fn openid_client_and_jose_sign_in_from_a_loopback_port_for_a_protected_api() {
    let harness = Harness::find();
    let app = TestApp::spawn(Backend::Sqlite).await;

    // The API starts first: its identifier is its own URL.
    let mut api = harness.run("protected-api.mjs", &[&app.base, "mcp:tools"]);
    let listening = api.next_event().await;
    assert_eq!(listening["event"], "listening", "{listening}");
    let resource = listening["resource"].as_str().expect("resource").to_owned();
    let admin = app.admin().await;
    let (_, created) = helpers::post_json(
        &admin,
        &app.url("/api/admin/resources"),
        json!({"identifier": resource, "name": "MCP", "token_format": "jwt", "signing_alg": "ES256",
               "scopes": [{"name": "mcp:tools", "description": "调用工具", "description_en": "Call its tools"}]}),
    )
    .await;
    assert_eq!(created["success"], true, "{created}");

    // A native app registers its loopback redirect without a port (RFC 8252 §7.3).
    let (developer, _) = app.user("developer").await;
    let native = register_app(
        &app,
        &developer,
        json!({"name": "Stock native app", "public": true,
               "redirect_uri": "http://127.0.0.1/callback", "scopes": "openid profile"}),
    )
    .await;
    app.register("nora", PASSWORD).await;
    let browser = app.login("nora", PASSWORD).await;

    let mut node = harness.run(
        "auth-code-resource.mjs",
        &[&app.base, &native.client_id, &resource, "openid mcp:tools"],
    );
    let started = node.next_event().await;
    assert_eq!(started["event"], "authorize", "{started}");
    let redirect_uri = started["redirect_uri"].as_str().expect("redirect_uri");
    let url = started["url"].as_str().expect("url");
    // The user: the consent page names the API; approving sends the browser to the app's port.
    let (status, _, consent) = page(&browser, url).await;
    assert_eq!(status, StatusCode::OK, "{consent}");
    assert!(consent.contains("调用工具"), "{consent}");
    let (_, location) = answer_consent(&app, &browser, &consent, "approve").await;
    let location = location.expect("redirect");
    assert!(
        location.starts_with(redirect_uri),
        "{location} vs {redirect_uri}"
    );
    let landed = reqwest::get(&location)
        .await
        .expect("the app's loopback listener");
    assert_eq!(landed.status(), StatusCode::OK);

    let (success, events) = node.finish().await;
    assert!(success, "the script failed: {events:?}");
    let last = events.last().cloned().unwrap_or(Value::Null);
    assert_eq!(last["event"], "tokens", "{last}");
    assert_eq!(last["scope"], "mcp:tools", "{last}");
    assert_eq!(last["typ"], "at+jwt", "{last}");
    assert_eq!(last["claims"]["aud"], resource.as_str(), "{last}");
    assert_eq!(last["claims"]["client_id"], native.client_id.as_str());
    assert_eq!(last["wrong_audience_refused"], true, "{last}");
    let token = last["access_token"].as_str().expect("access_token");

    // The protected API accepts the token, and refuses no token with a pointer to its metadata.
    let client = reqwest::Client::new();
    let ok = client
        .get(&resource)
        .bearer_auth(token)
        .send()
        .await
        .expect("api");
    assert_eq!(ok.status(), StatusCode::OK);
    let body: Value = ok.json().await.expect("json");
    assert_eq!(body["client_id"], native.client_id.as_str(), "{body}");
    let refused = client.get(&resource).send().await.expect("api");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let challenge = refused
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let metadata_url = challenge
        .split("resource_metadata=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("resource_metadata in the challenge");
    let metadata: Value = reqwest::get(metadata_url)
        .await
        .expect("metadata")
        .json()
        .await
        .expect("json");
    assert_eq!(metadata["resource"], resource.as_str());
    assert_eq!(metadata["authorization_servers"], json!([app.base]));
    let forged = format!("{token}x");
    let refused = client
        .get(&resource)
        .bearer_auth(&forged)
        .send()
        .await
        .expect("api");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}
