//! What the consent page promises against what the app gets, fresh logins on demand
//! (`prompt=login`, `max_age`), and the destination the page names.

use crate::helpers::{Backend, TestApp};
use crate::oauth_support::*;
use crate::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

on_both_backends!(
    profile_gives_the_email_only_where_the_consent_page_says_so,
    prompt_login_asks_for_a_fresh_login_once,
    an_expired_max_age_asks_for_a_login_once_without_a_loop,
    the_consent_page_names_the_parsed_lower_case_host,
);

const PASSWORD: &str = "password-123";
const EMAIL_ZH: &str = "读取你的邮箱地址";

struct Setup {
    app: TestApp,
    registered: RegisteredApp,
    browser: Client,
}

async fn setup(backend: Backend, app_body: Value) -> Setup {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("developer").await;
    let mut body = json!({"scopes": "openid profile email balance offline_access"});
    if let (Some(base), Some(extra)) = (body.as_object_mut(), app_body.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    let registered = register_app(&app, &developer, body).await;
    let (browser, _) = app.user("user").await;
    Setup {
        app,
        registered,
        browser,
    }
}

impl Setup {
    fn params<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut params = vec![
            ("client_id", self.registered.client_id.as_str()),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("state", "s1"),
        ];
        params.extend_from_slice(extra);
        params
    }

    async fn exchange(&self, code: &str) -> Value {
        let (status, tokens) = token_b(
            &self.app,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", CALLBACK),
                ("client_id", self.registered.client_id.as_str()),
                ("client_secret", self.registered.client_secret.as_str()),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        tokens
    }

    /// Approves the consent page `html` and exchanges the code.
    async fn approve(&self, html: &str) -> Value {
        let (status, location) = answer_consent(&self.app, &self.browser, html, "approve").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{location:?}");
        let code = param(&location.expect("location"), "code").expect("code");
        self.exchange(&code).await
    }

    /// Follows a redirect to the login page, which must show its form, and logs in there.
    /// Returns where the login sends the browser back to.
    async fn log_in_again(&self, login_location: &str) -> String {
        let (status, location, html) = page(&self.browser, &self.app.url(login_location)).await;
        assert_eq!(
            (status, location),
            (StatusCode::OK, None),
            "the login page must ask, even with a live session"
        );
        let return_to = hidden_fields(&html)
            .into_iter()
            .find(|(k, _)| k == "return_to")
            .map(|(_, v)| v)
            .expect("return_to");
        let (status, back, body) = submit(
            &self.browser,
            &self.app.url("/login"),
            &[
                ("csrf_token", &csrf(&html)),
                ("return_to", &return_to),
                ("username", "user"),
                ("password", PASSWORD),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        back.expect("back to authorize")
    }
}

fn jwt_claims(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64");
    serde_json::from_slice(&bytes).expect("json")
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or_default())
        .unwrap_or_default()
}

async fn profile_gives_the_email_only_where_the_consent_page_says_so(backend: Backend) {
    let s = setup(backend, json!({})).await;

    // new-api style: `profile` includes the e-mail, and the page says so.
    let (status, _, html) = authorize(
        &s.app,
        &s.browser,
        "/oauth/authorize",
        &s.params(&[("scope", "profile balance")]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(EMAIL_ZH), "the e-mail must be named: {html}");
    let tokens = s.approve(&html).await;
    let access = tokens["access_token"].as_str().expect("access");
    let (_, info) = userinfo_b(&s.app, access).await;
    assert!(info.get("email").is_some(), "{info}");
    assert!(info.get("username").is_some(), "{info}");

    // OIDC: `profile` without `email` gives no e-mail, on any endpoint, and the page says none.
    let (status, _, html) = authorize(
        &s.app,
        &s.browser,
        "/oauth/authorize",
        &s.params(&[("scope", "openid profile offline_access"), ("nonce", "n1")]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(EMAIL_ZH), "no e-mail was asked for: {html}");
    let tokens = s.approve(&html).await;
    let access = tokens["access_token"].as_str().expect("access");
    let (_, info) = userinfo_b(&s.app, access).await;
    assert!(info.get("email").is_none(), "new-api userinfo: {info}");
    assert!(info.get("username").is_some(), "{info}");
    let res = reqwest::Client::new()
        .get(s.app.url("/oauth2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .expect("oidc userinfo");
    let claims: Value = res.json().await.expect("json");
    assert!(claims.get("email").is_none(), "oidc userinfo: {claims}");
    let id_token = tokens["id_token"].as_str().expect("id_token");
    assert!(jwt_claims(id_token).get("email").is_none());

    // Nor by narrowing the grant on refresh: dropping `openid` would make `profile` new-api's.
    let refresh = tokens["refresh_token"].as_str().expect("refresh");
    let (status, body) = token_b(
        &s.app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("scope", "profile offline_access"),
            ("client_id", s.registered.client_id.as_str()),
            ("client_secret", s.registered.client_secret.as_str()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_scope")),
        "{body}"
    );
}

async fn prompt_login_asks_for_a_fresh_login_once(backend: Backend) {
    let s = setup(backend, json!({})).await;
    // The session from `setup` is older than this second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let asked_at = unix_now();
    let (status, location, _) = authorize(
        &s.app,
        &s.browser,
        "/oauth/authorize",
        &s.params(&[
            ("scope", "openid profile"),
            ("nonce", "n1"),
            ("prompt", "login"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::FOUND);
    let back = s.log_in_again(&location.expect("to the login page")).await;
    let (status, location, html) = page(&s.browser, &s.app.url(&back)).await;
    assert_eq!(
        (status, location),
        (StatusCode::OK, None),
        "back from the login: the consent page, not the login again"
    );
    let tokens = s.approve(&html).await;
    let claims = jwt_claims(tokens["id_token"].as_str().expect("id_token"));
    let auth_time = claims["auth_time"].as_i64().expect("auth_time");
    assert!(
        auth_time >= asked_at,
        "auth_time {auth_time} is the new login's, not the old session's (asked at {asked_at})"
    );
}

async fn an_expired_max_age_asks_for_a_login_once_without_a_loop(backend: Backend) {
    let s = setup(backend, json!({})).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, location, _) = authorize(
        &s.app,
        &s.browser,
        "/oauth/authorize",
        &s.params(&[
            ("scope", "openid profile"),
            ("nonce", "n1"),
            ("max_age", "1"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::FOUND);
    let location = location.expect("to the login page");
    assert!(location.starts_with("/login?"), "{location}");
    let back = s.log_in_again(&location).await;
    // Even when the way back takes longer than max_age, the login just made counts.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, location, html) = page(&s.browser, &s.app.url(&back)).await;
    assert_eq!((status, location), (StatusCode::OK, None), "no loop");
    s.approve(&html).await;

    // prompt=none cannot log the user in: login_required, to the app.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, location, _) = authorize(
        &s.app,
        &s.browser,
        "/oauth/authorize",
        &s.params(&[
            ("scope", "openid profile"),
            ("nonce", "n1"),
            ("max_age", "1"),
            ("prompt", "none"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::FOUND);
    let location = location.expect("redirect");
    assert!(location.starts_with(CALLBACK), "{location}");
    assert_eq!(param(&location, "error").as_deref(), Some("login_required"));
}

async fn the_consent_page_names_the_parsed_lower_case_host(backend: Backend) {
    let upper = "HTTPS://App.Example.COM/cb";
    let homoglyph = "https://аpple.com/cb";
    let s = setup(backend, json!({"redirect_uris": [upper, homoglyph]})).await;
    for (uri, shown) in [(upper, "app.example.com"), (homoglyph, "xn--pple-43d.com")] {
        let mut params = s.params(&[("scope", "profile")]);
        params.retain(|(k, _)| *k != "redirect_uri");
        params.push(("redirect_uri", uri));
        let (status, _, html) = authorize(&s.app, &s.browser, "/oauth/authorize", &params).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(
            html.contains(&format!("<strong>{shown}</strong>")),
            "{uri} must show as {shown}: {html}"
        );
    }
}
