//! Charges and refunds are rate limited per user grant, and per billing-service app with a limit
//! of its own (config `spend_requests_per_minute`, `billing_service_requests_per_minute`): one
//! over answers 429 with `Retry-After`, moves nothing and writes no entry.

use super::{Scene, allow_spending, charge_body};
use crate::helpers::Backend;
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(charges_past_the_rate_are_refused_and_move_nothing);

async fn charges_past_the_rate_are_refused_and_move_nothing(backend: Backend) {
    let s = Scene::new_with(backend, |c| {
        c.spend_requests_per_minute = 3;
        c.billing_service_requests_per_minute = 5;
    })
    .await;
    let token = s.token("5", "month").await;
    for n in 0..3 {
        let (status, body) = s.charge(&token, charge_body(10, &format!("o-{n}"))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let res = reqwest::Client::new()
        .post(s.app.url("/api/oauth2/balance/charge"))
        .bearer_auth(&token)
        .json(&charge_body(10, "o-3"))
        .send()
        .await
        .expect("charge");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: i64 = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["error"], "rate_limited", "{body}");
    assert_eq!(s.balance().await, (5000, 30));
    // Refunds count too.
    let (status, _) = s
        .refund(
            &token,
            json!({"charge_id": 1, "amount": 1, "idempotency_key": "r-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    // Another grant of the same user and app has a budget of its own.
    let other = s.token("5", "month").await;
    let (status, body) = s.charge(&other, charge_body(10, "p-0")).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The billing service: its own, larger budget.
    let (gateway, meter) = s.gateway_token().await;
    allow_spending(&s.app, gateway.id, json!({"billing_service": true})).await;
    for n in 0..5 {
        let body = json!({"amount": 1, "idempotency_key": format!("m-{n}"), "user_id": s.payer_id});
        let (status, answer) = s.charge(&meter, body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let body = json!({"amount": 1, "idempotency_key": "m-5", "user_id": s.payer_id});
    let (status, _) = s.charge(&meter, body).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(s.balance().await, (5000, 45));
    s.done().await;
}
