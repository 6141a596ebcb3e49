//! Small traps (#21 item 7): every cookie that can is `__Host-` on https and the language cookie
//! is `Secure` there; an operator command without the master key leaves no key file behind; a
//! database outage answers in the family's error envelope; one access log line per request.

use crate::helpers::{Backend, TestApp, TestDatabase, set_cookie};
use crate::oauth_support::*;
use crate::on_both_backends;
use crate::security_events::{events, logged_node};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::Command;

on_both_backends!(
    https_cookies_are_host_cookies_and_the_language_cookie_is_secure,
    a_database_outage_answers_userinfo_in_the_envelope,
    every_request_gets_one_access_log_line_without_its_query,
);

async fn https_cookies_are_host_cookies_and_the_language_cookie_is_secure(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.public_url = Some("https://id.example.com".into())
    })
    .await;
    app.register("hank", "password-123").await;
    let host_cookie = |header: Option<String>, name: &str| {
        let header = header.unwrap_or_else(|| panic!("no {name} cookie"));
        assert!(
            header.contains("Secure") && header.contains("Path=/"),
            "{header}"
        );
        assert!(!header.contains("Domain"), "{header}");
    };
    let client = app.client();
    let res = client
        .get(app.url("/login"))
        .send()
        .await
        .expect("login page");
    host_cookie(set_cookie(&res, "__Host-keyward_login_csrf"), "login CSRF");
    let res = client
        .get(app.url("/api/oauth/state"))
        .send()
        .await
        .expect("state");
    host_cookie(set_cookie(&res, "__Host-keyward_flow"), "flow");
    let res = client
        .post(app.url("/api/user/login"))
        .json(&json!({"username": "hank", "password": "password-123"}))
        .send()
        .await
        .expect("login");
    host_cookie(set_cookie(&res, "__Host-keyward_device"), "device");
    let res = client
        .get(app.url("/lang?to=en&return_to=/"))
        .send()
        .await
        .expect("lang");
    let lang = set_cookie(&res, "keyward_lang").expect("language cookie");
    assert!(lang.contains("Secure"), "{lang}");

    // Plain http keeps plain names and no Secure (browsers drop Secure cookies there).
    let app = TestApp::spawn(backend).await;
    let res = app
        .client()
        .get(app.url("/login"))
        .send()
        .await
        .expect("login page");
    let csrf = set_cookie(&res, "keyward_login_csrf").expect("csrf cookie");
    assert!(!csrf.contains("Secure"), "{csrf}");
    let res = app
        .client()
        .get(app.url("/lang?to=en&return_to=/"))
        .send()
        .await
        .expect("lang");
    let lang = set_cookie(&res, "keyward_lang").expect("language cookie");
    assert!(!lang.contains("Secure"), "{lang}");
}

#[test]
fn a_command_without_the_master_key_leaves_no_key_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}", dir.path().join("keyward.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["user", "disable", "nobody"])
        .env("KEYWARD_DATABASE_URL", &db)
        .env_remove("KEYWARD_SECRET_KEY")
        .env_remove("KEYWARD_KEY_FILE")
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run keyward");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("no master key"), "{stderr}");
    assert!(
        !dir.path().join("keyward.key").exists(),
        "a failed command wrote a key file"
    );
}

async fn a_database_outage_answers_userinfo_in_the_envelope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("dora").await;
    let registered = register_app(&app, &developer, json!({"scopes": "openid profile"})).await;
    let (browser, _) = app.user("dan").await;
    let params = [
        ("client_id", registered.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("state", "state-value-123"),
    ];
    let code = obtain_code(&app, &browser, "/oauth/authorize", &params).await;
    let (_, tokens) = token_b(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
            ("client_id", registered.client_id.as_str()),
            ("client_secret", registered.client_secret.as_str()),
        ],
    )
    .await;
    let access = tokens["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    assert_eq!(userinfo_b(&app, &access).await.0, StatusCode::OK);

    // The tokens' table goes away under the running node, as in an outage.
    app.execute_sql("ALTER TABLE tokens RENAME TO tokens_unreachable")
        .await;
    for path in [
        "/api/oauth2/userinfo",
        "/oauth2/userinfo",
        "/api/oauth2/topup",
    ] {
        let res = reqwest::Client::new()
            .get(app.url(path))
            .bearer_auth(&access)
            .send()
            .await
            .expect("userinfo");
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        let body: Value = res
            .json()
            .await
            .unwrap_or_else(|e| panic!("{path}: not JSON: {e}"));
        assert_eq!(body["error"], "server_error", "{path}: {body}");
    }
    app.execute_sql("ALTER TABLE tokens_unreachable RENAME TO tokens")
        .await;
}

async fn every_request_gets_one_access_log_line_without_its_query(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let served = logged_node(&db, &[]).await;
    let res = reqwest::get(served.app.url("/login?return_to=/private-query-value"))
        .await
        .expect("page");
    assert_eq!(res.status(), StatusCode::OK);
    let res = reqwest::get(served.app.url("/no/such/page"))
        .await
        .expect("404");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let log = served.log();
    let access = events(&log, "keyward::access");
    let page: Vec<&Value> = access.iter().filter(|e| e["route"] == "/login").collect();
    assert_eq!(page.len(), 1, "{access:?}");
    let line = page[0];
    assert_eq!(line["method"], "GET");
    assert_eq!(line["status"], 200);
    assert_eq!(line["client"], "127.0.0.1");
    assert!(
        line["duration_ms"].as_f64().is_some_and(|d| d >= 0.0),
        "{line}"
    );
    assert!(
        access
            .iter()
            .any(|e| e["status"] == 404 && e["route"] == "unmatched"),
        "{access:?}"
    );
    assert!(
        !log.contains("private-query-value"),
        "a query string reached the log"
    );
}
