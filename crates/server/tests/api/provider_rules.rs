//! One test per rule of SPEC §3.1–3.4, each failing if its rule breaks.

use crate::helpers::{Backend, TestApp, get_json, into_parts, post_json};
use crate::oauth_support::*;
use crate::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    an_unregistered_redirect_uri_gets_a_page_never_a_redirect,
    an_unknown_or_unapproved_client_gets_a_page,
    state_is_echoed_byte_for_byte,
    state_is_required_without_pkce,
    pkce_plain_wrong_missing_and_downgraded_verifiers_are_refused,
    scopes_outside_the_apps_set_are_invalid_scope,
    codes_expire,
    a_replayed_code_kills_the_tokens_of_its_first_redemption,
    concurrent_redemptions_of_one_code_let_exactly_one_win,
    refresh_reuse_kills_the_whole_family,
    concurrent_refreshes_of_one_token_let_exactly_one_win,
    consent_needs_the_sessions_csrf_token,
    denying_consent_redirects_with_access_denied,
    auto_authorize_never_skips_consent_for_an_untrusted_app,
    a_trusted_app_skips_consent,
    wrong_secrets_are_refused_in_each_familys_envelope,
    disabling_a_user_or_an_app_stops_its_tokens_at_once,
    prompt_none_and_prompt_login_are_honoured,
    client_credentials_only_for_apps_allowed_it,
    public_clients_use_pkce_and_no_secret,
    secret_rotation_with_and_without_grace,
    token_endpoints_refuse_hostile_input_in_their_envelopes,
);

struct Fixture {
    app: TestApp,
    registered: RegisteredApp,
    browser: Client,
    user_id: i64,
}

impl Fixture {
    async fn new(backend: Backend, app_body: Value) -> Self {
        Self::with_config(backend, app_body, |_| {}).await
    }

    async fn with_config(
        backend: Backend,
        app_body: Value,
        adjust: impl FnOnce(&mut keyward::config::Config),
    ) -> Self {
        let app = TestApp::spawn_with(backend, adjust).await;
        let (developer, _) = app.user("developer").await;
        let registered = register_app(&app, &developer, app_body).await;
        let (browser, user_id) = app.user("user").await;
        Self {
            app,
            registered,
            browser,
            user_id,
        }
    }

    fn params<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut params = vec![
            ("client_id", self.registered.client_id.as_str()),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("scope", "profile"),
            ("state", "s1"),
        ];
        for (k, v) in extra {
            params.retain(|(key, _)| key != k);
            if !v.is_empty() {
                params.push((k, v));
            }
        }
        params
    }

    async fn code(&self, extra: &[(&str, &str)]) -> String {
        obtain_code(
            &self.app,
            &self.browser,
            "/oauth/authorize",
            &self.params(extra),
        )
        .await
    }

    async fn exchange(&self, code: &str, extra: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("client_id", self.registered.client_id.as_str()),
            ("client_secret", self.registered.client_secret.as_str()),
        ];
        for (k, v) in extra {
            form.retain(|(key, _)| key != k);
            if !v.is_empty() {
                form.push((k, v));
            }
        }
        token_b(&self.app, &form).await
    }

    async fn tokens(&self) -> Value {
        let code = self.code(&[]).await;
        let (status, tokens) = self.exchange(&code, &[]).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        tokens
    }

    async fn refresh(&self, refresh: &str) -> (StatusCode, Value) {
        token_b(
            &self.app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("client_id", self.registered.client_id.as_str()),
                ("client_secret", self.registered.client_secret.as_str()),
            ],
        )
        .await
    }
}

fn s(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .to_owned()
}

