//! Issue #19 in a real browser: the user consents to the sample app (`examples/sample-app`,
//! started with `SPEND_LIMIT`) with a limit she types, the app charges within it, she sees the
//! spending on the connected-apps page and lowers the limit below it, and the app's next charge
//! is refused with `spend_limit_exceeded`.

use crate::harness::Harness;
use crate::helpers::{ADMIN, ADMIN_PASSWORD, Backend, TestApp, into_parts};
use crate::oauth_support::register_app;
use crate::webdriver::Browser;
use serde_json::json;

const PASSWORD: &str = "password-123";

async fn admin_patch(app: &TestApp, path: &str, body: serde_json::Value) {
    let admin = app.login(ADMIN, ADMIN_PASSWORD).await;
    let res = admin
        .patch(app.url(path))
        .json(&body)
        .send()
        .await
        .expect("patch");
    let (_, answer) = into_parts(res).await;
    assert_eq!(answer["success"], true, "{path}: {answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs chromedriver, chromium and Node (KEYWARD_REQUIRE_BROWSER)"]
async fn a_user_limits_an_app_sees_its_spending_and_lowers_the_limit_in_chromium() {
    let browser = Browser::start().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let port = {
        let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        free.local_addr().expect("addr").port()
    };
    let (developer, _) = app.user("devon").await;
    let registered = register_app(
        &app,
        &developer,
        json!({
            "name": "Sample app",
            "redirect_uri": format!("http://127.0.0.1:{port}/callback"),
            "scopes": "openid profile balance",
        }),
    )
    .await;
    admin_patch(
        &app,
        &format!("/api/admin/oauth_apps/{}", registered.id),
        json!({"may_spend": true}),
    )
    .await;
    let (_, uma) = app.user("uma").await;
    admin_patch(
        &app,
        &format!("/api/admin/users/{uma}"),
        json!({"quota": 5000}),
    )
    .await;

    let port_text = port.to_string();
    let mut sample = Harness::sample_app().run_with(
        "app.mjs",
        &[],
        &[
            ("KEYWARD_URL", app.base.as_str()),
            ("CLIENT_ID", registered.client_id.as_str()),
            ("CLIENT_SECRET", registered.client_secret.as_str()),
            ("PORT", port_text.as_str()),
            ("SPEND_LIMIT", "10000/month"),
        ],
    );
    assert_eq!(sample.next_event().await["event"], "listening");
    let home = format!("http://127.0.0.1:{port}");

    // The app suggests 10.00 a month; Uma types 3.00.
    browser.login(&app, "uma", PASSWORD, "/").await;
    browser.goto(&format!("{home}/login")).await;
    browser.wait_for("input[name=spend_amount]").await;
    assert_eq!(browser.value("input[name=spend_amount]").await, "10.00");
    browser.fill("input[name=spend_amount]", "3").await;
    browser.screenshots("consent-spend").await;
    browser.click("button[name=decision][value=approve]").await;
    browser.wait_for("#signed-in").await;
    assert_eq!(browser.text("#signed-in").await, "uma");

    // Two charges of 1.00 fit; the app shows what the limit still allows.
    for remaining in ["2000", "1000"] {
        browser.fill("#amount", "1000").await;
        browser.click("#charge").await;
        browser.wait_text("#charge-result", remaining).await;
        assert_eq!(browser.text("#remaining-limit").await, remaining);
    }
    assert_eq!(sample.next_event().await["event"], "signed_in");
    assert_eq!(sample.next_event().await["event"], "charged");
    assert_eq!(sample.next_event().await["remaining_limit"], 1000);

    // The connected-apps page: 2.00 spent this month, 1.00 left of the 3.00.
    browser.goto(&app.url("/user/authorizations")).await;
    assert_eq!(browser.text("dd.spent-period").await, "$2.00");
    assert_eq!(browser.text("dd.spent-total").await, "$2.00");
    assert_eq!(browser.text("dd.spend-remaining").await, "$1.00");
    assert!(browser.text("dd.spend-limit").await.starts_with("$3.00"));
    browser.screenshots("authorizations-spending").await;
    // She lowers it to 1.00, below what was spent: at once, no confirmation.
    browser
        .fill("form.spend-limit-form input[name=spend_amount]", "1")
        .await;
    browser
        .click("form.spend-limit-form button[type=submit]")
        .await;
    browser.wait_for("main .notice[role=status]").await;
    assert_eq!(browser.text("dd.spend-remaining").await, "$0.00");
    assert!(browser.text("dd.spend-limit").await.starts_with("$1.00"));

    // The app's next charge is refused, with nothing left.
    browser.goto(&home).await;
    browser.fill("#amount", "500").await;
    browser.click("#charge").await;
    browser
        .wait_text("#charge-result", "spend_limit_exceeded")
        .await;
    assert_eq!(browser.text("#charge-error").await, "spend_limit_exceeded");
    assert_eq!(browser.text("#remaining-limit").await, "0");
    browser.screenshots("sample-app-refused").await;

    // Her statement names the app for each charge.
    browser.goto(&app.url("/user/ledger")).await;
    let statement = browser.text("main table").await;
    let charges: Vec<&str> = statement
        .lines()
        .filter(|l| l.contains("Charged by an app") || l.contains("应用扣费"))
        .collect();
    assert_eq!(charges.len(), 2, "{statement}");
    assert!(
        charges.iter().all(|l| l.contains("Sample app")),
        "{statement}"
    );
    assert!(statement.contains("-$1.00"), "{statement}");
    browser.screenshots("ledger").await;
    app.assert_ledger_adds_up().await;
    browser.close().await;
    app.stop().await;
}
