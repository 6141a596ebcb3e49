//! Issue #19: apps spending the user's balance within the limit set at consent, exactly once,
//! on the ledger. Every scenario ends with the ledger invariant checked.

mod crash;
mod device;
mod faults;
mod limits;
mod notices;
mod races;
mod rates;
mod refunds;
mod statement_pages;

use crate::helpers::{Backend, TestApp, get_json, into_parts};
use crate::oauth_support::{
    CALLBACK, RegisteredApp, authorize, param, register_app, submit_consent, token_b,
};
use crate::on_both_backends;
use keyward::config::Config;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// A node with a funded user (`payer`, 5000 quota units; 1000 units a currency unit) and an
/// approved app that an admin allowed to spend.
pub struct Scene {
    pub app: TestApp,
    pub payer: Client,
    pub payer_id: i64,
    pub client: RegisteredApp,
}

impl Scene {
    pub async fn new(backend: Backend) -> Self {
        Self::new_with(backend, |_| {}).await
    }

    /// The same on a node whose configuration `configure` changed.
    pub async fn new_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Self {
        let app = TestApp::spawn_with(backend, configure).await;
        let (developer, _) = app.user("dev").await;
        let client = register_app(
            &app,
            &developer,
            json!({"scopes": "profile balance", "grant_types": ["authorization_code", "refresh_token"]}),
        )
        .await;
        allow_spending(&app, client.id, json!({"may_spend": true})).await;
        let (payer, payer_id) = app.user("payer").await;
        set_quota(&app, payer_id, 5000).await;
        Self {
            app,
            payer,
            payer_id,
            client,
        }
    }

    /// A `balance:spend` access token of the payer, with the limit typed on the consent form
    /// (`amount` in currency units, `period`).
    pub async fn token(&self, amount: &str, period: &str) -> String {
        token_with_limit(&self.app, &self.payer, &self.client, amount, period).await
    }

    pub async fn charge(&self, token: &str, body: Value) -> (StatusCode, Value) {
        bearer_post(&self.app, "/api/oauth2/balance/charge", token, body).await
    }

    pub async fn refund(&self, token: &str, body: Value) -> (StatusCode, Value) {
        bearer_post(&self.app, "/api/oauth2/balance/refund", token, body).await
    }

    /// The payer's `quota` and `used_quota`.
    pub async fn balance(&self) -> (i64, i64) {
        // A fresh login: a scenario may have ended the payer's sessions (disabling does).
        let payer = self.app.login("payer", "password-123").await;
        let (_, me) = get_json(&payer, &self.app.url("/api/user/self")).await;
        (
            me["data"]["quota"].as_i64().expect("quota"),
            me["data"]["used_quota"].as_i64().expect("used_quota"),
        )
    }

    /// A second app with client credentials (the platform's gateway), not yet marked the billing
    /// service, and a token of it.
    pub async fn gateway_token(&self) -> (RegisteredApp, String) {
        let (developer, _) = self.app.user("gateway-dev").await;
        let gateway = register_app(
            &self.app,
            &developer,
            json!({"scopes": "balance", "grant_types": ["client_credentials"]}),
        )
        .await;
        let (status, issued) = token_b(
            &self.app,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &gateway.client_id),
                ("client_secret", &gateway.client_secret),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{issued}");
        let token = issued["access_token"].as_str().expect("token").to_owned();
        (gateway, token)
    }

    pub async fn done(self) {
        self.app.assert_ledger_adds_up().await;
        self.app.stop().await;
    }
}

pub async fn allow_spending(app: &TestApp, id: i64, flags: Value) {
    let admin = app.admin().await;
    let res = admin
        .patch(app.url(&format!("/api/admin/oauth_apps/{id}")))
        .json(&flags)
        .send()
        .await
        .expect("patch app");
    let (status, body) = into_parts(res).await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
}

pub async fn set_quota(app: &TestApp, user: i64, quota: i64) {
    let admin = app.admin().await;
    let res = admin
        .patch(app.url(&format!("/api/admin/users/{user}")))
        .json(&json!({"quota": quota}))
        .send()
        .await
        .expect("patch user");
    let (_, body) = into_parts(res).await;
    assert_eq!(body["success"], true, "{body}");
}

/// The consent page for `balance balance:spend` (with `extra` authorize parameters).
pub async fn consent_page(
    app: &TestApp,
    browser: &Client,
    client: &RegisteredApp,
    extra: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("scope", "balance balance:spend"),
        ("state", "s1"),
    ];
    params.extend_from_slice(extra);
    authorize(app, browser, "/oauth/authorize", &params).await
}

