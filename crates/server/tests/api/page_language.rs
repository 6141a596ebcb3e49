//! Pages speak the visitor's language, core errors included (issue 13, defect 5).

use crate::helpers::{Backend, TestApp};
use crate::oauth_support::*;
use crate::on_both_backends;
use keyward_core::accounts::two_factor::TwoFactor;
use reqwest::{Client, StatusCode};

on_both_backends!(
    english_pages_show_core_errors_in_english,
    accept_language_weights_pick_the_page_language,
    english_register_page_says_e_mail_refusals_in_english,
    english_reset_pages_say_refusals_in_english,
    english_second_factor_page_says_a_wrong_code_in_english,
    english_security_page_says_refusals_in_english,
    english_pages_say_their_own_refusals_in_english_only,
);

/// A browser that chose English with the language switch.
pub async fn english_browser(app: &TestApp, client: Client) -> Client {
    let (status, _, _) = page(&client, &app.url("/lang?to=en&return_to=/")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    client
}

/// Fails when an English page shows Chinese anywhere but on the switch to Chinese itself.
pub fn assert_english(what: &str, body: &str) {
    assert!(body.contains("<html lang=\"en\">"), "{what}: {body}");
    let without_switch = body.replace(">中文</a>", "></a>");
    let chinese: String = without_switch
        .chars()
        .filter(|c| matches!(c, '\u{3000}'..='\u{303F}' | '\u{3400}'..='\u{9FFF}' | '\u{FF00}'..='\u{FFEF}'))
        .collect();
    assert!(chinese.is_empty(), "{what}: Chinese {chinese:?} in {body}");
}

async fn english_register_page_says_e_mail_refusals_in_english(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = english_browser(&app, app.client()).await;
    let (_, _, html) = page(&browser, &app.url("/register")).await;
    assert_english("register page", &html);
    let token = csrf(&html);
    for email in ["not-an-address", "alice@example.org"] {
        // A malformed address, then no SMTP server configured.
        let (status, _, body) = submit(
            &browser,
            &app.url("/register"),
            &[
                ("csrf_token", &token),
                ("action", "send_code"),
                ("email", email),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("class=\"error\""), "{email}: {body}");
        assert_english(email, &body);
    }
}

async fn english_reset_pages_say_refusals_in_english(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = english_browser(&app, app.client()).await;
    let (_, _, html) = page(&browser, &app.url("/reset")).await;
    let token = csrf(&html);
    let (status, _, body) = submit(
        &browser,
        &app.url("/reset"),
        &[("csrf_token", &token), ("email", "alice@example.org")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("class=\"error\""), "no SMTP: {body}");
    assert_english("reset request", &body);

    let (_, _, html) = page(
        &browser,
        &app.url("/user/reset?email=alice%40example.org&token=forged"),
    )
    .await;
    let token = csrf(&html);
    let (status, _, body) = submit(
        &browser,
        &app.url("/user/reset"),
        &[
            ("csrf_token", &token),
            ("email", "alice@example.org"),
            ("token", "forged"),
            ("password", "chosen-new-pass"),
            ("password2", "chosen-new-pass"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("class=\"error\""), "bad link: {body}");
    assert_english("reset link", &body);
}

async fn english_second_factor_page_says_a_wrong_code_in_english(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, _) = app.user("tfa").await;
    let (url, _) = crate::two_factor::enrol(&app, &client).await;
    let browser = english_browser(&app, app.client()).await;
    let (_, _, html) = page(&browser, &app.url("/login")).await;
    let (status, _, html) = submit(
        &browser,
        &app.url("/login"),
        &[
            ("csrf_token", &csrf(&html)),
            ("return_to", "/"),
            ("username", "tfa"),
            ("password", "password-123"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"action="/login/2fa""#), "{html}");
    assert_english("second factor page", &html);
    let good = TwoFactor::code_for(&url, crate::two_factor::now()).expect("code");
    let wrong = if good == "000000" { "111111" } else { "000000" };
    let (status, _, body) = submit(
        &browser,
        &app.url("/login/2fa"),
        &[
            ("csrf_token", &csrf(&html)),
            ("return_to", "/"),
            ("code", wrong),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("class=\"error\""), "wrong code: {body}");
    assert_english("wrong second factor", &body);
}

async fn english_security_page_says_refusals_in_english(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, _) = app.user("sec").await;
    let browser = english_browser(&app, client).await;
    let (_, _, html) = page(&browser, &app.url("/user/security")).await;
    assert_english("security page", &html);
    let token = csrf(&html);
    let attempts: [(&str, &[(&str, &str)]); 3] = [
        (
            "/user/security/email",
            &[("action", "send_code"), ("email", "sec@example.org")],
        ),
        (
            "/user/security/email",
            &[
                ("action", "bind"),
                ("email", "sec@example.org"),
                ("code", "123456"),
            ],
        ),
        ("/user/security/totp/disable", &[("code", "123456")]),
    ];
    for (path, fields) in attempts {
        let mut form = vec![("csrf_token", token.as_str())];
        form.extend_from_slice(fields);
        let (_, _, body) = submit(&browser, &app.url(path), &form).await;
        assert!(body.contains("class=\"error\""), "{path}: {body}");
        assert_english(path, &body);
    }
}

async fn english_pages_show_core_errors_in_english(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("alice", "password-123").await;
    let browser = app.client();
    let res = browser
        .get(app.url("/login"))
        .header("accept-language", "en")
        .send()
        .await
        .expect("login page");
    let html = res.text().await.expect("html");
    let res = browser
        .post(app.url("/login"))
        .header("accept-language", "en")
        .form(&[
            ("csrf_token", csrf(&html).as_str()),
            ("return_to", "/"),
            ("username", "alice"),
            ("password", "wrong-password"),
        ])
        .send()
        .await
        .expect("login");
    let body = res.text().await.expect("body");
    assert!(
        body.contains("Wrong user name or password"),
        "English words: {body}"
    );
    assert!(!body.contains("用户名或密码错误"), "{body}");

    // The same failure on a Chinese page keeps the seed's words.
    let res = browser
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf(&html).as_str()),
            ("return_to", "/"),
            ("username", "alice"),
            ("password", "wrong-password"),
        ])
        .send()
        .await
        .expect("login");
    assert!(res.text().await.expect("body").contains("用户名或密码错误"));

    let res = browser
        .get(app.url(
            "/oauth/authorize?client_id=client_nope&redirect_uri=https%3A%2F%2Fx.example%2Fcb&response_type=code&state=s",
        ))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .expect("authorize");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.expect("body");
    assert!(body.contains("Unknown or unapproved app"), "{body}");
    assert!(!body.contains("无效的客户端"), "{body}");
}

async fn accept_language_weights_pick_the_page_language(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (header, lang) in [
        ("zh-CN;q=0.1, en;q=0.9", "en"),
        ("en;q=0.2, zh;q=0.8", "zh-CN"),
        ("fr-FR, en;q=0.5", "en"),
        ("en;q=0, *", "zh-CN"),
    ] {
        let res = app
            .client()
            .get(app.url("/login"))
            .header("accept-language", header)
            .send()
            .await
            .expect("login page");
        let html = res.text().await.expect("html");
        assert!(
            html.contains(&format!("<html lang=\"{lang}\">")),
            "{header} → {lang}"
        );
    }
}

/// The refusals pages make themselves (not core's errors): a consent answer without its session's
/// token, an admin page for a user, a logout with a bad `id_token_hint`, a malformed consent
/// answer. They used to carry both languages side by side.
async fn english_pages_say_their_own_refusals_in_english_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, _) = app.user("alice").await;
    let browser = english_browser(&app, user).await;

    let (status, _, body) = submit(
        &browser,
        &app.url("/oauth/authorize"),
        &[
            ("csrf_token", "forged"),
            ("decision", "approve"),
            ("client_id", "x"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("no longer valid"), "{body}");
    assert_english("consent with a forged token", &body);

    let res = browser
        .post(app.url("/oauth/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("decision=approve&decision=deny")
        .send()
        .await
        .expect("malformed consent");
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_english("malformed consent", &res.text().await.expect("body"));

    let (status, _, body) = page(&browser, &app.url("/admin")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_english("admin page for a user", &body);

    let (status, _, body) =
        page(&browser, &app.url("/oauth2/logout?id_token_hint=not.a.jwt")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_english("logout with a bad id_token_hint", &body);
}