async fn an_unregistered_redirect_uri_gets_a_page_never_a_redirect(backend: Backend) {
    let f = Fixture::new(backend, json!({})).await;
    for uri in [
        "https://evil.example/cb",
        "https://app.example.com/oauth/callback/",
        "https://app.example.com/oauth/callback?x=1",
        "",
    ] {
        let (status, location, body) = authorize(
            &f.app,
            &f.browser,
            "/oauth/authorize",
            &f.params(&[("redirect_uri", uri), ("response_type", "token")]),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(location, None, "{uri} was redirected to");
        assert!(body.contains("重定向 URI"), "{body}");
    }
}

async fn an_unknown_or_unapproved_client_gets_a_page(backend: Backend) {
    let f = Fixture::new(backend, json!({})).await;
    let (status, location, _) = authorize(
        &f.app,
        &f.browser,
        "/oauth/authorize",
        &f.params(&[("client_id", "client_nope")]),
    )
    .await;
    assert_eq!((status, location), (StatusCode::BAD_REQUEST, None));
    // A pending app is not usable yet either.
    let (developer, _) = f.app.user("dev2").await;
    let (_, token) = get_json(&developer, &f.app.url("/api/user/token")).await;
    let res = reqwest::Client::new()
        .post(f.app.url("/api/oauth_apps"))
        .bearer_auth(s(&token, "data"))
        .json(&json!({"name": "Pending", "redirect_uri": CALLBACK}))
        .send()
        .await
        .expect("create");
    let (_, created) = into_parts(res).await;
    let pending_id = s(&created["data"], "client_id");
    let (status, location, _) = authorize(
        &f.app,
        &f.browser,
        "/oauth/authorize",
        &f.params(&[("client_id", &pending_id)]),
    )
    .await;
    assert_eq!((status, location), (StatusCode::BAD_REQUEST, None));
}

async fn state_is_echoed_byte_for_byte(backend: Backend) {
    let f = Fixture::new(backend, json!({})).await;
    let state = "a b+c&d=e/f?g#h%20i'\"<>é😀";
    let code_location = {
        let (status, _, body) = authorize(
            &f.app,
            &f.browser,
            "/oauth/authorize",
            &f.params(&[("state", state)]),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (_, location) = answer_consent(&f.app, &f.browser, &body, "approve").await;
        location.expect("location")
    };
    assert_eq!(param(&code_location, "state").as_deref(), Some(state));
    // And on an error redirect too.
    let (_, location, _) = authorize(
        &f.app,
        &f.browser,
        "/oauth/authorize",
        &f.params(&[("state", state), ("scope", "nonsense")]),
    )
    .await;
    let location = location.expect("error redirect");
    assert_eq!(param(&location, "error").as_deref(), Some("invalid_scope"));
    assert_eq!(param(&location, "state").as_deref(), Some(state));
}

async fn state_is_required_without_pkce(backend: Backend) {
    let f = Fixture::new(backend, json!({})).await;
    let (status, location, _) = authorize(
        &f.app,
        &f.browser,
        "/oauth/authorize",
        &f.params(&[("state", "")]),
    )
    .await;
    assert_eq!(status, StatusCode::FOUND);
    let location = location.expect("location");
    assert_eq!(
        param(&location, "error").as_deref(),
        Some("invalid_request")
    );
    assert!(param(&location, "code").is_none());
}

async fn pkce_plain_wrong_missing_and_downgraded_verifiers_are_refused(backend: Backend) {
    let f = Fixture::new(backend, json!({})).await;
    let verifier = "v".repeat(43) + "-._~0123456789";
    let challenge = pkce_challenge(&verifier);

    let (_, location, _) = authorize(
        &f.app,
        &f.browser,
        "/oauth/authorize",
        &f.params(&[
            ("code_challenge", &challenge),
            ("code_challenge_method", "plain"),
        ]),
    )
    .await;
    assert_eq!(
        param(&location.expect("redirect"), "error").as_deref(),
        Some("invalid_request")
    );

    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let code = f.code(&pkce).await;
    let (status, body) = f
        .exchange(&code, &[("code_verifier", &("w".repeat(43)))])
        .await;
    assert_eq!(
        (status, s(&body, "error")),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    let (status, _) = f.exchange(&code, &[]).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a missing verifier is refused"
    );
    let (status, body) = f.exchange(&code, &[("code_verifier", &verifier)]).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the right verifier still works after failed attempts: {body}"
    );

    // A verifier for a code issued without a challenge: the downgrade is refused.
    let code = f.code(&[]).await;
    let (status, body) = f.exchange(&code, &[("code_verifier", &verifier)]).await;
    assert_eq!(
        (status, s(&body, "error")),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
}

fn pkce_challenge(verifier: &str) -> String {
    keyward_core::oauth::pkce::s256_challenge(verifier)
}

async fn scopes_outside_the_apps_set_are_invalid_scope(backend: Backend) {
    let f = Fixture::new(backend, json!({"scopes": "profile"})).await;
    for scope in ["profile balance", "email", "admin"] {
        let (status, location, _) = authorize(
            &f.app,
            &f.browser,
            "/oauth/authorize",
            &f.params(&[("scope", scope)]),
        )
        .await;
        assert_eq!(status, StatusCode::FOUND);
        assert_eq!(
            param(&location.expect("redirect"), "error").as_deref(),
            Some("invalid_scope"),
            "{scope}"
        );
    }
}

async fn codes_expire(backend: Backend) {
    let f = Fixture::with_config(backend, json!({}), |c| c.authorization_code_ttl_secs = 1).await;
    let code = f.code(&[]).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, body) = f.exchange(&code, &[]).await;
    assert_eq!(
        (status, s(&body, "error")),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
}

async fn a_replayed_code_kills_the_tokens_of_its_first_redemption(backend: Backend) {
    let f = Fixture::new(backend, json!({})).await;
    let code = f.code(&[]).await;
    let (status, first) = f.exchange(&code, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let access = s(&first, "access_token");
    assert_eq!(userinfo_b(&f.app, &access).await.0, StatusCode::OK);
    let (status, body) = f.exchange(&code, &[]).await;
    assert_eq!(
        (status, s(&body, "error")),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    assert_eq!(
        userinfo_b(&f.app, &access).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        f.refresh(&s(&first, "refresh_token")).await.0,
        StatusCode::BAD_REQUEST
    );
    let admin = f.app.admin().await;
    let (_, audit) = get_json(
        &admin,
        &f.app.url("/api/admin/audit?action=code.replay_detected"),
    )
    .await;
    assert_eq!(audit["data"]["items"].as_array().map(Vec::len), Some(1));
}

async fn concurrent_redemptions_of_one_code_let_exactly_one_win(backend: Backend) {
    let f = Fixture::new(backend, json!({})).await;
    let code = f.code(&[]).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let url = f.app.url("/api/oauth2/token");
        let form = vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), code.clone()),
            ("redirect_uri".to_owned(), CALLBACK.to_owned()),
            ("client_id".to_owned(), f.registered.client_id.clone()),
            (
                "client_secret".to_owned(),
                f.registered.client_secret.clone(),
            ),
        ];
        tasks.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .form(&form)
                .send()
                .await
                .expect("token")
                .status()
        }));
    }
    let mut wins = 0;
    for task in tasks {
        match task.await.expect("task") {
            StatusCode::OK => wins += 1,
            StatusCode::BAD_REQUEST => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(wins, 1);
}

async fn refresh_reuse_kills_the_whole_family(backend: Backend) {
    let f = Fixture::new(backend, json!({})).await;
    let tokens = f.tokens().await;
    let old_refresh = s(&tokens, "refresh_token");
    let (status, rotated) = f.refresh(&old_refresh).await;
    assert_eq!(status, StatusCode::OK);
    let (new_access, new_refresh) = (s(&rotated, "access_token"), s(&rotated, "refresh_token"));
    assert_eq!(userinfo_b(&f.app, &new_access).await.0, StatusCode::OK);
    // The old refresh token again: refused, and every descendant dies.
    let (status, body) = f.refresh(&old_refresh).await;
    assert_eq!(
        (status, s(&body, "error")),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    assert_eq!(
        userinfo_b(&f.app, &new_access).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        userinfo_b(&f.app, &s(&tokens, "access_token")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(f.refresh(&new_refresh).await.0, StatusCode::BAD_REQUEST);
}

async fn concurrent_refreshes_of_one_token_let_exactly_one_win(backend: Backend) {
    let f = Fixture::new(backend, json!({})).await;
    let refresh = s(&f.tokens().await, "refresh_token");
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let url = f.app.url("/api/oauth2/token");
        let form = vec![
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), refresh.clone()),
            ("client_id".to_owned(), f.registered.client_id.clone()),
            (
                "client_secret".to_owned(),
                f.registered.client_secret.clone(),
            ),
        ];
        tasks.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .form(&form)
                .send()
                .await
                .expect("token")
                .status()
        }));
    }
    let mut wins = 0;
    for task in tasks {
        if task.await.expect("task") == StatusCode::OK {
            wins += 1;
        }
    }
    assert!(
        wins <= 1,
        "{wins} concurrent refreshes of one token succeeded"
    );
}

