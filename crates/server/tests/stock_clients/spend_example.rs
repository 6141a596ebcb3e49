//! The integration guide's spending example, `examples/spend/charge.mjs` (Node's own `fetch`,
//! nothing to install), against a real node: it charges a user's balance through a
//! `balance:spend` token, retries the charge with the same key (the same answer, nothing moved
//! again) and refunds part of it; and it reports a refusal as the guide says.

use crate::harness::Harness;
use crate::helpers::{TestApp, into_parts};
use crate::oauth_support::{CALLBACK, authorize, hidden_fields, param, register_app, token_b};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

async fn admin_patch(app: &TestApp, path: &str, body: Value) {
    let admin = app.admin().await;
    let res = admin
        .patch(app.url(path))
        .json(&body)
        .send()
        .await
        .expect("patch");
    let (_, answer) = into_parts(res).await;
    assert_eq!(answer["success"], true, "{answer}");
}

/// The user consents to `balance:spend` with a limit of 1.00 a month (1000 quota units); the
/// app's access token.
async fn spend_token(app: &TestApp, browser: &Client, client_id: &str, secret: &str) -> String {
    let (status, _, consent) = authorize(
        app,
        browser,
        "/oauth/authorize",
        &[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", CALLBACK),
            ("scope", "balance balance:spend"),
            ("state", "s1"),
            ("spend_limit", "1000/month"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{consent}");
    let mut fields = hidden_fields(&consent);
    fields.push(("spend_amount".into(), "1".into()));
    fields.push(("spend_period".into(), "month".into()));
    fields.push(("decision".into(), "approve".into()));
    let res = browser
        .post(app.url("/oauth/authorize"))
        .form(&fields)
        .send()
        .await
        .expect("consent");
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let code = param(&location, "code").unwrap_or_else(|| panic!("no code: {location}"));
    let (status, tokens) = token_b(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("client_id", client_id),
            ("client_secret", secret),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens["access_token"].as_str().expect("token").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Node (KEYWARD_REQUIRE_STOCK_CLIENTS)"]
async fn the_guides_spending_example_charges_retries_and_refunds() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let (developer, _) = app.user("developer").await;
    let registered = register_app(&app, &developer, json!({"scopes": "profile balance"})).await;
    admin_patch(
        &app,
        &format!("/api/admin/oauth_apps/{}", registered.id),
        json!({"may_spend": true}),
    )
    .await;
    let (browser, user_id) = app.user("uma").await;
    admin_patch(
        &app,
        &format!("/api/admin/users/{user_id}"),
        json!({"quota": 5000}),
    )
    .await;
    let token = spend_token(
        &app,
        &browser,
        &registered.client_id,
        &registered.client_secret,
    )
    .await;
    let env = [
        ("BASE_URL", app.base.as_str()),
        ("ACCESS_TOKEN", token.as_str()),
    ];

    let script = Harness::spend_example().run_with("charge.mjs", &["300", "100"], &env);
    let (success, events) = script.finish().await;
    assert!(success, "{events:#?}");
    let [charge, retry, refund] = &events[..] else {
        panic!("three answers: {events:#?}");
    };
    assert_eq!(
        (charge["event"].clone(), charge["status"].clone()),
        (json!("charge"), json!(200))
    );
    let body = &charge["body"];
    assert_eq!(
        (
            body["amount"].clone(),
            body["used_quota"].clone(),
            body["remaining_limit"].clone()
        ),
        (json!(300), json!(300), json!(700)),
        "{charge}"
    );
    assert_eq!(
        (retry["status"].clone(), retry["same"].clone()),
        (json!(200), json!(true)),
        "{retry}"
    );
    assert_eq!(refund["status"], 200, "{refund}");
    assert_eq!(
        (
            refund["body"]["charge_id"].clone(),
            refund["body"]["used_quota"].clone()
        ),
        (body["charge_id"].clone(), json!(200)),
        "{refund}"
    );

    // Over the limit (1000 a month, 200 spent): the refusal as the guide describes it, and a
    // failed exit.
    let script = Harness::spend_example().run_with("charge.mjs", &["801"], &env);
    let (success, events) = script.finish().await;
    assert!(!success, "{events:#?}");
    let refused = &events[0];
    assert_eq!(
        (
            refused["status"].clone(),
            refused["body"]["error"].clone(),
            refused["body"]["remaining_limit"].clone()
        ),
        (json!(403), json!("spend_limit_exceeded"), json!(800)),
        "{refused}"
    );
}
