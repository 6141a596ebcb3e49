//! The user's side of a limit (issue #19): the connected-apps page and
//! `GET /api/user/authorizations` show it with what the app spent; lowering applies at once,
//! raising needs the confirmation page (or a JSON call with a browser session, never a developer
//! token); bad input and other users' apps change nothing.

use super::{Scene, charge_body};
use crate::helpers::{Backend, TestApp, get_json, into_parts};
use crate::oauth_support::{csrf, register_app, submit};
use crate::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    the_connected_apps_page_shows_the_limit_and_a_lowering_applies_at_once,
    raising_on_the_page_applies_only_after_its_confirmation,
    bad_limits_and_other_users_apps_change_nothing_on_the_page,
    the_json_api_lowers_with_any_credential_and_raises_only_with_a_session,
);

/// The payer's `spend_limit` of the scene's app, as `GET /api/user/authorizations` says it.
async fn listed_limit(s: &Scene) -> Value {
    let (status, list) = get_json(&s.payer, &s.app.url("/api/user/authorizations")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["data"]
        .as_array()
        .expect("items")
        .iter()
        .find(|a| a["client_id"] == s.client.client_id.as_str())
        .map(|a| a["spend_limit"].clone())
        .unwrap_or(Value::Null)
}

async fn connected_apps(app: &TestApp, browser: &Client, lang: &str) -> String {
    let res = browser
        .get(app.url("/user/authorizations"))
        .header("accept-language", lang)
        .send()
        .await
        .expect("page");
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.expect("html")
}

/// Posts the page's limit form: status, Location, body.
async fn change_on_page(
    s: &Scene,
    client_id: &str,
    amount: &str,
    period: &str,
    lang: &str,
) -> (StatusCode, Option<String>, String) {
    let html = connected_apps(&s.app, &s.payer, lang).await;
    let res = s
        .payer
        .post(s.app.url("/user/authorizations/limit"))
        .header("accept-language", lang)
        .form(&[
            ("csrf_token", csrf(&html).as_str()),
            ("client_id", client_id),
            ("spend_amount", amount),
            ("spend_period", period),
        ])
        .send()
        .await
        .expect("post");
    let status = res.status();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, location, res.text().await.expect("body"))
}

async fn limit_changes(app: &TestApp) -> Vec<Value> {
    let admin = app.admin().await;
    let (_, audit) = get_json(
        &admin,
        &app.url("/api/admin/audit?action=consent.limit_changed&page_size=50"),
    )
    .await;
    audit["data"]["items"].as_array().expect("items").clone()
}

async fn the_connected_apps_page_shows_the_limit_and_a_lowering_applies_at_once(backend: Backend) {
    let s = Scene::new(backend).await;
    let token = s.token("5", "month").await;
    let (status, _) = s.charge(&token, charge_body(3000, "a")).await;
    assert_eq!(status, StatusCode::OK);

    let html = connected_apps(&s.app, &s.payer, "en").await;
    for shown in [
        r#"<dd class="spend-limit">$5.00 per month (UTC)</dd>"#,
        r#"<dd class="spent-period">$3.00</dd>"#,
        r#"<dd class="spent-total">$3.00</dd>"#,
        r#"<dd class="spend-remaining">$2.00</dd>"#,
    ] {
        assert!(html.contains(shown), "{shown} not in {html}");
    }
    let zh = connected_apps(&s.app, &s.payer, "zh-CN").await;
    assert!(
        zh.contains("$5.00 每月（UTC）") && zh.contains("本期剩余"),
        "{zh}"
    );
    assert_eq!(
        listed_limit(&s).await,
        json!({"amount": 5000, "period": "month", "spent_this_period": 3000,
               "spent_total": 3000, "remaining": 2000})
    );

    // Lowered below what was spent, on the page: no confirmation, at once.
    let (status, location, _) = change_on_page(&s, &s.client.client_id, "2", "month", "en").await;
    assert_eq!(
        (status, location.as_deref()),
        (
            StatusCode::SEE_OTHER,
            Some("/user/authorizations?done=limit_lowered")
        )
    );
    let (status, refused) = s.charge(&token, charge_body(1, "b")).await;
    assert_eq!(
        (
            status,
            refused["error"].clone(),
            refused["remaining_limit"].clone()
        ),
        (
            StatusCode::FORBIDDEN,
            json!("spend_limit_exceeded"),
            json!(0)
        ),
        "{refused}"
    );
    assert_eq!(listed_limit(&s).await["remaining"], 0);
    let html = connected_apps(&s.app, &s.payer, "en").await;
    assert!(
        html.contains(r#"<dd class="spend-remaining">$0.00</dd>"#),
        "{html}"
    );

    // A month's limit made a day's of the same amount may allow more: asked first.
    let (status, location, _) = change_on_page(&s, &s.client.client_id, "2", "day", "en").await;
    assert_eq!(status, StatusCode::OK, "{location:?}: a raise asks first");
    let changes = limit_changes(&s.app).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["target"], s.client.client_id.as_str());
    assert_eq!(
        (
            changes[0]["detail"]["old"].clone(),
            changes[0]["detail"]["new"].clone(),
            changes[0]["detail"]["raised"].clone()
        ),
        (json!("5000/month"), json!("2000/month"), json!(false))
    );
    s.done().await;
}