async fn consent_needs_the_sessions_csrf_token(backend: Backend) {
    let f = Fixture::new(backend, json!({})).await;
    let (_, _, html) = authorize(&f.app, &f.browser, "/oauth/authorize", &f.params(&[])).await;
    let mut fields = hidden_fields(&html);
    fields.retain(|(k, _)| k != "csrf_token");
    fields.push(("decision".into(), "approve".into()));
    for csrf in [None, Some("forged"), Some("")] {
        let mut form = fields.clone();
        if let Some(csrf) = csrf {
            form.push(("csrf_token".into(), csrf.into()));
        }
        let res = f
            .browser
            .post(f.app.url("/oauth/authorize"))
            .form(&form)
            .send()
            .await
            .expect("consent");
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.headers().get("location").is_none());
    }
    // Another user's valid token does not work for this browser either.
    let (other, _) = f.app.user("other").await;
    let (_, _, other_html) = authorize(&f.app, &other, "/oauth/authorize", &f.params(&[])).await;
    let other_csrf = hidden_fields(&other_html)
        .into_iter()
        .find(|(k, _)| k == "csrf_token")
        .expect("csrf");
    let mut form = fields.clone();
    form.push(other_csrf);
    let res = f
        .browser
        .post(f.app.url("/oauth/authorize"))
        .form(&form)
        .send()
        .await
        .expect("consent");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Without any session, nothing is granted.
    let res = f
        .app
        .client()
        .post(f.app.url("/oauth/authorize"))
        .form(&fields)
        .send()
        .await
        .expect("consent");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (_, list) = get_json(&f.browser, &f.app.url("/api/user/authorizations")).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(0));
}

