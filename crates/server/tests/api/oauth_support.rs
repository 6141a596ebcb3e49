//! Driving the provider like a third-party app and a browser would.

use crate::helpers::{TestApp, get_json, into_parts, post_json};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

pub const CALLBACK: &str = "https://app.example.com/oauth/callback";

/// A registered, approved app and its credentials.
pub struct RegisteredApp {
    pub id: i64,
    pub client_id: String,
    pub client_secret: String,
}

/// `POST /api/oauth_apps` with `body`, as `developer` through a developer token.
pub async fn create_app(app: &TestApp, developer: &Client, body: &Value) -> (StatusCode, Value) {
    let (_, token) = get_json(developer, &app.url("/api/user/token")).await;
    let token = token["data"].as_str().expect("developer token").to_owned();
    let res = reqwest::Client::new()
        .post(app.url("/api/oauth_apps"))
        .bearer_auth(&token)
        .json(body)
        .send()
        .await
        .expect("create app");
    into_parts(res).await
}

/// A developer registers an app with `body` (merged over a default), an admin approves it, and
/// the developer reads the one-time secret.
pub async fn register_app(app: &TestApp, developer: &Client, body: Value) -> RegisteredApp {
    let mut request = json!({
        "name": "Test App",
        "description": "An app under test",
        "redirect_uri": CALLBACK,
    });
    if let (Some(base), Some(extra)) = (request.as_object_mut(), body.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    let (status, created) = create_app(app, developer, &request).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["success"], true, "{created}");
    assert_eq!(created["data"]["status"], "pending");
    assert!(
        created["data"].get("client_secret").is_none(),
        "no secret before review"
    );
    let id = created["data"]["id"].as_i64().expect("id");

    let admin = app.admin().await;
    let (status, approved) = post_json(
        &admin,
        &app.url(&format!("/api/admin/oauth_apps/{id}/approve")),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, approved["data"]["status"].clone()),
        (StatusCode::OK, json!("approved")),
        "{approved}"
    );

    let (_, view) = get_json(developer, &app.url(&format!("/api/oauth_apps/{id}"))).await;
    let public = request["public"] == true;
    let secret = view["data"]["client_secret"].as_str().map(str::to_owned);
    assert_eq!(secret.is_some(), !public, "{view}");
    RegisteredApp {
        id,
        client_id: view["data"]["client_id"]
            .as_str()
            .expect("client_id")
            .to_owned(),
        client_secret: secret.unwrap_or_default(),
    }
}

/// GET an authorize URL with a browser client; returns status, Location and body.
pub async fn authorize(
    app: &TestApp,
    browser: &Client,
    path: &str,
    params: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let query = serde_urlencoded::to_string(params).expect("query");
    let res = browser
        .get(app.url(&format!("{path}?{query}")))
        .send()
        .await
        .expect("authorize");
    let status = res.status();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, location, res.text().await.expect("body"))
}

pub use keyward_testkit::hidden_fields;

/// Submits the consent form found in `html` with `decision`; returns status and Location.
pub async fn answer_consent(
    app: &TestApp,
    browser: &Client,
    html: &str,
    decision: &str,
) -> (StatusCode, Option<String>) {
    submit_consent(app, browser, html, decision, &[]).await
}

/// The consent form sent with `decision` and `fields` besides its hidden ones (what the user
/// typed, e.g. a spending limit).
pub async fn submit_consent(
    app: &TestApp,
    browser: &Client,
    html: &str,
    decision: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, Option<String>) {
    let mut form = hidden_fields(html);
    assert!(
        form.iter().any(|(k, _)| k == "csrf_token"),
        "no consent form in: {html}"
    );
    form.extend(
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    form.push(("decision".into(), decision.into()));
    let res = browser
        .post(app.url("/oauth/authorize"))
        .form(&form)
        .send()
        .await
        .expect("consent");
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (res.status(), location)
}

/// The query parameters of a redirect back to the app.
pub fn callback_params(location: &str) -> Vec<(String, String)> {
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    serde_urlencoded::from_str(query).expect("query")
}

pub fn param(location: &str, key: &str) -> Option<String> {
    callback_params(location)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// Runs authorize → consent → code for a logged-in browser and returns the code.
pub async fn obtain_code(
    app: &TestApp,
    browser: &Client,
    path: &str,
    params: &[(&str, &str)],
) -> String {
    let (status, location, body) = authorize(app, browser, path, params).await;
    let location = match location {
        Some(location) if status == StatusCode::FOUND => location,
        _ => {
            assert_eq!(status, StatusCode::OK, "expected the consent page: {body}");
            let (status, location) = answer_consent(app, browser, &body, "approve").await;
            assert_eq!(status, StatusCode::SEE_OTHER, "{location:?}");
            location.expect("location")
        }
    };
    assert!(location.starts_with(CALLBACK), "{location}");
    param(&location, "code").unwrap_or_else(|| panic!("no code in {location}"))
}

/// A whole code flow: `browser` signs in to `registered` at `app` for `scope` (consenting when
/// asked, with a nonce), then the app exchanges the code at `exchange_at`, the same node or
/// another. The token endpoint's status and answer.
pub async fn code_flow(
    app: &TestApp,
    exchange_at: &TestApp,
    browser: &Client,
    registered: &RegisteredApp,
    scope: &str,
) -> (StatusCode, Value) {
    let params = [
        ("client_id", registered.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "s"),
        ("nonce", "n"),
    ];
    let code = obtain_code(app, browser, "/oauth/authorize", &params).await;
    exchange_code(exchange_at, registered, &code).await
}

/// The app's exchange of `code` (client_secret_post).
pub async fn exchange_code(
    app: &TestApp,
    registered: &RegisteredApp,
    code: &str,
) -> (StatusCode, Value) {
    token_b(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("client_id", &registered.client_id),
            ("client_secret", &registered.client_secret),
        ],
    )
    .await
}

/// `POST /api/oauth2/token` with a form.
pub async fn token_b(app: &TestApp, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(app.url("/api/oauth2/token"))
        .form(form)
        .send()
        .await
        .expect("token");
    into_parts(res).await
}

pub async fn userinfo_b(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .get(app.url("/api/oauth2/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .expect("userinfo");
    into_parts(res).await
}

pub async fn me_a(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .get(app.url("/api/oauth/me"))
        .bearer_auth(token)
        .send()
        .await
        .expect("me");
    into_parts(res).await
}

/// GET a page (with a browser-like client): status, Location, body.
pub async fn page(client: &Client, url: &str) -> (StatusCode, Option<String>, String) {
    let res = client.get(url).send().await.expect("page");
    let status = res.status();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, location, res.text().await.expect("body"))
}

/// POST a form: status, Location, body.
pub async fn submit(
    client: &Client,
    url: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let res = client.post(url).form(form).send().await.expect("form");
    let status = res.status();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, location, res.text().await.expect("body"))
}

/// The first hidden `csrf_token` of a page.
pub fn csrf(html: &str) -> String {
    keyward_testkit::hidden_field(html, "csrf_token")
        .unwrap_or_else(|| panic!("no csrf_token in {html}"))
}
