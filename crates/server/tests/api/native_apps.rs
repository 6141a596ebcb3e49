//! Native apps (RFC 8252, issue 14 #4): a loopback redirect matches any port at request time,
//! path and query byte for byte; private-use URI schemes are for public clients only; and a
//! public client's code flow needs PKCE and no secret.

use crate::helpers::{Backend, TestApp, get_json};
use crate::oauth_support::*;
use crate::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    rfc8252_7_3_a_loopback_redirect_matches_any_port_and_nothing_else,
    rfc8252_7_1_a_private_use_scheme_receives_the_code_of_a_public_client,
    rfc8252_7_1_private_use_schemes_are_refused_for_confidential_clients,
    the_console_offers_web_native_and_api_only_apps,
    rfc7591_2_only_redirect_based_apps_need_a_redirect_uri,
);

const VERIFIER: &str = "native-app-verifier-0123456789-0123456789-0123456789";

struct Native {
    app: TestApp,
    registered: RegisteredApp,
    browser: Client,
}

async fn native(backend: Backend, redirect_uri: &str) -> Native {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("developer").await;
    let registered = register_app(
        &app,
        &developer,
        json!({"public": true, "redirect_uri": redirect_uri}),
    )
    .await;
    let (browser, _) = app.user("user").await;
    Native {
        app,
        registered,
        browser,
    }
}

impl Native {
    /// authorize with PKCE at `redirect_uri`; the consent is answered when asked.
    async fn authorize(&self, redirect_uri: &str) -> (StatusCode, Option<String>, String) {
        let challenge = keyward_core::oauth::pkce::s256_challenge(VERIFIER);
        let params = [
            ("client_id", self.registered.client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("scope", "profile"),
            ("state", "st"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        let (status, location, html) =
            authorize(&self.app, &self.browser, "/oauth/authorize", &params).await;
        if status == StatusCode::OK && html.contains("csrf_token") {
            let (status, location) =
                answer_consent(&self.app, &self.browser, &html, "approve").await;
            return (status, location, String::new());
        }
        (status, location, html)
    }

    async fn exchange(&self, code: &str, redirect_uri: &str) -> (StatusCode, Value) {
        token_b(
            &self.app,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("client_id", &self.registered.client_id),
                ("code_verifier", VERIFIER),
            ],
        )
        .await
    }
}

async fn rfc8252_7_3_a_loopback_redirect_matches_any_port_and_nothing_else(backend: Backend) {
    let n = native(backend, "http://127.0.0.1/callback").await;
    // The CLI picked port 49152 when it started.
    let at_port = "http://127.0.0.1:49152/callback";
    let (status, location, body) = n.authorize(at_port).await;
    let location = location.unwrap_or_else(|| panic!("{status}: {body}"));
    assert!(location.starts_with(&format!("{at_port}?")), "{location}");
    let code = param(&location, "code").expect("code");
    // The token request names the URI the code was sent to, port included.
    let (status, body) = n.exchange(&code, "http://127.0.0.1:50000/callback").await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_grant")),
        "{body}"
    );
    let (status, body) = n.exchange(&code, at_port).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].as_str().is_some(), "{body}");

    // Another path, a user name before the host, another loopback host, https: a page, never
    // a redirect.
    for near in [
        "http://127.0.0.1:49152/callback/evil",
        "http://127.0.0.1:49152/Callback",
        "http://127.0.0.1:49152@evil.example/callback",
        "http://localhost:49152/callback",
        "http://127.0.0.1.evil.example:49152/callback",
        "https://127.0.0.1:49152/callback",
    ] {
        let (status, location, _) = n.authorize(near).await;
        assert_eq!(
            (status, location),
            (StatusCode::BAD_REQUEST, None),
            "{near}"
        );
    }
}

