//! The admin pages: only admins get in, every form checks its CSRF token, and each action does
//! what the admin API does (same rules, same audit records).

use crate::console_pages::{apply, approve};
use crate::helpers::{Backend, TestApp, get_json};
use crate::oauth_support::{csrf, page, submit};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    admin_pages_are_for_admins_only,
    an_admin_reviews_apps_and_marks_them_trusted,
    an_admin_finds_changes_and_disables_users,
    the_settings_page_saves_switches_and_write_only_secrets,
    the_audit_page_filters_and_pages,
    admin_forms_refuse_a_missing_or_wrong_csrf_token,
    the_user_table_searches_sorts_and_pages,
    the_user_detail_page_shows_the_account_to_admins_only,
    disabling_and_trusting_change_nothing_without_confirmation,
    settings_pages_label_every_setting_and_save_their_own_section,
    the_branding_page_takes_a_colour_and_an_uploaded_logo,
);

/// The slugs of the settings pages.
const SETTINGS_PAGES: [&str; 7] = [
    "access",
    "providers",
    "mail",
    "apps",
    "billing",
    "brand",
    "limits",
];

const PAGES: [&str; 8] = [
    "/admin",
    "/admin/apps",
    "/admin/client-documents",
    "/admin/resources",
    "/admin/users",
    "/admin/settings",
    "/admin/audit",
    "/admin/topup",
];

