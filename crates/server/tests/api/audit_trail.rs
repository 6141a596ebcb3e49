//! Core writes the audit record of every app action and every consent revocation: the developer
//! API, the admin API and the pages all reach the same core functions, so one trail covers them.

use crate::helpers::{Backend, TestApp, get_json, into_parts, post_json};
use crate::oauth_support::{CALLBACK, obtain_code, register_app};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    every_app_action_and_consent_revocation_is_audited_by_core,
    sign_ups_sign_ins_and_failed_sign_ins_are_audited,
);

async fn every_app_action_and_consent_revocation_is_audited_by_core(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, developer_id) = app.user("devon").await;
    let (browser, user_id) = app.user("uma").await;
    let admin = app.admin().await;
    let (_, me) = get_json(&admin, &app.url("/api/user/self")).await;
    let admin_id = me["data"]["id"].as_i64().expect("admin id");

    // created (pending) → approved by the admin → secret revealed on the owner's first view
    let registered = register_app(&app, &developer, json!({})).await;
    let id = registered.id;
    let (status, rotated) = post_json(
        &developer,
        &app.url(&format!("/api/oauth_apps/{id}/secret")),
        json!({"grace_seconds": 60}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let res = admin
        .patch(app.url(&format!("/api/admin/oauth_apps/{id}")))
        .json(&json!({"trusted": false, "scopes": "profile balance"}))
        .send()
        .await
        .expect("patch");
    assert_eq!(into_parts(res).await.0, StatusCode::OK);

    // A user authorizes the app, then revokes it; a second revocation finds nothing to record.
    obtain_code(
        &app,
        &browser,
        "/oauth/authorize",
        &[
            ("response_type", "code"),
            ("client_id", &registered.client_id),
            ("redirect_uri", CALLBACK),
            ("scope", "profile"),
            ("state", "s"),
        ],
    )
    .await;
    let revoke = app.url(&format!(
        "/api/user/authorizations/{}",
        registered.client_id
    ));
    let res = browser.delete(&revoke).send().await.expect("revoke");
    assert_eq!(into_parts(res).await.0, StatusCode::OK);
    let res = browser.delete(&revoke).send().await.expect("revoke again");
    assert_eq!(into_parts(res).await.0, StatusCode::NOT_FOUND);

    let (status, disabled) = post_json(
        &admin,
        &app.url(&format!("/api/admin/oauth_apps/{id}/disable")),
        json!({"reason": "spam"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{disabled}");
    let res = developer
        .delete(app.url(&format!("/api/oauth_apps/{id}")))
        .send()
        .await
        .expect("delete");
    assert_eq!(into_parts(res).await.0, StatusCode::OK);

    let (_, audit) = get_json(&admin, &app.url("/api/admin/audit?page_size=200")).await;
    let trail: Vec<(String, Option<i64>, Value)> = audit["data"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .rev()
        .filter(|e| e["target"] == registered.client_id.as_str())
        .map(|e| {
            (
                e["action"].as_str().expect("action").to_owned(),
                e["actor_id"].as_i64(),
                e["detail"].clone(),
            )
        })
        .collect();
    let expected = [
        ("app.created", developer_id),
        ("app.approved", admin_id),
        ("app.secret_revealed", developer_id),
        ("app.secret_rotated", developer_id),
        ("app.updated", admin_id),
        ("consent.granted", user_id),
        ("consent.revoked", user_id),
        ("app.disabled", admin_id),
        ("app.deleted", developer_id),
    ];
    let got: Vec<(&str, Option<i64>)> = trail.iter().map(|(a, u, _)| (a.as_str(), *u)).collect();
    let want: Vec<(&str, Option<i64>)> = expected.iter().map(|&(a, u)| (a, Some(u))).collect();
    assert_eq!(got, want, "{trail:?}");
    assert_eq!(trail[3].2["grace_seconds"], 60);
    assert_eq!(trail[7].2["reason"], "spam");
    assert_eq!(trail[4].2["scopes"], "profile balance");
}

on_both_backends!(admin_user_edits_and_settings_changes_are_audited_by_core);

/// Both doors (the admin API and the admin pages) reach core, which writes the record: the user
/// edit with what it set, the settings change with old and new values and secrets only masked.
async fn admin_user_edits_and_settings_changes_are_audited_by_core(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, user_id) = app.user("edna").await;
    let root = app.admin().await;
    let (_, me) = get_json(&root, &app.url("/api/user/self")).await;
    let root_id = me["data"]["id"].as_i64().expect("root id");

    let res = root
        .patch(app.url(&format!("/api/admin/users/{user_id}")))
        .json(&json!({"quota": 77, "level": 2}))
        .send()
        .await
        .expect("patch user");
    assert_eq!(into_parts(res).await.0, StatusCode::OK);
    let (_, audit) = get_json(&root, &app.url("/api/admin/audit?action=user.updated")).await;
    let entry = &audit["data"]["items"][0];
    assert_eq!(entry["actor_id"], root_id, "{audit}");
    assert_eq!(entry["target"], user_id.to_string(), "{audit}");
    assert_eq!(entry["detail"]["quota"], 77, "{audit}");
    assert_eq!(entry["detail"]["level"], 2, "{audit}");
    assert_eq!(entry["detail"]["role"], Value::Null, "{audit}");

    let (_, before) = get_json(&root, &app.url("/api/admin/settings")).await;
    let res = root
        .put(app.url("/api/admin/settings"))
        .json(&json!({
            "quota_for_new_user": 4242,
            "topup_url": before["data"]["topup_url"],
            "github_client_secret": "gh-secret-value",
        }))
        .send()
        .await
        .expect("put settings");
    let (status, body) = into_parts(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, audit) = get_json(&root, &app.url("/api/admin/audit?action=settings.updated")).await;
    let entry = &audit["data"]["items"][0];
    assert_eq!(entry["actor_id"], root_id, "{audit}");
    let changed = &entry["detail"]["changed"];
    assert_eq!(
        changed["quota_for_new_user"],
        json!({"old": before["data"]["quota_for_new_user"], "new": 4242}),
        "{audit}"
    );
    // An unchanged value sent back is no change; a secret is never written out.
    assert_eq!(changed.get("topup_url"), None, "{audit}");
    assert_eq!(changed["github_client_secret"], "set", "{audit}");
    assert!(!audit.to_string().contains("gh-secret-value"), "{audit}");
}

on_both_backends!(email_binding_and_password_reset_are_audited_by_core);

/// Binding an address (it can then reset the password) and a reset by e-mail each leave a record
/// naming the account, written by core; a refused bind or reset writes none.
async fn email_binding_and_password_reset_are_audited_by_core(backend: Backend) {
    let env = crate::login_module::env(backend, json!({})).await;
    let (user, user_id) = env.app.user("ava").await;
    get_json(
        &user,
        &env.app.url("/api/verification?email=ava@example.com"),
    )
    .await;
    let mails = crate::login_module::wait_for_mail(&env, 1).await;
    let code = crate::login_module::code_in(&mails[0]);
    let bind = |code: String| {
        let url = env.app.url("/api/oauth/email/bind");
        let user = user.clone();
        async move {
            post_json(
                &user,
                &url,
                json!({"email": "ava@example.com", "code": code}),
            )
            .await
        }
    };
    let (_, body) = bind("000000".into()).await;
    assert_eq!(body["success"], false, "{body}");
    let (_, body) = bind(code).await;
    assert_eq!(body["success"], true, "{body}");

    let anonymous = env.app.client();
    get_json(
        &anonymous,
        &env.app.url("/api/reset_password?email=ava@example.com"),
    )
    .await;
    let mails = crate::login_module::wait_for_mail(&env, 2).await;
    let link = mails[1]
        .lines()
        .find(|l| l.contains("/user/reset?"))
        .expect("link")
        .trim()
        .to_owned();
    let query: std::collections::BTreeMap<String, String> =
        serde_urlencoded::from_str(link.split_once('?').expect("query").1).expect("params");
    let reset = |token: String| {
        let url = env.app.url("/api/user/reset");
        async move {
            post_json(
                &reqwest::Client::new(),
                &url,
                json!({"email": "ava@example.com", "token": token, "password": "a-new-password"}),
            )
            .await
        }
    };
    let (_, body) = reset("wrong-token".into()).await;
    assert_eq!(body["success"], false, "{body}");
    let (_, body) = reset(query["token"].clone()).await;
    assert_eq!(body["success"], true, "{body}");

    let admin = env.app.admin().await;
    for action in ["email.bound", "password.reset"] {
        let (_, audit) = get_json(
            &admin,
            &env.app.url(&format!("/api/admin/audit?action={action}")),
        )
        .await;
        let items = audit["data"]["items"].as_array().expect("items");
        assert_eq!(items.len(), 1, "one record for {action}: {audit}");
        assert_eq!(items[0]["actor_id"], user_id, "{audit}");
        assert_eq!(items[0]["target"], user_id.to_string(), "{audit}");
        assert_eq!(items[0]["detail"]["email"], "ava@example.com", "{audit}");
        assert!(!audit.to_string().contains(&query["token"]), "{audit}");
    }
}

on_both_backends!(a_trusted_apps_silent_consent_is_recorded_by_core);

/// A trusted app skips the consent question, but the consent it gets is stored and audited like
/// an answered one, so the trail shows every app a user let in.
async fn a_trusted_apps_silent_consent_is_recorded_by_core(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("tess").await;
    let (browser, user_id) = app.user("ursula").await;
    let admin = app.admin().await;
    let registered = register_app(&app, &developer, json!({})).await;
    let res = admin
        .patch(app.url(&format!("/api/admin/oauth_apps/{}", registered.id)))
        .json(&json!({"trusted": true}))
        .send()
        .await
        .expect("patch");
    assert_eq!(into_parts(res).await.0, StatusCode::OK);
    obtain_code(
        &app,
        &browser,
        "/oauth/authorize",
        &[
            ("response_type", "code"),
            ("client_id", &registered.client_id),
            ("redirect_uri", CALLBACK),
            ("scope", "profile"),
            ("state", "s"),
        ],
    )
    .await;
    let (_, audit) = get_json(&admin, &app.url("/api/admin/audit?action=consent.granted")).await;
    let items = audit["data"]["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{audit}");
    assert_eq!(items[0]["actor_id"], user_id, "{audit}");
    assert_eq!(items[0]["target"], registered.client_id.as_str(), "{audit}");
    assert_eq!(items[0]["detail"]["scopes"], "profile", "{audit}");
}

/// The audit records of `action`, newest first, as the admin API shows them.
async fn records(app: &TestApp, admin: &reqwest::Client, action: &str) -> Vec<Value> {
    let (status, body) = get_json(
        admin,
        &app.url(&format!("/api/admin/audit?action={action}&page_size=100")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn sign_ups_sign_ins_and_failed_sign_ins_are_audited(backend: Backend) {
    use crate::login_module::{env, github_grant, github_login};
    let env = env(backend, json!({})).await;
    let app = &env.app;
    let admin = app.admin().await;

    // A sign-up with a password: the new account is actor and target.
    let body = app.register("nora", "password-123").await;
    let nora = body["data"]["id"].as_i64().expect("id");
    let signed_up = records(app, &admin, "user.registered").await;
    assert_eq!(signed_up.len(), 1, "{signed_up:?}");
    assert_eq!(signed_up[0]["actor_id"], nora);
    assert_eq!(signed_up[0]["target"], nora.to_string());
    assert_eq!(signed_up[0]["detail"]["method"], "password");

    // A sign-up through an upstream provider.
    let (status, body) = github_login(&env, &app.client(), github_grant("7001", "octo")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let octo = body["data"]["user"]["id"].as_i64().expect("id");
    let signed_up = records(app, &admin, "user.registered").await;
    assert_eq!(signed_up.len(), 2);
    assert_eq!(signed_up[0]["actor_id"], octo);
    assert_eq!(signed_up[0]["detail"]["method"], "upstream:github");
    // ...which is a sign-in too, like the upstream login after it.
    let (status, _) = github_login(&env, &app.client(), github_grant("7001", "octo")).await;
    assert_eq!(status, StatusCode::OK);
    let octo_ins: Vec<_> = records(app, &admin, "user.signed_in")
        .await
        .into_iter()
        .filter(|e| e["actor_id"] == octo)
        .collect();
    assert_eq!(octo_ins.len(), 2, "{octo_ins:?}");
    assert_eq!(octo_ins[0]["detail"]["method"], "upstream:github");

    // A password sign-in.
    app.login("nora", "password-123").await;
    let nora_ins: Vec<_> = records(app, &admin, "user.signed_in")
        .await
        .into_iter()
        .filter(|e| e["actor_id"] == nora)
        .collect();
    assert_eq!(nora_ins.len(), 1);
    assert_eq!(nora_ins[0]["detail"]["method"], "password");

    // Failed sign-ins: a wrong password (tied to the account it names), an unknown name (tied
    // to nothing). Never the password.
    for (login, password) in [("NORA", "wrong-secret-1"), ("ghost", "wrong-secret-2")] {
        let (_, body) = crate::helpers::post_json(
            &app.client(),
            &app.url("/api/user/login"),
            json!({"username": login, "password": password}),
        )
        .await;
        assert_eq!(body["success"], false, "{body}");
    }
    let failed = records(app, &admin, "user.sign_in_failed").await;
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(
        (
            failed[0]["target"].clone(),
            failed[0]["detail"]["login"].clone(),
            failed[0]["detail"]["reason"].clone(),
            failed[0]["actor_id"].clone(),
        ),
        (
            json!(""),
            json!("ghost"),
            json!("unknown_user"),
            Value::Null
        )
    );
    assert_eq!(
        (
            failed[1]["target"].clone(),
            failed[1]["detail"]["login"].clone(),
            failed[1]["detail"]["reason"].clone(),
        ),
        (
            json!(nora.to_string()),
            json!("NORA"),
            json!("wrong_password")
        )
    );
    let text = serde_json::to_string(&failed).expect("json");
    assert!(
        !text.contains("wrong-secret"),
        "no password in the log: {text}"
    );

    // The admin's page of the account shows its failed sign-in, in words.
    let (_, _, html) =
        crate::oauth_support::page(&admin, &app.url(&format!("/admin/users/{nora}"))).await;
    assert!(html.contains("title=\"user.sign_in_failed\""), "{html}");
    assert!(html.contains("登录失败") && html.contains("密码错误"));
    assert!(html.contains("title=\"user.registered\""));
}
