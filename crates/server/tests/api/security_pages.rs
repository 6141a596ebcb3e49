//! The security page, registration, password reset and the login page's other ways in.

use crate::helpers::{Backend, TestApp, get_json};
use crate::login_module::{code_in, env, github_grant, github_login, wait_for_mail};
use crate::oauth_support::hidden_fields;
use crate::oauth_support::{csrf, page, submit};
use crate::on_both_backends;
use keyward_core::accounts::two_factor::TwoFactor;
use reqwest::{Client, StatusCode};
use serde_json::json;

on_both_backends!(
    password_change_and_sessions_are_managed_from_the_security_page,
    two_factor_is_enrolled_and_disabled_from_the_security_page,
    identities_and_email_are_managed_from_the_security_page,
    registration_page_honours_the_switches_and_signs_in,
    password_reset_pages_answer_alike_and_end_sessions,
);

async fn signed_in(app: &TestApp, client: &Client) -> bool {
    get_json(client, &app.url("/api/user/self")).await.0 == StatusCode::OK
}

/// The hidden `handle` of the session rows: (handle, is this session).
fn session_handles(html: &str) -> Vec<(String, bool)> {
    html.split("<tr>")
        .skip(1)
        .filter_map(|row| {
            let handle = hidden_fields(row)
                .into_iter()
                .find(|(k, _)| k == "handle")?
                .1;
            Some((handle, row.contains("当前会话")))
        })
        .collect()
}