async fn admin_pages_are_for_admins_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anonymous = app.client();
    let (user, _) = app.user("plain").await;
    let admin = app.admin().await;
    for path in PAGES {
        let (status, location, _) = page(&anonymous, &app.url(path)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert!(
            location
                .expect("location")
                .starts_with("/login?return_to=%2Fadmin")
        );
        assert_eq!(
            page(&user, &app.url(path)).await.0,
            StatusCode::FORBIDDEN,
            "{path}"
        );
        let (status, _, html) = page(&admin, &app.url(path)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        // The sub-navigation links every section, the other engineer's top-up codes too.
        for link in PAGES.iter().chain(&["/admin/topup"]) {
            assert!(
                html.contains(&format!("href=\"{link}\"")),
                "{path} lacks {link}"
            );
        }
        assert!(html.contains("aria-current=\"page\""));
        assert!(
            !html.contains("class=\"inline\""),
            "{path} relies on .inline"
        );
    }
    // Ordinary users' posts are refused too, with their own valid token.
    let (_, _, console) = page(&user, &app.url("/user/setting/oauth")).await;
    let (status, _, _) = submit(
        &user,
        &app.url("/admin/settings"),
        &[("csrf_token", &csrf(&console)), ("register_enabled", "1")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The navigation shows the admin link to admins only.
    assert!(!console.contains("href=\"/admin\""));
    let (_, _, html) = page(&admin, &app.url("/user/setting/oauth")).await;
    assert!(html.contains("href=\"/admin\""));
}

async fn an_admin_reviews_apps_and_marks_them_trusted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("dora").await;
    let first = apply(&app, &developer, "First App").await;
    apply(&app, &developer, "Second App").await;
    let admin = app.admin().await;

    let (_, _, overview) = page(&admin, &app.url("/admin")).await;
    assert!(overview.contains("First App") && overview.contains("Second App"));
    assert!(overview.contains("dora"), "owner shown");
    approve(&app, &admin, first).await;
    let (_, _, overview) = page(&admin, &app.url("/admin")).await;
    assert!(!overview.contains("First App"), "no longer pending");

    // Filter by status (a plain GET form).
    let (_, _, approved) = page(&admin, &app.url("/admin/apps?status=approved")).await;
    assert!(approved.contains("First App") && !approved.contains("Second App"));
    assert!(approved.contains("<option value=\"approved\" selected>"));
    let (_, _, all) = page(&admin, &app.url("/admin/apps")).await;
    assert!(all.contains("First App") && all.contains("Second App"));

    // Mark trusted (the consequence stated, the box ticked), then disable with a reason.
    assert!(all.contains("name=\"confirm\""), "{all}");
    let token = csrf(&all);
    let (status, location, _) = submit(
        &admin,
        &app.url(&format!("/admin/apps/{first}/trusted")),
        &[
            ("csrf_token", &token),
            ("trusted", "1"),
            ("confirm", "1"),
            ("return_to", "/admin/apps?status=approved"),
        ],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/admin/apps?status=approved"))
    );
    let (_, view) = get_json(&developer, &app.url(&format!("/api/oauth_apps/{first}"))).await;
    assert_eq!(view["data"]["trusted"], true);
    let (status, location, _) = submit(
        &admin,
        &app.url(&format!("/admin/apps/{first}/review")),
        &[
            ("csrf_token", &token),
            ("decision", "disable"),
            ("reason", "abuse report"),
            ("return_to", "https://evil.example/"),
        ],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/admin/apps")),
        "return_to stays in /admin"
    );
    let (_, view) = get_json(&developer, &app.url(&format!("/api/oauth_apps/{first}"))).await;
    assert_eq!(
        (
            view["data"]["status"].clone(),
            view["data"]["review_note"].clone()
        ),
        (json!("disabled"), json!("abuse report"))
    );
    // A decision that does not fit the state is refused with a page, nothing changes.
    let (status, _, body) = submit(
        &admin,
        &app.url(&format!("/admin/apps/{first}/review")),
        &[
            ("csrf_token", &token),
            ("decision", "reject"),
            ("reason", "x"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("role=\"alert\""));
    let (_, audit) = get_json(&admin, &app.url("/api/admin/audit?action=app.disabled")).await;
    assert_eq!(
        audit["data"]["items"][0]["detail"]["reason"],
        "abuse report"
    );
}

async fn an_admin_finds_changes_and_disables_users(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, id) = app.user("zelda").await;
    app.register("yorick", "password-123").await;
    let admin = app.admin().await;

    let (_, _, found) = page(&admin, &app.url("/admin/users?keyword=ZEL")).await;
    assert!(
        found.contains("zelda") && !found.contains("yorick"),
        "{found}"
    );
    assert!(found.contains("value=\"ZEL\""), "the search is kept");
    let (_, _, detail) = page(&admin, &app.url(&format!("/admin/users/{id}"))).await;
    let token = csrf(&detail);
    let (status, location, _) = submit(
        &admin,
        &app.url(&format!("/admin/users/{id}")),
        &[
            ("csrf_token", &token),
            ("level", "3"),
            ("quota", "500000"),
            ("used_quota", ""),
            ("role", "admin"),
            ("return_to", "/admin/users?keyword=ZEL"),
        ],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/admin/users?keyword=ZEL"))
    );
    let (_, me) = get_json(&user, &app.url("/api/user/self")).await;
    assert_eq!(
        (
            me["data"]["level"].clone(),
            me["data"]["quota"].clone(),
            me["data"]["role"].clone()
        ),
        (json!(3), json!(500000), json!(10))
    );
    // Bad numbers are refused with a page.
    let (status, _, _) = submit(
        &admin,
        &app.url(&format!("/admin/users/{id}")),
        &[("csrf_token", &token), ("quota", "lots")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The new admin may not disable root (rank rules are the API's).
    let (_, _, own) = page(&user, &app.url(&format!("/admin/users/{id}"))).await;
    let (_, root_me) = get_json(&admin, &app.url("/api/user/self")).await;
    let root_id = root_me["data"]["id"].as_i64().expect("id");
    let (status, _, _) = submit(
        &user,
        &app.url(&format!("/admin/users/{root_id}")),
        &[
            ("csrf_token", &csrf(&own)),
            ("status", "2"),
            ("confirm", "1"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Root disables zelda: her session ends at once.
    let (status, _, _) = submit(
        &admin,
        &app.url(&format!("/admin/users/{id}")),
        &[("csrf_token", &token), ("status", "2"), ("confirm", "1")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, location, _) = page(&user, &app.url("/user/setting/oauth")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.expect("location").starts_with("/login"));
    let (_, _, listed) = page(&admin, &app.url("/admin/users?keyword=zelda")).await;
    assert!(listed.contains("badge-disabled"));
}

async fn the_settings_page_saves_switches_and_write_only_secrets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let (_, _, providers) = page(&admin, &app.url("/admin/settings/providers")).await;
    assert!(providers.contains("name=\"github_client_secret\""));
    // The first page is the sign-up and sign-in one; the whole document still posts to
    // /admin/settings.
    let (_, _, html) = page(&admin, &app.url("/admin/settings")).await;
    assert!(
        html.contains("name=\"register_enabled\" value=\"1\" checked"),
        "{html}"
    );
    let token = csrf(&html);
    let base = vec![
        ("csrf_token", token.clone()),
        ("password_login_enabled", "1".into()),
        ("app_review_required", "1".into()),
        ("quota_per_unit", "500000".into()),
        ("topup_url", "https://pay.example.com/topup".into()),
        ("smtp_port", "587".into()),
        ("smtp_security", "starttls".into()),
        ("github_client_id", "Iv1.abc".into()),
        ("github_client_secret", "gh-secret-value".into()),
    ];
    // Enabling GitHub without its secret is refused; nothing is saved.
    let mut refused: Vec<(&str, String)> = base
        .iter()
        .filter(|(k, _)| *k != "github_client_secret")
        .cloned()
        .collect();
    refused.push(("github_enabled", "1".into()));
    let res = admin
        .post(app.url("/admin/settings"))
        .form(&refused)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.expect("body");
    assert!(body.contains("GitHub"), "{body}");
    assert!(body.contains("value=\"500000\""), "the input is kept");
    assert!(
        !body.contains("<legend></legend>"),
        "every fieldset is named"
    );
    let (_, settings) = get_json(&admin, &app.url("/api/admin/settings")).await;
    assert_eq!(settings["data"]["quota_per_unit"], 1000, "unchanged");

    // With the secret: saved; unchecked boxes turn off; the secret is only reported as set.
    let mut accepted = base.clone();
    accepted.push(("github_enabled", "1".into()));
    let res = admin
        .post(app.url("/admin/settings"))
        .form(&accepted)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/admin/settings?done=saved");
    let (_, settings) = get_json(&admin, &app.url("/api/admin/settings")).await;
    let d = &settings["data"];
    assert_eq!(d["quota_per_unit"], 500000);
    assert_eq!(d["topup_url"], "https://pay.example.com/topup");
    assert_eq!(d["github_enabled"], true);
    assert_eq!(d["github_client_secret_set"], true);
    assert_eq!(d["register_enabled"], false, "unchecked box");
    let (_, _, html) = page(&admin, &app.url("/admin/settings?done=saved")).await;
    assert!(!html.contains("gh-secret-value"), "write-only");
    assert!(html.contains("role=\"status\""));

    // An empty secret field keeps the secret; its clear box removes it.
    let mut keep: Vec<(&str, String)> = base
        .iter()
        .filter(|(k, _)| *k != "github_client_secret")
        .cloned()
        .collect();
    let res = admin
        .post(app.url("/admin/settings"))
        .form(&keep)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, settings) = get_json(&admin, &app.url("/api/admin/settings")).await;
    assert_eq!(settings["data"]["github_client_secret_set"], true);
    assert_eq!(settings["data"]["github_enabled"], false);
    keep.push(("github_client_secret__clear", "1".into()));
    let res = admin
        .post(app.url("/admin/settings"))
        .form(&keep)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, settings) = get_json(&admin, &app.url("/api/admin/settings")).await;
    assert_eq!(settings["data"]["github_client_secret_set"], false);

    // A bad number is refused with the page, not a crash.
    let mut bad = base.clone();
    bad.retain(|(k, _)| *k != "quota_per_unit");
    bad.push(("quota_per_unit", "many".into()));
    let res = admin
        .post(app.url("/admin/settings"))
        .form(&bad)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

async fn the_audit_page_filters_and_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, audrey_id) = app.user("audrey").await;
    let admin = app.admin().await;
    for i in 0..3 {
        let id = apply(&app, &developer, &format!("Audited {i}")).await;
        approve(&app, &admin, id).await;
    }
    let (status, _, all) = page(&admin, &app.url("/admin/audit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(all.contains("title=\"app.created\"") && all.contains("title=\"app.approved\""));
    // Actions in words, chosen from a list of every known action.
    assert!(all.contains(">应用通过审核</td>"), "{all}");
    assert!(all.contains("<option value=\"user.sign_in_failed\">登录失败</option>"));
    let (_, _, approved) = page(&admin, &app.url("/admin/audit?action=app.approved")).await;
    assert!(approved.contains("<option value=\"app.approved\" selected>"));
    assert!(!approved.contains("title=\"app.created\""));
    assert!(approved.contains("root"), "actor by name");
    assert_eq!(approved.matches("title=\"app.approved\"").count(), 3);
    let (_, _, none) = page(&admin, &app.url("/admin/audit?action=nothing.here")).await;
    assert!(!none.contains("<table"));
    // By actor: a name or #id.
    let (_, _, by_audrey) = page(&admin, &app.url("/admin/audit?actor=audrey")).await;
    assert_eq!(by_audrey.matches("title=\"app.created\"").count(), 3);
    assert!(!by_audrey.contains("title=\"app.approved\""), "root's");
    let (_, _, by_id) = page(
        &admin,
        &app.url(&format!("/admin/audit?actor=%23{audrey_id}")),
    )
    .await;
    assert_eq!(by_id.matches("title=\"app.created\"").count(), 3);
    let (status, _, nobody) = page(&admin, &app.url("/admin/audit?actor=nobody")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(nobody.contains("id=\"audit-actor-error\"") && !nobody.contains("<table"));
    // By dates (UTC days, both included).
    let (_, _, since_1970) = page(
        &admin,
        &app.url("/admin/audit?from=1970-01-01&action=app.approved"),
    )
    .await;
    assert_eq!(since_1970.matches("title=\"app.approved\"").count(), 3);
    let (_, _, in_1970) = page(
        &admin,
        &app.url("/admin/audit?from=1970-01-01&to=1970-01-02"),
    )
    .await;
    assert!(!in_1970.contains("<table"), "{in_1970}");
    let (_, _, bad) = page(&admin, &app.url("/admin/audit?to=someday")).await;
    assert!(bad.contains("id=\"audit-date-error\""));
    // Past the last page: empty, with a link back.
    let (status, _, past) = page(&admin, &app.url("/admin/audit?action=app.approved&p=2")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        past.contains("href=\"/admin/audit?action=app.approved&#38;p=1\""),
        "{past}"
    );
}

async fn admin_forms_refuse_a_missing_or_wrong_csrf_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, user_id) = app.user("victim").await;
    let id = apply(&app, &developer, "Untouched").await;
    let admin = app.admin().await;
    for token in [None, Some("forged")] {
        let forms: [(String, Vec<(&str, &str)>); 4] = [
            (
                format!("/admin/apps/{id}/review"),
                vec![("decision", "approve")],
            ),
            (format!("/admin/apps/{id}/trusted"), vec![("trusted", "1")]),
            (
                format!("/admin/users/{user_id}"),
                vec![("status", "2"), ("quota", "99")],
            ),
            ("/admin/settings".into(), vec![("quota_per_unit", "7")]),
        ];
        for (path, mut form) in forms {
            if let Some(token) = token {
                form.push(("csrf_token", token));
            }
            let (status, _, _) = submit(&admin, &app.url(&path), &form).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path} {token:?}");
        }
    }
    let (_, view) = get_json(&developer, &app.url(&format!("/api/oauth_apps/{id}"))).await;
    assert_eq!(
        (
            view["data"]["status"].clone(),
            view["data"]["trusted"].clone()
        ),
        (json!("pending"), json!(false))
    );
    let (_, me) = get_json(&developer, &app.url("/api/user/self")).await;
    assert_eq!(
        (me["data"]["status"].clone(), me["data"]["quota"].clone()),
        (json!(1), json!(0))
    );
    let (_, settings) = get_json(&admin, &app.url("/api/admin/settings")).await;
    assert_eq!(settings["data"]["quota_per_unit"], 1000);
}

async fn the_user_table_searches_sorts_and_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut ids = Vec::new();
    for name in ["cal", "amy", "bea"] {
        ids.push(app.user(name).await.1);
    }
    let admin = app.admin().await;
    let (status, _, html) = page(&admin, &app.url("/admin/users")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<table class=\"cards"),
        "a real table: {html}"
    );
    assert!(html.contains("<th scope=\"col\""));
    for id in &ids {
        assert!(
            html.contains(&format!("href=\"/admin/users/{id}\"")),
            "row links its page"
        );
    }
    assert!(
        !html.contains("class=\"inline\""),
        "no stacked inline forms"
    );
    // Newest first by default; by name on request, either way round.
    let at = |html: &str, name: &str| html.find(&format!(">{name}</a>")).expect(name);
    assert!(at(&html, "bea") < at(&html, "amy") && at(&html, "amy") < at(&html, "cal"));
    assert!(html.contains("href=\"/admin/users?sort=username&#38;dir=asc\""));
    let (_, _, by_name) = page(&admin, &app.url("/admin/users?sort=username&dir=asc")).await;
    assert!(at(&by_name, "amy") < at(&by_name, "bea") && at(&by_name, "bea") < at(&by_name, "cal"));
    assert!(by_name.contains("aria-sort=\"ascending\""));
    let (_, _, reversed) = page(&admin, &app.url("/admin/users?sort=username&dir=desc")).await;
    assert!(at(&reversed, "cal") < at(&reversed, "bea"));
    // An unknown sort key is the default order, never SQL.
    let (status, _, odd) = page(
        &admin,
        &app.url("/admin/users?sort=id;DROP%20TABLE%20users"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(at(&odd, "bea") < at(&odd, "amy"));
    // Searched by name; the search and the order stay in the pager's links.
    let (_, _, found) = page(
        &admin,
        &app.url("/admin/users?keyword=BE&sort=username&dir=asc"),
    )
    .await;
    assert!(found.contains(">bea</a>") && !found.contains(">amy</a>"));
    let (_, _, past) = page(
        &admin,
        &app.url("/admin/users?keyword=BE&sort=username&dir=asc&p=2"),
    )
    .await;
    assert!(
        past.contains("href=\"/admin/users?keyword=BE&#38;sort=username&#38;dir=asc&#38;p=1\""),
        "{past}"
    );
}

async fn the_user_detail_page_shows_the_account_to_admins_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, id) = app.user("dina").await;
    let (developer, _) = app.user("devi").await;
    let app_id = apply(&app, &developer, "Devi's App").await;
    let admin = app.admin().await;
    approve(&app, &admin, app_id).await;
    let url = app.url(&format!("/admin/users/{id}"));

    assert_eq!(page(&user, &url).await.0, StatusCode::FORBIDDEN);
    let (status, location, _) = page(&app.client(), &url).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.expect("location").starts_with("/login"));
    assert_eq!(
        page(&admin, &app.url("/admin/users/999999")).await.0,
        StatusCode::NOT_FOUND
    );

    let (status, _, html) = page(&admin, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("dina"));
    // Her live session, her ways in, and the audit about her: the sign-up and the sign-in.
    assert!(html.contains("id=\"sessions-title\"") && html.contains("127.0.0.1"));
    assert!(html.contains(&format!("href=\"/admin/users/{id}/ways_in\"")));
    assert!(
        html.contains("title=\"user.registered\"") && html.contains("title=\"user.signed_in\"")
    );
    // The edit form posts to the route the list used to; the destructive buttons are danger.
    assert!(html.contains(&format!("action=\"/admin/users/{id}\"")));
    assert!(html.contains(&format!("action=\"/admin/users/{id}/delete\"")));
    assert_eq!(
        html.matches("class=\"danger\"").count(),
        2,
        "disable and delete"
    );
    // The developer's page lists the app they own.
    let (_, devi) = get_json(&developer, &app.url("/api/user/self")).await;
    let devi_id = devi["data"]["id"].as_i64().expect("id");
    let (_, _, html) = page(&admin, &app.url(&format!("/admin/users/{devi_id}"))).await;
    assert!(
        html.contains("Devi&#39;s App") || html.contains("Devi's App"),
        "{html}"
    );
    // A page posted back from the detail page returns to it.
    let token = csrf(&html);
    let (status, location, _) = submit(
        &admin,
        &app.url(&format!("/admin/users/{devi_id}")),
        &[
            ("csrf_token", &token),
            ("level", "2"),
            ("return_to", &format!("/admin/users/{devi_id}")),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, Some(format!("/admin/users/{devi_id}")));
}

async fn disabling_and_trusting_change_nothing_without_confirmation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, id) = app.user("erin").await;
    let (developer, _) = app.user("fred").await;
    let app_id = apply(&app, &developer, "Fred's App").await;
    let admin = app.admin().await;
    approve(&app, &admin, app_id).await;
    let (_, _, html) = page(&admin, &app.url(&format!("/admin/users/{id}"))).await;
    // The consequence is stated next to the box.
    assert!(html.contains("id=\"disable-consequence\"") && html.contains("name=\"confirm\""));
    let token = csrf(&html);

    for confirm in ["", "0"] {
        let (status, _, body) = submit(
            &admin,
            &app.url(&format!("/admin/users/{id}")),
            &[
                ("csrf_token", &token),
                ("status", "2"),
                ("confirm", confirm),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    let (_, me) = get_json(&user, &app.url("/api/user/self")).await;
    assert_eq!(me["data"]["status"], 1, "still enabled, still signed in");

    let (status, _, _) = submit(
        &admin,
        &app.url(&format!("/admin/apps/{app_id}/trusted")),
        &[("csrf_token", &token), ("trusted", "1")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, view) = get_json(&developer, &app.url(&format!("/api/oauth_apps/{app_id}"))).await;
    assert_eq!(view["data"]["trusted"], false);
    // Removing the trust needs no confirmation.
    let (status, _, _) = submit(
        &admin,
        &app.url(&format!("/admin/apps/{app_id}/trusted")),
        &[("csrf_token", &token), ("trusted", "0")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Deleting needs the name typed (the consequence stated).
    assert!(html.contains("id=\"delete-consequence\""));
    let (status, _, _) = submit(
        &admin,
        &app.url(&format!("/admin/users/{id}/delete")),
        &[("csrf_token", &token), ("confirm", "")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, me) = get_json(&user, &app.url("/api/user/self")).await;
    assert_eq!(me["data"]["status"], 1);
}

async fn settings_pages_label_every_setting_and_save_their_own_section(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let mut pages = Vec::new();
    for slug in SETTINGS_PAGES {
        let (status, _, html) = page(&admin, &app.url(&format!("/admin/settings/{slug}"))).await;
        assert_eq!(status, StatusCode::OK, "{slug}");
        assert!(html.contains(&format!(
            "href=\"/admin/settings/{slug}\" aria-current=\"page\""
        )));
        assert!(html.contains(&format!("action=\"/admin/settings/{slug}\"")));
        assert!(
            !html.contains("<legend></legend>"),
            "{slug}: every fieldset is named"
        );
        pages.push(html);
    }
    assert_eq!(
        page(&admin, &app.url("/admin/settings/nothing")).await.0,
        StatusCode::NOT_FOUND
    );
    // Every setting of the document (and every secret) is on exactly one page, with a help
    // text, and never labelled by its key.
    let (_, document) = get_json(&admin, &app.url("/api/admin/settings")).await;
    let keys: Vec<String> = document["data"]
        .as_object()
        .expect("settings")
        .keys()
        .map(|k| k.strip_suffix("_set").unwrap_or(k).to_owned())
        .collect();
    assert!(keys.len() > 60, "{keys:?}");
    for key in &keys {
        let on: Vec<_> = pages
            .iter()
            .filter(|html| html.contains(&format!("id=\"s-{key}-help\"")))
            .collect();
        assert_eq!(on.len(), 1, "{key} is on {} pages", on.len());
        assert!(
            !on[0].contains(&format!(">{key}</label>")),
            "{key} labelled by its key"
        );
    }
    // The callback URLs to register, from the configured public URL.
    let providers = &pages[1];
    for provider in ["github", "oidc", "linuxdo"] {
        assert!(
            providers.contains(&format!(
                "<code>{}</code>",
                app.url(&format!("/api/oauth/{provider}"))
            )),
            "{provider}: {providers}"
        );
    }

    // A page saves its own settings only: its unchecked boxes turn off, others stay.
    let token = csrf(&pages[0]);
    let (status, location, _) = submit(
        &admin,
        &app.url("/admin/settings/access"),
        &[("csrf_token", &token), ("quota_for_new_user", "42")],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (
            StatusCode::SEE_OTHER,
            Some("/admin/settings/access?done=saved")
        )
    );
    let (_, settings) = get_json(&admin, &app.url("/api/admin/settings")).await;
    assert_eq!(settings["data"]["quota_for_new_user"], 42);
    assert_eq!(
        settings["data"]["register_enabled"], false,
        "unchecked on its page"
    );
    assert_eq!(
        settings["data"],
        {
            let mut expected = document["data"].clone();
            expected["quota_for_new_user"] = json!(42);
            for key in [
                "register_enabled",
                "password_register_enabled",
                "password_login_enabled",
                "email_verification_enabled",
            ] {
                expected[key] = json!(false);
            }
            expected
        },
        "nothing else changed"
    );

    // A failed save shows the page again with the error at its field; nothing is saved.
    let (status, _, body) = submit(
        &admin,
        &app.url("/admin/settings/billing"),
        &[
            ("csrf_token", &token),
            ("quota_per_unit", "0"),
            ("currency_symbol", "$"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("id=\"s-quota_per_unit-error\""), "{body}");
    assert!(body.contains("aria-invalid=\"true\""));
    let (status, _, body) = submit(
        &admin,
        &app.url("/admin/settings/billing"),
        &[("csrf_token", &token), ("quota_per_unit", "lots")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("id=\"s-quota_per_unit-error\""), "{body}");
    let (_, settings) = get_json(&admin, &app.url("/api/admin/settings")).await;
    assert_eq!(
        settings["data"]["quota_per_unit"],
        document["data"]["quota_per_unit"]
    );
}

async fn the_branding_page_takes_a_colour_and_an_uploaded_logo(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let (_, _, html) = page(&admin, &app.url("/admin/settings/brand")).await;
    assert!(
        html.contains("type=\"color\"")
            && html.contains("name=\"accent_color__default\" value=\"1\" checked")
    );
    assert!(html.contains("type=\"file\"") && html.contains("enctype=\"multipart/form-data\""));
    let token = csrf(&html);
    let brand = |extra: &[(&'static str, &'static str)]| {
        let mut form: Vec<(&str, &str)> = vec![
            ("csrf_token", token.as_str()),
            ("system_name", "Acme ID"),
            ("accent_color", "#112233"),
        ];
        form.extend_from_slice(extra);
        form
    };
    let (status, _, _) = submit(&admin, &app.url("/admin/settings/brand"), &brand(&[])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, settings) = get_json(&admin, &app.url("/api/admin/settings")).await;
    assert_eq!(settings["data"]["accent_color"], "#112233");
    submit(
        &admin,
        &app.url("/admin/settings/brand"),
        &brand(&[("accent_color__default", "1")]),
    )
    .await;
    let (_, settings) = get_json(&admin, &app.url("/api/admin/settings")).await;
    assert_eq!(settings["data"]["accent_color"], "", "the default again");

    // Upload: a PNG is kept; anything else is refused at the field.
    let upload = |token: &str, bytes: &[u8]| {
        let boundary = "kwboundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"logo.png\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        admin
            .post(app.url("/admin/settings/brand/logo"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
    };
    let res = upload("forged", b"\x89PNG\r\n\x1a\nrest")
        .await
        .expect("upload");
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "the form token is checked"
    );
    let res = upload(&token, b"<svg/>").await.expect("upload");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("id=\"s-logo_upload-error\"")
    );
    let res = upload(&token, b"\x89PNG\r\n\x1a\nrest")
        .await
        .expect("upload");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // A logo bigger than the default body limit (64 KiB), within core's 128 KB.
    let big = [b"\x89PNG\r\n\x1a\n".as_slice(), &[7u8; 100 * 1024]].concat();
    let res = upload(&token, &big).await.expect("upload");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let served = admin
        .get(app.url("/brand/logo"))
        .send()
        .await
        .expect("logo");
    assert_eq!(served.bytes().await.expect("bytes").len(), big.len());
    let (_, _, html) = page(&admin, &app.url("/admin/settings/brand")).await;
    assert!(
        html.contains("name=\"logo_upload__clear\""),
        "uploaded, removable"
    );
    let logo = admin
        .get(app.url("/brand/logo"))
        .send()
        .await
        .expect("logo");
    assert_eq!(logo.status(), StatusCode::OK);
    // Removed with its box.
    submit(
        &admin,
        &app.url("/admin/settings/brand"),
        &brand(&[("logo_upload__clear", "1")]),
    )
    .await;
    let (_, settings) = get_json(&admin, &app.url("/api/admin/settings")).await;
    assert_eq!(settings["data"]["logo_upload"], "");
}
