//! The developer console (`/user/setting/oauth`): apply, review status, the one-time secret,
//! rotate, delete; anonymous visitors go to /login and every form refuses a wrong CSRF token.

use crate::helpers::{Backend, TestApp, get_json};
use crate::oauth_support::{csrf, page, submit, token_b};
use crate::on_both_backends;
use reqwest::{Client, StatusCode};

on_both_backends!(
    console_pages_send_anonymous_visitors_to_login,
    a_developer_applies_sees_the_secret_once_rotates_and_deletes,
    console_forms_refuse_a_missing_or_wrong_csrf_token,
    a_refused_application_keeps_the_input_and_a_rejection_shows_its_reason,
);

/// The value of the read-only input with this id.
pub fn input_value(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let tag_start = html[..start].rfind('<')?;
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>')?];
    let from = tag.find("value=\"")? + 7;
    let to = tag[from..].find('"')? + from;
    Some(tag[from..to].to_owned())
}

const CALLBACK: &str = "https://app.example.com/oauth/callback";

/// Applies through the console and returns the new app's id (from the redirect).
pub async fn apply(app: &TestApp, developer: &Client, name: &str) -> i64 {
    let (_, _, html) = page(developer, &app.url("/user/setting/oauth")).await;
    let token = csrf(&html);
    let (status, location, body) = submit(
        developer,
        &app.url("/user/setting/oauth"),
        &[
            ("csrf_token", &token),
            ("name", name),
            ("description", "A console test"),
            (
                "redirect_uris",
                &format!("{CALLBACK}\r\nhttp://127.0.0.1:9/cb\r\n"),
            ),
            ("scope", "profile"),
            ("scope", "balance"),
            ("kind", "api"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let location = location.expect("location");
    location
        .strip_prefix("/user/setting/oauth/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("unexpected redirect {location}"))
}

/// An admin approves app `id` through the /admin page.
pub async fn approve(app: &TestApp, admin: &Client, id: i64) {
    let (_, _, html) = page(admin, &app.url("/admin")).await;
    assert!(html.contains(&format!("/admin/apps/{id}/review")), "{html}");
    let (status, location, _) = submit(
        admin,
        &app.url(&format!("/admin/apps/{id}/review")),
        &[
            ("csrf_token", &csrf(&html)),
            ("decision", "approve"),
            ("reason", ""),
            ("return_to", "/admin"),
        ],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/admin"))
    );
}

async fn console_pages_send_anonymous_visitors_to_login(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anonymous = app.client();
    for path in [
        "/user/setting/oauth",
        "/user/setting/oauth/1",
        "/user/setting/oauth/1/delete",
    ] {
        let (status, location, _) = page(&anonymous, &app.url(path)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        let location = location.expect("location");
        assert!(
            location.starts_with("/login?return_to=%2Fuser%2Fsetting%2Foauth"),
            "{location}"
        );
    }
    let (status, location, _) = submit(
        &anonymous,
        &app.url("/user/setting/oauth"),
        &[("name", "x"), ("redirect_uris", CALLBACK)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.expect("location").starts_with("/login"));
}

async fn a_developer_applies_sees_the_secret_once_rotates_and_deletes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("devon").await;
    let id = apply(&app, &developer, "Devon's <App>").await;

    // Pending: listed with its status, no secret yet, the guide filled in.
    let (status, _, list) = page(&developer, &app.url("/user/setting/oauth")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list.contains("Devon&#39;s &#60;App&#62;")
            || list.contains("Devon's &lt;App&gt;")
            || list.contains("Devon&#x27;s &lt;App&gt;"),
        "{list}"
    );
    assert!(list.contains("badge-pending"));
    let detail_url = app.url(&format!("/user/setting/oauth/{id}"));
    let (status, _, detail) = page(&developer, &detail_url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(input_value(&detail, "client_secret").is_none());
    let client_id = input_value(&detail, "client_id").expect("client_id");
    assert!(client_id.starts_with("client_"));
    assert!(
        detail.contains(&format!("client_id={client_id}")),
        "guide: {detail}"
    );
    assert!(detail.contains("redirect_uri=https%3A%2F%2Fapp.example.com%2Foauth%2Fcallback"));
    assert!(detail.contains(&format!("{}/api/oauth2/token", app.base)));
    assert!(detail.contains("href=\"/docs/integration-guide.zh-CN.md\""));
    for doc in ["integration-guide.zh-CN.md", "integration-guide.en.md"] {
        let res = developer
            .get(app.url(&format!("/docs/{doc}")))
            .send()
            .await
            .expect("doc");
        assert_eq!(res.status(), StatusCode::OK, "{doc}");
        assert!(res.text().await.expect("text").contains("/oauth/authorize"));
    }
    let res = developer
        .get(app.url("/static/keyward.js"))
        .send()
        .await
        .expect("js");
    assert_eq!(
        res.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );

    // Approved: the first view shows the secret, read-only, with the warning; never again.
    let admin = app.admin().await;
    approve(&app, &admin, id).await;
    let res = developer.get(&detail_url).send().await.expect("detail");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let detail = res.text().await.expect("html");
    let secret = input_value(&detail, "client_secret").expect("the secret, once");
    assert!(secret.starts_with("secret_"));
    assert!(detail.contains("readonly"));
    assert!(
        !detail.contains(&format!("client_secret={secret}")),
        "not in the guide"
    );
    let (_, _, again) = page(&developer, &detail_url).await;
    assert!(input_value(&again, "client_secret").is_none(), "shown once");
    let (_, api_view) = get_json(&developer, &app.url(&format!("/api/oauth_apps/{id}"))).await;
    assert!(api_view["data"].get("client_secret").is_none());

    // The secret works (client_credentials was asked for).
    let (status, body) = token_b(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Rotate without grace: the answer shows the new secret; the old one is dead.
    let (status, _, rotated) = submit(
        &developer,
        &app.url(&format!("/user/setting/oauth/{id}/rotate")),
        &[("csrf_token", &csrf(&again)), ("grace_seconds", "0")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let new_secret = input_value(&rotated, "client_secret").expect("new secret");
    assert_ne!(new_secret, secret);
    for (candidate, expected) in [(&secret, false), (&new_secret, true)] {
        let (status, _) = token_b(
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", candidate),
            ],
        )
        .await;
        assert_eq!(status == StatusCode::OK, expected);
    }

    // Delete: a confirmation page first (no script needed), then the app is gone.
    let (status, _, confirm) = page(
        &developer,
        &app.url(&format!("/user/setting/oauth/{id}/delete")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains(&format!("action=\"/user/setting/oauth/{id}/delete\"")));
    let (status, location, _) = submit(
        &developer,
        &app.url(&format!("/user/setting/oauth/{id}/delete")),
        &[("csrf_token", &csrf(&confirm))],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (
            StatusCode::SEE_OTHER,
            Some("/user/setting/oauth?done=deleted")
        )
    );
    assert_eq!(page(&developer, &detail_url).await.0, StatusCode::NOT_FOUND);
    let (status, _) = token_b(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &new_secret),
        ],
    )
    .await;
    assert_ne!(status, StatusCode::OK);

    // Someone else's app is missing, not forbidden.
    let other_id = apply(&app, &developer, "Second").await;
    let (stranger, _) = app.user("stranger").await;
    let other_url = app.url(&format!("/user/setting/oauth/{other_id}"));
    assert_eq!(page(&stranger, &other_url).await.0, StatusCode::NOT_FOUND);
}

async fn console_forms_refuse_a_missing_or_wrong_csrf_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("carol").await;
    let id = apply(&app, &developer, "Kept").await;
    approve(&app, &app.admin().await, id).await;
    let detail_url = app.url(&format!("/user/setting/oauth/{id}"));
    let (_, _, detail) = page(&developer, &detail_url).await;
    let secret = input_value(&detail, "client_secret").expect("secret");
    let client_id = input_value(&detail, "client_id").expect("client id");
    // Another session's token is as wrong as none.
    let (other, _) = app.user("mallory").await;
    let (_, _, other_page) = page(&other, &app.url("/user/setting/oauth")).await;
    let foreign = csrf(&other_page);

    for token in [None, Some("wrong"), Some(foreign.as_str())] {
        let with = |mut form: Vec<(&'static str, String)>| {
            if let Some(token) = token {
                form.push(("csrf_token", token.to_owned()));
            }
            form
        };
        let forms = [
            (
                "/user/setting/oauth".to_owned(),
                with(vec![
                    ("name", "Sneaky".into()),
                    ("redirect_uris", CALLBACK.into()),
                    ("scope", "profile".into()),
                ]),
            ),
            (
                format!("/user/setting/oauth/{id}/rotate"),
                with(vec![("grace_seconds", "0".into())]),
            ),
            (format!("/user/setting/oauth/{id}/delete"), with(vec![])),
        ];
        for (path, form) in forms {
            let res = developer
                .post(app.url(&path))
                .form(&form)
                .send()
                .await
                .expect("post");
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path} with {token:?}");
        }
    }
    // Nothing changed: one app, the same secret still works.
    let (_, list) = get_json(&developer, &app.url("/api/oauth_apps")).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1), "{list}");
    let (status, _) = token_b(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn a_refused_application_keeps_the_input_and_a_rejection_shows_its_reason(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("erin").await;
    let (_, _, html) = page(&developer, &app.url("/user/setting/oauth")).await;
    let token = csrf(&html);
    for (uris, scope) in [
        ("http://app.example.com/cb", "profile"),
        ("https://app.example.com/cb#frag", "profile"),
        ("", "profile"),
        (CALLBACK, "nonsense"),
    ] {
        let (status, _, body) = submit(
            &developer,
            &app.url("/user/setting/oauth"),
            &[
                ("csrf_token", &token),
                ("name", "Kept Name"),
                ("redirect_uris", uris),
                ("scope", scope),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uris} {scope}");
        assert!(body.contains("role=\"alert\""), "{body}");
        assert!(body.contains("value=\"Kept Name\""), "input kept");
    }
    let (_, list) = get_json(&developer, &app.url("/api/oauth_apps")).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(0));

    // English pages say it in English.
    let (status, _, body) = {
        let res = developer
            .post(app.url("/user/setting/oauth"))
            .header("accept-language", "en")
            .form(&[
                ("csrf_token", token.as_str()),
                ("name", "x"),
                ("redirect_uris", "ftp://x"),
                ("scope", "profile"),
            ])
            .send()
            .await
            .expect("post");
        (res.status(), (), res.text().await.expect("body"))
    };
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Redirect URIs must be absolute"), "{body}");

    // An admin rejects with a reason; the owner sees it.
    let id = apply(&app, &developer, "Rejected One").await;
    let admin = app.admin().await;
    let (_, _, admin_page) = page(&admin, &app.url("/admin/apps?status=pending")).await;
    let (status, location, _) = submit(
        &admin,
        &app.url(&format!("/admin/apps/{id}/review")),
        &[
            ("csrf_token", &csrf(&admin_page)),
            ("decision", "reject"),
            ("reason", "请提供隐私政策链接"),
            ("return_to", "/admin/apps?status=pending"),
        ],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/admin/apps?status=pending"))
    );
    let (_, _, list) = page(&developer, &app.url("/user/setting/oauth")).await;
    assert!(list.contains("badge-rejected"));
    assert!(list.contains("请提供隐私政策链接"), "{list}");
    let (_, _, detail) = page(&developer, &app.url(&format!("/user/setting/oauth/{id}"))).await;
    assert!(detail.contains("请提供隐私政策链接"));
    assert!(input_value(&detail, "client_secret").is_none());
}
