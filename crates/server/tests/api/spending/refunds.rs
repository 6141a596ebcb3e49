//! Refunds: only by the app that charged, at most what remains of the charge, within the
//! window, each with its own key.

use super::{Scene, allow_spending, charge_body, token_with_limit};
use crate::helpers::Backend;
use crate::oauth_support::register_app;
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(refunds_give_back_at_most_the_charge_once_per_key_within_the_window);

async fn refunds_give_back_at_most_the_charge_once_per_key_within_the_window(backend: Backend) {
    let s = Scene::new(backend).await;
    let token = s.token("5", "month").await;
    let (_, charged) = s.charge(&token, charge_body(1000, "c1")).await;
    let charge_id = charged["charge_id"].as_i64().expect("charge_id");

    // Another app may not refund it.
    let (developer, _) = s.app.user("dev2").await;
    let other = register_app(&s.app, &developer, json!({"scopes": "balance"})).await;
    allow_spending(&s.app, other.id, json!({"may_spend": true})).await;
    let other_token = token_with_limit(&s.app, &s.payer, &other, "5", "month").await;
    let refund = |amount: i64, key: &str| json!({"charge_id": charge_id, "amount": amount, "idempotency_key": key});
    let (status, refused) = s.refund(&other_token, refund(10, "r0")).await;
    assert_eq!(
        (status, refused["error"].clone()),
        (StatusCode::NOT_FOUND, json!("unknown_charge")),
        "{refused}"
    );
    let (status, _) = s
        .refund(
            &token,
            json!({"charge_id": charge_id + 1000, "amount": 1, "idempotency_key": "r"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Part of it; the same key again answers the same and moves nothing.
    let (status, first) = s.refund(&token, refund(300, "r1")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        (first["charge_id"].clone(), first["used_quota"].clone()),
        (json!(charge_id), json!(700))
    );
    let (status, again) = s.refund(&token, refund(300, "r1")).await;
    assert_eq!((status, &again), (StatusCode::OK, &first));
    let (status, _) = s.refund(&token, refund(301, "r1")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Above what remains: refused with what does.
    let (status, above) = s.refund(&token, refund(701, "r2")).await;
    assert_eq!(
        (status, above["error"].clone(), above["refundable"].clone()),
        (
            StatusCode::CONFLICT,
            json!("refund_exceeds_charge"),
            json!(700)
        ),
        "{above}"
    );
    let (status, _) = s.refund(&token, refund(700, "r3")).await;
    assert_eq!(status, StatusCode::OK);
    // Twice: nothing is left.
    let (status, twice) = s.refund(&token, refund(1, "r4")).await;
    assert_eq!(
        (status, twice["refundable"].clone()),
        (StatusCode::CONFLICT, json!(0))
    );
    assert_eq!(s.balance().await, (5000, 0));
    // A refund gives back spending room.
    let (status, room) = s.charge(&token, charge_body(5000, "c2")).await;
    assert_eq!(status, StatusCode::OK, "{room}");

    // After the window: refused.
    let admin = s.app.admin().await;
    let res = admin
        .put(s.app.url("/api/admin/settings"))
        .json(&json!({"refund_window_secs": 1}))
        .send()
        .await
        .expect("settings");
    assert_eq!(res.status(), StatusCode::OK);
    let res = admin
        .put(s.app.url("/api/admin/settings"))
        .json(&json!({"refund_window_secs": 0}))
        .send()
        .await
        .expect("settings");
    let (_, body) = crate::helpers::into_parts(res).await;
    assert_ne!(body["success"], true, "a window of 0 is refused: {body}");
    tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
    let late = json!({"charge_id": room["charge_id"], "amount": 1, "idempotency_key": "r5"});
    let (status, late) = s.refund(&token, late).await;
    assert_eq!(
        (status, late["error"].clone()),
        (StatusCode::CONFLICT, json!("refund_window_closed")),
        "{late}"
    );
    assert_eq!(s.balance().await, (5000, 5000));
    s.done().await;
}