async fn password_change_and_sessions_are_managed_from_the_security_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a, _) = app.user("sam").await;
    let b = app.login("sam", "password-123").await;
    let (status, _, html) = page(&a, &app.url("/user/security")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let sessions = session_handles(&html);
    assert_eq!(sessions.len(), 2, "{html}");
    assert_eq!(sessions.iter().filter(|(_, me)| *me).count(), 1);
    let token = csrf(&html);

    for path in [
        "/user/security/password",
        "/user/security/sessions/others",
        "/user/security/sessions/end",
        "/user/security/totp/setup",
        "/user/security/email",
        "/user/security/identities/unbind",
    ] {
        let (status, _, _) = submit(
            &a,
            &app.url(path),
            &[
                ("csrf_token", "forged"),
                ("current", "password-123"),
                ("password", "new-password-1"),
                ("password2", "new-password-1"),
                ("handle", &sessions[0].0),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    assert!(signed_in(&app, &b).await, "forged forms change nothing");

    let (_, _, html) = submit(
        &a,
        &app.url("/user/security/password"),
        &[
            ("csrf_token", &token),
            ("current", "wrong-password"),
            ("password", "new-password-1"),
            ("password2", "new-password-1"),
        ],
    )
    .await;
    assert!(html.contains("原密码错误"), "{html}");
    let (status, location, _) = submit(
        &a,
        &app.url("/user/security/password"),
        &[
            ("csrf_token", &token),
            ("current", "password-123"),
            ("password", "new-password-1"),
            ("password2", "new-password-1"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/user/security?done=password"));
    assert!(!signed_in(&app, &b).await, "the other session ended");
    assert!(
        signed_in(&app, &a).await,
        "this browser got a fresh session"
    );

    // End all others, then one by its handle, then this one.
    let b = app.login("sam", "new-password-1").await;
    let c = app.login("sam", "new-password-1").await;
    let (_, _, html) = page(&a, &app.url("/user/security")).await;
    let token = csrf(&html);
    let others: Vec<String> = session_handles(&html)
        .into_iter()
        .filter(|(_, me)| !me)
        .map(|(h, _)| h)
        .collect();
    assert_eq!(others.len(), 2);
    let (status, location, _) = submit(
        &a,
        &app.url("/user/security/sessions/end"),
        &[("csrf_token", &token), ("handle", &others[0])],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/user/security?done=ended"))
    );
    assert_eq!(
        [signed_in(&app, &b).await, signed_in(&app, &c).await]
            .iter()
            .filter(|s| **s)
            .count(),
        1,
        "exactly one other session ended"
    );
    let (status, _, _) = submit(
        &a,
        &app.url("/user/security/sessions/others"),
        &[("csrf_token", &token)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(!signed_in(&app, &b).await && !signed_in(&app, &c).await);
    assert!(signed_in(&app, &a).await);

    // Another user's handle ends nothing.
    let (mallory, _) = app.user("mallory").await;
    let (_, _, evil) = page(&mallory, &app.url("/user/security")).await;
    let (_, _, html) = page(&a, &app.url("/user/security")).await;
    let mine = session_handles(&html).remove(0).0;
    submit(
        &mallory,
        &app.url("/user/security/sessions/end"),
        &[("csrf_token", &csrf(&evil)), ("handle", &mine)],
    )
    .await;
    assert!(
        signed_in(&app, &a).await,
        "a handle only works for its owner"
    );

    let (status, location, _) = submit(
        &a,
        &app.url("/user/security/sessions/end"),
        &[("csrf_token", &token), ("handle", &mine)],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/login"))
    );
    assert!(!signed_in(&app, &a).await);
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs()
}

async fn two_factor_is_enrolled_and_disabled_from_the_security_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, _) = app.user("tess").await;
    let (_, _, html) = page(&user, &app.url("/user/security")).await;
    let token = csrf(&html);
    let (status, _, setup) = submit(
        &user,
        &app.url("/user/security/totp/setup"),
        &[("csrf_token", &token)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{setup}");
    assert!(
        setup.contains("src=\"data:image/svg+xml;base64,"),
        "a QR code: {setup}"
    );
    let fields = hidden_fields(&setup);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .expect(name)
    };
    let url = field("otpauth_url");
    assert!(url.starts_with("otpauth://totp/"));
    let codes: Vec<String> = field("codes")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(codes.len(), 10);

    let (status, _, again) = submit(
        &user,
        &app.url("/user/security/totp/enable"),
        &[
            ("csrf_token", &token),
            ("code", "000000"),
            ("otpauth_url", &url),
            ("codes", &field("codes")),
            ("secret", &field("secret")),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again.contains("验证码错误") && again.contains(&codes[0]),
        "{again}"
    );
    let (_, status) = get_json(&user, &app.url("/api/user/2fa/status")).await;
    assert_eq!(status["data"]["enabled"], false);

    let code = TwoFactor::code_for(&url, now()).expect("code");
    let (status, location, _) = submit(
        &user,
        &app.url("/user/security/totp/enable"),
        &[("csrf_token", &token), ("code", &code)],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/user/security?done=totp_on"))
    );
    let (_, _, html) = page(&user, &app.url("/user/security?done=totp_on")).await;
    assert!(html.contains("两步验证已开启") && html.contains("/user/security/totp/disable"));

    let (_, _, html) = submit(
        &user,
        &app.url("/user/security/totp/disable"),
        &[("csrf_token", &token), ("code", "123")],
    )
    .await;
    assert!(html.contains("验证码错误"), "{html}");
    let (status, location, _) = submit(
        &user,
        &app.url("/user/security/totp/disable"),
        &[("csrf_token", &token), ("code", &codes[3])],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/user/security?done=totp_off"))
    );
    let (_, status) = get_json(&user, &app.url("/api/user/2fa/status")).await;
    assert_eq!(status["data"]["enabled"], false);

    // On again; guessing a code to switch it off is limited.
    let (_, _, setup) = submit(
        &user,
        &app.url("/user/security/totp/setup"),
        &[("csrf_token", &token)],
    )
    .await;
    let fields = hidden_fields(&setup);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .expect(name)
    };
    let code = TwoFactor::code_for(&field("otpauth_url"), now()).expect("code");
    let (status, _, _) = submit(
        &user,
        &app.url("/user/security/totp/enable"),
        &[("csrf_token", &token), ("code", &code)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    for _ in 0..5 {
        submit(
            &user,
            &app.url("/user/security/totp/disable"),
            &[("csrf_token", &token), ("code", "000000")],
        )
        .await;
    }
    let recovery = field("codes");
    let recovery = recovery.split_whitespace().next().expect("a recovery code");
    let (status, _, _) = submit(
        &user,
        &app.url("/user/security/totp/disable"),
        &[("csrf_token", &token), ("code", recovery)],
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "guessing is limited");
    let (_, status) = get_json(&user, &app.url("/api/user/2fa/status")).await;
    assert_eq!(status["data"]["enabled"], true, "still on");
}

async fn identities_and_email_are_managed_from_the_security_page(backend: Backend) {
    let env = env(backend, json!({})).await;
    let app = &env.app;
    let browser = app.client();
    let (_, body) = github_login(&env, &browser, github_grant("7001", "octo")).await;
    assert_eq!(body["success"], true, "{body}");

    let (status, _, html) = page(&browser, &app.url("/user/security")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("GitHub") && html.contains("octo"), "{html}");
    assert!(
        html.contains("/api/oauth/oidc/start?intent=bind&#38;return_to=%2Fuser%2Fsecurity")
            || html.contains("/api/oauth/oidc/start?intent=bind&amp;return_to=%2Fuser%2Fsecurity"),
        "bind buttons for enabled providers: {html}"
    );
    assert!(
        !html.contains("/api/oauth/github/start"),
        "GitHub is bound already"
    );
    let token = csrf(&html);

    // The only way in cannot be removed; with a password set first, it can.
    let (_, _, html) = submit(
        &browser,
        &app.url("/user/security/identities/unbind"),
        &[("csrf_token", &token), ("provider", "github")],
    )
    .await;
    assert!(html.contains("唯一的登录方式"), "{html}");
    let (status, _, _) = submit(
        &browser,
        &app.url("/user/security/password"),
        &[
            ("csrf_token", &token),
            ("password", "first-password"),
            ("password2", "first-password"),
        ],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "a passwordless account may set one"
    );
    let (_, _, html) = page(&browser, &app.url("/user/security")).await;
    let token = csrf(&html);
    let (status, location, _) = submit(
        &browser,
        &app.url("/user/security/identities/unbind"),
        &[("csrf_token", &token), ("provider", "github")],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/user/security?done=unbound"))
    );
    let (_, ids) = get_json(&browser, &app.url("/api/user/identities")).await;
    assert_eq!(ids["data"], json!([]));

    // GitHub gave a verified address: setting the password is told to it.
    let notice = wait_for_mail(&env, 1).await;
    assert!(
        notice[0].contains("octo@example.com") && notice[0].contains("Your password was changed."),
        "{notice:?}"
    );

    // E-mail: a verified address is changed (not bound over): send a code, then enter it.
    let before = env.fakes.mails().len();
    assert!(
        html.contains("/user/security/email/change") && !html.contains("value=\"bind\""),
        "{html}"
    );
    let (status, _, html) = submit(
        &browser,
        &app.url("/user/security/email/change"),
        &[
            ("csrf_token", &token),
            ("action", "send_code"),
            ("email", "octo@example.org"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("验证码已发出") && html.contains("octo@example.org"),
        "{html}"
    );
    let mails = wait_for_mail(&env, before + 1).await;
    let code = code_in(&mails[before]);
    let (_, _, html) = submit(
        &browser,
        &app.url("/user/security/email/change"),
        &[
            ("csrf_token", &token),
            ("action", "change"),
            ("email", "octo@example.org"),
            ("code", "000000"),
        ],
    )
    .await;
    assert!(html.contains("验证码无效或已过期"), "{html}");
    let (status, location, _) = submit(
        &browser,
        &app.url("/user/security/email/change"),
        &[
            ("csrf_token", &token),
            ("action", "change"),
            ("email", "octo@example.org"),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (
            StatusCode::SEE_OTHER,
            Some("/user/security?done=email_changed")
        )
    );
    let (_, me) = get_json(&browser, &app.url("/api/user/self")).await;
    assert_eq!(
        (
            me["data"]["email"].clone(),
            me["data"]["email_verified"].clone()
        ),
        (json!("octo@example.org"), json!(true))
    );

    // The login page offers the enabled providers and the other ways in.
    let anonymous = app.client();
    let (_, _, html) = page(&anonymous, &app.url("/login?return_to=%2Ftopup")).await;
    for provider in ["github", "oidc", "linuxdo"] {
        assert!(
            html.contains(&format!("/api/oauth/{provider}/start?intent=login")),
            "{provider}: {html}"
        );
    }
    assert!(html.contains("href=\"/reset\"") && html.contains("/register?return_to=%2Ftopup"));
    let (status, location, _) = page(
        &anonymous,
        &app.url("/api/oauth/github/start?intent=login&return_to=%2Ftopup"),
    )
    .await;
    assert_eq!(status, StatusCode::FOUND, "the button starts the flow");
    assert!(location.expect("location").starts_with(&env.fakes.base));
}

async fn registration_page_honours_the_switches_and_signs_in(backend: Backend) {
    let env = env(backend, json!({})).await;
    let app = &env.app;
    let browser = app.client();
    let (status, _, html) = page(&browser, &app.url("/register?return_to=%2Ftopup")).await;
    assert_eq!(status, StatusCode::OK);
    let token = csrf(&html);
    assert!(
        html.contains("/api/oauth/github/start?intent=login"),
        "provider buttons: {html}"
    );
    let form = |token: &str, name: &str, pw2: &str| {
        vec![
            ("csrf_token".to_owned(), token.to_owned()),
            ("return_to".to_owned(), "/topup".to_owned()),
            ("username".to_owned(), name.to_owned()),
            ("password".to_owned(), "password-123".to_owned()),
            ("password2".to_owned(), pw2.to_owned()),
            ("action".to_owned(), "register".to_owned()),
        ]
    };
    let post = |fields: Vec<(String, String)>| {
        let browser = browser.clone();
        let url = app.url("/register");
        async move {
            let res = browser
                .post(url)
                .form(&fields)
                .send()
                .await
                .expect("register");
            let status = res.status();
            let location = res
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (status, location, res.text().await.expect("body"))
        }
    };
    let (status, _, _) = post(form("", "newbie", "password-123")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = post(form("forged", "newbie", "password-123")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, _, html) = post(form(&token, "newbie", "password-999")).await;
    assert!(html.contains("两次输入的密码不一致"), "{html}");
    assert!(!signed_in(app, &browser).await);
    let (status, location, _) = post(form(&token, "newbie", "password-123")).await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/topup"))
    );
    let (_, me) = get_json(&browser, &app.url("/api/user/self")).await;
    assert_eq!(
        me["data"]["username"], "newbie",
        "signed in as the new user"
    );

    // E-mail verification on: a code is needed, and proves the address.
    let admin = app.admin().await;
    let set = |change: serde_json::Value| {
        let admin = admin.clone();
        let url = app.url("/api/admin/settings");
        async move {
            let res = admin.put(url).json(&change).send().await.expect("settings");
            let (_, body) = crate::helpers::into_parts(res).await;
            assert_eq!(body["success"], true, "{body}");
        }
    };
    set(json!({"email_verification_enabled": true})).await;
    let visitor = app.client();
    let (_, _, html) = page(&visitor, &app.url("/register")).await;
    assert!(html.contains("name=\"code\""), "{html}");
    let token = csrf(&html);
    let mut fields = form(&token, "mailer", "password-123");
    fields.push(("email".into(), "mailer@example.org".into()));
    let send = |fields: &Vec<(String, String)>| {
        let mut f = fields.clone();
        f.retain(|(k, _)| k != "action");
        f.push(("action".into(), "send_code".into()));
        f
    };
    let post2 = |fields: Vec<(String, String)>| {
        let visitor = visitor.clone();
        let url = app.url("/register");
        async move {
            let res = visitor
                .post(url)
                .form(&fields)
                .send()
                .await
                .expect("register");
            let status = res.status();
            (status, res.text().await.expect("body"))
        }
    };
    let (_, html) = post2(fields.clone()).await;
    assert!(html.contains("管理员开启了邮箱验证"), "{html}");
    let before = env.fakes.mails().len();
    let (_, html) = post2(send(&fields)).await;
    assert!(
        html.contains("验证码已发出") && html.contains("value=\"mailer\""),
        "{html}"
    );
    let code = code_in(&wait_for_mail(&env, before + 1).await[before]);
    fields.push(("code".into(), code));
    let res = visitor
        .post(app.url("/register"))
        .form(&fields)
        .send()
        .await
        .expect("register");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, me) = get_json(&visitor, &app.url("/api/user/self")).await;
    assert_eq!(
        (
            me["data"]["email"].clone(),
            me["data"]["email_verified"].clone()
        ),
        (json!("mailer@example.org"), json!(true))
    );

    // Registration closed: no form, and a forged post is refused too.
    set(json!({"register_enabled": false})).await;
    let late = app.client();
    let (_, _, html) = page(&late, &app.url("/register")).await;
    assert!(
        html.contains("管理员关闭了新用户注册") && !html.contains("name=\"password2\""),
        "{html}"
    );
    // The login page shares the anonymous CSRF cookie: a valid token for a hand-made post.
    let token = csrf(&page(&late, &app.url("/login")).await.2);
    let res = late
        .post(app.url("/register"))
        .form(&form(&token, "late", "password-123"))
        .send()
        .await
        .expect("post");
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("管理员关闭了新用户注册")
    );
    assert!(!signed_in(app, &late).await);
}

async fn password_reset_pages_answer_alike_and_end_sessions(backend: Backend) {
    let env = env(backend, json!({})).await;
    let app = &env.app;
    let (user, _) = app.user("forgetful").await;
    let (_, _, html) = page(&user, &app.url("/user/security")).await;
    let token = csrf(&html);
    submit(
        &user,
        &app.url("/user/security/email"),
        &[
            ("csrf_token", &token),
            ("action", "send_code"),
            ("email", "forgetful@example.org"),
        ],
    )
    .await;
    let code = code_in(&wait_for_mail(&env, 1).await[0]);
    submit(
        &user,
        &app.url("/user/security/email"),
        &[
            ("csrf_token", &token),
            ("action", "bind"),
            ("email", "forgetful@example.org"),
            ("code", &code),
        ],
    )
    .await;

    let anonymous = app.client();
    let (status, _, html) = page(&anonymous, &app.url("/reset")).await;
    assert_eq!(status, StatusCode::OK);
    let token = csrf(&html);
    let (status, _, _) = submit(
        &anonymous,
        &app.url("/reset"),
        &[("csrf_token", "forged"), ("email", "forgetful@example.org")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, _, unknown) = submit(
        &anonymous,
        &app.url("/reset"),
        &[("csrf_token", &token), ("email", "nobody@example.org")],
    )
    .await;
    let (_, _, known) = submit(
        &anonymous,
        &app.url("/reset"),
        &[("csrf_token", &token), ("email", "forgetful@example.org")],
    )
    .await;
    let notice = |html: &str| {
        html.split("class=\"notice\"")
            .nth(1)
            .map(|s| s.split("</p>").next().unwrap_or_default().to_owned())
    };
    assert!(notice(&unknown).is_some());
    assert_eq!(
        notice(&unknown),
        notice(&known),
        "the same answer either way"
    );
    let mails = wait_for_mail(&env, 2).await;
    assert_eq!(mails.len(), 2, "only the real address got mail");
    let link = mails[1]
        .lines()
        .find(|l| l.contains("/user/reset?"))
        .expect("link")
        .trim()
        .to_owned();
    let path = link.split_once(&app.base).expect("our page").1.to_owned();

    let (status, _, html) = page(&anonymous, &app.url(&path)).await;
    assert_eq!(status, StatusCode::OK);
    let fields = hidden_fields(&html);
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .expect(k)
    };
    let mut form = vec![
        ("csrf_token", get("csrf_token")),
        ("email", get("email")),
        ("token", get("token")),
        ("password", "chosen-new-pass".to_owned()),
        ("password2", "chosen-other".to_owned()),
    ];
    let res = anonymous
        .post(app.url("/user/reset"))
        .form(&form)
        .send()
        .await
        .expect("reset");
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("两次输入的密码不一致")
    );
    form[4].1 = "chosen-new-pass".into();
    let mut forged = form.clone();
    forged[0].1 = "forged".into();
    let res = anonymous
        .post(app.url("/user/reset"))
        .form(&forged)
        .send()
        .await
        .expect("reset");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = anonymous
        .post(app.url("/user/reset"))
        .form(&form)
        .send()
        .await
        .expect("reset");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.expect("body").contains("密码已重置"));
    assert!(!signed_in(app, &user).await, "other sessions ended");
    app.login("forgetful", "chosen-new-pass").await;
    let res = anonymous
        .post(app.url("/user/reset"))
        .form(&form)
        .send()
        .await
        .expect("reset");
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("重置链接非法或已过期"),
        "a link works once"
    );
}
