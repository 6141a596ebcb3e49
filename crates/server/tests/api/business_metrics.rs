//! Business metrics at `/metrics`, driven through the API of the real binary (its own process,
//! so its own recorder: the counts are exact), and the Grafana dashboard checked against what
//! `/metrics` really exposes.

use crate::helpers::{Backend, TestApp, TestDatabase, get_json, post_json};
use crate::oauth_support::{CALLBACK, obtain_code, register_app, token_b};
use crate::on_both_backends;
use crate::served::Served;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;

on_both_backends!(grants_logins_throttle_refusals_and_sessions_are_counted);

/// One sample of the exposition: a metric name, its labels, its value.
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|l| !l.is_empty())
                .filter_map(|l| {
                    let (k, v) = l.split_once('=')?;
                    Some((k.to_owned(), v.trim_matches('"').to_owned()))
                })
                .collect();
            Some(Sample {
                name: name.to_owned(),
                labels,
                value: value.parse().ok()?,
            })
        })
        .collect()
}

/// The value of `name` with exactly `labels`, if exposed.
pub(crate) fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples(text)
        .into_iter()
        .find(|s| {
            s.name == name
                && s.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v))
        })
        .map(|s| s.value)
}

pub(crate) async fn metrics(app: &TestApp) -> String {
    let res = reqwest::get(app.url("/metrics")).await.expect("metrics");
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.expect("text")
}

async fn login(app: &TestApp, username: &str, password: &str) -> Value {
    post_json(
        &app.client(),
        &app.url("/api/user/login"),
        json!({"username": username, "password": password}),
    )
    .await
    .1
}

/// Logins (three good ones, two wrong passwords, an unknown name, a throttled attempt) and
/// grants (a code, a refresh, a wrong secret, a replayed code).
async fn drive_traffic(app: &TestApp) {
    let (developer, _) = app.user("metric-dev").await;
    // Also logs the admin in, to approve the app.
    let registered = register_app(
        app,
        &developer,
        json!({"scopes": "openid profile offline_access"}),
    )
    .await;
    let (browser, _) = app.user("metric-user").await;
    let params = [
        ("client_id", registered.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid profile offline_access"),
        ("state", "state-value-123"),
    ];
    let code = obtain_code(app, &browser, "/oauth/authorize", &params).await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("client_id", registered.client_id.as_str()),
        ("client_secret", registered.client_secret.as_str()),
    ];
    let (status, tokens) = token_b(app, &exchange).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().expect("refresh");
    let (status, _) = token_b(
        app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", registered.client_id.as_str()),
            ("client_secret", registered.client_secret.as_str()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = token_b(
        app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", registered.client_id.as_str()),
            ("client_secret", "not-the-secret"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = token_b(app, &exchange).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a replayed code");

    // The account's budget is two failures (KEYWARD_LOGIN_MAX_FAILURES_PER_ACCOUNT).
    for _ in 0..2 {
        let body = login(app, "metric-user", "wrong-password").await;
        assert_eq!(body["success"], false);
    }
    // The third is refused before the password is checked.
    let body = login(app, "metric-user", "wrong-password").await;
    assert_eq!(body["success"], false);
    let body = login(app, "nobody-by-that-name", "whatever-pass").await;
    assert_eq!(body["success"], false);
}

async fn grants_logins_throttle_refusals_and_sessions_are_counted(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let served = Served::start(&db, &[("KEYWARD_LOGIN_MAX_FAILURES_PER_ACCOUNT", "2")]).await;
    let app = &served.app;
    drive_traffic(app).await;
    let text = metrics(app).await;
    let grants = "keyward_token_grants_total";
    for (grant_type, result) in [
        ("authorization_code", "ok"),
        ("authorization_code", "invalid_grant"),
        ("refresh_token", "ok"),
        ("refresh_token", "invalid_client"),
    ] {
        assert_eq!(
            value(
                &text,
                grants,
                &[("grant_type", grant_type), ("result", result)]
            ),
            Some(1.0),
            "{grant_type} {result}: {text}"
        );
    }
    let logins = "keyward_logins_total";
    for (result, count) in [
        ("ok", 3.0),
        ("wrong_password", 2.0),
        ("throttled", 1.0),
        ("unknown_user", 1.0),
    ] {
        assert_eq!(
            value(&text, logins, &[("method", "password"), ("result", result)]),
            Some(count),
            "password {result}: {text}"
        );
    }
    assert_eq!(
        value(
            &text,
            "keyward_throttle_refusals_total",
            &[("limit", "login:account")]
        ),
        Some(1.0),
        "{text}"
    );
    // No label carries a name, a client id or an address.
    for sample in samples(&text) {
        for (_, label) in &sample.labels {
            assert!(
                !label.contains("metric-") && !label.contains("127.0.0.1"),
                "{}: {label}",
                sample.name
            );
        }
    }

    // The gauge follows logins and logouts, read from the database at each scrape.
    let sessions = |text: &str| value(text, "keyward_active_sessions", &[]).expect("gauge");
    let before = sessions(&text);
    assert!(before >= 3.0, "{before}");
    let another = app.login("metric-dev", "password-123").await;
    assert_eq!(sessions(&metrics(app).await), before + 1.0);
    let (status, _) = get_json(&another, &app.url("/api/user/logout")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sessions(&metrics(app).await), before);
    served.stop().await;
}

/// The metric names a PromQL expression uses: its identifiers that name ours.
fn metric_names(expr: &str) -> Vec<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| t.starts_with("keyward_") || t.starts_with("http_"))
        .map(str::to_owned)
        .collect()
}

fn exprs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr", Value::String(expr)) => found.push(expr.clone()),
                    _ => exprs(v, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| exprs(v, found)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_queries_only_metrics_that_metrics_exposes() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/grafana/keyward.json"
    );
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("dashboard")).expect("JSON");
    let mut found = Vec::new();
    exprs(&dashboard, &mut found);
    let used: BTreeSet<String> = found.iter().flat_map(|e| metric_names(e)).collect();
    for required in [
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "keyward_token_grants_total",
        "keyward_logins_total",
        "keyward_throttle_refusals_total",
        "keyward_active_sessions",
        "keyward_sqlite_writes_per_commit",
    ] {
        assert!(
            used.iter().any(|u| u.starts_with(required)),
            "the dashboard shows no {required}"
        );
    }

    let db = TestDatabase::new(Backend::Sqlite).await;
    let served = Served::start(&db, &[("KEYWARD_LOGIN_MAX_FAILURES_PER_ACCOUNT", "2")]).await;
    drive_traffic(&served.app).await;
    let exposed: BTreeSet<String> = samples(&metrics(&served.app).await)
        .into_iter()
        .map(|s| s.name)
        .collect();
    served.stop().await;
    for name in &used {
        assert!(
            exposed.contains(name),
            "the dashboard queries {name}, which /metrics does not expose: {exposed:?}"
        );
    }
}

