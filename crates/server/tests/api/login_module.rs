//! The platform login module against local fakes of every upstream: GitHub, OIDC, LinuxDO,
//! WeChat, Telegram and SMTP.

use crate::fakes::{CLIENT_ID, CLIENT_SECRET, FakeServer, Grant, WECHAT_TOKEN};
use crate::helpers::{Backend, TestApp, get_json, into_parts, post_json};
use crate::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;

on_both_backends!(
    github_registers_a_new_user_then_logs_the_same_one_in,
    registration_and_provider_switches_are_honoured,
    the_state_is_single_use_and_bound_to_its_browser,
    binding_is_decided_by_the_intent_fixed_at_the_start,
    an_identity_owned_by_another_account_is_never_moved,
    disabled_accounts_and_upstream_failures_get_clean_refusals,
    oidc_uses_pkce_and_a_nonce_and_respects_email_verified,
    linuxdo_enforces_the_minimum_trust_level,
    wechat_codes_log_in_bind_after_auth_and_are_throttled,
    telegram_data_is_verified_fresh_and_bound_once,
    email_codes_are_single_use_attempt_limited_and_reveal_nothing,
    password_reset_lets_the_user_choose_and_ends_sessions,
);

pub(crate) struct Env {
    pub(crate) app: TestApp,
    pub(crate) fakes: FakeServer,
}

pub(crate) async fn env(backend: Backend, extra: Value) -> Env {
    let fakes = FakeServer::start().await;
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let mut settings = json!({
        "github_enabled": true, "github_client_id": CLIENT_ID, "github_client_secret": CLIENT_SECRET,
        "github_web_base": fakes.base, "github_api_base": fakes.base,
        "oidc_enabled": true, "oidc_client_id": CLIENT_ID, "oidc_client_secret": CLIENT_SECRET,
        "oidc_issuer": format!("{}/oidc", fakes.base),
        "linuxdo_enabled": true, "linuxdo_client_id": CLIENT_ID, "linuxdo_client_secret": CLIENT_SECRET,
        "linuxdo_token_url": format!("{}/linuxdo/token", fakes.base), "linuxdo_user_url": format!("{}/linuxdo/user", fakes.base),
        "linuxdo_authorize_url": format!("{}/linuxdo/authorize", fakes.base),
        "wechat_enabled": true, "wechat_server_address": fakes.base, "wechat_server_token": WECHAT_TOKEN,
        "telegram_enabled": true, "telegram_bot_token": "12345:BOT", "telegram_bot_name": "kwbot",
        "smtp_host": "127.0.0.1", "smtp_port": fakes.smtp_port, "smtp_security": "none", "smtp_from": "Keyward <noreply@keyward.test>",
    });
    if let (Some(base), Some(extra)) = (settings.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&settings)
        .send()
        .await
        .expect("settings");
    let (status, body) = into_parts(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true, "{body}");
    assert_eq!(body["data"]["github_client_secret_set"], true);
    assert!(
        body["data"].get("github_client_secret").is_none(),
        "secrets are never read back"
    );
    Env { app, fakes }
}

