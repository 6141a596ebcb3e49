//! Pages speak the visitor's language, core errors included (issue 13, defect 5).

use crate::helpers::{Backend, TestApp};
use crate::oauth_support::*;
use crate::on_both_backends;
use reqwest::StatusCode;

on_both_backends!(
    english_pages_show_core_errors_in_english,
    accept_language_weights_pick_the_page_language,
);

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
