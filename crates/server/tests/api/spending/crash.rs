//! A `kill -9` during charges: after the restart every answered charge is on the ledger once,
//! a retry of any key charges at most once, and the balance equals the ledger.

use super::{allow_spending, charge_body, set_quota, token_with_limit};
use crate::crash::Server;
use crate::helpers::{Backend, TestDatabase, assert_ledger_adds_up};
use crate::oauth_support::register_app;
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

on_both_backends!(charges_answered_before_a_kill_are_on_the_ledger_once_after_the_restart);

async fn charges_answered_before_a_kill_are_on_the_ledger_once_after_the_restart(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let mut server = Server::start(&db).await;
    let app = &server.app;
    let (developer, _) = app.user("dev").await;
    let client = register_app(app, &developer, json!({"scopes": "balance"})).await;
    allow_spending(app, client.id, json!({"may_spend": true})).await;
    let (payer, payer_id) = app.user("payer").await;
    set_quota(app, payer_id, 1_000_000).await;
    let token = token_with_limit(app, &payer, &client, "1000", "total").await;

    // Answered keys with their charge ids; keys whose answer was lost.
    let answered: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    let lost: Arc<Mutex<Vec<String>>> = Arc::default();
    let killed = Arc::new(AtomicBool::new(false));
    let url = app.url("/api/oauth2/balance/charge");
    let workers: Vec<_> = (0..4)
        .map(|worker| {
            let (answered, lost, killed, url, token) = (
                answered.clone(),
                lost.clone(),
                killed.clone(),
                url.clone(),
                token.clone(),
            );
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut n = 0;
                while !killed.load(Ordering::SeqCst) {
                    n += 1;
                    let key = format!("w{worker}-{n}");
                    let sent = http
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&charge_body(7, &key))
                        .send()
                        .await;
                    let answer = match sent {
                        Ok(res) if res.status() == StatusCode::OK => res.json::<Value>().await.ok(),
                        _ => None,
                    };
                    match answer.and_then(|a| a["charge_id"].as_i64()) {
                        Some(id) => {
                            answered.lock().expect("lock").insert(key, id);
                        }
                        None => lost.lock().expect("lock").push(key),
                    }
                    // Paced, so that the charges and the retries stay within the grant's rate
                    // limit.
                    tokio::time::sleep(Duration::from_millis(15)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill();
    killed.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.await.expect("worker");
    }
    let answered = answered.lock().expect("lock").clone();
    let lost = lost.lock().expect("lock").clone();
    assert!(
        answered.len() > 10,
        "too few charges before the kill: {}",
        answered.len()
    );

    let server = Server::start(&db).await;
    let app = &server.app;
    let store = keyward::app::open_store(&db.url, 2).await.expect("store");
    let page = keyward_core::store::Page {
        offset: 0,
        limit: 1_000_000,
    };
    let charges: Vec<_> = store
        .ledger_of_user(payer_id, page)
        .await
        .expect("ledger")
        .into_iter()
        .filter(|e| e.kind == keyward_core::billing::ledger::EntryKind::Charge)
        .collect();
    // Every answered charge is there, under its key, once.
    for (key, id) in &answered {
        let found: Vec<_> = charges
            .iter()
            .filter(|e| e.idempotency_key.as_deref() == Some(key.as_str()))
            .collect();
        assert_eq!(found.len(), 1, "{key}");
        assert_eq!(found[0].id, *id, "{key}");
    }
    assert!(charges.len() <= answered.len() + lost.len());
    // Retrying every lost key and a sample of answered ones charges nothing twice.
    let (quota, used) = balance(&store, payer_id).await;
    assert_eq!((quota, used), (1_000_000, 7 * charges.len() as i64));
    for key in answered.keys().take(20).chain(lost.iter()) {
        let (status, again) = super::bearer_post(
            app,
            "/api/oauth2/balance/charge",
            &token,
            charge_body(7, key),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{key}: {again}");
        if let Some(id) = answered.get(key) {
            assert_eq!(again["charge_id"], *id, "{key}");
        }
    }
    let (_, used) = balance(&store, payer_id).await;
    assert_eq!(used, 7 * (answered.len() + lost.len()) as i64);
    assert_ledger_adds_up(store.as_ref()).await;
}

async fn balance(store: &std::sync::Arc<dyn keyward_core::Store>, user: i64) -> (i64, i64) {
    let user = store.user_by_id(user).await.expect("read").expect("user");
    (user.quota, user.used_quota)
}