async fn rfc8252_7_1_a_private_use_scheme_receives_the_code_of_a_public_client(backend: Backend) {
    let scheme_uri = "com.example.keyward-cli:/oauth2redirect";
    let n = native(backend, scheme_uri).await;
    let (status, location, body) = n.authorize(scheme_uri).await;
    let location = location.unwrap_or_else(|| panic!("{status}: {body}"));
    assert!(
        location.starts_with(&format!("{scheme_uri}?")),
        "{location}"
    );
    assert_eq!(param(&location, "state").as_deref(), Some("st"));
    let code = param(&location, "code").expect("code");
    let (status, body) = n.exchange(&code, scheme_uri).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn rfc8252_7_1_private_use_schemes_are_refused_for_confidential_clients(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("developer").await;
    for (public, uri, accepted) in [
        (false, "com.example.app:/cb", false),
        (true, "com.example.app://host/cb", false),
        (true, "javascript:/alert(1)", false),
        (true, "com.example.app:/cb", true),
    ] {
        let request = json!({"name": "Native", "redirect_uri": uri, "public": public});
        let (_, body) = create_app(&app, &developer, &request).await;
        assert_eq!(
            body["success"],
            json!(accepted),
            "{uri} (public: {public}): {body}"
        );
    }
    let (_, mine) = crate::helpers::get_json(&developer, &app.url("/api/oauth_apps")).await;
    assert_eq!(
        mine["data"].as_array().map(Vec::len),
        Some(1),
        "refused registrations leave nothing behind: {mine}"
    );
}

/// Applies through the console with `kind` and `redirect_uris`; the app's JSON view, or the
/// refusal page.
async fn apply(
    app: &TestApp,
    developer: &Client,
    kind: &str,
    redirect_uris: &str,
) -> Result<Value, String> {
    let url = app.url("/user/setting/oauth");
    let (_, _, html) = page(developer, &url).await;
    let (status, location, body) = submit(
        developer,
        &url,
        &[
            ("csrf_token", &csrf(&html)),
            ("name", &format!("A {kind} app")),
            ("redirect_uris", redirect_uris),
            ("scope", "profile"),
            ("kind", kind),
        ],
    )
    .await;
    if status != StatusCode::SEE_OTHER {
        return Err(body);
    }
    let id = location
        .and_then(|l| l.strip_prefix("/user/setting/oauth/").map(str::to_owned))
        .expect("the new app's page");
    let (_, view) = get_json(developer, &app.url(&format!("/api/oauth_apps/{id}"))).await;
    Ok(view["data"].clone())
}

/// Issue 14 #4: one choice — web app, native or CLI app, API only — instead of raw flags.
async fn the_console_offers_web_native_and_api_only_apps(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("developer").await;
    let (_, _, form) = page(&developer, &app.url("/user/setting/oauth")).await;
    for kind in ["web", "native", "api"] {
        assert!(
            form.contains(&format!("name=\"kind\" value=\"{kind}\"")),
            "a {kind} choice: {form}"
        );
    }

    let web = apply(&app, &developer, "web", CALLBACK)
        .await
        .expect("web app");
    assert_eq!(web["public"], json!(false));
    assert_eq!(
        web["grant_types"],
        json!("authorization_code refresh_token")
    );

    let native = apply(&app, &developer, "native", "http://127.0.0.1/callback")
        .await
        .expect("native app");
    assert_eq!(native["public"], json!(true), "{native}");
    // A CLI may have no browser: the device flow (RFC 8628) comes with the choice.
    assert_eq!(
        native["grant_types"],
        json!("authorization_code refresh_token urn:ietf:params:oauth:grant-type:device_code")
    );

    let api = apply(&app, &developer, "api", "")
        .await
        .expect("API-only app");
    assert_eq!(api["public"], json!(false));
    assert_eq!(api["grant_types"], json!("client_credentials"));
    assert_eq!(api["redirect_uris"], json!([]));

    // A web app without a redirect URI is refused, and the form keeps the choice.
    let refused = apply(&app, &developer, "web", "")
        .await
        .expect_err("refused");
    assert!(refused.contains("重定向 URI"), "{refused}");
    assert!(
        refused.contains("value=\"web\" aria-describedby=\"kind-web-hint\" checked"),
        "{refused}"
    );
}

/// RFC 7591 §2: `redirect_uris` is for redirect-based flows; an app that only uses
/// client_credentials registers none, and gets its tokens.
async fn rfc7591_2_only_redirect_based_apps_need_a_redirect_uri(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("developer").await;
    let machine = register_app(
        &app,
        &developer,
        json!({"redirect_uri": "", "grant_types": ["client_credentials"], "scopes": "balance"}),
    )
    .await;
    let (status, body) = token_b(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &machine.client_id),
            ("client_secret", &machine.client_secret),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    for body in [
        json!({"name": "No redirect", "redirect_uri": ""}),
        json!({"name": "No redirect", "grant_types": ["authorization_code"]}),
        json!({"name": "No redirect", "grant_types": ["client_credentials", "authorization_code"]}),
    ] {
        let (_, answer) = create_app(&app, &developer, &body).await;
        assert_eq!(answer["success"], json!(false), "{body}: {answer}");
    }
}