/// `value`, or 0 when the series does not exist yet.
fn count(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(text, name, labels).unwrap_or(0.0)
}

/// In-process, where every test shares one recorder: counters only grow, so each must have
/// grown by at least what this test did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_and_second_factor_logins_are_counted() {
    use crate::fakes::{CLIENT_ID, CLIENT_SECRET, FakeServer, Grant};
    use crate::two_factor::enrol;

    let fakes = FakeServer::start().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.admin().await;
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&json!({"github_enabled": true, "github_client_id": CLIENT_ID, "github_client_secret": CLIENT_SECRET, "github_web_base": fakes.base, "github_api_base": fakes.base}))
        .send()
        .await
        .expect("settings");
    assert_eq!(res.status(), StatusCode::OK);
    let github_login = |client: reqwest::Client| {
        let (app, fakes) = (&app, &fakes);
        async move {
            let (_, state) = get_json(&client, &app.url("/api/oauth/state")).await;
            let code = fakes.issue_code(Grant {
                subject: "9901".into(),
                login: "counted".into(),
                ..Grant::default()
            });
            let url = format!(
                "/api/oauth/github?code={code}&state={}",
                state["data"].as_str().expect("state")
            );
            get_json(&client, &app.url(&url)).await.1
        }
    };
    let (owner, _) = app.user("gh-counted").await;
    assert_eq!(github_login(owner.clone()).await["message"], "bind");
    // The TOTP step of the enrolment is spent: the login's second factor is a recovery code.
    let (_, recovery) = enrol(&app, &owner).await;

    let before = metrics(&app).await;
    let browser = app.client();
    let body = github_login(browser.clone()).await;
    assert_eq!(body["data"]["require_2fa"], true, "{body}");
    let (_, body) = post_json(
        &browser,
        &app.url("/api/user/login/2fa"),
        json!({"code": "000000"}),
    )
    .await;
    assert_eq!(body["success"], false);
    let (_, body) = post_json(
        &browser,
        &app.url("/api/user/login/2fa"),
        json!({"code": recovery[0]}),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    let after = metrics(&app).await;

    let logins = "keyward_logins_total";
    for (method, result) in [
        ("upstream:github", "second_factor_required"),
        ("second_factor", "wrong_second_factor"),
        ("second_factor", "ok"),
    ] {
        let labels = [("method", method), ("result", result)];
        assert!(
            count(&after, logins, &labels) >= count(&before, logins, &labels) + 1.0,
            "{method} {result} not counted: {after}"
        );
    }
    app.stop().await;
}
