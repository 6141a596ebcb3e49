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
    the_consent_page_tells_who_asks_and_where_the_answer_goes,
    the_login_page_names_only_a_registered_app_to_continue_to,
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

async fn the_consent_page_tells_who_asks_and_where_the_answer_goes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&json!({"allow_http_redirect_uris": true}))
        .send()
        .await
        .expect("settings");
    assert_eq!(res.status(), StatusCode::OK);
    let (developer, _) = app.user("maker").await;
    const PLAIN: &str = "http://app.example.com/cb";
    let registered = register_app(
        &app,
        &developer,
        json!({
            "scopes": "profile email",
            "redirect_uris": [CALLBACK, PLAIN],
            "logo_uri": "https://cdn.example.com/logo.png",
            "client_uri": "https://app.example.com/",
            "policy_uri": "https://app.example.com/privacy",
        }),
    )
    .await;
    let (browser, _) = app.user("reader").await;
    let params = |uri: &'static str| {
        vec![
            ("client_id", registered.client_id.clone()),
            ("redirect_uri", uri.to_owned()),
            ("response_type", "code".to_owned()),
            ("scope", "profile email".to_owned()),
            ("state", "s1".to_owned()),
        ]
    };
    let ask = |uri: &'static str| {
        let list = params(uri);
        let app = &app;
        let browser = &browser;
        async move {
            let list: Vec<(&str, &str)> = list.iter().map(|(k, v)| (*k, v.as_str())).collect();
            authorize(app, browser, "/oauth/authorize", &list).await
        }
    };
    let (status, _, html) = ask(CALLBACK).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    // Who asks: the app by its developer, reviewed by the platform, with its logo and links.
    assert!(html.contains("<strong>maker</strong>"), "{html}");
    assert!(html.contains("已经平台审核"), "{html}");
    assert!(html.contains("src=\"https://cdn.example.com/logo.png\""));
    assert!(html.contains("href=\"https://app.example.com/\""));
    assert!(html.contains("href=\"https://app.example.com/privacy\""));
    // The permissions come first, the developer's description after them.
    let permissions = html.find(EMAIL_ZH).expect("permissions");
    let description = html.find("An app under test").expect("description");
    assert!(permissions < description, "{html}");
    // The full target, the account with a way to switch, and where to revoke.
    assert!(html.contains(&format!("<code>{CALLBACK}</code>")), "{html}");
    assert!(
        !html.contains("class=\"warning\""),
        "https needs no warning"
    );
    assert!(html.contains("formaction=\"/switch-account\""));
    assert!(html.contains("<strong>reader</strong>"));
    assert!(html.contains("href=\"/user/authorizations\""));
    // Plain http to another machine is warned about.
    let (status, _, plain) = ask(PLAIN).await;
    assert_eq!(status, StatusCode::OK, "{plain}");
    assert!(
        plain.contains("class=\"warning\" role=\"alert\""),
        "{plain}"
    );

    // "Not you?": the session ends and the login page opens with the same request, which
    // names the app to continue to.
    let mut fields = hidden_fields(&html);
    let res = browser
        .post(app.url("/switch-account"))
        .form(&fields)
        .send()
        .await
        .expect("switch");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let query = location.strip_prefix("/login?").expect("to the login page");
    let return_to = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .expect("query")
        .into_iter()
        .find(|(k, _)| k == "return_to")
        .map(|(_, v)| v)
        .expect("return_to");
    assert!(return_to.starts_with("/oauth/authorize?"), "{return_to}");
    assert!(return_to.contains(&registered.client_id) && return_to.contains("state=s1"));
    let (status, location, _) = ask(CALLBACK).await;
    assert_eq!(status, StatusCode::FOUND, "signed out");
    assert!(location.expect("login").starts_with("/login"));
    let (_, _, login) = page(&app.client(), &app.url(&location_of(&return_to))).await;
    assert!(login.contains("class=\"login-continue\""), "{login}");
    assert!(login.contains("<strong>Test App</strong>"), "{login}");
    // Another account answers the same request.
    let (other, _) = app.user("other").await;
    let (status, _, again) = page(&other, &app.url(&return_to)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(again.contains("<strong>other</strong>"), "{again}");
    // A forged switch is refused and ends nothing.
    fields.retain(|(k, _)| k != "csrf_token");
    fields.push(("csrf_token".into(), "forged".into()));
    let res = other
        .post(app.url("/switch-account"))
        .form(&fields)
        .send()
        .await
        .expect("forged switch");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(page(&other, &app.url(&return_to)).await.0, StatusCode::OK);
}

/// The login page's address for coming back to `return_to`.
fn location_of(return_to: &str) -> String {
    format!(
        "/login?{}",
        serde_urlencoded::to_string([("return_to", return_to)]).expect("query")
    )
}

async fn the_login_page_names_only_a_registered_app_to_continue_to(backend: Backend) {
    let s = setup(backend, json!({})).await;
    let anonymous = s.app.client();
    let cid = s.registered.client_id.as_str();
    let known = format!("/oauth/authorize?client_id={cid}&redirect_uri=x&app_name=Evil%20Corp");
    let (_, _, login) = page(&anonymous, &s.app.url(&location_of(&known))).await;
    assert!(login.contains("class=\"login-continue\""), "{login}");
    assert!(login.contains("<strong>Test App</strong>"));
    assert!(
        !login.contains("Evil Corp"),
        "no words from the query: {login}"
    );
    for unknown in [
        "/oauth/authorize?client_id=client_nobody&name=Evil%20Corp".to_owned(),
        "/user/setting/oauth".to_owned(),
        format!("/elsewhere?client_id={cid}"),
    ] {
        let (_, _, login) = page(&anonymous, &s.app.url(&location_of(&unknown))).await;
        assert!(!login.contains("login-continue"), "{unknown}: {login}");
        assert!(!login.contains("Evil Corp"));
    }
}