async fn denying_consent_redirects_with_access_denied(backend: Backend) {
    let f = Fixture::new(backend, json!({})).await;
    let (_, _, html) = authorize(&f.app, &f.browser, "/oauth/authorize", &f.params(&[])).await;
    let (status, location) = answer_consent(&f.app, &f.browser, &html, "deny").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.expect("location");
    assert_eq!(param(&location, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&location, "state").as_deref(), Some("s1"));
    assert!(param(&location, "code").is_none());
}

async fn auto_authorize_never_skips_consent_for_an_untrusted_app(backend: Backend) {
    let f = Fixture::new(backend, json!({})).await;
    let (status, location, body) = authorize(
        &f.app,
        &f.browser,
        "/api/oauth2/authorize",
        &f.params(&[("auto_authorize", "true")]),
    )
    .await;
    assert_eq!((status, location), (StatusCode::OK, None));
    assert!(body.contains(r#"value="approve""#));
    // Consent to profile only does not cover profile+balance.
    let (_, _, html) = authorize(&f.app, &f.browser, "/oauth/authorize", &f.params(&[])).await;
    answer_consent(&f.app, &f.browser, &html, "approve").await;
    let (status, _, _) = authorize(
        &f.app,
        &f.browser,
        "/api/oauth2/authorize",
        &f.params(&[("auto_authorize", "true"), ("scope", "profile balance")]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn a_trusted_app_skips_consent(backend: Backend) {
    let f = Fixture::new(backend, json!({})).await;
    let admin = f.app.admin().await;
    let res = admin
        .patch(
            f.app
                .url(&format!("/api/admin/oauth_apps/{}", f.registered.id)),
        )
        .json(&json!({"trusted": true}))
        .send()
        .await
        .expect("trust");
    assert_eq!(res.status(), StatusCode::OK);
    let (status, location, _) = authorize(
        &f.app,
        &f.browser,
        "/api/oauth2/authorize",
        &f.params(&[("auto_authorize", "true")]),
    )
    .await;
    assert_eq!(status, StatusCode::FOUND);
    assert!(param(&location.expect("location"), "code").is_some());
    // The skipped question still leaves a record the user can see and revoke.
    let (_, list) = get_json(&f.browser, &f.app.url("/api/user/authorizations")).await;
    assert_eq!(
        list["data"][0]["client_id"],
        f.registered.client_id.as_str()
    );
}

async fn wrong_secrets_are_refused_in_each_familys_envelope(backend: Backend) {
    let f = Fixture::new(backend, json!({})).await;
    let code = f.code(&[]).await;
    let (status, body) = f
        .exchange(&code, &[("client_secret", "secret_wrong")])
        .await;
    assert_eq!(
        (status, s(&body, "error")),
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    let res = reqwest::Client::new()
        .post(f.app.url("/api/oauth2/token"))
        .basic_auth(&f.registered.client_id, Some("secret_wrong"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        res.headers()
            .get("www-authenticate")
            .is_some_and(|v| v.to_str().is_ok_and(|v| v.starts_with("Basic")))
    );

    let libra = |form: Vec<(&'static str, String)>| {
        let url = f.app.url("/api/oauth/token");
        async move {
            into_parts(
                reqwest::Client::new()
                    .post(url)
                    .form(&form)
                    .send()
                    .await
                    .expect("token"),
            )
            .await
        }
    };
    let base = |secret: &str, client: &str, redirect: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.clone()),
            ("client_id", client.to_owned()),
            ("client_secret", secret.to_owned()),
            ("redirect_uri", redirect.to_owned()),
        ]
    };
    let (status, body) = libra(base("secret_wrong", &f.registered.client_id, CALLBACK)).await;
    assert_eq!(
        (status, body["m"].clone(), body["d"].clone()),
        (
            StatusCode::UNAUTHORIZED,
            json!("无效的客户端密钥"),
            Value::Null
        )
    );
    let (status, body) = libra(base(
        &f.registered.client_secret,
        "client_unknown",
        CALLBACK,
    ))
    .await;
    assert_eq!(
        (status, body["m"].clone()),
        (StatusCode::UNAUTHORIZED, json!("无效的客户端 ID"))
    );
    let (status, body) = libra(base(
        &f.registered.client_secret,
        &f.registered.client_id,
        "https://evil.example/cb",
    ))
    .await;
    assert_eq!(
        (status, body["m"].clone()),
        (StatusCode::BAD_REQUEST, json!("无效的重定向 URI"))
    );
    // With the right secret, basic auth works and the code is still good.
    let res = reqwest::Client::new()
        .post(f.app.url("/api/oauth2/token"))
        .basic_auth(&f.registered.client_id, Some(&f.registered.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), StatusCode::OK);
}

async fn disabling_a_user_or_an_app_stops_its_tokens_at_once(backend: Backend) {
    let f = Fixture::new(backend, json!({})).await;
    let admin = f.app.admin().await;
    let tokens = f.tokens().await;
    let access = s(&tokens, "access_token");
    let res = admin
        .patch(f.app.url(&format!("/api/admin/users/{}", f.user_id)))
        .json(&json!({"status": 2}))
        .send()
        .await
        .expect("disable");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        userinfo_b(&f.app, &access).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(me_a(&f.app, &access).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        f.refresh(&s(&tokens, "refresh_token")).await.0,
        StatusCode::BAD_REQUEST
    );
    admin
        .patch(f.app.url(&format!("/api/admin/users/{}", f.user_id)))
        .json(&json!({"status": 1}))
        .send()
        .await
        .expect("enable");
    assert_eq!(
        userinfo_b(&f.app, &access).await.0,
        StatusCode::UNAUTHORIZED,
        "enabling the user again does not bring old tokens back"
    );

    let (status, body) = post_json(
        &admin,
        &f.app.url(&format!(
            "/api/admin/oauth_apps/{}/disable",
            f.registered.id
        )),
        json!({"reason": "abuse"}),
    )
    .await;
    assert_eq!(
        (status, body["data"]["status"].clone()),
        (StatusCode::OK, json!("disabled"))
    );
    assert_eq!(
        userinfo_b(&f.app, &access).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, location, _) =
        authorize(&f.app, &f.browser, "/oauth/authorize", &f.params(&[])).await;
    assert_eq!((status, location), (StatusCode::BAD_REQUEST, None));
    let (status, _) = f.refresh(&s(&tokens, "refresh_token")).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a disabled app cannot authenticate"
    );
}

async fn prompt_none_and_prompt_login_are_honoured(backend: Backend) {
    let f = Fixture::new(backend, json!({})).await;
    let anonymous = f.app.client();
    let (_, location, _) = authorize(
        &f.app,
        &anonymous,
        "/oauth/authorize",
        &f.params(&[("prompt", "none")]),
    )
    .await;
    assert_eq!(
        param(&location.expect("redirect"), "error").as_deref(),
        Some("login_required")
    );
    let (_, location, _) = authorize(
        &f.app,
        &f.browser,
        "/oauth/authorize",
        &f.params(&[("prompt", "none")]),
    )
    .await;
    assert_eq!(
        param(&location.expect("redirect"), "error").as_deref(),
        Some("consent_required")
    );
    let (_, location, _) = authorize(
        &f.app,
        &f.browser,
        "/oauth/authorize",
        &f.params(&[("prompt", "login")]),
    )
    .await;
    let location = location.expect("login redirect");
    assert!(location.starts_with("/login?return_to="), "{location}");
    assert!(
        !location.contains("prompt%3Dlogin"),
        "the way back must not ask again: {location}"
    );
}

async fn client_credentials_only_for_apps_allowed_it(backend: Backend) {
    let f = Fixture::new(
        backend,
        json!({"grant_types": ["authorization_code", "client_credentials"]}),
    )
    .await;
    let (status, body) = token_b(
        &f.app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &f.registered.client_id),
            ("client_secret", &f.registered.client_secret),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none());
    assert_eq!(
        userinfo_b(&f.app, &s(&body, "access_token")).await.0,
        StatusCode::UNAUTHORIZED,
        "no user behind it"
    );
    // This app has no refresh grant: its code exchange gives no refresh token.
    assert!(f.tokens().await.get("refresh_token").is_none());

    let g = Fixture::new(backend, json!({})).await;
    let (status, body) = token_b(
        &g.app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &g.registered.client_id),
            ("client_secret", &g.registered.client_secret),
        ],
    )
    .await;
    assert_eq!(
        (status, s(&body, "error")),
        (StatusCode::BAD_REQUEST, "unauthorized_client".into())
    );
    let (status, body) = token_b(
        &g.app,
        &[
            ("grant_type", "password"),
            ("client_id", &g.registered.client_id),
            ("client_secret", &g.registered.client_secret),
        ],
    )
    .await;
    assert_eq!(
        (status, s(&body, "error")),
        (StatusCode::BAD_REQUEST, "unsupported_grant_type".into())
    );
}