pub(crate) async fn state_for(env: &Env, browser: &Client, query: &str) -> String {
    let (status, body) = get_json(browser, &env.app.url(&format!("/api/oauth/state{query}"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_str().expect("state").to_owned()
}

pub(crate) async fn callback(
    env: &Env,
    browser: &Client,
    provider: &str,
    code: &str,
    state: &str,
) -> (StatusCode, Value) {
    let query = serde_urlencoded::to_string([("code", code), ("state", state)]).expect("query");
    get_json(
        browser,
        &env.app.url(&format!("/api/oauth/{provider}?{query}")),
    )
    .await
}

pub(crate) fn github_grant(id: &str, login: &str) -> Grant {
    Grant {
        subject: id.into(),
        login: login.into(),
        email: Some((format!("{login}@example.com"), true)),
        ..Grant::default()
    }
}

pub(crate) async fn github_login(env: &Env, browser: &Client, grant: Grant) -> (StatusCode, Value) {
    let state = state_for(env, browser, "").await;
    let code = env.fakes.issue_code(grant);
    callback(env, browser, "github", &code, &state).await
}

async fn github_registers_a_new_user_then_logs_the_same_one_in(backend: Backend) {
    let env = env(backend, json!({})).await;
    let browser = env.app.client();
    let (status, body) = github_login(&env, &browser, github_grant("1001", "admin")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["success"].clone(), body["message"].clone()),
        (json!(true), json!("登录成功"))
    );
    let user = &body["data"]["user"];
    let username = user["username"].as_str().expect("username");
    assert!(
        username.starts_with("github_") && username != "admin",
        "provider handles are never local names: {username}"
    );
    assert_eq!(user["display_name"], "admin Name");
    assert_eq!(
        user["email"], "admin@example.com",
        "a verified address is kept"
    );
    let (status, me) = get_json(&browser, &env.app.url("/api/user/self")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["data"]["email_verified"], true);

    let other = env.app.client();
    let (_, again) = github_login(&env, &other, github_grant("1001", "renamed-login")).await;
    assert_eq!(
        again["data"]["user"]["id"], user["id"],
        "the numeric id, not the login, is the key"
    );
    let (_, list) = get_json(&other, &env.app.url("/api/user/identities")).await;
    assert_eq!(list["data"][0]["provider"], "github");
    // An account made upstream has no password yet, and may set one (no old one to give).
    let res = other
        .put(env.app.url("/api/user/self"))
        .json(&json!({"password": "first-password-1"}))
        .send()
        .await
        .expect("set password");
    let (_, body) = into_parts(res).await;
    assert_eq!(body["success"], true, "{body}");
    let name = user["username"].as_str().expect("username");
    env.app.login(name, "first-password-1").await;
}

async fn registration_and_provider_switches_are_honoured(backend: Backend) {
    let env = env(backend, json!({"github_register_enabled": false})).await;
    let (_, body) = github_login(&env, &env.app.client(), github_grant("2001", "newbie")).await;
    assert_eq!(
        (body["success"].clone(), body["message"].clone()),
        (json!(false), json!("管理员关闭了新用户注册"))
    );
    let env = self::env(backend, json!({"register_enabled": false})).await;
    let (_, body) = github_login(&env, &env.app.client(), github_grant("2002", "newbie")).await;
    assert_eq!(body["message"], "管理员关闭了新用户注册");
    let env = self::env(backend, json!({"github_enabled": false})).await;
    let (status, body) =
        github_login(&env, &env.app.client(), github_grant("2003", "newbie")).await;
    assert_eq!(
        (status, body["message"].clone()),
        (
            StatusCode::OK,
            json!("管理员未开启通过 GitHub 登录以及注册")
        )
    );
    // The switches are validated: enabling a provider needs its credentials.
    let admin = env.app.admin().await;
    let res = admin
        .put(env.app.url("/api/admin/settings"))
        .json(&json!({"github_enabled": true, "github_client_secret": ""}))
        .send()
        .await
        .expect("settings");
    let (_, body) = into_parts(res).await;
    assert_eq!(body["success"], false);
}

async fn the_state_is_single_use_and_bound_to_its_browser(backend: Backend) {
    let env = env(backend, json!({})).await;
    let browser = env.app.client();
    let code = env.fakes.issue_code(github_grant("3001", "x"));
    let (status, body) = callback(&env, &browser, "github", &code, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = callback(&env, &browser, "github", &code, "forged-state").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A state from another browser (another flow cookie) is refused, and is then spent.
    let attacker = env.app.client();
    let state = state_for(&env, &attacker, "").await;
    let (status, _) = callback(&env, &browser, "github", &code, &state).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = callback(&env, &attacker, "github", &code, &state).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a state works once, even after a failure"
    );
    // A state tied to one provider does not work for another.
    let state = state_for(&env, &browser, "?provider=linuxdo").await;
    let (status, _) = callback(&env, &browser, "github", &code, &state).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A good one works once.
    let state = state_for(&env, &browser, "").await;
    let (status, body) = callback(&env, &browser, "github", &code, &state).await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
    let code = env.fakes.issue_code(github_grant("3001", "x"));
    let (status, _) = callback(&env, &browser, "github", &code, &state).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn binding_is_decided_by_the_intent_fixed_at_the_start(backend: Backend) {
    let env = env(backend, json!({})).await;
    let (browser, user_id) = env.app.user("binder").await;
    // Logged in: the state's intent is bind (fixed now, not at callback time).
    let state = state_for(&env, &browser, "").await;
    let code = env.fakes.issue_code(github_grant("4001", "binder-gh"));
    let (_, body) = callback(&env, &browser, "github", &code, &state).await;
    assert_eq!(
        (
            body["success"].clone(),
            body["message"].clone(),
            body["data"]["action"].clone()
        ),
        (json!(true), json!("bind"), json!("bind")),
        "{body}"
    );
    let (_, list) = get_json(&browser, &env.app.url("/api/user/identities")).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1));
    // Logging in with it from elsewhere reaches the same account.
    let (_, body) = github_login(&env, &env.app.client(), github_grant("4001", "binder-gh")).await;
    assert_eq!(body["data"]["user"]["id"], user_id);
    // An explicit login intent while logged in never binds: it logs in as the identity's owner.
    let state = state_for(&env, &browser, "?intent=login").await;
    let code = env.fakes.issue_code(github_grant("4002", "someone-else"));
    let (_, body) = callback(&env, &browser, "github", &code, &state).await;
    assert_eq!(body["message"], "登录成功");
    assert_ne!(
        body["data"]["user"]["id"], user_id,
        "not silently bound to the logged-in user"
    );
    // A bind intent needs a session.
    let (status, _) = get_json(
        &env.app.client(),
        &env.app.url("/api/oauth/state?intent=bind"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn an_identity_owned_by_another_account_is_never_moved(backend: Backend) {
    let env = env(backend, json!({})).await;
    let owner_body = github_login(&env, &env.app.client(), github_grant("5001", "owner"))
        .await
        .1;
    let (thief, _) = env.app.user("thief").await;
    let state = state_for(&env, &thief, "").await;
    let code = env.fakes.issue_code(github_grant("5001", "owner"));
    let (_, body) = callback(&env, &thief, "github", &code, &state).await;
    assert_eq!(
        (body["success"].clone(), body["message"].clone()),
        (json!(false), json!("该 GitHub 账户已被绑定"))
    );
    let (_, body) = github_login(&env, &env.app.client(), github_grant("5001", "owner")).await;
    assert_eq!(body["data"]["user"]["id"], owner_body["data"]["user"]["id"]);
    // One GitHub identity per account.
    let (holder, _) = env.app.user("holder").await;
    for (id, expected) in [
        ("5002", "bind"),
        ("5003", "你已绑定了另一个 GitHub 账户，请先解绑"),
    ] {
        let state = state_for(&env, &holder, "").await;
        let code = env.fakes.issue_code(github_grant(id, "h"));
        let (_, body) = callback(&env, &holder, "github", &code, &state).await;
        assert_eq!(body["message"], expected);
    }
}

async fn disabled_accounts_and_upstream_failures_get_clean_refusals(backend: Backend) {
    let env = env(backend, json!({})).await;
    let (_, body) = github_login(&env, &env.app.client(), github_grant("6001", "banned")).await;
    let id = body["data"]["user"]["id"].as_i64().expect("id");
    let admin = env.app.admin().await;
    admin
        .patch(env.app.url(&format!("/api/admin/users/{id}")))
        .json(&json!({"status": 2}))
        .send()
        .await
        .expect("disable");
    let browser = env.app.client();
    let (_, body) = github_login(&env, &browser, github_grant("6001", "banned")).await;
    assert_eq!(
        (body["success"].clone(), body["message"].clone()),
        (json!(false), json!("用户已被封禁"))
    );
    assert_eq!(
        get_json(&browser, &env.app.url("/api/user/self")).await.0,
        StatusCode::UNAUTHORIZED
    );

    // A bad code: the provider's (hostile) error text is not echoed.
    let state = state_for(&env, &browser, "").await;
    let (status, body) = callback(&env, &browser, "github", "no-such-code", &state).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["message"], "GitHub 获取 Token 失败，请检查设置");
    assert!(!body.to_string().contains("script"));
    // An outage.
    env.fakes.set_broken(true);
    let before = get_json(&admin, &env.app.url("/api/admin/users?page_size=100"))
        .await
        .1["data"]["items"]
        .as_array()
        .map(Vec::len);
    let (_, body) = github_login(&env, &browser, github_grant("6002", "new")).await;
    assert_eq!(body["success"], false);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("GitHub")),
        "{body}"
    );
    let after = get_json(&admin, &env.app.url("/api/admin/users?page_size=100"))
        .await
        .1["data"]["items"]
        .as_array()
        .map(Vec::len);
    assert_eq!(before, after, "nothing was created");
}

async fn oidc_uses_pkce_and_a_nonce_and_respects_email_verified(backend: Backend) {
    let env = env(backend, json!({})).await;
    let browser = env.app.client();
    let res = browser
        .get(env.app.url("/api/oauth/oidc/start?return_to=/welcome"))
        .send()
        .await
        .expect("start");
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_owned();
    assert!(
        location.starts_with(&format!("{}/oidc/authorize?", env.fakes.base)),
        "{location}"
    );
    let params: BTreeMap<String, String> =
        serde_urlencoded::from_str(location.split_once('?').expect("query").1).expect("params");
    assert_eq!(
        params.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    assert_eq!(
        params.get("redirect_uri").map(String::as_str),
        Some(env.app.url("/api/oauth/oidc").as_str())
    );
    let (state, nonce, challenge) = (
        params["state"].clone(),
        params["nonce"].clone(),
        params["code_challenge"].clone(),
    );
    let grant = Grant {
        subject: "oidc-sub-1".into(),
        login: "olive".into(),
        email: Some(("olive@example.com".into(), false)),
        nonce: Some(nonce),
        challenge: Some(challenge),
        ..Grant::default()
    };
    let code = env.fakes.issue_code(grant.clone());
    let res = browser
        .get(
            env.app
                .url(&format!("/api/oauth/oidc?code={code}&state={state}")),
        )
        .send()
        .await
        .expect("callback");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/welcome")
    );
    let (status, me) = get_json(&browser, &env.app.url("/api/user/self")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me["data"]["email"], "",
        "an unverified address is not taken"
    );
    assert_eq!(me["data"]["display_name"], "olive Name");

    // A foreign return_to is replaced by the home page; the flow still completes.
    let third = env.app.client();
    let res = third
        .get(
            env.app
                .url("/api/oauth/oidc/start?return_to=https://evil.example/"),
        )
        .send()
        .await
        .expect("start");
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_owned();
    let params3: BTreeMap<String, String> =
        serde_urlencoded::from_str(location.split_once('?').expect("query").1).expect("params");
    let code = env.fakes.issue_code(Grant {
        subject: "oidc-sub-3".into(),
        login: "third".into(),
        nonce: Some(params3["nonce"].clone()),
        challenge: Some(params3["code_challenge"].clone()),
        ..Grant::default()
    });
    let res = third
        .get(env.app.url(&format!(
            "/api/oauth/oidc?code={code}&state={}",
            params3["state"]
        )))
        .send()
        .await
        .expect("callback");
    assert_eq!(
        res.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/")
    );

    // A wrong nonce in the id_token: refused, back to the page with an error.
    let other = env.app.client();
    let res = other
        .get(env.app.url("/api/oauth/oidc/start?return_to=/welcome"))
        .send()
        .await
        .expect("start");
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_owned();
    let params: BTreeMap<String, String> =
        serde_urlencoded::from_str(location.split_once('?').expect("query").1).expect("params");
    let code = env.fakes.issue_code(Grant {
        nonce: Some("another-nonce".into()),
        challenge: Some(params["code_challenge"].clone()),
        subject: "oidc-sub-2".into(),
        ..Grant::default()
    });
    let res = other
        .get(env.app.url(&format!(
            "/api/oauth/oidc?code={code}&state={}",
            params["state"]
        )))
        .send()
        .await
        .expect("callback");
    let back = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_owned();
    assert!(back.starts_with("/welcome?error="), "{back}");
    assert_eq!(
        get_json(&other, &env.app.url("/api/user/self")).await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn linuxdo_enforces_the_minimum_trust_level(backend: Backend) {
    let env = env(backend, json!({"linuxdo_minimum_trust_level": 2})).await;
    let browser = env.app.client();
    for (level, expected) in [
        (1, "Linux DO 信任等级未达到管理员设置的最低信任等级"),
        (2, "登录成功"),
    ] {
        let state = state_for(&env, &browser, "").await;
        let code = env.fakes.issue_code(Grant {
            subject: "777".into(),
            login: "ldo".into(),
            trust_level: level,
            ..Grant::default()
        });
        let (_, body) = callback(&env, &browser, "linuxdo", &code, &state).await;
        assert_eq!(body["message"], expected, "{body}");
    }
    // The provider's error parameters get a fixed message.
    let state = state_for(&env, &browser, "").await;
    let (_, body) = get_json(&browser, &env.app.url(&format!("/api/oauth/linuxdo?state={state}&error=access_denied&error_description=%3Cb%3Ehi%3C%2Fb%3E"))).await;
    assert_eq!(body["success"], false);
    assert!(!body.to_string().contains("<b>"));
}

async fn wechat_codes_log_in_bind_after_auth_and_are_throttled(backend: Backend) {
    let env = env(backend, json!({})).await;
    let browser = env.app.client();
    let code = env.fakes.wechat_code("openid-1");
    let state = state_for(&env, &browser, "?provider=wechat").await;
    let (_, body) = get_json(
        &browser,
        &env.app
            .url(&format!("/api/oauth/wechat?code={code}&state={state}")),
    )
    .await;
    assert_eq!(body["message"], "登录成功", "{body}");
    assert_eq!(body["data"]["user"]["display_name"], "WeChat User");

    // Bind without a session: refused before the code is spent.
    let (user, _) = env.app.user("wx-binder").await;
    let code = env.fakes.wechat_code("openid-2");
    let (status, _) = get_json(
        &env.app.client(),
        &env.app.url(&format!("/api/oauth/wechat/bind?code={code}")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let res = user
        .post(env.app.url("/api/oauth/wechat/bind"))
        .json(&json!({"code": code}))
        .send()
        .await
        .expect("bind");
    let (_, body) = into_parts(res).await;
    assert_eq!(
        (body["success"].clone(), body["message"].clone()),
        (json!(true), json!("微信账户绑定成功!")),
        "{body}"
    );
    // Someone else's WeChat account cannot be bound.
    let code = env.fakes.wechat_code("openid-1");
    let (_, body) = get_json(
        &user,
        &env.app.url(&format!("/api/oauth/wechat/bind?code={code}")),
    )
    .await;
    assert_eq!(body["success"], false);
    // Guessing is throttled per IP.
    let guesser = env.app.client();
    let mut statuses = Vec::new();
    for i in 0..11 {
        let state = state_for(&env, &guesser, "?provider=wechat").await;
        let (status, body) = get_json(
            &guesser,
            &env.app.url(&format!(
                "/api/oauth/wechat?code={:06}&state={state}",
                900_000 + i
            )),
        )
        .await;
        if status == StatusCode::OK {
            assert_eq!(body["message"], "验证码错误或已过期");
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

fn telegram_query(fields: &[(&str, &str)], token: &str) -> String {
    let mut map: BTreeMap<String, String> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let hash = keyward_upstream::telegram::sign(&map, token);
    map.insert("hash".into(), hash);
    serde_urlencoded::to_string(&map).expect("query")
}

async fn telegram_data_is_verified_fresh_and_bound_once(backend: Backend) {
    let env = env(backend, json!({})).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs()
        .to_string();
    let fields = [
        ("id", "99"),
        ("first_name", "Tele"),
        ("username", "tele"),
        ("auth_date", now.as_str()),
    ];
    let good = telegram_query(&fields, "12345:BOT");
    let browser = env.app.client();
    let (_, body) = get_json(
        &browser,
        &env.app.url(&format!(
            "/api/oauth/telegram/login?{good}&state={}",
            state_for(&env, &browser, "?provider=telegram").await
        )),
    )
    .await;
    assert_eq!(
        body["message"], "该 Telegram 账户未绑定",
        "no registration from Telegram by default"
    );

    let (user, user_id) = env.app.user("tg-user").await;
    let res = user
        .get(env.app.url(&format!("/api/oauth/telegram/bind?{good}")))
        .send()
        .await
        .expect("bind");
    assert_eq!(res.status(), StatusCode::FOUND);
    let (_, body) = get_json(
        &browser,
        &env.app.url(&format!(
            "/api/oauth/telegram/login?{good}&state={}",
            state_for(&env, &browser, "?provider=telegram").await
        )),
    )
    .await;
    assert_eq!(
        (body["message"].clone(), body["data"]["user"]["id"].clone()),
        (json!("登录成功"), json!(user_id))
    );

    // The same data by POST keeps it out of URLs.
    let posted: BTreeMap<String, String> = serde_urlencoded::from_str(&good).expect("fields");
    let (_, body) = post_json(
        &env.app.client(),
        &env.app.url("/api/oauth/telegram/login"),
        json!(posted),
    )
    .await;
    assert_eq!(body["message"], "登录成功", "{body}");

    let tampered = good.replace("first_name=Tele", "first_name=Tela");
    let (_, body) = get_json(
        &browser,
        &env.app.url(&format!(
            "/api/oauth/telegram/login?{tampered}&state={}",
            state_for(&env, &browser, "?provider=telegram").await
        )),
    )
    .await;
    assert_eq!(body["message"], "Telegram验证失败");
    let stale = telegram_query(&[("id", "99"), ("auth_date", "1000")], "12345:BOT");
    let (_, body) = get_json(
        &browser,
        &env.app.url(&format!(
            "/api/oauth/telegram/login?{stale}&state={}",
            state_for(&env, &browser, "?provider=telegram").await
        )),
    )
    .await;
    assert_eq!(body["message"], "Telegram验证失败");
    let forged = telegram_query(&fields, "other:TOKEN");
    let (_, body) = get_json(
        &browser,
        &env.app.url(&format!(
            "/api/oauth/telegram/login?{forged}&state={}",
            state_for(&env, &browser, "?provider=telegram").await
        )),
    )
    .await;
    assert_eq!(body["message"], "Telegram验证失败");

    let (other, _) = env.app.user("tg-other").await;
    let (_, body) = get_json(
        &other,
        &env.app.url(&format!("/api/oauth/telegram/bind?{good}")),
    )
    .await;
    assert_eq!(body["message"], "该Telegram账户已被绑定");
    let (status, _) = get_json(
        &env.app.client(),
        &env.app.url(&format!("/api/oauth/telegram/bind?{good}")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

pub(crate) fn code_in(mail: &str) -> String {
    mail.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a 6-digit code")
        .to_owned()
}

pub(crate) async fn wait_for_mail(env: &Env, count: usize) -> Vec<String> {
    for _ in 0..50 {
        let mails = env.fakes.mails();
        if mails.len() >= count {
            return mails;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    env.fakes.mails()
}

async fn email_codes_are_single_use_attempt_limited_and_reveal_nothing(backend: Backend) {
    let env = env(backend, json!({})).await;
    let (user, _) = env.app.user("mailer").await;
    let (status, body) = get_json(
        &user,
        &env.app.url("/api/verification?email=Mailer@Example.com"),
    )
    .await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
    let mails = wait_for_mail(&env, 1).await;
    assert_eq!(mails.len(), 1);
    let code = code_in(&mails[0]);
    // Without a session, binding is refused before the code is looked at.
    let (status, _) = get_json(
        &env.app.client(),
        &env.app.url(&format!(
            "/api/oauth/email/bind?email=mailer@example.com&code={code}"
        )),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, body) = get_json(
        &user,
        &env.app
            .url("/api/oauth/email/bind?email=mailer@example.com&code=000000"),
    )
    .await;
    assert_eq!(body["message"], "验证码无效或已过期");
    let (_, body) = get_json(
        &user,
        &env.app.url(&format!(
            "/api/oauth/email/bind?email=mailer@example.com&code={code}"
        )),
    )
    .await;
    assert_eq!(
        (body["success"].clone(), body["message"].clone()),
        (json!(true), json!("邮箱账户绑定成功!")),
        "{body}"
    );
    let (_, me) = get_json(&user, &env.app.url("/api/user/self")).await;
    assert_eq!(
        (
            me["data"]["email"].clone(),
            me["data"]["email_verified"].clone()
        ),
        (json!("mailer@example.com"), json!(true))
    );
    let (_, body) = get_json(
        &user,
        &env.app.url(&format!(
            "/api/oauth/email/bind?email=mailer@example.com&code={code}"
        )),
    )
    .await;
    assert_eq!(body["message"], "验证码无效或已过期", "a code works once");

    // Too many wrong attempts kill the code.
    let (other, _) = env.app.user("guesser").await;
    get_json(
        &other,
        &env.app.url("/api/verification?email=guess@example.com"),
    )
    .await;
    let code = code_in(&wait_for_mail(&env, 2).await[1]);
    for _ in 0..5 {
        get_json(
            &other,
            &env.app
                .url("/api/oauth/email/bind?email=guess@example.com&code=111111"),
        )
        .await;
    }
    let (_, body) = get_json(
        &other,
        &env.app.url(&format!(
            "/api/oauth/email/bind?email=guess@example.com&code={code}"
        )),
    )
    .await;
    assert_eq!(body["message"], "验证码无效或已过期");

    // A taken address: the same answer, but no mail (no enumeration).
    let (status, body) = get_json(
        &other,
        &env.app.url("/api/verification?email=mailer@example.com"),
    )
    .await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true))
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(env.fakes.mails().len(), 2);
    let (_, body) = get_json(
        &other,
        &env.app.url("/api/verification?email=not-an-address"),
    )
    .await;
    assert_eq!(body["success"], false);
}

async fn password_reset_lets_the_user_choose_and_ends_sessions(backend: Backend) {
    let env = env(backend, json!({})).await;
    let (user, _) = env.app.user("forgetful").await;
    get_json(
        &user,
        &env.app.url("/api/verification?email=forgetful@example.com"),
    )
    .await;
    let code = code_in(&wait_for_mail(&env, 1).await[0]);
    get_json(
        &user,
        &env.app.url(&format!(
            "/api/oauth/email/bind?email=forgetful@example.com&code={code}"
        )),
    )
    .await;

    let anonymous = env.app.client();
    let (_, body) = get_json(
        &anonymous,
        &env.app.url("/api/reset_password?email=nobody@example.com"),
    )
    .await;
    assert_eq!(
        body["success"], true,
        "unknown addresses get the same answer"
    );
    let (_, body) = get_json(
        &anonymous,
        &env.app
            .url("/api/reset_password?email=forgetful@example.com"),
    )
    .await;
    assert_eq!(body["success"], true);
    let mails = wait_for_mail(&env, 2).await;
    assert_eq!(mails.len(), 2, "only the real address got mail");
    let link = mails[1]
        .lines()
        .find(|l| l.contains("/user/reset?"))
        .expect("link")
        .trim()
        .to_owned();
    let query: BTreeMap<String, String> =
        serde_urlencoded::from_str(link.split_once('?').expect("query").1).expect("params");
    let reset = |token: String| {
        let url = env.app.url("/api/user/reset");
        async move {
            post_json(&reqwest::Client::new(), &url, json!({"email": "forgetful@example.com", "token": token, "password": "chosen-new-pass"})).await
        }
    };
    let (_, body) = reset("wrong-token".into()).await;
    assert_eq!(body["message"], "重置链接非法或已过期");
    let (_, body) = reset(query["token"].clone()).await;
    assert_eq!(body["success"], true, "{body}");
    assert!(body["data"].is_null(), "no password comes back");
    assert_eq!(
        get_json(&user, &env.app.url("/api/user/self")).await.0,
        StatusCode::UNAUTHORIZED,
        "old sessions end"
    );
    env.app.login("forgetful", "chosen-new-pass").await;
    let (_, body) = reset(query["token"].clone()).await;
    assert_eq!(body["success"], false, "a link works once");
}
