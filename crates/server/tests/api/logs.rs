//! No password, token, code or secret ever reaches the log, even at debug level: a whole run of
//! the real binary is logged to a file and searched for every secret it handed out.

use crate::device_flow::{DEVICE_GRANT, answer, device_authorization, poll};
use crate::helpers::{ADMIN, ADMIN_PASSWORD, Backend, TestApp, TestDatabase, get_json, post_json};
use crate::oauth_support::*;
use crate::on_both_backends;
use serde_json::json;
use std::process::{Command, Stdio};

on_both_backends!(a_whole_run_at_debug_level_logs_no_secret);

async fn a_whole_run_at_debug_level_logs_no_secret(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let dir = tempfile::tempdir().expect("dir");
    let log_path = dir.path().join("keyward.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .env("KEYWARD_LISTEN", format!("127.0.0.1:{port}"))
        .env("KEYWARD_DATABASE_URL", &db.url)
        .env("KEYWARD_SECRET_KEY", &db.secret_key)
        .env("KEYWARD_ADMIN_USERNAME", ADMIN)
        .env("KEYWARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_LOG", "debug")
        .env("KEYWARD_LOG_FORMAT", "json")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start keyward");
    let app = TestApp::external(format!("http://127.0.0.1:{port}"), db.clone());
    for _ in 0..100 {
        if reqwest::get(app.url("/readyz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let mut secrets: Vec<String> = vec![ADMIN_PASSWORD.into(), "password-123".into()];
    let (developer, _) = app.user("logdev").await;
    let registered = register_app(
        &app,
        &developer,
        json!({"scopes": "openid profile balance offline_access"}),
    )
    .await;
    secrets.push(registered.client_secret.clone());
    let (_, token) = get_json(&developer, &app.url("/api/user/token")).await;
    secrets.push(token["data"].as_str().expect("token").to_owned());
    let (browser, _) = app.user("loguser").await;
    let params = [
        ("client_id", registered.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid profile offline_access"),
        ("state", "state-value-123"),
        ("nonce", "nonce-value-456"),
    ];
    let code = obtain_code(&app, &browser, "/oauth/authorize", &params).await;
    secrets.push(code.clone());
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("client_id", registered.client_id.as_str()),
        ("client_secret", registered.client_secret.as_str()),
    ];
    let (_, tokens) = token_b(&app, &form).await;
    for key in ["access_token", "refresh_token", "id_token"] {
        if let Some(value) = tokens[key].as_str() {
            secrets.push(value.to_owned());
        }
    }
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let (_, rotated) = token_b(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", registered.client_id.as_str()),
            ("client_secret", registered.client_secret.as_str()),
        ],
    )
    .await;
    secrets.push(
        rotated["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_owned(),
    );
    userinfo_b(&app, tokens["access_token"].as_str().expect("access")).await;
    // The device flow (RFC 8628): its two codes and its tokens.
    let cli = register_app(
        &app,
        &developer,
        json!({"public": true, "redirect_uri": "", "scopes": "openid profile",
               "grant_types": [DEVICE_GRANT]}),
    )
    .await;
    let (_, started) = device_authorization(
        &app,
        &[
            ("client_id", cli.client_id.as_str()),
            ("scope", "openid profile"),
        ],
    )
    .await;
    let device_code = started["device_code"].as_str().expect("device_code");
    let user_code = started["user_code"].as_str().expect("user_code");
    secrets.extend([device_code.to_owned(), user_code.to_owned()]);
    poll(&app, &cli.client_id, device_code).await;
    answer(&app, &browser, user_code, "approve").await;
    let (_, device_tokens) = poll(&app, &cli.client_id, device_code).await;
    for key in ["access_token", "id_token"] {
        secrets.push(
            device_tokens[key]
                .as_str()
                .expect("device tokens")
                .to_owned(),
        );
    }
    // A replay and a wrong secret, so the failure paths log too.
    token_b(&app, &form).await;
    token_b(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", registered.client_id.as_str()),
            ("client_secret", "secret_wrong-guess"),
        ],
    )
    .await;
    post_json(
        &app.client(),
        &app.url("/api/user/login"),
        json!({"username": "loguser", "password": "wrong-password-789"}),
    )
    .await;
    secrets.push("wrong-password-789".into());

    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log_path).expect("log");
    assert!(text.lines().count() > 20, "the run did log: {text}");
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret reached the log: {secret}"
        );
        // Nor its last characters, in case something logged a truncated or escaped form.
        let tail = &secret[secret.len().saturating_sub(16)..];
        assert!(
            tail.len() < 16 || !text.contains(tail),
            "part of a secret reached the log: {tail}"
        );
    }
}
