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
    no_console_page_view_mints_a_secret,
    rotation_needs_its_confirmation_and_keeps_the_old_secret_a_day,
    the_edit_page_marks_a_refused_field_and_an_admin_reviews_the_change,
);

/// The owner's explicit "show the secret" (a POST); the app's page then shows it, held for the
/// session. Returns the secret and the page.
pub async fn reveal(app: &TestApp, developer: &Client, id: i64) -> (String, String) {
    let detail_url = app.url(&format!("/user/setting/oauth/{id}"));
    let (_, _, detail) = page(developer, &detail_url).await;
    let (status, location, body) = submit(
        developer,
        &app.url(&format!("/user/setting/oauth/{id}/reveal")),
        &[("csrf_token", &csrf(&detail))],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(
        location.as_deref(),
        Some(format!("/user/setting/oauth/{id}").as_str())
    );
    let (status, _, shown) = page(developer, &detail_url).await;
    assert_eq!(status, StatusCode::OK);
    let secret = input_value(&shown, "client_secret").expect("the secret, after the POST");
    (secret, shown)
}

async fn secret_revealed(app: &TestApp, developer: &Client, id: i64) -> bool {
    let (_, list) = get_json(developer, &app.url("/api/oauth_apps")).await;
    list["data"]
        .as_array()
        .and_then(|apps| apps.iter().find(|a| a["id"] == id))
        .map(|a| a["secret_revealed"] == true)
        .expect("the app is listed")
}

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
    assert!(detail.contains("href=\"/docs/integration-guide\""));
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

    // Approved: no page view makes a secret; "show the secret" (a POST) does, and the page
    // shows it, read-only, with the warning, until the owner says it is saved.
    let admin = app.admin().await;
    approve(&app, &admin, id).await;
    let (_, _, before) = page(&developer, &detail_url).await;
    assert!(
        input_value(&before, "client_secret").is_none(),
        "not on a GET"
    );
    assert!(before.contains(&format!("action=\"/user/setting/oauth/{id}/reveal\"")));
    let (secret, detail) = reveal(&app, &developer, id).await;
    assert!(secret.starts_with("secret_"));
    assert!(detail.contains("readonly"));
    assert!(detail.contains("data-warn-leave="), "the script's hook");
    assert!(
        detail.contains("id=\"secret-warning\""),
        "the warning in words"
    );
    assert!(
        !detail.contains(&format!("client_secret={secret}")),
        "not in the guide"
    );
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
    // The language switch comes back to the page, and the secret is still there.
    let switch = format!("/lang?to=en&return_to=%2Fuser%2Fsetting%2Foauth%2F{id}");
    let (status, location, _) = page(&developer, &app.url(&switch)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, english) = page(&developer, &app.url(&location.expect("back"))).await;
    assert_eq!(
        input_value(&english, "client_secret").as_deref(),
        Some(secret.as_str())
    );
    assert!(english.contains("I saved the secret"), "{english}");
    // Another session of the same owner does not see it.
    let elsewhere = app.login("devon", "password-123").await;
    let (_, _, other) = page(&elsewhere, &detail_url).await;
    assert!(input_value(&other, "client_secret").is_none());
    // A second reveal is refused: rotate instead.
    let (status, _, _) = submit(
        &developer,
        &app.url(&format!("/user/setting/oauth/{id}/reveal")),
        &[("csrf_token", &csrf(&english))],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // "I saved it": the page stops showing it.
    let (status, location, _) = submit(
        &developer,
        &app.url(&format!("/user/setting/oauth/{id}/saved")),
        &[("csrf_token", &csrf(&english))],
    )
    .await;
    assert_eq!(
        (status, location),
        (
            StatusCode::SEE_OTHER,
            Some(format!("/user/setting/oauth/{id}?done=saved"))
        )
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

    // Rotate without grace: the page shows the new secret; the old one is dead.
    let (status, location, _) = submit(
        &developer,
        &app.url(&format!("/user/setting/oauth/{id}/rotate")),
        &[
            ("csrf_token", &csrf(&again)),
            ("grace_seconds", "0"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, rotated) = page(&developer, &app.url(&location.expect("location"))).await;
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
    let (secret, detail) = reveal(&app, &developer, id).await;
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
                with(vec![
                    ("grace_seconds", "0".into()),
                    ("confirm", "yes".into()),
                ]),
            ),
            (format!("/user/setting/oauth/{id}/delete"), with(vec![])),
            (format!("/user/setting/oauth/{id}/reveal"), with(vec![])),
            (format!("/user/setting/oauth/{id}/saved"), with(vec![])),
            (format!("/user/setting/oauth/{id}/withdraw"), with(vec![])),
            (
                format!("/user/setting/oauth/{id}/edit"),
                with(vec![
                    ("name", "Hijacked".into()),
                    ("redirect_uris", "https://evil.example/cb".into()),
                    ("scope", "profile".into()),
                ]),
            ),
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

async fn no_console_page_view_mints_a_secret(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("nina").await;
    let id = apply(&app, &developer, "Quiet").await;
    approve(&app, &app.admin().await, id).await;
    for path in [
        "/user/setting/oauth".to_owned(),
        format!("/user/setting/oauth/{id}"),
        format!("/user/setting/oauth/{id}/edit"),
        format!("/user/setting/oauth/{id}/delete"),
        format!("/lang?to=en&return_to=%2Fuser%2Fsetting%2Foauth%2F{id}"),
    ] {
        for _ in 0..2 {
            let (status, _, body) = page(&developer, &app.url(&path)).await;
            assert!(
                status.is_success() || status.is_redirection(),
                "{path}: {status}"
            );
            assert!(input_value(&body, "client_secret").is_none(), "{path}");
        }
    }
    let (_, list) = get_json(&developer, &app.url("/api/oauth_apps")).await;
    assert!(list["data"][0].get("client_secret").is_none());
    assert!(
        !secret_revealed(&app, &developer, id).await,
        "still no secret"
    );
    let admin = app.admin().await;
    let (_, audit) = get_json(
        &admin,
        &app.url("/api/admin/audit?action=app.secret_revealed"),
    )
    .await;
    assert_eq!(
        audit["data"]["items"].as_array().map(Vec::len),
        Some(0),
        "{audit}"
    );
}

async fn rotation_needs_its_confirmation_and_keeps_the_old_secret_a_day(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("otto").await;
    let id = apply(&app, &developer, "Rotated").await;
    approve(&app, &app.admin().await, id).await;
    let (secret, detail) = reveal(&app, &developer, id).await;
    let client_id = input_value(&detail, "client_id").expect("client id");
    // The form offers a day's grace by default and asks for the confirmation.
    assert!(
        detail.contains("<option value=\"86400\" selected>"),
        "{detail}"
    );
    assert!(detail.contains("name=\"confirm\""));
    let works = |candidate: String| {
        let app = &app;
        let client_id = client_id.clone();
        async move {
            token_b(
                app,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &client_id),
                    ("client_secret", &candidate),
                ],
            )
            .await
            .0 == StatusCode::OK
        }
    };
    // Without the confirmation nothing happens, and the page says why next to the box.
    let rotate_url = app.url(&format!("/user/setting/oauth/{id}/rotate"));
    let (status, _, refused) = submit(
        &developer,
        &rotate_url,
        &[("csrf_token", &csrf(&detail)), ("grace_seconds", "0")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        refused.contains("aria-describedby=\"confirm-error\""),
        "{refused}"
    );
    assert!(input_value(&refused, "client_secret").is_none());
    assert!(works(secret.clone()).await, "the secret did not change");
    let admin = app.admin().await;
    let (_, audit) = get_json(
        &admin,
        &app.url("/api/admin/audit?action=app.secret_rotated"),
    )
    .await;
    assert_eq!(audit["data"]["items"].as_array().map(Vec::len), Some(0));
    // Confirmed without choosing: the old secret keeps working for a day.
    let (status, location, _) = submit(
        &developer,
        &rotate_url,
        &[("csrf_token", &csrf(&detail)), ("confirm", "yes")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, rotated) = page(&developer, &app.url(&location.expect("location"))).await;
    let new_secret = input_value(&rotated, "client_secret").expect("the new secret");
    assert_ne!(new_secret, secret);
    assert!(works(new_secret).await);
    assert!(
        works(secret).await,
        "the old one works during the grace period"
    );
    let (_, audit) = get_json(
        &admin,
        &app.url("/api/admin/audit?action=app.secret_rotated"),
    )
    .await;
    assert_eq!(
        audit["data"]["items"][0]["detail"]["grace_seconds"], 86_400,
        "{audit}"
    );
}

async fn the_edit_page_marks_a_refused_field_and_an_admin_reviews_the_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("edda").await;
    let id = apply(&app, &developer, "Editable").await;
    let admin = app.admin().await;
    approve(&app, &admin, id).await;
    let edit_url = app.url(&format!("/user/setting/oauth/{id}/edit"));
    let (status, _, form) = page(&developer, &edit_url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("value=\"Editable\""), "{form}");
    let token = csrf(&form);
    let fields = |logo: &'static str, uris: &'static str| {
        vec![
            ("csrf_token", token.clone()),
            ("name", "Editable".to_owned()),
            ("description", "Edited".to_owned()),
            ("redirect_uris", uris.to_owned()),
            ("post_logout_redirect_uris", String::new()),
            ("scope", "profile".to_owned()),
            ("scope", "balance".to_owned()),
            ("logo_uri", logo.to_owned()),
            ("client_uri", "https://app.example.com/".to_owned()),
            ("policy_uri", String::new()),
        ]
    };
    let post = |form: Vec<(&'static str, String)>| {
        let developer = &developer;
        let edit_url = edit_url.clone();
        async move {
            let res = developer
                .post(edit_url)
                .form(&form)
                .send()
                .await
                .expect("edit");
            let status = res.status();
            let location = res
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (status, location, res.text().await.expect("body"))
        }
    };
    // A plain-http logo is refused, marked on its field, the input kept.
    let (status, _, refused) = post(fields(
        "http://cdn.example.com/logo.png",
        "https://app.example.com/oauth/callback",
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        refused.contains("aria-invalid=\"true\" aria-describedby=\"logo_uri-error links-hint\""),
        "{refused}"
    );
    assert!(refused.contains("id=\"logo_uri-error\" class=\"error\""));
    assert!(refused.contains("value=\"http://cdn.example.com/logo.png\""));
    // A second callback on a new host waits for review; the rest applies now.
    let (status, location, _) = post(fields(
        "",
        "https://app.example.com/oauth/callback\r\nhttps://second.example.org/cb",
    ))
    .await;
    assert_eq!(
        (status, location),
        (
            StatusCode::SEE_OTHER,
            Some(format!("/user/setting/oauth/{id}?done=pending"))
        )
    );
    let (_, view) = get_json(&developer, &app.url("/api/oauth_apps")).await;
    let data = &view["data"][0];
    assert_eq!(data["description"], "Edited");
    assert_eq!(
        data["redirect_uris"].as_array().map(Vec::len),
        Some(1),
        "{view}"
    );
    let (_, _, detail) = page(&developer, &app.url(&format!("/user/setting/oauth/{id}"))).await;
    assert!(detail.contains("id=\"pending-change\""), "{detail}");
    assert!(detail.contains("https://second.example.org/cb"));
    assert!(detail.contains(&format!("action=\"/user/setting/oauth/{id}/withdraw\"")));
    // The admin finds it under its own filter, the card shows it, and approving puts it in force.
    let (_, _, admin_page) = page(&admin, &app.url("/admin/apps?status=changes")).await;
    assert!(
        admin_page.contains("<option value=\"changes\" selected>"),
        "{admin_page}"
    );
    assert!(
        admin_page.contains(&format!("action=\"/admin/apps/{id}/change\"")),
        "{admin_page}"
    );
    assert!(admin_page.contains("https://second.example.org/cb"));
    let (status, location, _) = submit(
        &admin,
        &app.url(&format!("/admin/apps/{id}/change")),
        &[
            ("csrf_token", &csrf(&admin_page)),
            ("decision", "approve"),
            ("return_to", "/admin/apps"),
        ],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/admin/apps"))
    );
    let (_, view) = get_json(&developer, &app.url("/api/oauth_apps")).await;
    assert_eq!(
        view["data"][0]["redirect_uris"].as_array().map(Vec::len),
        Some(2),
        "{view}"
    );
    assert!(view["data"][0].get("pending_change").is_none());
    // Someone else cannot open or post the form.
    let (stranger, _) = app.user("stranger").await;
    assert_eq!(page(&stranger, &edit_url).await.0, StatusCode::NOT_FOUND);
}
