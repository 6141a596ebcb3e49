//! Pages people trust (#17, item 7): sessions named by browser and system, balances with their
//! currency, the integration guide as a page in both languages, errors attached to their
//! fields, the first field focused, and a login failure that accuses no one.

use crate::helpers::{Backend, TestApp, into_parts};
use crate::oauth_support::{csrf, page, submit};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    sessions_and_activity_name_the_browser_and_system,
    balances_are_written_in_the_settings_currency,
    field_errors_are_attached_to_their_fields,
);

const CHROME_ON_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

async fn sessions_and_activity_name_the_browser_and_system(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("nia", "password-123").await;
    let browser = app.client();
    let res = browser
        .post(app.url("/api/user/login"))
        .header("user-agent", CHROME_ON_WINDOWS)
        .json(&json!({"username": "nia", "password": "password-123"}))
        .send()
        .await
        .expect("login");
    let (_, body) = into_parts(res).await;
    assert_eq!(body["success"], true, "{body}");

    let (status, _, html) = page(&browser, &app.url("/user/security")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("Chrome · Windows"),
        "the session's name: {html}"
    );
    assert!(
        !html.contains(">Mozilla/5.0"),
        "no raw user agent as the name: {html}"
    );
    assert!(
        html.contains("<table class=\"cards\">") && html.contains("data-label="),
        "the table becomes cards on phones: {html}"
    );

    let (status, _, html) = page(&browser, &app.url("/user/security/activity")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Chrome · Windows"), "{html}");
    assert!(!html.contains("Mozilla/5.0"), "{html}");
}

async fn balances_are_written_in_the_settings_currency(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, id) = app.user("cai").await;
    let admin = app.admin().await;
    admin
        .patch(app.url(&format!("/api/admin/users/{id}")))
        .json(&json!({"quota": 1_250_000, "used_quota": 250_000}))
        .send()
        .await
        .expect("patch");
    let (_, _, html) = page(&user, &app.url("/")).await;
    assert!(html.contains("$1000.00"), "the default currency: {html}");
    let (_, _, html) = page(&user, &app.url("/topup")).await;
    assert!(html.contains("$1000.00"), "{html}");
    assert!(
        html.contains("1250000 额度单位"),
        "raw quota is labelled: {html}"
    );

    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&json!({"currency_symbol": "¥"}))
        .send()
        .await
        .expect("put");
    let (_, body) = into_parts(res).await;
    assert_eq!(body["success"], true, "{body}");
    let (_, _, html) = page(&user, &app.url("/")).await;
    assert!(html.contains("¥1000.00"), "the chosen currency: {html}");
    assert!(!html.contains("$1000.00"), "{html}");
}

/// `aria-invalid` and `aria-describedby` on the field, the message right after it.
fn attached(html: &str, field: &str) -> bool {
    html.contains(&format!(
        "aria-invalid=\"true\" aria-describedby=\"{field}-error\""
    )) && html.contains(&format!("<p id=\"{field}-error\" class=\"error\">"))
}

async fn field_errors_are_attached_to_their_fields(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("fay", "password-123").await;
    let browser = app.client();

    // The login page focuses the first field; a failure is said at the password, plainly.
    let (_, _, html) = page(&browser, &app.url("/login")).await;
    let username = html
        .split("<input id=\"username\"")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .unwrap_or_default();
    assert!(username.contains("autofocus"), "{html}");
    let (_, _, html) = submit(
        &browser,
        &app.url("/login"),
        &[
            ("csrf_token", &csrf(&html)),
            ("return_to", "/"),
            ("username", "fay"),
            ("password", "wrong-password"),
        ],
    )
    .await;
    assert!(attached(&html, "password"), "{html}");
    assert!(html.contains(">用户名或密码错误</p>"), "{html}");
    assert!(
        !html.contains("封禁"),
        "no typo is told it may be banned: {html}"
    );

    // Registration: the second password.
    let (_, _, html) = page(&browser, &app.url("/register")).await;
    let (_, _, html) = submit(
        &browser,
        &app.url("/register"),
        &[
            ("csrf_token", &csrf(&html)),
            ("action", "register"),
            ("username", "gus"),
            ("password", "password-123"),
            ("password2", "password-456"),
        ],
    )
    .await;
    assert!(attached(&html, "password2"), "{html}");

    // Signed in: the top-up code and the current password.
    let fay = app.login("fay", "password-123").await;
    let (_, _, html) = page(&fay, &app.url("/topup")).await;
    let (_, _, html) = submit(
        &fay,
        &app.url("/topup"),
        &[("csrf_token", &csrf(&html)), ("key", "no-such-code")],
    )
    .await;
    assert!(attached(&html, "key"), "{html}");
    assert!(html.contains("充值码无效"), "one word for the code: {html}");

    let (_, _, html) = page(&fay, &app.url("/user/security")).await;
    let (_, _, html) = submit(
        &fay,
        &app.url("/user/security/password"),
        &[
            ("csrf_token", &csrf(&html)),
            ("current", "not-my-password"),
            ("password", "password-789"),
            ("password2", "password-789"),
        ],
    )
    .await;
    assert!(attached(&html, "current"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_integration_guide_is_a_page_in_both_languages() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let browser = app.client();
    let res = browser
        .get(app.url("/docs/integration-guide"))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .expect("guide");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/html")
    );
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = res.text().await.expect("html");
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(
        html.contains(
            "<h1>Keyward integration guide: &quot;Sign in with &lt;platform&gt;&quot;</h1>"
        ) || html.contains("<h1>Keyward integration guide: \"Sign in with &lt;platform&gt;\"</h1>"),
        "rendered, raw HTML escaped: {}",
        &html[..html.len().min(3000)]
    );
    assert!(html.contains("<table>") && html.contains("<pre><code"));

    let res = browser
        .get(app.url("/docs/integration-guide"))
        .header("cookie", "keyward_lang=zh")
        .send()
        .await
        .expect("guide");
    let html = res.text().await.expect("html");
    assert!(html.contains("<html lang=\"zh-CN\">"), "{html}");
    assert!(html.contains("<h1>Keyward 接入指南"), "{html}");

    for name in ["integration-guide.en.md", "integration-guide.zh-CN.md"] {
        let res = browser
            .get(app.url(&format!("/docs/{name}")))
            .send()
            .await
            .expect("markdown");
        assert_eq!(res.status(), StatusCode::OK, "{name}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap_or_default()
                .starts_with("text/plain"),
            "{name} stays text"
        );
        assert!(res.text().await.expect("text").starts_with("# Keyward"));
    }
}