async fn raising_on_the_page_applies_only_after_its_confirmation(backend: Backend) {
    let s = Scene::new(backend).await;
    let token = s.token("1", "month").await;
    let (status, _) = s.charge(&token, charge_body(1000, "a")).await;
    assert_eq!(status, StatusCode::OK);

    let (status, _, confirm) = change_on_page(&s, &s.client.client_id, "3", "month", "en").await;
    assert_eq!(status, StatusCode::OK);
    // The app's identity as the consent page shows it, and old → new.
    assert!(confirm.contains("<h1>Test App</h1>"), "{confirm}");
    assert!(
        confirm.contains(r#"<dd class="limit-old">$1.00 per month (UTC)</dd>"#),
        "{confirm}"
    );
    assert!(
        confirm.contains(r#"<dd class="limit-new"><strong>$3.00 per month (UTC)</strong></dd>"#),
        "{confirm}"
    );
    assert_eq!(listed_limit(&s).await["amount"], 1000, "nothing yet");
    let (status, refused) = s.charge(&token, charge_body(1, "b")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");

    // The confirmation without the page's token changes nothing.
    let form = [
        ("client_id", s.client.client_id.as_str()),
        ("amount", "3000"),
        ("period", "month"),
    ];
    let (status, _, _) = submit(
        &s.payer,
        &s.app.url("/user/authorizations/limit/confirm"),
        &[&form[..], &[("csrf_token", "forged")]].concat(),
    )
    .await;
    assert_ne!(status, StatusCode::SEE_OTHER);
    assert_eq!(listed_limit(&s).await["amount"], 1000);

    let (status, location, _) = submit(
        &s.payer,
        &s.app.url("/user/authorizations/limit/confirm"),
        &[&form[..], &[("csrf_token", csrf(&confirm).as_str())]].concat(),
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (
            StatusCode::SEE_OTHER,
            Some("/user/authorizations?done=limit_raised")
        )
    );
    assert_eq!(
        listed_limit(&s).await,
        json!({"amount": 3000, "period": "month", "spent_this_period": 1000,
               "spent_total": 1000, "remaining": 2000})
    );
    let (status, charged) = s.charge(&token, charge_body(2000, "c")).await;
    assert_eq!(
        (status, charged["remaining_limit"].clone()),
        (StatusCode::OK, json!(0)),
        "{charged}"
    );
    // Month → day, or to `total`, may allow more: asked first as well.
    for (amount, period) in [("3", "day"), ("1", "total")] {
        let (status, _, html) = change_on_page(&s, &s.client.client_id, amount, period, "en").await;
        assert_eq!(status, StatusCode::OK, "{amount}/{period}");
        assert!(html.contains(r#"action="/user/authorizations/limit/confirm""#));
    }
    assert_eq!(listed_limit(&s).await["period"], "month");
    let raised = &limit_changes(&s.app).await[0]["detail"];
    assert_eq!(
        (
            raised["old"].clone(),
            raised["new"].clone(),
            raised["raised"].clone()
        ),
        (json!("1000/month"), json!("3000/month"), json!(true))
    );
    s.done().await;
}

async fn bad_limits_and_other_users_apps_change_nothing_on_the_page(backend: Backend) {
    let s = Scene::new(backend).await;
    let _token = s.token("5", "month").await;
    for (amount, period) in [
        ("0", "month"),
        ("-1", "month"),
        ("1.234", "month"),
        ("abc", "month"),
        ("", "month"),
        ("99999999999999999", "month"),
        ("1", "week"),
    ] {
        let (status, _, html) = change_on_page(&s, &s.client.client_id, amount, period, "en").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{amount:?}/{period:?}");
        assert!(
            html.contains("The limit must be an amount above zero"),
            "{amount:?}: {html}"
        );
    }
    let (status, _, html) = change_on_page(&s, &s.client.client_id, "x", "day", "zh-CN").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("限额须为大于 0 的金额"), "{html}");

    // Another user's consent to the same app, and an app this user never authorized: unknown
    // to this user, whatever the amount.
    let (other, _) = s.app.user("other").await;
    let mine = super::token_with_limit(&s.app, &other, &s.client, "5", "month").await;
    assert!(!mine.is_empty());
    let (developer, _) = s.app.user("dev2").await;
    let unrelated = register_app(&s.app, &developer, json!({"scopes": "profile"})).await;
    for client_id in [
        unrelated.client_id.as_str(),
        "client_nope",
        &"x".repeat(300),
    ] {
        for amount in ["1", "50"] {
            let (status, _, _) = change_on_page(&s, client_id, amount, "month", "en").await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{client_id}");
        }
    }
    // The other user lowers theirs; the payer's is unchanged.
    let html = connected_apps(&s.app, &other, "en").await;
    let res = other
        .post(s.app.url("/user/authorizations/limit"))
        .form(&[
            ("csrf_token", csrf(&html).as_str()),
            ("client_id", s.client.client_id.as_str()),
            ("spend_amount", "1"),
            ("spend_period", "month"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(listed_limit(&s).await["amount"], 5000);
    // A forged token changes nothing either.
    let (status, _, _) = submit(
        &s.payer,
        &s.app.url("/user/authorizations/limit"),
        &[
            ("csrf_token", "forged"),
            ("client_id", s.client.client_id.as_str()),
            ("spend_amount", "1"),
            ("spend_period", "month"),
        ],
    )
    .await;
    assert_ne!(status, StatusCode::SEE_OTHER);
    assert_eq!(listed_limit(&s).await["amount"], 5000);
    assert_eq!(
        limit_changes(&s.app).await.len(),
        1,
        "only the other user's"
    );
    s.done().await;
}

async fn put_limit(caller: &reqwest::RequestBuilder, body: Value) -> (StatusCode, Value) {
    let request = caller.try_clone().expect("clone").json(&body);
    into_parts(request.send().await.expect("put")).await
}

async fn the_json_api_lowers_with_any_credential_and_raises_only_with_a_session(backend: Backend) {
    let s = Scene::new(backend).await;
    let token = s.token("5", "month").await;
    let (status, _) = s.charge(&token, charge_body(1000, "a")).await;
    assert_eq!(status, StatusCode::OK);
    let path = format!(
        "/api/user/authorizations/{}/spend_limit",
        s.client.client_id
    );
    let (_, developer_token) = get_json(&s.payer, &s.app.url("/api/user/token")).await;
    let developer_token = developer_token["data"].as_str().expect("token").to_owned();
    let by_token = reqwest::Client::new()
        .put(s.app.url(&path))
        .bearer_auth(&developer_token);
    let by_session = s.payer.put(s.app.url(&path));

    // A developer token lowers…
    let (status, lowered) = put_limit(&by_token, json!({"amount": 3000, "period": "month"})).await;
    assert_eq!(status, StatusCode::OK, "{lowered}");
    assert_eq!(
        lowered["data"],
        json!({"amount": 3000, "period": "month", "spent_this_period": 1000,
               "spent_total": 1000, "remaining": 2000})
    );
    // …but never raises, in amount or by period.
    for body in [
        json!({"amount": 3001, "period": "month"}),
        json!({"amount": 3000, "period": "day"}),
        json!({"amount": 1, "period": "total"}),
    ] {
        let (status, refused) = put_limit(&by_token, body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}: {refused}");
        assert!(
            refused["message"]
                .as_str()
                .unwrap_or_default()
                .contains("开发者令牌"),
            "{refused}"
        );
    }
    assert_eq!(listed_limit(&s).await["amount"], 3000);
    // A browser session raises.
    let (status, raised) = put_limit(&by_session, json!({"amount": 8000, "period": "day"})).await;
    assert_eq!(status, StatusCode::OK, "{raised}");
    assert_eq!(listed_limit(&s).await["period"], "day");

    // Bad bodies: 400, nothing changed.
    for body in [
        json!({"amount": 0, "period": "day"}),
        json!({"amount": -5, "period": "day"}),
        json!({"amount": 1_000_000_000_000_000_001_i64, "period": "day"}),
        json!({"amount": 5, "period": "week"}),
        json!({"amount": "5", "period": "day"}),
        json!({"amount": 1.5, "period": "day"}),
        json!({"period": "day"}),
    ] {
        let (status, refused) = put_limit(&by_session, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {refused}");
        assert_eq!(refused["success"], false);
    }
    assert_eq!(listed_limit(&s).await["amount"], 8000);
    // Unknown apps, and apps without a limit: 404.
    let (developer, _) = s.app.user("dev2").await;
    let plain = register_app(&s.app, &developer, json!({"scopes": "profile"})).await;
    for client_id in [plain.client_id.as_str(), "client_nope"] {
        let res = s
            .payer
            .put(
                s.app
                    .url(&format!("/api/user/authorizations/{client_id}/spend_limit")),
            )
            .json(&json!({"amount": 1, "period": "day"}))
            .send()
            .await
            .expect("put");
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{client_id}");
    }
    // Without a caller: 401.
    let res = reqwest::Client::new()
        .put(s.app.url(&path))
        .json(&json!({"amount": 1, "period": "day"}))
        .send()
        .await
        .expect("put");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = s.charge(&token, charge_body(8000, "b")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "8000/day leaves 7000 today");
    let (status, _) = s.charge(&token, charge_body(4000, "c")).await;
    assert_eq!(status, StatusCode::OK);
    s.done().await;
}
