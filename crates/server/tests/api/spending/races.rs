//! Concurrency: charges that together exceed the limit let exactly the ones that fit through.

use super::{Scene, charge_body};
use crate::helpers::Backend;
use crate::on_both_backends;
use reqwest::StatusCode;

on_both_backends!(sixteen_concurrent_charges_over_the_limit_let_exactly_those_that_fit_through);

async fn sixteen_concurrent_charges_over_the_limit_let_exactly_those_that_fit_through(
    backend: Backend,
) {
    let s = Scene::new(backend).await;
    // 1000 quota units a day; 16 charges of 100.
    let token = s.token("1", "day").await;
    let url = s.app.url("/api/oauth2/balance/charge");
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (url, token) = (url.clone(), token.clone());
            tokio::spawn(async move {
                let res = reqwest::Client::new()
                    .post(url)
                    .bearer_auth(token)
                    .json(&charge_body(100, &format!("race-{i}")))
                    .send()
                    .await
                    .expect("charge");
                crate::helpers::into_parts(res).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("task"));
    }
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
