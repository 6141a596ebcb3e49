//! The platform's brand on its pages, mails and authenticator apps, and pages without dead ends:
//! the error page's way on and code, HTML or JSON for unknown addresses, logout's cancel.

use crate::fakes::FakeServer;
use crate::helpers::{Backend, TestApp, TestDatabase, into_parts, post_json, test_config};
use crate::oauth_support::*;
use crate::on_both_backends;
use base64::Engine;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    the_system_name_brands_titles_headers_footer_and_the_totp_issuer,
    mails_carry_the_system_name,
    an_uploaded_logo_is_served_and_an_svg_is_refused,
    brand_settings_that_pages_cannot_show_are_refused_and_change_nothing,
    the_error_page_says_what_to_do_gives_a_code_and_a_way_on,
    unknown_addresses_answer_html_to_browsers_and_json_to_api_clients,
    the_logout_confirmation_can_be_cancelled,
    a_brand_set_on_one_node_shows_on_the_others,
);

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

async fn put_settings(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let admin = app.admin().await;
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&body)
        .send()
        .await
        .expect("settings");
    into_parts(res).await
}

async fn html(client: &Client, url: &str) -> String {
    client
        .get(url)
        .header("accept", "text/html")
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html")
}

async fn the_system_name_brands_titles_headers_footer_and_the_totp_issuer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anonymous = app.client();
    let before = html(&anonymous, &app.url("/login")).await;
    assert!(before.contains("<title>登录 · Keyward</title>"), "{before}");
    assert!(
        !before.contains("/brand.css"),
        "no accent set: no stylesheet"
    );
    assert!(!before.contains("site-footer"), "nothing for a footer");

    let (status, body) = put_settings(
        &app,
        json!({
            "system_name": "MyForum",
            "accent_color": "#0a7f3c",
            "logo_url": "https://cdn.myforum.example/logo.png",
            "footer_text": "© MyForum Ltd",
            "terms_url": "https://myforum.example/terms",
            "privacy_url": "https://myforum.example/privacy",
        }),
    )
    .await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );

    let login = html(&anonymous, &app.url("/login")).await;
    assert!(login.contains("<title>登录 · MyForum</title>"), "{login}");
    assert!(
        !login.contains("Keyward"),
        "no trace of the software's name: {login}"
    );
    assert!(login.contains(r#"href="/brand.css?v=0a7f3c""#), "{login}");
    assert!(login.contains(r#"src="https://cdn.myforum.example/logo.png""#));
    assert!(login.contains("© MyForum Ltd"));
    assert!(login.contains(r#"href="https://myforum.example/terms""#));
    assert!(login.contains(r#"href="https://myforum.example/privacy""#));
    // The error page and the pages of a signed-in user wear it too.
    let error = html(&anonymous, &app.url("/oauth/authorize?client_id=nope")).await;
    assert!(error.contains("· MyForum</title>"), "{error}");
    let (user, _) = app.user("alice").await;
    let security = html(&user, &app.url("/user/security")).await;
    assert!(security.contains("· MyForum</title>"), "{security}");

    let (_, status) = crate::helpers::get_json(&anonymous, &app.url("/api/status")).await;
    assert_eq!(status["data"]["system_name"], "MyForum");
    assert_eq!(
        status["data"]["logo"],
        "https://cdn.myforum.example/logo.png"
    );

    let css = anonymous
        .get(app.url("/brand.css?v=0a7f3c"))
        .send()
        .await
        .expect("css");
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let css = css.text().await.expect("css");
    assert!(
        css.contains("--accent: #0a7f3c") && css.contains("--on-accent: #ffffff"),
        "{css}"
    );

    // Authenticator apps show the platform's name beside the code.
    let (status, setup) = post_json(&user, &app.url("/api/user/2fa/setup"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{setup}");
    let url = setup["data"]["otpauth_url"].as_str().expect("url");
    assert!(url.starts_with("otpauth://totp/MyForum:alice?"), "{url}");
    assert!(url.contains("issuer=MyForum"), "{url}");
}

/// The subject of a raw mail, its RFC 2047 words decoded.
fn subject(mail: &str) -> String {
    let start = mail.find("Subject: ").expect("subject") + "Subject: ".len();
    let header: String = mail[start..]
        .split("\r\n")
        .enumerate()
        .take_while(|(i, line)| *i == 0 || line.starts_with(' ') || line.starts_with('\t'))
        .map(|(_, line)| line.trim().to_owned())
        .collect::<Vec<_>>()
        .join(" ");
    header
        .split_whitespace()
        .map(|word| {
            let encoded = word
                .strip_prefix("=?utf-8?b?")
                .or_else(|| word.strip_prefix("=?UTF-8?B?"))
                .and_then(|w| w.strip_suffix("?="));
            match encoded {
                Some(b64) => String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .expect("base64"),
                )
                .expect("utf-8"),
                None => format!("{word} "),
            }
        })
        .collect()
}

async fn mails_carry_the_system_name(backend: Backend) {
    let fakes = FakeServer::start().await;
    let db = TestDatabase::new(backend).await;
    let app = TestApp::start(db.clone(), test_config(&db)).await;
    let (status, body) = put_settings(
        &app,
        json!({
            "smtp_host": "127.0.0.1", "smtp_port": fakes.smtp_port, "smtp_security": "none",
            "smtp_from": "noreply@myforum.test", "system_name": "MyForum",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let anonymous = app.client();
    let res = anonymous
        .get(app.url("/api/verification?email=new@myforum.test"))
        .send()
        .await
        .expect("verification");
    assert_eq!(into_parts(res).await.1["success"], true);
    for _ in 0..60 {
        if !fakes.mails().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mails = fakes.mails();
    let mail = mails.first().expect("a mail");
    let subject = subject(mail);
    assert!(subject.starts_with("MyForum "), "{subject}");
}

async fn an_uploaded_logo_is_served_and_an_svg_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anonymous = app.client();
    let none = anonymous
        .get(app.url("/brand/logo"))
        .send()
        .await
        .expect("logo");
    assert_eq!(none.status(), StatusCode::NOT_FOUND);

    let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let (status, body) = put_settings(&app, json!({"logo_upload": encode(PNG)})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let login = html(&anonymous, &app.url("/login")).await;
    let src = login
        .split(r#"<img class="logo" src=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the logo on the page")
        .replace("&#38;", "&");
    assert!(src.starts_with("/brand/logo?v="), "{src}");
    let (_, status) = crate::helpers::get_json(&anonymous, &app.url("/api/status")).await;
    assert_eq!(
        status["data"]["logo"],
        app.url(&src),
        "new-api's logo, absolute"
    );
    let logo = anonymous.get(app.url(&src)).send().await.expect("logo");
    assert_eq!(logo.status(), StatusCode::OK);
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(logo.headers()["x-content-type-options"], "nosniff");
    assert_eq!(logo.bytes().await.expect("bytes").as_ref(), PNG);

    // An SVG can carry script: refused, and the PNG stays.
    let svg = encode(b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>");
    let (_, body) = put_settings(&app, json!({"logo_upload": svg})).await;
    assert_eq!(body["success"], false, "{body}");
    let logo = anonymous
        .get(app.url("/brand/logo"))
        .send()
        .await
        .expect("logo");
    assert_eq!(logo.bytes().await.expect("bytes").as_ref(), PNG);
}

async fn brand_settings_that_pages_cannot_show_are_refused_and_change_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let (_, before) = crate::helpers::get_json(&admin, &app.url("/api/admin/settings")).await;
    for bad in [
        json!({"accent_color": "red;} body { display: none"}),
        json!({"accent_color": "#fff"}),
        json!({"logo_url": "javascript:alert(1)"}),
        json!({"logo_url": "http://cdn.example/logo.png"}),
        json!({"system_name": ""}),
        json!({"system_name": "a\u{7}b"}),
        json!({"footer_text": "x".repeat(201)}),
        json!({"terms_url": "data:text/html,hi"}),
        json!({"currency_symbol": "dollars!!!"}),
    ] {
        let (_, body) = put_settings(&app, bad.clone()).await;
        assert_eq!(body["success"], false, "{bad}: {body}");
    }
    let (_, after) = crate::helpers::get_json(&admin, &app.url("/api/admin/settings")).await;
    assert_eq!(after, before);
}

async fn the_error_page_says_what_to_do_gives_a_code_and_a_way_on(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("developer").await;
    let registered = register_app(&app, &developer, json!({"scopes": "openid profile"})).await;
    let (browser, _) = app.user("user").await;

    // An app that is not known: only its developer can help; the way on is home.
    let (status, _, page) = authorize(
        &app,
        &browser,
        "/oauth/authorize",
        &[
            ("client_id", "client_nope"),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("<code>unknown_client</code>"), "{page}");
    assert!(
        page.contains("只有它的开发者能修复"),
        "the hint for users: {page}"
    );
    assert!(page.contains(r#"class="button" href="/""#), "home: {page}");

    // A consent form whose session token is stale, for a valid request: back to the app, with
    // the OAuth error it expects.
    let (_, _, consent) = authorize(
        &app,
        &browser,
        "/oauth/authorize",
        &[
            ("client_id", registered.client_id.as_str()),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("scope", "openid profile"),
            ("state", "s-42"),
        ],
    )
    .await;
    let mut fields = hidden_fields(&consent);
    for (k, v) in &mut fields {
        if k == "csrf_token" {
            *v = "stale".into();
        }
    }
    fields.push(("decision".into(), "approve".into()));
    let res = browser
        .post(app.url("/oauth/authorize"))
        .header("accept-language", "en")
        .form(&fields)
        .send()
        .await
        .expect("consent");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let page = res.text().await.expect("html");
    assert!(page.contains("<code>request_expired</code>"), "{page}");
    let back = format!(
        "{CALLBACK}?error=access_denied&#38;error_description=the%20user%20did%20not%20finish%20signing%20in&#38;state=s-42&#38;iss="
    );
    assert!(page.contains(&back), "back to the app: {page}");
    assert!(page.contains("Back to"), "in the page's language: {page}");
}

async fn unknown_addresses_answer_html_to_browsers_and_json_to_api_clients(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.client();
    let browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let res = client
        .get(app.url("/no/such/page"))
        .header("accept", browser_accept)
        .header("accept-language", "en")
        .send()
        .await
        .expect("404");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    let page = res.text().await.expect("html");
    assert!(
        page.contains("<code>not_found</code>") && page.contains("There is no page"),
        "{page}"
    );

    for accept in [None, Some("*/*"), Some("application/json")] {
        let mut req = client.get(app.url("/api/no/such/thing"));
        if let Some(accept) = accept {
            req = req.header("accept", accept);
        }
        let res = req.send().await.expect("404");
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{accept:?}");
        let (_, body) = into_parts(res).await;
        assert_eq!(body["success"], false, "{accept:?}: JSON, not a page");
    }
}

async fn the_logout_confirmation_can_be_cancelled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, _) = app.user("user").await;
    let page = html(&browser, &app.url("/oauth2/logout")).await;
    assert!(
        page.contains(r#"<a class="button secondary" href="/">"#),
        "{page}"
    );
}

async fn a_brand_set_on_one_node_shows_on_the_others(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let a = TestApp::start(db.clone(), test_config(&db)).await;
    let b = TestApp::start(db.clone(), test_config(&db)).await;
    // A page that reads no setting of its own: only the brand's refresh can bring news.
    let page = |app: &TestApp| {
        let url = app.url("/no/such/page");
        async move { html(&reqwest::Client::new(), &url).await }
    };
    assert!(page(&b).await.contains("· Keyward</title>"));
    let (status, body) = put_settings(&a, json!({"system_name": "MyForum"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Within the settings cache's lifetime (2 s), every node shows it.
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let shown = page(&b).await;
    assert!(shown.contains("· MyForum</title>"), "{shown}");
}
