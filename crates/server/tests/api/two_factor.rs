//! TOTP two-factor: enrolment, enforcement on every way of logging in, replay and recovery codes.

use crate::fakes::{CLIENT_ID, CLIENT_SECRET, FakeServer, Grant};
use crate::helpers::{Backend, TestApp, get_json, into_parts, post_json};
use crate::on_both_backends;
use keyward_core::accounts::two_factor::TwoFactor;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    two_factor_is_enrolled_enforced_and_codes_work_once,
    upstream_logins_and_the_login_page_ask_for_the_second_factor_too,
);

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs()
}

/// Enrols `client`'s user; returns the otpauth URL and the recovery codes.
pub(crate) async fn enrol(app: &TestApp, client: &Client) -> (String, Vec<String>) {
    let (status, setup) = post_json(client, &app.url("/api/user/2fa/setup"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{setup}");
    let url = setup["data"]["otpauth_url"]
        .as_str()
        .expect("url")
        .to_owned();
    assert!(url.starts_with("otpauth://totp/"));
    let codes: Vec<String> = setup["data"]["backup_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect();
    assert_eq!(codes.len(), 10);
    let (_, body) = post_json(
        client,
        &app.url("/api/user/2fa/enable"),
        json!({"code": "000000"}),
    )
    .await;
    assert_eq!(body["success"], false, "a wrong code does not enable it");
    let code = TwoFactor::code_for(&url, now()).expect("code");
    let (_, body) = post_json(
        client,
        &app.url("/api/user/2fa/enable"),
        json!({"code": code}),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    (url, codes)
}

async fn password_login(app: &TestApp, username: &str) -> (Client, Value) {
    let client = app.client();
    let (_, body) = post_json(
        &client,
        &app.url("/api/user/login"),
        json!({"username": username, "password": "password-123"}),
    )
    .await;
    (client, body)
}

async fn two_factor_is_enrolled_enforced_and_codes_work_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, _) = app.user("tfa").await;
    let (url, recovery) = enrol(&app, &client).await;
    let (_, status) = get_json(&client, &app.url("/api/user/2fa/status")).await;
    assert_eq!(status["data"]["enabled"], true);

    let (pending, body) = password_login(&app, "tfa").await;
    assert_eq!(
        (body["success"].clone(), body["data"]["require_2fa"].clone()),
        (json!(true), json!(true)),
        "{body}"
    );
    assert_eq!(
        get_json(&pending, &app.url("/api/user/self")).await.0,
        StatusCode::UNAUTHORIZED,
        "half a login opens nothing"
    );
    let (_, body) = post_json(
        &pending,
        &app.url("/api/user/login/2fa"),
        json!({"code": "123456"}),
    )
    .await;
    assert_eq!(body["message"], "验证码错误");
    // The enrolment used this time step; the next one is accepted once.
    let code = TwoFactor::code_for(&url, now() + 30).expect("code");
    let (_, body) = post_json(
        &pending,
        &app.url("/api/user/login/2fa"),
        json!({"code": code}),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    assert_eq!(
        get_json(&pending, &app.url("/api/user/self")).await.0,
        StatusCode::OK
    );

    let (again, _) = password_login(&app, "tfa").await;
    let (_, body) = post_json(
        &again,
        &app.url("/api/user/login/2fa"),
        json!({"code": code}),
    )
    .await;
    assert_eq!(body["success"], false, "a TOTP code is accepted once");
    let (_, body) = post_json(
        &again,
        &app.url("/api/user/login/2fa"),
        json!({"code": recovery[0].to_uppercase()}),
    )
    .await;
    assert_eq!(body["success"], true, "a recovery code works: {body}");
    let (third, _) = password_login(&app, "tfa").await;
    let (_, body) = post_json(
        &third,
        &app.url("/api/user/login/2fa"),
        json!({"code": recovery[0]}),
    )
    .await;
    assert_eq!(body["success"], false, "and only once");

    // Guessing is throttled per account.
    let (guesser, _) = password_login(&app, "tfa").await;
    let mut last = StatusCode::OK;
    for i in 0..6 {
        let res = guesser
            .post(app.url("/api/user/login/2fa"))
            .json(&json!({"code": format!("{:06}", i)}))
            .send()
            .await
            .expect("2fa");
        last = res.status();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);

    // Turning it off needs a code.
    let (_, body) = post_json(
        &again,
        &app.url("/api/user/2fa/disable"),
        json!({"code": "000000"}),
    )
    .await;
    assert_eq!(body["success"], false);
    let (_, body) = post_json(
        &again,
        &app.url("/api/user/2fa/disable"),
        json!({"code": recovery[1]}),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    let (_, body) = password_login(&app, "tfa").await;
    assert_eq!(body["data"]["username"], "tfa", "no second step any more");
}

async fn upstream_logins_and_the_login_page_ask_for_the_second_factor_too(backend: Backend) {
    let fakes = FakeServer::start().await;
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&json!({"github_enabled": true, "github_client_id": CLIENT_ID, "github_client_secret": CLIENT_SECRET, "github_web_base": fakes.base, "github_api_base": fakes.base}))
        .send()
        .await
        .expect("settings");
    assert_eq!(into_parts(res).await.1["success"], true);
    let (client, _) = app.user("tfa-gh").await;
    // Bind GitHub, then turn on two-factor.
    let (_, state) = get_json(&client, &app.url("/api/oauth/state")).await;
    let code = fakes.issue_code(Grant {
        subject: "8801".into(),
        login: "tfa".into(),
        ..Grant::default()
    });
    let (_, body) = get_json(
        &client,
        &app.url(&format!(
            "/api/oauth/github?code={code}&state={}",
            state["data"].as_str().expect("state")
        )),
    )
    .await;
    assert_eq!(body["message"], "bind", "{body}");
    let (url, _) = enrol(&app, &client).await;

    let browser = app.client();
    let (_, state) = get_json(&browser, &app.url("/api/oauth/state")).await;
    let code = fakes.issue_code(Grant {
        subject: "8801".into(),
        login: "tfa".into(),
        ..Grant::default()
    });
    let (_, body) = get_json(
        &browser,
        &app.url(&format!(
            "/api/oauth/github?code={code}&state={}",
            state["data"].as_str().expect("state")
        )),
    )
    .await;
    assert_eq!(
        body["data"]["require_2fa"], true,
        "upstream logins do not skip the second factor: {body}"
    );
    assert_eq!(
        get_json(&browser, &app.url("/api/user/self")).await.0,
        StatusCode::UNAUTHORIZED
    );

    // The HTML login page asks too, then returns where it was going.
    let page = app.client();
    let html = page
        .get(app.url("/login?return_to=/api/user/self"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let mut fields = crate::oauth_support::hidden_fields(&html);
    fields.push(("username".into(), "tfa-gh".into()));
    fields.push(("password".into(), "password-123".into()));
    let res = page
        .post(app.url("/login"))
        .form(&fields)
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("html");
    assert!(html.contains(r#"action="/login/2fa""#), "{html}");
    let mut fields = crate::oauth_support::hidden_fields(&html);
    fields.push((
        "code".into(),
        TwoFactor::code_for(&url, now() + 30).expect("code"),
    ));
    let res = page
        .post(app.url("/login/2fa"))
        .form(&fields)
        .send()
        .await
        .expect("2fa");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/api/user/self")
    );
    assert_eq!(
        get_json(&page, &app.url("/api/user/self")).await.0,
        StatusCode::OK
    );
}
