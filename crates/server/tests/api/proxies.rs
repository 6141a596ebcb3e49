//! `trusted_proxies` takes address ranges (#21 item 3); a bad entry stops the start; and
//! `X-Forwarded-For` from a peer that is not trusted is said in the log, not once per request.

use crate::helpers::{Backend, TestApp, TestDatabase};
use crate::on_both_backends;
use crate::security_events::logged_node;
use reqwest::StatusCode;
use serde_json::json;
use std::process::Command;

on_both_backends!(
    a_trusted_range_believes_its_peers_and_no_others,
    forwarding_from_an_untrusted_peer_is_warned_about_once,
);

async fn failed_login(app: &TestApp, forwarded: &str, name: &str) -> StatusCode {
    app.client()
        .post(app.url("/api/user/login"))
        .header("X-Forwarded-For", forwarded)
        .json(&json!({"username": name, "password": "guess-guess"}))
        .send()
        .await
        .expect("login")
        .status()
}

async fn a_trusted_range_believes_its_peers_and_no_others(backend: Backend) {
    // The loopback peer is inside 127.0.0.0/8: each forwarded address has its own budget.
    let app = TestApp::spawn_with(backend, |c| {
        c.login_max_failures_per_ip = 2;
        c.trusted_proxies = vec![
            "127.0.0.0/8".parse().expect("range"),
            "::1/128".parse().expect("range"),
        ];
    })
    .await;
    for i in 0..4 {
        let status = failed_login(&app, &format!("198.51.100.{i}"), &format!("in{i}")).await;
        assert_eq!(status, StatusCode::OK, "attempt {i}");
    }
    // Outside 10.0.0.0/8: what it forwards is ignored, so its clients share one budget.
    let app = TestApp::spawn_with(backend, |c| {
        c.login_max_failures_per_ip = 2;
        c.trusted_proxies = vec!["10.0.0.0/8".parse().expect("range")];
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        statuses.push(failed_login(&app, &format!("198.51.100.{i}"), &format!("out{i}")).await);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

#[test]
fn a_bad_trusted_proxy_entry_stops_the_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    for bad in ["10.0.0.0/33", "10.0.0.1, proxy.internal"] {
        let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .env("KEYWARD_TRUSTED_PROXIES", bad)
            .env("KEYWARD_DATABASE_URL", "sqlite://unused-by-this-test.db")
            .env("KEYWARD_LISTEN", "127.0.0.1:0")
            .current_dir(dir.path())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run keyward");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "started with {bad}");
        assert!(stderr.contains("trusted_proxies"), "{stderr}");
        assert!(stderr.contains("CIDR range"), "{stderr}");
    }
    assert!(!dir.path().join("unused-by-this-test.db").exists());
}

async fn forwarding_from_an_untrusted_peer_is_warned_about_once(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let served = logged_node(&db, &[("KEYWARD_TRUSTED_PROXIES", "10.0.0.0/8")]).await;
    for i in 0..5 {
        failed_login(&served.app, &format!("198.51.100.{i}"), "someone").await;
    }
    let warnings = served
        .log()
        .lines()
        .filter(|l| l.contains("X-Forwarded-For from a peer that is not in trusted_proxies"))
        .count();
    assert_eq!(warnings, 1, "{}", served.log());
}
