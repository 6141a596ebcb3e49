//! Rate limits with `Retry-After`: registration, the token endpoints, e-mail sending, WeChat and
//! TOTP codes, the login page; and one limit shared by two nodes on one database.

use crate::fakes::{FakeServer, WECHAT_TOKEN};
use crate::helpers::{
    Backend, TestApp, TestDatabase, get_json, into_parts, post_json, test_config,
};
use crate::oauth_support::*;
use crate::on_both_backends;
use keyward_core::accounts::two_factor::TwoFactor;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    registration_is_limited_per_ip,
    token_failures_are_limited_per_client_but_correct_credentials_pass,
    token_failures_are_limited_per_ip_and_successes_are_not_counted,
    mail_is_limited_per_address_and_per_ip,
    wechat_codes_are_limited_per_account_when_binding,
    totp_codes_are_limited_per_account_when_enabling,
    the_login_page_says_when_to_retry,
    a_limit_reached_at_one_node_refuses_at_the_other,
);

const BUSY: &str = "请求过于频繁，请稍后再试";

pub(crate) async fn set(app: &TestApp, settings: Value) {
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

/// The `Retry-After` of a 429, checked to lie within the window.
fn retry_after(res: &Response, window: i64) -> i64 {
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let seconds = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .expect("Retry-After");
    assert!((1..=window).contains(&seconds), "{seconds}");
    seconds
}

/// A 429 in the account API's envelope.
async fn assert_busy_envelope(res: Response, window: i64) {
    retry_after(&res, window);
    let (_, body) = into_parts(res).await;
    assert_eq!(
        body,
        json!({"success": false, "message": BUSY, "data": null})
    );
}

async fn registration_is_limited_per_ip(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    set(
        &app,
        json!({"register_max_per_ip": 2, "register_window_secs": 600}),
    )
    .await;
    let client = app.client();
    let url = app.url("/api/user/register");
    for name in ["reg-one", "reg-two"] {
        let (_, body) = post_json(
            &client,
            &url,
            json!({"username": name, "password": "password-123"}),
        )
        .await;
        assert_eq!(body["success"], true, "{body}");
    }
    let res = client
        .post(&url)
        .json(&json!({"username": "reg-three", "password": "password-123"}))
        .send()
        .await
        .expect("register");
    assert_busy_envelope(res, 600).await;
    // Nothing was created.
    let admin = app.admin().await;
    let (_, users) = get_json(&admin, &app.url("/api/admin/users?keyword=reg-three")).await;
    assert!(!users.to_string().contains("reg-three"), "{users}");
}

/// An approved app and a logged-in user of it.
async fn provider(app: &TestApp) -> (RegisteredApp, Client) {
    let (developer, _) = app.user("dev").await;
    let registered = register_app(app, &developer, json!({})).await;
    let (browser, _) = app.user("tess").await;
    (registered, browser)
}

async fn code_for(app: &TestApp, browser: &Client, registered: &RegisteredApp) -> String {
    let params = [
        ("client_id", registered.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "profile"),
        ("state", "s"),
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

async fn token_response(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Response {
    reqwest::Client::new()
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .expect("token")
}

async fn token_failures_are_limited_per_client_but_correct_credentials_pass(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    set(
        &app,
        json!({"token_failures_max_per_client": 3, "token_failures_max_per_ip": 0, "token_failures_window_secs": 600}),
    )
    .await;
    let (registered, browser) = provider(&app).await;
    let code = code_for(&app, &browser, &registered).await;
    for _ in 0..3 {
        let res = token_response(
            &app,
            "/api/oauth2/token",
            &exchange("kwac_wrong", &registered, "secret_wrong"),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // Over the limit: another wrong secret is refused (family B)...
    let res = token_response(
        &app,
        "/api/oauth2/token",
        &exchange(&code, &registered, "secret_wrong"),
    )
    .await;
    retry_after(&res, 600);
    assert_eq!(
        res.headers().get("cache-control").map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
    let (_, body) = into_parts(res).await;
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert!(body["error_description"].is_string());
    // ...and at family A, in its envelope.
    let res = token_response(
        &app,
        "/api/oauth/token",
        &exchange(&code, &registered, "secret_wrong"),
    )
    .await;
    retry_after(&res, 600);
    let (_, body) = into_parts(res).await;
    assert_eq!(body, json!({"c": 429, "m": BUSY, "d": null}));
    // A client_id is public: the app's own correct credentials still work (issue 13).
    let (status, body) = token_b(
        &app,
        &exchange(&code, &registered, &registered.client_secret),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Another client is not affected, and the code was not spent.
    let developer = app.login("dev", "password-123").await;
    let other = register_app(&app, &developer, json!({})).await;
    let other_code = code_for(&app, &browser, &other).await;
    let (status, body) = token_b(&app, &exchange(&other_code, &other, &other.client_secret)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn token_failures_are_limited_per_ip_and_successes_are_not_counted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    set(
        &app,
        json!({"token_failures_max_per_client": 0, "token_failures_max_per_ip": 2, "token_failures_window_secs": 600}),
    )
    .await;
    let (registered, browser) = provider(&app).await;
    // Successes write nothing: more of them than the limit all pass.
    let code = code_for(&app, &browser, &registered).await;
    let (status, mut tokens) = token_b(
        &app,
        &exchange(&code, &registered, &registered.client_secret),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    for _ in 0..3 {
        let refresh = tokens["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_owned();
        let (status, next) = token_b(
            &app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", &registered.client_id),
                ("client_secret", &registered.client_secret),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{next}");
        tokens = next;
    }
    // Failures under different client ids from one address add up.
    for i in 0..2 {
        let id = format!("client_nobody{i}");
        let res = token_response(
            &app,
            "/api/oauth2/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", "x"),
            ],
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let code = code_for(&app, &browser, &registered).await;
    let res = token_response(
        &app,
        "/api/oauth2/token",
        &exchange(&code, &registered, &registered.client_secret),
    )
    .await;
    retry_after(&res, 600);
}

pub(crate) async fn mail_env(backend: Backend, limits: Value) -> (TestApp, FakeServer) {
    let fakes = FakeServer::start().await;
    let app = TestApp::spawn(backend).await;
    let mut settings = json!({
        "smtp_host": "127.0.0.1", "smtp_port": fakes.smtp_port, "smtp_security": "none",
        "smtp_from": "Keyward <noreply@keyward.test>",
        "wechat_enabled": true, "wechat_server_address": fakes.base, "wechat_server_token": WECHAT_TOKEN,
    });
    if let (Some(base), Some(extra)) = (settings.as_object_mut(), limits.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    set(&app, settings).await;
    (app, fakes)
}

async fn mail_is_limited_per_address_and_per_ip(backend: Backend) {
    let (app, _fakes) = mail_env(
        backend,
        json!({"mail_max_per_address": 2, "mail_max_per_ip": 3, "mail_window_secs": 600}),
    )
    .await;
    let client = app.client();
    let send = |path: &str, email: &str| {
        let request = client.get(app.url(&format!("{path}?email={email}")));
        async move { request.send().await.expect("send") }
    };
    for _ in 0..2 {
        let (status, body) = into_parts(send("/api/verification", "a@example.com").await).await;
        assert_eq!(
            (status, body["success"].clone()),
            (StatusCode::OK, json!(true)),
            "{body}"
        );
    }
    // The address is spent for codes; a reset link has its own budget, so that codes asked for
    // someone's address cannot block their password reset.
    assert_busy_envelope(send("/api/verification", "A@example.com").await, 600).await;
    let (_, body) = into_parts(send("/api/reset_password", "a@example.com").await).await;
    assert_eq!(body["success"], true, "{body}");
    // Three mails from this address in the window: the IP is spent for any address.
    assert_busy_envelope(send("/api/verification", "c@example.com").await, 600).await;
}

async fn wechat_codes_are_limited_per_account_when_binding(backend: Backend) {
    let (app, fakes) = mail_env(
        backend,
        json!({"wechat_failures_max_per_ip": 0, "wechat_failures_max_per_account": 2, "wechat_failures_window_secs": 600}),
    )
    .await;
    let (user, _) = app.user("wx-guesser").await;
    for i in 0..2 {
        let (status, body) = get_json(
            &user,
            &app.url(&format!("/api/oauth/wechat/bind?code={:06}", 900_000 + i)),
        )
        .await;
        assert_eq!(
            (status, body["success"].clone()),
            (StatusCode::OK, json!(false)),
            "{body}"
        );
    }
    // Even the right code is not tried now.
    let code = fakes.wechat_code("openid-limited");
    let res = user
        .get(app.url(&format!("/api/oauth/wechat/bind?code={code}")))
        .send()
        .await
        .expect("bind");
    assert_busy_envelope(res, 600).await;
    // Another account, same address (the per-IP limit is off here), binds.
    let (other, _) = app.user("wx-other").await;
    let (_, body) = get_json(
        &other,
        &app.url(&format!("/api/oauth/wechat/bind?code={code}")),
    )
    .await;
    assert_eq!(body["message"], "微信账户绑定成功!", "{body}");
}

async fn totp_codes_are_limited_per_account_when_enabling(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    set(
        &app,
        json!({"totp_failures_max_per_account": 2, "totp_failures_window_secs": 600}),
    )
    .await;
    let (client, _) = app.user("totp-guesser").await;
    let (_, setup) = post_json(&client, &app.url("/api/user/2fa/setup"), json!({})).await;
    let url = setup["data"]["otpauth_url"]
        .as_str()
        .expect("url")
        .to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let right = TwoFactor::code_for(&url, now).expect("code");
    // Two codes that are certainly wrong: none of the steps a check accepts now.
    let accepted: Vec<String> = [now - 30, now, now + 30, now + 60]
        .iter()
        .filter_map(|t| TwoFactor::code_for(&url, *t))
        .collect();
    let wrong: Vec<String> = (0..10u32)
        .map(|d| d.to_string().repeat(6))
        .filter(|c| !accepted.contains(c))
        .take(2)
        .collect();
    for code in &wrong {
        let (_, body) = post_json(
            &client,
            &app.url("/api/user/2fa/enable"),
            json!({"code": code}),
        )
        .await;
        assert_eq!(body["message"], "验证码错误", "{body}");
    }
    let res = client
        .post(app.url("/api/user/2fa/enable"))
        .json(&json!({"code": right}))
        .send()
        .await
        .expect("enable");
    assert_busy_envelope(res, 600).await;
    let (_, status) = get_json(&client, &app.url("/api/user/2fa/status")).await;
    assert_eq!(status["data"]["enabled"], false);
}

async fn the_login_page_says_when_to_retry(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.login_max_failures_per_account = 1).await;
    app.register("paige", "password-123").await;
    let browser = app.client();
    let page = browser
        .get(app.url("/login"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let csrf = hidden_fields(&page)
        .into_iter()
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v)
        .expect("csrf_token");
    let post = |password: &str| {
        browser
            .post(app.url("/login"))
            .form(&[
                ("username", "paige"),
                ("password", password),
                ("csrf_token", csrf.as_str()),
                ("return_to", "/"),
            ])
            .send()
    };
    let res = post("wrong-password").await.expect("login");
    assert_eq!(res.status(), StatusCode::OK);
    let res = post("password-123").await.expect("login");
    retry_after(&res, 900);
}

async fn a_limit_reached_at_one_node_refuses_at_the_other(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let a = TestApp::start(db.clone(), test_config(&db)).await;
    let b = TestApp::start(db.clone(), test_config(&db)).await;
    let limits = json!({"token_failures_max_per_client": 2, "token_failures_window_secs": 600});
    // Each node caches the settings briefly; set them through both.
    set(&a, limits.clone()).await;
    set(&b, limits).await;
    let (registered, browser) = provider(&a).await;
    let code = code_for(&a, &browser, &registered).await;
    for _ in 0..2 {
        let res = token_response(
            &a,
            "/api/oauth2/token",
            &exchange("kwac_wrong", &registered, "secret_wrong"),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = token_response(
        &b,
        "/api/oauth2/token",
        &exchange(&code, &registered, "secret_wrong"),
    )
    .await;
    retry_after(&res, 600);
}