async fn public_clients_use_pkce_and_no_secret(backend: Backend) {
    let f = Fixture::new(
        backend,
        json!({"public": true, "redirect_uri": "http://127.0.0.1:8765/callback"}),
    )
    .await;
    let params = |extra: &[(&'static str, &'static str)]| {
        let mut p = vec![
            ("client_id", f.registered.client_id.clone()),
            ("redirect_uri", "http://127.0.0.1:8765/callback".to_owned()),
            ("response_type", "code".to_owned()),
            ("state", "x".to_owned()),
        ];
        p.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        p
    };
    let plain = params(&[]);
    let plain: Vec<(&str, &str)> = plain.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, location, _) = authorize(&f.app, &f.browser, "/oauth/authorize", &plain).await;
    assert_eq!(
        param(&location.expect("redirect"), "error").as_deref(),
        Some("invalid_request")
    );

    let verifier = "p".repeat(50);
    let challenge = pkce_challenge(&verifier);
    let mut with_pkce = params(&[("code_challenge_method", "S256")]);
    with_pkce.push(("code_challenge", challenge));
    let with_pkce: Vec<(&str, &str)> = with_pkce.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, _, html) = authorize(&f.app, &f.browser, "/oauth/authorize", &with_pkce).await;
    let (_, location) = answer_consent(&f.app, &f.browser, &html, "approve").await;
    let code = param(&location.expect("location"), "code").expect("code");
    let form = |secret: Option<&str>| {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.clone()),
            ("redirect_uri", "http://127.0.0.1:8765/callback".to_owned()),
            ("client_id", f.registered.client_id.clone()),
            ("code_verifier", verifier.clone()),
        ];
        if let Some(secret) = secret {
            form.push(("client_secret", secret.to_owned()));
        }
        form
    };
    let url = f.app.url("/api/oauth2/token");
    let res = reqwest::Client::new()
        .post(&url)
        .form(&form(Some("secret_x")))
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = reqwest::Client::new()
        .post(&url)
        .form(&form(None))
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), StatusCode::OK);
}

