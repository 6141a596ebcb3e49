//! The accessibility audit: every page of the site, in both languages, at desktop and phone
//! widths, in the light and the dark colour scheme, checked by axe-core (pinned in
//! `a11y/package-lock.json`, installed by `npm ci --prefix crates/server/tests/browser/a11y`, and
//! injected by this test through WebDriver: Keyward never serves it). Serious and critical
//! violations fail the test, listed in full once every page was walked. Screenshots of each page
//! in each language at both widths (light scheme), and in English on a phone in the dark scheme,
//! land in `target/screenshots/a11y-*.png`.

use crate::helpers::{ADMIN, ADMIN_PASSWORD, Backend, TestApp, post_json};
use crate::oauth_support::{create_app, register_app};
use crate::webdriver::{Browser, DESKTOP, PHONE};
use serde_json::{Value, json};
use std::path::PathBuf;

/// Who must be signed in to see a page.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Anyone,
    User,
    Admin,
}

/// Every page: its name (for screenshots and the report), who sees it and its path, where
/// `{app}` is the sample app's id and `{user}` the sample user's. Adding a page is one line.
const PAGES: &[(&str, Who, &str)] = &[
    ("login", Who::Anyone, "/login"),
    ("register", Who::Anyone, "/register"),
    ("reset", Who::Anyone, "/reset"),
    (
        "error",
        Who::Anyone,
        "/oauth/authorize?client_id=client_nope",
    ),
    ("guide", Who::Anyone, "/docs/integration-guide"),
    ("not-found", Who::Anyone, "/no-such-page"),
    ("home", Who::User, "/"),
    ("security", Who::User, "/user/security"),
    ("activity", Who::User, "/user/security/activity"),
    ("authorizations", Who::User, "/user/authorizations"),
    ("topup", Who::User, "/topup"),
    ("ledger", Who::User, "/user/ledger"),
    ("console-list", Who::User, "/user/setting/oauth"),
    ("console-app", Who::User, "/user/setting/oauth/{app}"),
    ("console-edit", Who::User, "/user/setting/oauth/{app}/edit"),
    (
        "consent",
        Who::User,
        "/oauth/authorize?response_type=code&client_id={client}\
         &redirect_uri=https%3A%2F%2Fnotes.example%2Fcallback&scope=openid%20profile%20email&state=s",
    ),
    ("device", Who::User, "/device"),
    ("logout", Who::User, "/oauth2/logout"),
    ("admin-overview", Who::Admin, "/admin"),
    ("admin-apps", Who::Admin, "/admin/apps"),
    ("admin-users", Who::Admin, "/admin/users"),
    ("admin-user", Who::Admin, "/admin/users/{user}"),
    ("admin-ways-in", Who::Admin, "/admin/users/{user}/ways_in"),
    ("admin-ledger", Who::Admin, "/admin/users/{user}/ledger"),
    ("admin-settings", Who::Admin, "/admin/settings"),
    (
        "admin-settings-providers",
        Who::Admin,
        "/admin/settings/providers",
    ),
    ("admin-settings-mail", Who::Admin, "/admin/settings/mail"),
    ("admin-settings-apps", Who::Admin, "/admin/settings/apps"),
    (
        "admin-settings-billing",
        Who::Admin,
        "/admin/settings/billing",
    ),
    ("admin-settings-brand", Who::Admin, "/admin/settings/brand"),
    (
        "admin-settings-limits",
        Who::Admin,
        "/admin/settings/limits",
    ),
    ("admin-audit", Who::Admin, "/admin/audit"),
    ("admin-resources", Who::Admin, "/admin/resources"),
    ("admin-topup", Who::Admin, "/admin/topup"),
    (
        "admin-client-documents",
        Who::Admin,
        "/admin/client-documents",
    ),
];

const LANGUAGES: [&str; 2] = ["zh", "en"];
const SCHEMES: [&str; 2] = ["light", "dark"];
const PASSWORD: &str = "password-123";