/// Approves the consent page with a limit; returns status and Location.
pub async fn approve_with_limit(
    app: &TestApp,
    browser: &Client,
    html: &str,
    amount: Option<&str>,
    period: &str,
) -> (StatusCode, Option<String>) {
    let mut fields = vec![("spend_period", period)];
    fields.extend(amount.map(|amount| ("spend_amount", amount)));
    submit_consent(app, browser, html, "approve", &fields).await
}

pub async fn token_with_limit(
    app: &TestApp,
    browser: &Client,
    client: &RegisteredApp,
    amount: &str,
    period: &str,
) -> String {
    let (status, location, html) =
        consent_page(app, browser, client, &[("prompt", "consent")]).await;
    assert_eq!(status, StatusCode::OK, "{location:?} {html}");
    let (status, location) = approve_with_limit(app, browser, &html, Some(amount), period).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location:?}");
    let location = location.expect("location");
    let code = param(&location, "code").unwrap_or_else(|| panic!("no code: {location}"));
    let (status, tokens) = token_b(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("client_id", &client.client_id),
            ("client_secret", &client.client_secret),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "balance balance:spend", "{tokens}");
    tokens["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

pub async fn bearer_post(
    app: &TestApp,
    path: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("post");
    into_parts(res).await
}

pub async fn bearer_post_raw(
    app: &TestApp,
    path: &str,
    token: &str,
    body: &str,
) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("post");
    into_parts(res).await
}

pub fn charge_body(amount: i64, key: &str) -> Value {
    json!({"amount": amount, "idempotency_key": key, "description": "a model call"})
}

on_both_backends!(
    a_charge_moves_the_balance_once_within_the_limit_and_shows_on_the_statement,
    the_consent_sets_the_limit_and_revoking_it_stops_charges_at_once,
    only_apps_allowed_to_spend_may_ask_and_a_limit_is_required,
    the_billing_service_charges_any_user_without_a_limit,
);

