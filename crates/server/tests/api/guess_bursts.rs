//! Guessing limits hold against bursts: every attempt takes its slot before the slow work (a
//! password hash, a call to the WeChat server), so many guesses sent at once are not all
//! evaluated; and an account's name and address share one budget.

use crate::helpers::{
    Backend, TestApp, TestDatabase, get_json, into_parts, post_json, test_config,
};
use crate::on_both_backends;
use crate::rate_limits::{mail_env, set};
use keyward_core::accounts::two_factor::TwoFactor;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::json;
use tokio::task::JoinSet;

on_both_backends!(
    a_burst_of_wrong_passwords_is_evaluated_only_up_to_the_account_limit,
    a_burst_of_wechat_codes_is_checked_only_up_to_the_ip_limit,
    a_burst_of_totp_codes_is_checked_only_up_to_the_account_limit,
    a_name_and_an_address_of_one_account_share_its_budget,
);

/// Sends the `wrong` guesses at once, and the `right` one as soon as one of them is refused
/// (the limit is reached while others may still be in flight) or, if none is, after all of
/// them. Returns how many wrong guesses were evaluated (answered 200) and the right one's status.
async fn burst(wrong: Vec<RequestBuilder>, right: RequestBuilder) -> (usize, StatusCode) {
    let mut flight = JoinSet::new();
    for request in wrong {
        flight.spawn(request.send());
    }
    let mut right = Some(right);
    let mut right_answer = None;
    let mut evaluated = 0;
    while let Some(done) = flight.join_next().await {
        let res = done.expect("task").expect("request");
        match res.status() {
            StatusCode::OK => evaluated += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                if let Some(request) = right.take() {
                    right_answer = Some(tokio::spawn(request.send()));
                }
            }
            other => panic!(
                "unexpected {other}: {}",
                res.text().await.unwrap_or_default()
            ),
        }
    }
    let res = match (right_answer, right) {
        (Some(sent), _) => sent.await.expect("task"),
        (None, Some(request)) => request.send().await,
        (None, None) => unreachable!("the right guess is sent once"),
    }
    .expect("request");
    (evaluated, res.status())
}

async fn a_burst_of_wrong_passwords_is_evaluated_only_up_to_the_account_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("burst-victim", "password-123").await;
    let client = app.client();
    let url = app.url("/api/user/login");
    let login = |password: String| {
        client
            .post(&url)
            .json(&json!({"username": "burst-victim", "password": password}))
    };
    let wrong = (0..40).map(|i| login(format!("guess-{i}-x"))).collect();
    let (evaluated, right) = burst(wrong, login("password-123".into())).await;
    // The limit is 5 failures per account (30 per IP).
    assert_eq!(evaluated, 5);
    assert_eq!(right, StatusCode::TOO_MANY_REQUESTS);
}

async fn a_burst_of_wechat_codes_is_checked_only_up_to_the_ip_limit(backend: Backend) {
    let (app, fakes) = mail_env(backend, json!({"wechat_failures_max_per_ip": 10})).await;
    let client = app.client();
    // Every login needs a state this browser started (login CSRF), one per attempt.
    let started = || async {
        let (_, body) = get_json(&client, &app.url("/api/oauth/state?provider=wechat")).await;
        body["data"].as_str().expect("state").to_owned()
    };
    let login = |code: &str, state: &str| {
        client.get(app.url(&format!("/api/oauth/wechat?code={code}&state={state}")))
    };
    // The victim's account exists; a success takes nothing from the address's budget.
    let first = login(&fakes.wechat_code("openid-victim"), &started().await);
    let (_, body) = into_parts(first.send().await.expect("login")).await;
    assert_eq!(body["success"], true, "{body}");
    let mut wrong = Vec::new();
    for i in 0..100 {
        wrong.push(login(&format!("wrong{i}"), &started().await));
    }
    let right = login(&fakes.wechat_code("openid-victim"), &started().await);
    let (evaluated, right) = burst(wrong, right).await;
    assert_eq!(evaluated, 10);
    assert_eq!(right, StatusCode::TOO_MANY_REQUESTS);
}

async fn a_burst_of_totp_codes_is_checked_only_up_to_the_account_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    set(
        &app,
        json!({"totp_failures_max_per_account": 5, "totp_failures_window_secs": 600}),
    )
    .await;
    let (client, _) = app.user("totp-burst").await;
    let (_, setup) = post_json(&client, &app.url("/api/user/2fa/setup"), json!({})).await;
    let otpauth = setup["data"]["otpauth_url"].as_str().expect("url");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let accepted: Vec<String> = [now - 30, now, now + 30, now + 60]
        .iter()
        .filter_map(|t| TwoFactor::code_for(otpauth, *t))
        .collect();
    let enable = |code: String| {
        client
            .post(app.url("/api/user/2fa/enable"))
            .json(&json!({"code": code}))
    };
    let wrong = (0..30u32)
        .map(|i| format!("{:06}", 100_000 + i * 7))
        .filter(|c| !accepted.contains(c))
        .take(25)
        .map(enable)
        .collect();
    let right = TwoFactor::code_for(otpauth, now).expect("code");
    let (evaluated, right) = burst(wrong, enable(right)).await;
    assert_eq!(evaluated, 5);
    assert_eq!(right, StatusCode::TOO_MANY_REQUESTS);
}

/// Five wrong passwords lock the account whether they name it by its user name or by its
/// verified address (each used to have its own five).
async fn a_name_and_an_address_of_one_account_share_its_budget(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let store = keyward::app::open_store(&db.url, 2).await.expect("store");
    let app = TestApp::start(db.clone(), test_config(&db)).await;
    let body = app.register("two-names", "password-123").await;
    let id = body["data"]["id"].as_i64().expect("id");
    store
        .set_verified_email(id, "two-names@example.com", 1_000)
        .await
        .expect("email");
    let client = app.client();
    let url = app.url("/api/user/login");
    for login in [
        "two-names",
        "two-names",
        "two-names@example.com",
        "Two-Names@example.com",
        "TWO-NAMES",
    ] {
        let (status, body) = post_json(
            &client,
            &url,
            json!({"username": login, "password": "wrong-guess"}),
        )
        .await;
        assert_eq!(
            (status, body["success"].clone()),
            (StatusCode::OK, json!(false)),
            "{body}"
        );
    }
    let (status, _) = post_json(
        &client,
        &url,
        json!({"username": "two-names@example.com", "password": "password-123"}),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}