/// axe-core as `npm ci` installs it; `None` when it was not installed.
fn axe_source() -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser/a11y/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(path).ok()
}

/// The serious and critical violations axe finds on the page as it is now, one line each.
async fn audit(browser: &Browser) -> Vec<String> {
    let found = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']}).then(function (r) {
               done(r.violations
                 .filter(function (v) { return v.impact === 'serious' || v.impact === 'critical'; })
                 .map(function (v) {
                   return {id: v.id, impact: v.impact, help: v.help,
                           targets: v.nodes.slice(0, 8).map(function (n) { return n.target.join(' '); })};
                 }));
             }, function (e) { done([{id: 'axe-error', impact: 'critical', help: String(e), targets: []}]); });",
        )
        .await;
    found
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|v| {
            format!(
                "{} ({}): {} — {}",
                v["id"].as_str().unwrap_or_default(),
                v["impact"].as_str().unwrap_or_default(),
                v["help"].as_str().unwrap_or_default(),
                v["targets"]
                    .as_array()
                    .map(|t| t
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" | "))
                    .unwrap_or_default()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs chromedriver and chromium (KEYWARD_REQUIRE_BROWSER)"]
async fn every_page_passes_the_accessibility_audit_in_both_languages_widths_and_schemes() {
    // Never a silent pass: scripts/test.sh runs the browser tests only once axe-core is there.
    let axe = axe_source().expect(
        "axe-core is missing: run `npm ci --prefix crates/server/tests/browser/a11y --no-audit --no-fund`",
    );
    let browser = Browser::start().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (app_id, client_id, user_id) = sample_data(&app).await;
    let user_code = device_code(&app).await;

    let mut audit = Audit {
        axe,
        violations: Vec::new(),
        walked: 0,
    };
    for who in [Who::Anyone, Who::User, Who::Admin] {
        browser.sign_out(&app).await;
        match who {
            Who::Anyone => {}
            Who::User => {
                browser.login(&app, "pia", PASSWORD, "/").await;
                navigation_folds_into_a_menu_on_phones(&browser).await;
            }
            Who::Admin => browser.login(&app, ADMIN, ADMIN_PASSWORD, "/").await,
        }
        for lang in LANGUAGES {
            browser
                .goto(&app.url(&format!(
                    "/lang?to={lang}&return_to=%2Fstatic%2Fkeyward.css"
                )))
                .await;
            for (name, _, path) in PAGES.iter().filter(|(_, w, _)| *w == who) {
                let path = path
                    .replace("{app}", &app_id.to_string())
                    .replace("{client}", &client_id)
                    .replace("{user}", &user_id.to_string());
                browser.goto(&app.url(&path)).await;
                audit.here(&browser, name, lang).await;
            }
            // Pages that only a form's answer shows.
            match who {
                Who::Anyone => {
                    browser.goto(&app.url("/login")).await;
                    browser.fill("#username", "pia").await;
                    browser.fill("#password", "not-her-password").await;
                    browser
                        .click("form[action='/login'] button[type=submit]")
                        .await;
                    browser.wait_for("#password-error").await;
                    audit.here(&browser, "login-failed", lang).await;
                }
                Who::User => {
                    browser.goto(&app.url("/user/security")).await;
                    browser
                        .click("form[action='/user/security/totp/setup'] button")
                        .await;
                    browser
                        .wait_for("form[action='/user/security/totp/enable']")
                        .await;
                    audit.here(&browser, "totp-setup", lang).await;
                    // The device consent, for a CLI's code (viewing it decides nothing).
                    browser
                        .goto(&app.url(&format!("/device?user_code={user_code}")))
                        .await;
                    browser
                        .click("form[action='/device'] button[type=submit]")
                        .await;
                    browser
                        .wait_for("button[name=decision][value=approve]")
                        .await;
                    audit.here(&browser, "device-consent", lang).await;
                }
                Who::Admin => {}
            }
        }
    }
    browser.close().await;
    app.stop().await;
    assert_eq!(
        audit.walked,
        (PAGES.len() + 3) * 8,
        "every page at every combination"
    );
    assert!(
        audit.violations.is_empty(),
        "{} serious or critical accessibility violations:\n{}",
        audit.violations.len(),
        audit.violations.join("\n")
    );
}

/// axe-core's source and what it found so far.
struct Audit {
    axe: String,
    violations: Vec<String>,
    walked: usize,
}

impl Audit {
    /// Audits the page the browser shows at both widths in both schemes (the page is not
    /// reloaded); screenshots in the light scheme, and on a phone in the dark one in English.
    async fn here(&mut self, browser: &Browser, name: &str, lang: &str) {
        browser.wait_for("main").await;
        let path = browser.path().await;
        browser.execute(&self.axe).await;
        for scheme in SCHEMES {
            browser.color_scheme(scheme).await;
            for (width, size) in [("desktop", DESKTOP), ("phone", PHONE)] {
                browser.resize(size).await;
                if scheme == "light" {
                    browser
                        .screenshot_as(&format!("a11y-{name}-{lang}-{width}"))
                        .await;
                } else if width == "phone" && lang == "en" {
                    browser
                        .screenshot_as(&format!("a11y-{name}-{lang}-{width}-dark"))
                        .await;
                }
                for found in audit(browser).await {
                    self.violations.push(format!(
                        "{name} ({path}) · {}×{} · {scheme} · {lang}: {found}",
                        size.0, size.1
                    ));
                }
                self.walked += 1;
            }
        }
        browser.color_scheme("light").await;
        browser.resize(DESKTOP).await;
    }
}

/// On a phone the header's links wait behind a menu button that works without script (a
/// `<details>`); on a desktop they are in the header.
async fn navigation_folds_into_a_menu_on_phones(browser: &Browser) {
    assert!(browser.displayed(".wide-nav a[href='/topup']").await);
    assert!(!browser.displayed(".menu summary").await);
    browser.resize(PHONE).await;
    assert!(
        !browser.displayed(".wide-nav a[href='/topup']").await,
        "folded"
    );
    assert!(
        !browser.displayed(".menu nav a[href='/topup']").await,
        "closed"
    );
    browser.click(".menu summary").await;
    browser.wait_displayed(".menu nav a[href='/topup']").await;
    browser.click(".menu nav a[href='/topup']").await;
    browser.wait_for("form[action='/topup']").await;
    browser.resize(DESKTOP).await;
}

/// A user (pia) with an approved app whose secret was never shown, so that the pages have
/// content; returns the app's id and client id, and pia's id.
async fn sample_data(app: &TestApp) -> (i64, String, i64) {
    let (pia, user_id) = app.user("pia").await;
    let body = json!({
        "name": "Pia's Notes",
        "description": "Notes that know who you are",
        "redirect_uri": "https://notes.example/callback",
        "scopes": "openid profile email",
    });
    let (_, created) = create_app(app, &pia, &body).await;
    let app_id = created["data"]["id"].as_i64().expect("app id");
    let client_id = created["data"]["client_id"]
        .as_str()
        .expect("client_id")
        .to_owned();
    let (status, _) = post_json(
        &app.admin().await,
        &app.url(&format!("/api/admin/oauth_apps/{app_id}/approve")),
        json!({}),
    )
    .await;
    assert!(status.is_success());
    (app_id, client_id, user_id)
}

/// A CLI app with the device grant, approved, and a code it asked for.
async fn device_code(app: &TestApp) -> String {
    let (developer, _) = app.user("dev").await;
    let body = json!({
        "name": "Dev CLI",
        "redirect_uri": "",
        "public": true,
        "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"],
        "scopes": "openid profile",
    });
    let client_id = register_app(app, &developer, body).await.client_id;
    let started: Value = reqwest::Client::new()
        .post(app.url("/oauth2/device_authorization"))
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
    started["user_code"].as_str().expect("user_code").to_owned()
}