async fn secret_rotation_with_and_without_grace(backend: Backend) {
    let f = Fixture::new(
        backend,
        json!({"grant_types": "authorization_code client_credentials"}),
    )
    .await;
    let (developer_client, _) = (f.app.login("developer", "password-123").await, ());
    let grant = |secret: String| {
        let url = f.app.url("/api/oauth2/token");
        let id = f.registered.client_id.clone();
        async move {
            reqwest::Client::new()
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials".to_owned()),
                    ("client_id", id),
                    ("client_secret", secret),
                ])
                .send()
                .await
                .expect("token")
                .status()
        }
    };
    let old = f.registered.client_secret.clone();
    let (status, rotated) = post_json(
        &developer_client,
        &f.app
            .url(&format!("/api/oauth_apps/{}/secret", f.registered.id)),
        json!({"grace_seconds": 3600}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = s(&rotated["data"], "client_secret");
    assert_ne!(new, old);
    assert_eq!(
        grant(old.clone()).await,
        StatusCode::OK,
        "old secret works during the grace period"
    );
    assert_eq!(grant(new.clone()).await, StatusCode::OK);
    let (_, again) = post_json(
        &developer_client,
        &f.app
            .url(&format!("/api/oauth_apps/{}/secret", f.registered.id)),
        json!({}),
    )
    .await;
    let newest = s(&again["data"], "client_secret");
    assert_eq!(
        grant(new).await,
        StatusCode::UNAUTHORIZED,
        "no grace: the previous secret dies at once"
    );
    assert_eq!(grant(old).await, StatusCode::UNAUTHORIZED);
    assert_eq!(grant(newest).await, StatusCode::OK);
    // Not the owner: the app does not exist for them.
    let (_, body) = post_json(
        &f.browser,
        &f.app
            .url(&format!("/api/oauth_apps/{}/secret", f.registered.id)),
        json!({}),
    )
    .await;
    assert_eq!(body["success"], false);
}

async fn token_endpoints_refuse_hostile_input_in_their_envelopes(backend: Backend) {
    let f = Fixture::new(backend, json!({})).await;
    let code = f.code(&[]).await;
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"grant_type=authorization_code&grant_type=refresh_token".to_vec(),
        b"%%%%".to_vec(),
        b"\xff\xfe\x00".to_vec(),
        format!(
            "grant_type=authorization_code&code={}&client_id={}",
            "x".repeat(100_000),
            f.registered.client_id
        )
        .into_bytes(),
        format!(
            "grant_type=authorization_code&code={code}&code={code}&client_id={}&client_secret={}",
            f.registered.client_id, f.registered.client_secret
        )
        .into_bytes(),
    ];
    for body in &bodies {
        let res = reqwest::Client::new()
            .post(f.app.url("/api/oauth2/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .expect("token");
        let (status, value) = into_parts(res).await;
        assert!(status.is_client_error(), "{status}");
        assert!(value["error"].is_string(), "{value}");
        let res = reqwest::Client::new()
            .post(f.app.url("/api/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .expect("token");
        let (status, value) = into_parts(res).await;
        assert!(status.is_client_error(), "{status}");
        assert!(
            value["c"].as_i64().is_some_and(|c| c != 0) && value["d"].is_null(),
            "{value}"
        );
    }
    for bearer in ["", "kwat_", "kwat_forged", "garbage", &"k".repeat(5000)] {
        assert_eq!(userinfo_b(&f.app, bearer).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(me_a(&f.app, bearer).await.0, StatusCode::UNAUTHORIZED);
    }
    // The code survived all of that.
    assert_eq!(f.exchange(&code, &[]).await.0, StatusCode::OK);
}
