//! Spending notices: the user is mailed once when an app's spending in the period reaches 80 %
//! of the limit, once when it reaches 100 %, and on each refund; a retry mails nothing again,
//! and without SMTP nothing is mailed and charges work as before.

use super::{Scene, charge_body};
use crate::fakes::FakeServer;
use crate::helpers::{Backend, get_json, into_parts};
use crate::login_module::code_in;
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

on_both_backends!(limit_marks_and_refunds_are_mailed_once_each_and_only_with_smtp);

/// The mails the sink holds once there are `count` (or after 3 s).
async fn mails(fakes: &FakeServer, count: usize) -> Vec<String> {
    for _ in 0..60 {
        if fakes.mails().len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fakes.mails()
}

/// Exactly `count` mails, after giving a stray one time to arrive.
async fn exactly(fakes: &FakeServer, count: usize) -> Vec<String> {
    let seen = mails(fakes, count).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let seen_later = fakes.mails();
    assert_eq!(seen_later.len(), count, "{seen_later:#?}");
    seen
}

async fn smtp(s: &Scene, host: &str, port: u16) {
    let admin = s.app.admin().await;
    let res = admin
        .put(s.app.url("/api/admin/settings"))
        .json(&json!({
            "smtp_host": host, "smtp_port": port, "smtp_security": "none",
            "smtp_from": "Keyward <noreply@keyward.test>",
        }))
        .send()
        .await
        .expect("settings");
    assert_eq!(into_parts(res).await.1["success"], true);
}

async fn limit_marks_and_refunds_are_mailed_once_each_and_only_with_smtp(backend: Backend) {
    let s = Scene::new(backend).await;
    let fakes = FakeServer::start().await;
    smtp(&s, "127.0.0.1", fakes.smtp_port).await;
    // The payer binds an address with the code mailed to it.
    let email = "payer@example.com";
    let (_, sent) = get_json(
        &s.payer,
        &s.app.url(&format!("/api/verification?email={email}")),
    )
    .await;
    assert_eq!(sent["success"], true, "{sent}");
    let code = code_in(&mails(&fakes, 1).await[0]);
    let (_, bound) = get_json(
        &s.payer,
        &s.app
            .url(&format!("/api/oauth/email/bind?email={email}&code={code}")),
    )
    .await;
    assert_eq!(bound["success"], true, "{bound}");

    // A limit of 1.00 a month: 1000 quota units, 80 % at 800.
    let token = s.token("1", "month").await;
    let (status, _) = s.charge(&token, charge_body(500, "c1")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, first) = s.charge(&token, charge_body(300, "c2")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let seen = mails(&fakes, 2).await;
    let most = &seen[1];
    for part in [
        "payer@example.com",
        "80%",
        "\"Test App\"",
        "$0.80",
        "$1.00 a month",
        "每月 $1.00",
        "/user/authorizations",
    ] {
        assert!(most.contains(part), "{part} in {most}");
    }
    // The retry of the charge that crossed, and a charge past 80 % but below 100 %: no mail.
    let (status, again) = s.charge(&token, charge_body(300, "c2")).await;
    assert_eq!((status, &again), (StatusCode::OK, &first));
    let (status, _) = s.charge(&token, charge_body(100, "c3")).await;
    assert_eq!(status, StatusCode::OK);
    exactly(&fakes, 2).await;
    // The charge that uses the rest: the 100 % mail.
    let (status, last) = s.charge(&token, charge_body(100, "c4")).await;
    assert_eq!(
        (status, last["remaining_limit"].clone()),
        (StatusCode::OK, json!(0))
    );
    let seen = mails(&fakes, 3).await;
    assert!(
        seen[2].contains("all of the limit") && seen[2].contains("$1.00 of your balance"),
        "{}",
        seen[2]
    );
    // Refused over the limit: no mail.
    let (status, _) = s.charge(&token, charge_body(1, "c5")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    exactly(&fakes, 3).await;

    // A refund: one mail, its retry none.
    let refund = json!({"charge_id": first["charge_id"], "amount": 250, "idempotency_key": "r1"});
    let (status, refunded) = s.refund(&token, refund.clone()).await;
    assert_eq!(status, StatusCode::OK, "{refunded}");
    let (status, _) = s.refund(&token, refund).await;
    assert_eq!(status, StatusCode::OK);
    let seen = exactly(&fakes, 4).await;
    let charge_id = first["charge_id"].as_i64().expect("charge_id");
    for part in [
        "refunded $0.25".to_owned(),
        format!("#{charge_id}"),
        "$4.25".to_owned(),
        "/user/authorizations".to_owned(),
    ] {
        assert!(seen[3].contains(&part), "{part} in {}", seen[3]);
    }

    // Without SMTP: spending crosses 100 % again (750 → 1000) and nothing is mailed, and the
    // charge and a refund answer as before.
    smtp(&s, "", 587).await;
    let (status, crossed) = s.charge(&token, charge_body(250, "c6")).await;
    assert_eq!(
        (status, crossed["remaining_limit"].clone()),
        (StatusCode::OK, json!(0)),
        "{crossed}"
    );
    let refund = json!({"charge_id": crossed["charge_id"], "amount": 1, "idempotency_key": "r2"});
    let (status, _) = s.refund(&token, refund).await;
    assert_eq!(status, StatusCode::OK);
    exactly(&fakes, 4).await;
    s.done().await;
}
