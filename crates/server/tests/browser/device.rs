//! The device flow (RFC 8628) in a real browser: a CLI starts it, the user opens the
//! `verification_uri_complete` it prints in Chromium, signs in, confirms the code, approves, and
//! the CLI's poll collects the tokens. On `localhost`, the name a user types.

use crate::helpers::{Backend, TestApp};
use crate::oauth_support::register_app;
use crate::webdriver::Browser;
use serde_json::{Value, json};
use std::time::Duration;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs chromedriver and chromium (KEYWARD_REQUIRE_BROWSER)"]
async fn a_user_approves_a_cli_at_the_device_page_in_chromium_and_the_cli_gets_tokens() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let public = format!("http://localhost:{port}");
    let issuer = public.clone();
    let app = TestApp::spawn_with(Backend::Sqlite, move |c| {
        c.listen = format!("127.0.0.1:{port}");
        c.public_url = Some(issuer);
    })
    .await;
    let client_id = register_cli(&app).await;
    app.register("dana", crate::PASSWORD).await;

    // The CLI asks for a code and prints where to go.
    let http = reqwest::Client::new();
    let started: Value = http
        .post(format!("{public}/oauth2/device_authorization"))
        .form(&[
            ("client_id", client_id.as_str()),
            ("scope", "openid profile"),
        ])
        .send()
        .await
        .expect("device authorization")
        .json()
        .await
        .expect("json");
    let user_code = started["user_code"].as_str().expect("user_code").to_owned();
    let complete = started["verification_uri_complete"]
        .as_str()
        .expect("verification_uri_complete")
        .to_owned();
    assert!(
        complete.starts_with(&format!("{public}/device?user_code=")),
        "{complete}"
    );
    let device_code = started["device_code"]
        .as_str()
        .expect("device_code")
        .to_owned();
    let poller = tokio::spawn(poll_until_done(
        format!("{public}/api/oauth2/token"),
        client_id.clone(),
        device_code,
        started["interval"].as_u64().unwrap_or(5),
    ));

    // The user opens the link, signs in, and lands back on /device with the code filled in.
    let browser = Browser::start().await;
    browser.goto(&complete).await;
    browser.wait_for("form[action='/login']").await;
    browser.fill("#username", "dana").await;
    browser.fill("#password", crate::PASSWORD).await;
    browser
        .click("form[action='/login'] button[type=submit]")
        .await;
    browser.wait_for("form[action='/device'] #user_code").await;
    assert_eq!(browser.value("#user_code").await, user_code);
    browser.screenshots("device-enter").await;
    browser
        .click("form[action='/device'] button[type=submit]")
        .await;

    // The consent page names the app and the code, and warns.
    browser
        .wait_for("button[name=decision][value=approve]")
        .await;
    let main = browser.text("main").await;
    assert!(main.contains("Device CLI"), "{main}");
    assert!(main.contains(&user_code), "{main}");
    // The warning, in the language the browser asks for.
    assert!(
        main.contains("Only continue if you started this yourself")
            || main.contains("只有当这是你本人"),
        "{main}"
    );
    browser.screenshots("device-consent").await;
    browser.click("button[name=decision][value=approve]").await;
    browser.wait_for("main .notice").await;
    assert!(browser.text("main").await.contains("Device CLI"));
    browser.screenshots("device-done").await;

    // Meanwhile the CLI, polling at the interval, gets its tokens.
    let tokens = tokio::time::timeout(Duration::from_secs(60), poller)
        .await
        .expect("the poller finished")
        .expect("the poller task");
    assert!(tokens["id_token"].as_str().is_some(), "{tokens}");
    let me: Value = http
        .get(format!("{public}/oauth2/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().expect("access_token"))
        .send()
        .await
        .expect("userinfo")
        .json()
        .await
        .expect("json");
    assert_eq!(me["preferred_username"], "dana", "{me}");
    browser.close().await;
    app.stop().await;
}

/// A developer registers a public CLI with only the device grant, and an admin approves it.
async fn register_cli(app: &TestApp) -> String {
    let (developer, _) = app.user("devon").await;
    let body = json!({
        "name": "Device CLI",
        "redirect_uri": "",
        "public": true,
        "grant_types": [DEVICE_GRANT],
        "scopes": "openid profile",
    });
    register_app(app, &developer, body).await.client_id
}

/// Polls as RFC 8628 §3.5 says: every `interval` seconds, 5 more after a `slow_down`.
async fn poll_until_done(
    token_url: String,
    client_id: String,
    device_code: String,
    interval: u64,
) -> Value {
    let http = reqwest::Client::new();
    let mut interval = interval;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_secs(interval)).await;
        let res = http
            .post(&token_url)
            .form(&[
                ("grant_type", DEVICE_GRANT),
                ("device_code", device_code.as_str()),
                ("client_id", client_id.as_str()),
            ])
            .send()
            .await
            .expect("poll");
        let ok = res.status().is_success();
        let body: Value = res.json().await.expect("json");
        if ok {
            return body;
        }
        match body["error"].as_str() {
            Some("authorization_pending") => {}
            Some("slow_down") => interval += 5,
            _ => panic!("the poll failed: {body}"),
        }
    }
    panic!("no tokens after 60 polls");
}
