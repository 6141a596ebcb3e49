//! Attacks are visible (#21 item 4): sign-ins and their failures by method, lock-outs, wrong
//! second factors and failed client authentication at the token endpoint are logged on the
//! `keyward::security` target with the client address and the account, audited, and counted in
//! `/metrics`; a failed JSON login, still `200` with `success: false` for new-api clients, says
//! `refused=true` in the access log. The real binary, for its own log and recorder.

use crate::business_metrics::{metrics, value};
use crate::helpers::{Backend, TestApp, TestDatabase, get_json, post_json};
use crate::on_both_backends;
use crate::served::Served;
use crate::two_factor::enrol;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(security_events_are_logged_audited_and_counted);

/// The events logged on `target`: each line's fields (JSON log format).
pub(crate) fn events(log: &str, target: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == target)
        .map(|line| line["fields"].clone())
        .collect()
}

/// A node logging at info level, as JSON.
pub(crate) async fn logged_node(db: &TestDatabase, env: &[(&str, &str)]) -> Served {
    let mut all = vec![("RUST_LOG", "info"), ("KEYWARD_LOG_FORMAT", "json")];
    all.extend_from_slice(env);
    Served::start(db, &all).await
}

async fn audited(app: &TestApp, action: &str) -> Vec<Value> {
    let admin = app.admin().await;
    let (_, body) = get_json(
        &admin,
        &app.url(&format!("/api/admin/audit?action={action}")),
    )
    .await;
    body["data"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn security_events_are_logged_audited_and_counted(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let served = logged_node(&db, &[]).await;
    let app = &served.app;
    let (_, eve) = app.user("eve").await;
    let url = app.url("/api/user/login");

    // Five wrong passwords use up the account's free attempts; the next one waits (unless the
    // first delay, 30 s from the window's start, already passed on a very slow machine).
    for i in 0..5 {
        let (status, body) = post_json(
            &app.client(),
            &url,
            json!({"username": "eve", "password": format!("guess-{i}-x")}),
        )
        .await;
        assert_eq!(
            (status, body["success"].clone()),
            (StatusCode::OK, json!(false))
        );
    }
    let (status, _) = post_json(
        &app.client(),
        &url,
        json!({"username": "eve", "password": "guess-5-x"}),
    )
    .await;
    let (wrong, refused) = if status == StatusCode::TOO_MANY_REQUESTS {
        (5, Some(1.0))
    } else {
        (6, None)
    };

    // A wrong second factor.
    let (tfa, _) = app.user("trudy").await;
    enrol(app, &tfa).await;
    let pending = app.client();
    let (_, body) = post_json(
        &pending,
        &url,
        json!({"username": "trudy", "password": "password-123"}),
    )
    .await;
    assert_eq!(body["data"]["require_2fa"], true, "{body}");
    post_json(
        &pending,
        &app.url("/api/user/login/2fa"),
        json!({"code": "000000"}),
    )
    .await;

    // A client that is not one.
    let res = reqwest::Client::new()
        .post(app.url("/api/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "kw_no-such-client"),
            ("client_secret", "secret_guess"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let log = served.log();
    let security = events(&log, "keyward::security");
    let find = |event: &str, method: Option<&str>| -> Vec<&Value> {
        security
            .iter()
            .filter(|e| e["event"] == event && method.is_none_or(|m| e["method"] == m))
            .collect()
    };
    let signed_in = find("login", Some("password"));
    assert!(
        signed_in
            .iter()
            .any(|e| e["user.name"] == "eve" && e["user.id"] == eve && e["client"] == "127.0.0.1"),
        "{security:?}"
    );
    let failed = find("login_failed", Some("password"));
    assert_eq!(failed.len(), wrong, "{security:?}");
    assert!(failed.iter().all(|e| e["user.id"] == eve
        && e["login"] == "eve"
        && e["reason"] == "wrong_password"
        && e["client"] == "127.0.0.1"));
    let throttled = find("login_throttled", None);
    assert_eq!(throttled.len(), 1, "once, when delays start: {security:?}");
    assert_eq!(throttled[0]["user.id"], eve);
    let second = find("login_failed", Some("second_factor"));
    assert!(
        second
            .iter()
            .any(|e| e["user.name"] == "trudy" && e["client"] == "127.0.0.1"),
        "{security:?}"
    );
    let client = find("client_auth_failed", None);
    assert!(
        client.iter().any(|e| e["client_id"] == "kw_no-such-client"
            && e["reason"] == "unknown_client"
            && e["client"] == "127.0.0.1"),
        "{security:?}"
    );
    // Never the password.
    assert!(!log.contains("guess-0-x"));

    // The failed JSON logins are 200s, but the access log tells them from a success.
    let access = events(&log, "keyward::access");
    let logins: Vec<&Value> = access
        .iter()
        .filter(|e| e["route"] == "/api/user/login" && e["method"] == "POST")
        .collect();
    assert!(
        logins
            .iter()
            .filter(|e| e["status"] == 200 && e["refused"] == true)
            .count()
            >= 5,
        "{logins:?}"
    );
    assert!(
        logins
            .iter()
            .any(|e| e["status"] == 200 && e["refused"] == false)
    );

    // Audited...
    let throttled = audited(app, "user.sign_in_throttled").await;
    assert_eq!(throttled.len(), 1, "{throttled:?}");
    assert_eq!(throttled[0]["target"], eve.to_string());
    assert_eq!(throttled[0]["ip"], "127.0.0.1");
    let client = audited(app, "client.auth_failed").await;
    assert_eq!(client.len(), 1, "{client:?}");
    assert_eq!(client[0]["target"], "kw_no-such-client");
    assert!(audited(app, "user.sign_in_failed").await.len() >= 6);

    // ...and counted, each once.
    let text = metrics(app).await;
    let logins = |result: &str, method: &str| {
        value(
            &text,
            "keyward_logins_total",
            &[("method", method), ("result", result)],
        )
    };
    assert_eq!(
        logins("wrong_password", "password"),
        Some(wrong as f64),
        "{text}"
    );
    assert_eq!(logins("throttled", "password"), refused, "{text}");
    assert_eq!(
        logins("wrong_second_factor", "second_factor"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "keyward_login_lockouts_total",
            &[("budget", "account")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "keyward_token_grants_total",
            &[
                ("grant_type", "client_credentials"),
                ("result", "invalid_client")
            ]
        ),
        Some(1.0),
        "{text}"
    );
}
