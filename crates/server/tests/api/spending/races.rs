//! Concurrency: charges that together exceed the limit let exactly the ones that fit through;
//! refunds that together exceed the charge likewise; retries of one key move the balance once.
//! Each request reads what the one before it under the user's lock wrote (on PostgreSQL, a read
//! that waited for the lock is made again).

use super::{Scene, charge_body};
use crate::helpers::{Backend, into_parts};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    sixteen_concurrent_charges_over_the_limit_let_exactly_those_that_fit_through,
    concurrent_refunds_over_the_charge_let_exactly_those_that_fit_through,
    concurrent_retries_of_one_charge_move_the_balance_once,
);

/// Sends every body to `path` at once with `token`; the answers, in order.
async fn all_at_once(
    s: &Scene,
    path: &str,
    token: &str,
    bodies: Vec<Value>,
) -> Vec<(StatusCode, Value)> {
    let url = s.app.url(path);
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let (url, token) = (url.clone(), token.to_owned());
            tokio::spawn(async move {
                let res = reqwest::Client::new()
                    .post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .expect("post");
                into_parts(res).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("task"));
    }
    answers
}

async fn concurrent_refunds_over_the_charge_let_exactly_those_that_fit_through(backend: Backend) {
    let s = Scene::new(backend).await;
    let token = s.token("1", "day").await;
    let (status, charged) = s.charge(&token, charge_body(800, "c")).await;
    assert_eq!(status, StatusCode::OK, "{charged}");
    let charge_id = charged["charge_id"].as_i64().expect("charge_id");
    // Eight refunds of 200 of a charge of 800.
    let bodies = (0..8)
        .map(|i| json!({"charge_id": charge_id, "amount": 200, "idempotency_key": format!("r{i}")}))
        .collect();
    let answers = all_at_once(&s, "/api/oauth2/balance/refund", &token, bodies).await;
    let ok = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .count();
    let above = answers
        .iter()
        .filter(|(status, body)| {
            *status == StatusCode::CONFLICT && body["error"] == "refund_exceeds_charge"
        })
        .count();
    assert_eq!((ok, above), (4, 4), "{answers:?}");
    assert_eq!(s.balance().await, (5000, 0));
    s.done().await;
}

async fn concurrent_retries_of_one_charge_move_the_balance_once(backend: Backend) {
    let s = Scene::new(backend).await;
    let token = s.token("1", "day").await;
    let bodies = (0..8).map(|_| charge_body(100, "once")).collect();
    let answers = all_at_once(&s, "/api/oauth2/balance/charge", &token, bodies).await;
    // Every retry answers the first answer.
    let first = &answers[0].1;
    for (status, body) in &answers {
        assert_eq!((*status, body), (StatusCode::OK, first), "{answers:?}");
    }
    assert_eq!(s.balance().await, (5000, 100));
    s.done().await;
}

async fn sixteen_concurrent_charges_over_the_limit_let_exactly_those_that_fit_through(
    backend: Backend,
) {
    let s = Scene::new(backend).await;
    // 1000 quota units a day; 16 charges of 100.
    let token = s.token("1", "day").await;
    let bodies = (0..16)
        .map(|i| charge_body(100, &format!("race-{i}")))
        .collect();
    let answers = all_at_once(&s, "/api/oauth2/balance/charge", &token, bodies).await;
    let ok = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .count();
    let over = answers
        .iter()
        .filter(|(status, body)| {
            *status == StatusCode::FORBIDDEN && body["error"] == "spend_limit_exceeded"
        })
        .count();
    assert_eq!((ok, over), (10, 6), "{answers:?}");
    assert_eq!(s.balance().await, (5000, 1000));
    s.done().await;
}
