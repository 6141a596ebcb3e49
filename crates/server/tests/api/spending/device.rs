//! Spending through a device-flow grant (RFC 8628): agents and CLIs sign in that way, so the
//! device consent page asks for the same limit as the authorize page, and the device
//! authorization endpoint takes the same `spend_limit` suggestion. A grant whose consent has no
//! limit (device consents before the page asked for one) is told to ask the user again.

use super::{Scene, allow_spending, charge_body};
use crate::device_flow::{DEVICE_GRANT, device_authorization, poll, submit_answer, type_code};
use crate::helpers::{Backend, get_json};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    a_device_grant_spends_within_the_limit_set_on_the_device_consent_page,
    a_grant_whose_consent_has_no_limit_is_told_to_ask_the_user_again,
);

/// The device consent page approved with the typed `fields`.
async fn answer(s: &Scene, html: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    submit_answer(&s.app, &s.payer, html, "approve", fields).await
}

async fn a_device_grant_spends_within_the_limit_set_on_the_device_consent_page(backend: Backend) {
    let s = Scene::new(backend).await;
    let (developer, _) = s.app.user("cli-dev").await;
    let cli = crate::oauth_support::register_app(
        &s.app,
        &developer,
        json!({"public": true, "redirect_uri": "", "grant_types": [DEVICE_GRANT],
               "scopes": "profile balance"}),
    )
    .await;
    allow_spending(&s.app, cli.id, json!({"may_spend": true})).await;
    let asked = |limit: &'static str| {
        [
            ("client_id", cli.client_id.as_str()),
            ("scope", "balance balance:spend"),
            ("spend_limit", limit),
        ]
    };

    // A suggestion that does not parse is the app's error, as at the authorize endpoint.
    let (status, body) = device_authorization(&s.app, &asked("-5/day")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request")),
        "{body}"
    );

    let (status, started) = device_authorization(&s.app, &asked("2500/day")).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let device_code = started["device_code"].as_str().expect("device_code");
    let user_code = started["user_code"].as_str().expect("user_code");

    // The page asks for a limit, pre-filled with the suggestion (2500 units: 2.50 a day).
    let (status, page) = type_code(&s.app, &s.payer, user_code).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains(r#"name="spend_amount" value="2.50""#),
        "{page}"
    );
    assert!(page.contains(r#"<option value="day" selected>"#), "{page}");

    // No limit, or one that is not an amount: refused, the page again, nothing decided (the
    // same code is approved below).
    for fields in [
        vec![("spend_period", "day")],
        vec![("spend_amount", "-1"), ("spend_period", "day")],
        vec![("spend_amount", "3"), ("spend_period", "week")],
    ] {
        let (status, again) = answer(&s, &page, &fields).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields:?}: {again}"
        );
        assert!(again.contains("请设置消费限额"), "{again}");
        assert!(again.contains(r#"name="spend_amount""#), "{again}");
    }

    let (status, done) = answer(&s, &page, &[("spend_amount", "3"), ("spend_period", "day")]).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (status, tokens) = poll(&s.app, &cli.client_id, device_code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "balance balance:spend", "{tokens}");
    let token = tokens["access_token"].as_str().expect("access_token");

    let (status, first) = s.charge(token, charge_body(2000, "d1")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["remaining_limit"], 1000, "{first}");
    let (status, over) = s.charge(token, charge_body(1500, "d2")).await;
    assert_eq!(
        (
            status,
            over["error"].as_str(),
            over["remaining_limit"].as_i64()
        ),
        (
            StatusCode::FORBIDDEN,
            Some("spend_limit_exceeded"),
            Some(1000)
        ),
        "{over}"
    );
    assert_eq!(s.balance().await, (5000, 2000));

    // The limit is the grant's, on the connected-apps list like any other.
    let (_, listed) = get_json(&s.payer, &s.app.url("/api/user/authorizations")).await;
    let limit = listed["data"]
        .as_array()
        .expect("authorizations")
        .iter()
        .find(|a| a["client_id"] == cli.client_id.as_str())
        .map(|a| a["spend_limit"].clone())
        .unwrap_or_default();
    assert_eq!(
        (limit["amount"].as_i64(), limit["period"].as_str()),
        (Some(3000), Some("day")),
        "{listed}"
    );
    s.done().await;
}

async fn a_grant_whose_consent_has_no_limit_is_told_to_ask_the_user_again(backend: Backend) {
    let s = Scene::new(backend).await;
    let token = s.token("5", "month").await;
    // As a device consent recorded before the device page asked for a limit.
    s.app
        .execute_sql("UPDATE consents SET spend_limit = NULL, spend_period = NULL")
        .await;
    let (status, refused) = s.charge(&token, charge_body(10, "n1")).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("insufficient_scope")),
        "{refused}"
    );
    assert!(
        refused["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("consent again")),
        "{refused}"
    );
    assert_eq!(s.balance().await, (5000, 0));
    s.done().await;
}