async fn a_charge_moves_the_balance_once_within_the_limit_and_shows_on_the_statement(
    backend: Backend,
) {
    let s = Scene::new(backend).await;
    // 1.5 currency units a month = 1500 quota units.
    let token = s.token("1.5", "month").await;
    let (status, first) = s.charge(&token, charge_body(600, "order-1")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["amount"], 600);
    assert_eq!(
        (first["quota"].clone(), first["used_quota"].clone()),
        (json!(5000), json!(600))
    );
    assert_eq!(first["balance_formatted"], "4.40");
    assert_eq!(first["remaining_limit"], 900);
    let charge_id = first["charge_id"].as_i64().expect("charge_id");

    // The same key and body: the first answer again, nothing moved.
    let (status, again) = s.charge(&token, charge_body(600, "order-1")).await;
    assert_eq!((status, &again), (StatusCode::OK, &first));
    assert_eq!(s.balance().await, (5000, 600));
    // The same key with another body: a conflict, nothing moved.
    let (status, other) = s.charge(&token, charge_body(601, "order-1")).await;
    assert_eq!(
        (status, other["error"].clone()),
        (StatusCode::CONFLICT, json!("idempotency_conflict")),
        "{other}"
    );
    let (status, other) = s
        .charge(
            &token,
            json!({"amount": 600, "idempotency_key": "order-1", "description": "else"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{other}");

    // Above what the limit still allows: refused with what remains.
    let (status, over) = s.charge(&token, charge_body(901, "order-2")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{over}");
    assert_eq!(
        (over["error"].clone(), over["remaining_limit"].clone()),
        (json!("spend_limit_exceeded"), json!(900))
    );
    let (status, fits) = s.charge(&token, charge_body(900, "order-3")).await;
    assert_eq!(
        (status, fits["remaining_limit"].clone()),
        (StatusCode::OK, json!(0)),
        "{fits}"
    );
    assert_eq!(s.balance().await, (5000, 1500));

    // The statement: newest first, the app named.
    let (_, statement) = get_json(&s.payer, &s.app.url("/api/user/ledger")).await;
    assert_eq!(statement["success"], true, "{statement}");
    let items = statement["data"]["items"].as_array().expect("items");
    let kinds: Vec<&str> = items
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["charge", "charge", "admin"], "{statement}");
    assert_eq!(items[1]["id"], charge_id);
    assert_eq!(items[1]["used_delta"], 600);
    assert_eq!(items[1]["client_id"], s.client.client_id.as_str());
    assert_eq!(items[1]["description"], "a model call");
    // An admin sees any account's; a user cannot read the admin listing.
    let admin = s.app.admin().await;
    let (_, theirs) = get_json(
        &admin,
        &s.app
            .url(&format!("/api/admin/users/{}/ledger", s.payer_id)),
    )
    .await;
    assert_eq!(theirs["data"]["items"], statement["data"]["items"]);
    let (_, refused) = get_json(
        &s.payer,
        &s.app
            .url(&format!("/api/admin/users/{}/ledger", s.payer_id)),
    )
    .await;
    assert_ne!(refused["success"], true, "{refused}");
    s.done().await;
}

async fn the_consent_sets_the_limit_and_revoking_it_stops_charges_at_once(backend: Backend) {
    let s = Scene::new(backend).await;
    // The app's suggestion pre-fills the form, in the currency.
    let (status, _, html) =
        consent_page(&s.app, &s.payer, &s.client, &[("spend_limit", "2500/day")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(r#"name="spend_amount" value="2.50""#),
        "{html}"
    );
    assert!(html.contains(r#"<option value="day" selected>"#), "{html}");
    // A bad suggestion is the app's error, sent back to it.
    let (status, location, _) =
        consent_page(&s.app, &s.payer, &s.client, &[("spend_limit", "-5/day")]).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(
        param(&location.clone().unwrap_or_default(), "error").as_deref(),
        Some("invalid_request"),
        "{location:?}"
    );

    let token = s.token("1", "total").await;
    let (status, _) = s.charge(&token, charge_body(800, "a")).await;
    assert_eq!(status, StatusCode::OK);
    // Lowered below what was spent: nothing remains.
    let lowered = s.token("0.5", "total").await;
    let (status, over) = s.charge(&lowered, charge_body(1, "b")).await;
    assert_eq!(
        (status, over["remaining_limit"].clone()),
        (StatusCode::FORBIDDEN, json!(0)),
        "{over}"
    );
    // The older token of the grant sees the same lowered limit.
    let (status, _) = s.charge(&token, charge_body(1, "c")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Revoked: every token of the app stops at once.
    let res = s
        .payer
        .delete(
            s.app
                .url(&format!("/api/user/authorizations/{}", s.client.client_id)),
        )
        .send()
        .await
        .expect("revoke");
    assert_eq!(res.status(), StatusCode::OK);
    for token in [&token, &lowered] {
        let (status, refused) = s.charge(token, charge_body(1, "d")).await;
        assert_eq!(
            (status, refused["error"].clone()),
            (StatusCode::UNAUTHORIZED, json!("invalid_token")),
            "{refused}"
        );
    }
    assert_eq!(s.balance().await, (5000, 800));
    s.done().await;
}

async fn only_apps_allowed_to_spend_may_ask_and_a_limit_is_required(backend: Backend) {
    let s = Scene::new(backend).await;
    // Approving without a usable limit is refused, and no code is issued.
    for amount in [None, Some("0"), Some("-1"), Some("abc"), Some("1.234")] {
        let (status, _, html) = consent_page(&s.app, &s.payer, &s.client, &[]).await;
        assert_eq!(status, StatusCode::OK);
        let (status, location) = approve_with_limit(&s.app, &s.payer, &html, amount, "month").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{amount:?} {location:?}");
    }
    // The admin takes the permission back: balance:spend is now an invalid scope.
    allow_spending(&s.app, s.client.id, json!({"may_spend": false})).await;
    let (status, location, _) = consent_page(&s.app, &s.payer, &s.client, &[]).await;
    assert_eq!(status, StatusCode::FOUND);
    let location = location.unwrap_or_default();
    assert_eq!(
        param(&location, "error").as_deref(),
        Some("invalid_scope"),
        "{location}"
    );
    s.done().await;
}

async fn the_billing_service_charges_any_user_without_a_limit(backend: Backend) {
    let s = Scene::new(backend).await;
    let (gateway, token) = s.gateway_token().await;
    let body = json!({"amount": 4000, "idempotency_key": "meter-1", "user_id": s.payer_id});
    // Not yet the billing service: refused.
    let (status, _) = s.charge(&token, body.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    allow_spending(&s.app, gateway.id, json!({"billing_service": true})).await;
    let (status, charged) = s.charge(&token, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{charged}");
    assert_eq!(
        (
            charged["used_quota"].clone(),
            charged["remaining_limit"].clone()
        ),
        (json!(4000), Value::Null)
    );
    // Without a user: a bad request; the balance still bounds it.
    let (status, _) = s
        .charge(&token, json!({"amount": 1, "idempotency_key": "meter-2"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, poor) = s
        .charge(
            &token,
            json!({"amount": 1001, "idempotency_key": "meter-3", "user_id": s.payer_id}),
        )
        .await;
    assert_eq!(
        (status, poor["error"].clone()),
        (StatusCode::PAYMENT_REQUIRED, json!("insufficient_balance"))
    );
    // A user's grant may not name another user.
    let user_token = s.token("1", "day").await;
    let (status, _) = s
        .charge(
            &user_token,
            json!({"amount": 1, "idempotency_key": "x", "user_id": s.payer_id + 100}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(s.balance().await, (5000, 4000));
    s.done().await;
}
