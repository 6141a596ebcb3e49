//! Passkeys in Chromium, with a WebDriver virtual authenticator standing in for the device: a
//! user enrols one on `/user/security`, logs out, signs in with it on `/login` (no password
//! typed), and completes an OAuth authorization for a third-party app as that user. On
//! `localhost`: WebAuthn refuses IP addresses.

use crate::helpers::{ADMIN, ADMIN_PASSWORD, Backend, TestApp};
use crate::oauth_support::register_app;
use crate::webdriver::Browser;
use crate::{PASSWORD, rp};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs chromedriver and chromium (KEYWARD_REQUIRE_BROWSER)"]
async fn a_user_enrols_a_passkey_signs_in_with_it_and_authorizes_an_app_in_chromium() {
    let app = TestApp::spawn_at_localhost(Backend::Sqlite).await;
    let sample = rp::SampleApp::start(&app.base).await;
    let (client_id, secret) = approved_app(&app, &sample.redirect_uri).await;
    sample.configure(&client_id, &secret);
    app.register("pia", PASSWORD).await;

    let browser = Browser::start().await;
    let authenticator = browser.add_virtual_authenticator().await;
    // The login page with its passkey button (the authenticator holds nothing yet, so the
    // autofill prompt waits).
    for lang in ["zh", "en"] {
        let query =
            serde_urlencoded::to_string([("to", lang), ("return_to", "/login")]).expect("query");
        browser.goto(&app.url(&format!("/lang?{query}"))).await;
        browser.wait_displayed("#passkey-sign-in").await;
        browser.screenshots(&format!("passkeys-login-{lang}")).await;
    }

    // Enrol, right after signing in (a recent sign-in is required).
    browser.login(&app, "pia", PASSWORD, "/user/security").await;
    browser.wait_displayed("#passkey-add").await;
    browser.fill("#passkey-new-name", "Pia's laptop").await;
    browser.click("#passkey-add").await;
    wait_path(&browser, "/user/security?done=passkey_added").await;
    assert!(
        browser.text("#passkeys").await.contains("Pia's laptop"),
        "{}",
        browser.text("#passkeys").await
    );
    let held = browser.virtual_credentials(&authenticator).await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(
        held[0]["isResidentCredential"], true,
        "discoverable: {held:?}"
    );
    for lang in ["zh", "en"] {
        browser
            .goto(&app.url(&format!("/lang?to={lang}&return_to=%2Fuser%2Fsecurity")))
            .await;
        // Scrolled to the section.
        browser.goto(&app.url("/user/security#passkeys")).await;
        browser.wait_for("#passkeys").await;
        browser
            .screenshots(&format!("passkeys-security-{lang}"))
            .await;
    }

    // Log out through the logout page.
    browser.goto(&app.url("/oauth2/logout")).await;
    browser.click("button[name=confirm][value=yes]").await;
    for _ in 0..150 {
        if !browser.path().await.starts_with("/oauth2/logout") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Logged out: the API says so. (Not the login page: its autofill prompt would sign her
    // straight back in.)
    browser.goto(&app.url("/api/user/self")).await;
    assert!(
        browser.text("body").await.contains("未登录"),
        "{}",
        browser.text("body").await
    );

    // The third-party app sends her to /login; the browser's autofill prompt offers the passkey
    // (the virtual authenticator consents at once) and signs her in: no password typed.
    browser.goto(&sample.url("/start")).await;
    browser
        .wait_for("button[name=decision][value=approve]")
        .await;
    assert!(browser.text("main").await.contains("Passkey Notes"));
    browser.click("button[name=decision][value=approve]").await;
    browser.wait_for("#signed-in").await;
    assert_eq!(browser.text("#signed-in").await, "pia");
    let token = sample.last_token().expect("the sample app holds a token");
    assert_eq!(sample.userinfo_status(&token).await, 200);
    let used = browser.virtual_credentials(&authenticator).await;
    assert!(
        used[0]["signCount"].as_u64().unwrap_or(0) >= 1,
        "the passkey signed: {used:?}"
    );

    // The security page shows when it was last used.
    browser.goto(&app.url("/user/security")).await;
    assert!(
        !browser.text("#passkeys").await.contains("never")
            && !browser.text("#passkeys").await.contains("从未"),
        "{}",
        browser.text("#passkeys").await
    );
    // Her security activity lists the passkey sign-in; the admin's view of her ways in lists
    // the passkey. Both in both languages.
    for lang in ["zh", "en"] {
        let query =
            serde_urlencoded::to_string([("to", lang), ("return_to", "/user/security/activity")])
                .expect("query");
        browser.goto(&app.url(&format!("/lang?{query}"))).await;
        browser.wait_for("main").await;
        let word = if lang == "zh" {
            "通行密钥"
        } else {
            "passkey"
        };
        assert!(
            browser.text("main").await.contains(word),
            "{}",
            browser.text("main").await
        );
        browser.screenshots(&format!("activity-{lang}")).await;
    }
    let pia = app.login("pia", PASSWORD).await;
    let (_, me) = crate::helpers::get_json(&pia, &app.url("/api/user/self")).await;
    let pia_id = me["data"]["id"].as_i64().expect("id");
    // The admin signs in on this browser: without the authenticator, whose autofill prompt would
    // sign pia in again.
    browser.remove_virtual_authenticator(&authenticator).await;
    browser.sign_out(&app).await;
    let ways = format!("/admin/users/{pia_id}/ways_in");
    browser.login(&app, ADMIN, ADMIN_PASSWORD, &ways).await;
    for lang in ["zh", "en"] {
        let query = serde_urlencoded::to_string([("to", lang), ("return_to", ways.as_str())])
            .expect("query");
        browser.goto(&app.url(&format!("/lang?{query}"))).await;
        browser.wait_for("main").await;
        assert!(browser.text("main").await.contains("Pia's laptop"));
        browser.screenshots(&format!("admin-ways-in-{lang}")).await;
    }
    browser.close().await;
    app.stop().await;
}

async fn wait_path(browser: &Browser, want: &str) {
    for _ in 0..150 {
        if browser.path().await.starts_with(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let at = browser.path().await;
    let error = browser.text("main").await;
    panic!("never reached {want}: at {at}: {error}");
}

/// A confidential app for `redirect_uri`, created by a developer and approved by an admin;
/// returns its client id and secret.
async fn approved_app(app: &TestApp, redirect_uri: &str) -> (String, String) {
    let (developer, _) = app.user("devon").await;
    let body = json!({
        "name": "Passkey Notes",
        "redirect_uri": redirect_uri,
        "scopes": "profile balance",
    });
    let registered = register_app(app, &developer, body).await;
    (registered.client_id, registered.client_secret)
}
