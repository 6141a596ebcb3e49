//! The admin pages for resource servers (issue 14 #1): registering, changing and disabling APIs
//! and limiting an app to some of them, through the same service as the admin API (same rules,
//! same audit records), in the page's language.

use crate::helpers::{Backend, TestApp, get_json};
use crate::oauth_support::*;
use crate::on_both_backends;
use crate::page_language::{assert_english, english_browser};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    resource_pages_are_for_admins_only,
    an_admin_registers_an_api_on_the_page_and_sees_it_listed,
    bad_resource_input_shows_why_in_the_page_and_writes_nothing,
    an_admin_edits_and_disables_an_api_and_both_are_audited,
    an_api_limit_set_on_the_review_page_takes_effect_and_can_be_lifted,
    english_resource_pages_say_their_words_and_refusals_in_english,
);

const FILES: &str = "https://files.example.com";
const MCP: &str = "https://mcp.example.com/mcp";

/// The register form as a browser would send it, `fields` over the defaults.
fn register_form<'a>(token: &'a str, fields: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("csrf_token", token),
        ("identifier", FILES),
        ("name", "文件服务"),
        ("name_en", "Files"),
        (
            "scopes",
            "files:read | 读取你的文件 | Read your files\nfiles:write | 修改你的文件 | Change your files",
        ),
        ("token_format", "opaque"),
        ("signing_alg", "RS256"),
        ("access_token_ttl_secs", ""),
        ("introspection_client_id", ""),
    ];
    for (name, value) in fields {
        form.retain(|(k, _)| k != name);
        form.push((name, value));
    }
    form
}

/// Registers an API from the page; returns its id.
async fn register(app: &TestApp, admin: &Client, fields: &[(&str, &str)]) -> i64 {
    let (_, _, html) = page(admin, &app.url("/admin/resources")).await;
    let token = csrf(&html);
    let (status, location, body) = submit(
        admin,
        &app.url("/admin/resources"),
        &register_form(&token, fields),
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/admin/resources?done=created")),
        "{body}"
    );
    let identifier = fields
        .iter()
        .find(|(k, _)| *k == "identifier")
        .map_or(FILES, |(_, v)| *v);
    let listed = resources(app, admin).await;
    let found = listed
        .iter()
        .find(|r| r["identifier"] == identifier)
        .unwrap_or_else(|| panic!("{identifier} not in {listed:?}"));
    found["id"].as_i64().expect("id")
}

async fn resources(app: &TestApp, admin: &Client) -> Vec<Value> {
    let (_, list) = get_json(admin, &app.url("/api/admin/resources")).await;
    list["data"].as_array().cloned().unwrap_or_default()
}

async fn audit(app: &TestApp, admin: &Client, action: &str) -> Vec<Value> {
    let (_, audit) = get_json(
        admin,
        &app.url(&format!("/api/admin/audit?action={action}")),
    )
    .await;
    audit["data"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn resource_pages_are_for_admins_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let id = register(&app, &admin, &[]).await;
    let anonymous = app.client();
    let (user, _) = app.user("plain").await;
    for path in [
        "/admin/resources".to_owned(),
        format!("/admin/resources/{id}"),
    ] {
        let (status, location, _) = page(&anonymous, &app.url(&path)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert!(
            location
                .expect("location")
                .starts_with("/login?return_to=%2Fadmin%2Fresources")
        );
        assert_eq!(page(&user, &app.url(&path)).await.0, StatusCode::FORBIDDEN);
    }
    // A user's posts are refused, with the user's own valid token; nothing changes.
    let (_, _, console) = page(&user, &app.url("/user/setting/oauth")).await;
    let token = csrf(&console);
    let posts: [(String, Vec<(&str, &str)>); 3] = [
        (
            "/admin/resources".into(),
            register_form(&token, &[("identifier", MCP)]),
        ),
        (
            format!("/admin/resources/{id}"),
            register_form(&token, &[("name", "hijacked")]),
        ),
        (
            format!("/admin/resources/{id}/enabled"),
            vec![("csrf_token", &token), ("enabled", "0")],
        ),
    ];
    for (path, form) in &posts {
        let (status, _, _) = submit(&user, &app.url(path), form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    // And so are an admin's without the page's token.
    for (path, form) in &posts {
        let (status, _, _) = submit(&admin, &app.url(path), form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path} with another's token");
    }
    let listed = resources(&app, &admin).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        (&listed[0]["name"], &listed[0]["enabled"]),
        (&json!("文件服务"), &json!(true))
    );
    // The API limit of an app is the admins' too.
    let (developer, _) = app.user("dev").await;
    let registered = register_app(&app, &developer, json!({})).await;
    let (status, _, _) = submit(
        &user,
        &app.url(&format!("/admin/apps/{}/resources", registered.id)),
        &[("csrf_token", &token), ("limit", "only")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, view) = get_json(
        &developer,
        &app.url(&format!("/api/oauth_apps/{}", registered.id)),
    )
    .await;
    assert!(view["data"].get("allowed_resources").is_none(), "{view}");
}

async fn an_admin_registers_an_api_on_the_page_and_sees_it_listed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let (status, _, empty) = page(&admin, &app.url("/admin/resources")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(empty.contains("还没有登记 API"), "{empty}");
    assert!(empty.contains("href=\"/admin/resources\" aria-current=\"page\""));

    let id = register(&app, &admin, &[]).await;
    let (_, resource) = get_json(&admin, &app.url(&format!("/api/admin/resources/{id}"))).await;
    let r = &resource["data"];
    assert_eq!(
        (
            &r["name"],
            &r["name_en"],
            &r["token_format"],
            &r["signing_alg"]
        ),
        (
            &json!("文件服务"),
            &json!("Files"),
            &json!("opaque"),
            &json!("RS256")
        )
    );
    assert_eq!(
        r["access_token_ttl_secs"], 3600,
        "an empty lifetime: default"
    );
    assert_eq!(
        r["scopes"],
        json!([
            {"name": "files:read", "description": "读取你的文件", "description_en": "Read your files"},
            {"name": "files:write", "description": "修改你的文件", "description_en": "Change your files"},
        ])
    );

    // A JWT API introspected by an app of its own; the lifetime given.
    let (developer, _) = app.user("api-owner").await;
    let api_app = register_app(&app, &developer, json!({"name": "MCP server"})).await;
    let jwt = register(
        &app,
        &admin,
        &[
            ("identifier", MCP),
            ("name", "MCP 工具"),
            ("name_en", ""),
            ("scopes", "mcp:tools | 使用工具"),
            ("token_format", "jwt"),
            ("signing_alg", "EdDSA"),
            ("access_token_ttl_secs", "600"),
            ("introspection_client_id", &api_app.client_id),
        ],
    )
    .await;
    let (_, resource) = get_json(&admin, &app.url(&format!("/api/admin/resources/{jwt}"))).await;
    let r = &resource["data"];
    assert_eq!(
        (
            &r["name_en"],
            &r["token_format"],
            &r["signing_alg"],
            &r["access_token_ttl_secs"],
            &r["introspection_client_id"],
        ),
        (
            &json!("MCP 工具"),
            &json!("jwt"),
            &json!("EdDSA"),
            &json!(600),
            &json!(api_app.client_id),
        ),
        "{resource}"
    );

    let (_, _, listed) = page(&admin, &app.url("/admin/resources?done=created")).await;
    assert!(listed.contains("role=\"status\""), "the notice");
    for shown in [
        FILES,
        MCP,
        "文件服务",
        "Files",
        "files:read",
        "读取你的文件",
        "Read your files",
        "mcp:tools",
        "EdDSA",
        "600",
        api_app.client_id.as_str(),
        &format!("href=\"/admin/resources/{jwt}\""),
    ] {
        assert!(listed.contains(shown), "{shown} in {listed}");
    }
    let created = audit(&app, &admin, "resource.created").await;
    assert_eq!(created.len(), 2);
    assert!(
        created
            .iter()
            .any(|e| e["target"] == MCP && e["detail"]["token_format"] == "jwt"),
        "{created:?}"
    );
}

async fn bad_resource_input_shows_why_in_the_page_and_writes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let id = register(&app, &admin, &[]).await;
    let (_, _, html) = page(&admin, &app.url("/admin/resources")).await;
    let token = csrf(&html);
    let issuer = app.url("");
    let refused: [(&[(&str, &str)], &str); 9] = [
        (&[], "该资源标识已被注册"),
        (
            &[("identifier", "http://api.example.com")],
            "资源标识必须是绝对 https URI",
        ),
        (
            &[("identifier", "https://a.example.com/#x")],
            "资源标识必须是绝对 https URI",
        ),
        (
            &[("identifier", issuer.as_str())],
            "资源标识不能是本站的 issuer",
        ),
        (
            &[("identifier", "https://b.example.com"), ("name", " ")],
            "资源名称不能为空",
        ),
        (
            &[
                ("identifier", "https://b.example.com"),
                ("scopes", "profile | 内置权限"),
            ],
            "权限名称无效",
        ),
        (
            &[
                ("identifier", "https://b.example.com"),
                ("token_format", "jwt"),
                ("access_token_ttl_secs", "7200"),
            ],
            "访问令牌有效期超出范围",
        ),
        (
            &[
                ("identifier", "https://b.example.com"),
                ("access_token_ttl_secs", "an hour"),
            ],
            "请输入整数：访问令牌有效期",
        ),
        (
            &[
                ("identifier", "https://b.example.com"),
                ("introspection_client_id", "client_nobody"),
            ],
            "用于令牌内省的应用必须是已存在的机密客户端",
        ),
    ];
    for (fields, why) in refused {
        let (status, _, body) = submit(
            &admin,
            &app.url("/admin/resources"),
            &register_form(&token, fields),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{fields:?}: {body}");
        assert!(body.contains("role=\"alert\""), "{fields:?}");
        assert!(body.contains(why), "{why} for {fields:?}: {body}");
        // What was typed comes back.
        let typed = fields
            .iter()
            .find(|(k, _)| *k == "identifier")
            .map_or(FILES, |(_, v)| *v);
        assert!(
            body.contains(&format!("value=\"{typed}\"")),
            "{typed}: {body}"
        );
    }
    assert_eq!(resources(&app, &admin).await.len(), 1, "nothing registered");
    assert_eq!(audit(&app, &admin, "resource.created").await.len(), 1);

    // The edit form refuses the same way and leaves the API as it was.
    let (_, _, edit) = page(&admin, &app.url(&format!("/admin/resources/{id}"))).await;
    let token = csrf(&edit);
    for (fields, why) in [
        (vec![("scopes", "files:read\nfiles:read")], "权限名称无效"),
        (vec![("signing_alg", "HS256")], "不支持的签名算法"),
        (
            vec![("access_token_ttl_secs", "59")],
            "访问令牌有效期超出范围",
        ),
    ] {
        let (status, _, body) = submit(
            &admin,
            &app.url(&format!("/admin/resources/{id}")),
            &register_form(&token, &fields),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{fields:?}: {body}");
        assert!(body.contains(why), "{why}: {body}");
        assert!(
            body.contains(&format!("value=\"{FILES}\" disabled")),
            "{body}"
        );
    }
    let (_, resource) = get_json(&admin, &app.url(&format!("/api/admin/resources/{id}"))).await;
    assert_eq!(resource["data"]["scopes"].as_array().map(Vec::len), Some(2));
    assert_eq!(resource["data"]["access_token_ttl_secs"], 3600);
    assert!(audit(&app, &admin, "resource.updated").await.is_empty());

    // Unknown ids and a malformed enable switch get pages, not crashes.
    let (status, _, _) = page(&admin, &app.url("/admin/resources/999")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = page(&admin, &app.url("/admin/resources/files")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = submit(
        &admin,
        &app.url("/admin/resources/999/enabled"),
        &[("csrf_token", &token), ("enabled", "0")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = submit(
        &admin,
        &app.url(&format!("/admin/resources/{id}/enabled")),
        &[("csrf_token", &token), ("enabled", "maybe")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn an_admin_edits_and_disables_an_api_and_both_are_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("developer").await;
    let registered = register_app(&app, &developer, json!({})).await;
    let (browser, _) = app.user("user").await;
    let admin = app.admin().await;
    let id = register(&app, &admin, &[]).await;

    let (status, _, edit) = page(&admin, &app.url(&format!("/admin/resources/{id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        edit.contains("files:read | 读取你的文件 | Read your files"),
        "the scopes read back as typed: {edit}"
    );
    let token = csrf(&edit);
    // The identifier is fixed: a posted one is ignored.
    let (status, location, body) = submit(
        &admin,
        &app.url(&format!("/admin/resources/{id}")),
        &register_form(
            &token,
            &[
                ("identifier", "https://other.example.com"),
                ("name", "文件"),
                ("name_en", "File store"),
                ("scopes", "files:read | 读取 | Read"),
                ("token_format", "jwt"),
                ("signing_alg", "ES256"),
                ("access_token_ttl_secs", ""),
            ],
        ),
    )
    .await;
    let saved = format!("/admin/resources/{id}?done=saved");
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some(saved.as_str())),
        "{body}"
    );
    let (_, resource) = get_json(&admin, &app.url(&format!("/api/admin/resources/{id}"))).await;
    let r = &resource["data"];
    assert_eq!(r["identifier"], FILES);
    assert_eq!(
        (&r["name_en"], &r["token_format"], &r["signing_alg"]),
        (&json!("File store"), &json!("jwt"), &json!("ES256"))
    );
    assert_eq!(r["access_token_ttl_secs"], 300, "a new format's default");
    assert_eq!(r["scopes"].as_array().map(Vec::len), Some(1));
    let (_, _, shown) = page(&admin, &app.url(&saved)).await;
    assert!(shown.contains("role=\"status\"") && shown.contains("File store"));

    // Disable: new requests naming it get invalid_target, and the change is audited.
    let params = [
        ("client_id", registered.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "files:read"),
        ("state", "st"),
        ("resource", FILES),
    ];
    let (status, _, _) = authorize(&app, &browser, "/oauth/authorize", &params).await;
    assert_eq!(status, StatusCode::OK, "the consent page while enabled");
    let (status, location, _) = submit(
        &admin,
        &app.url(&format!("/admin/resources/{id}/enabled")),
        &[
            ("csrf_token", &token),
            ("enabled", "0"),
            ("return_to", &format!("/admin/resources/{id}")),
        ],
    )
    .await;
    let disabled = format!("/admin/resources/{id}?done=disabled");
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some(disabled.as_str()))
    );
    let (_, resource) = get_json(&admin, &app.url(&format!("/api/admin/resources/{id}"))).await;
    assert_eq!(resource["data"]["enabled"], false);
    let (_, location, _) = authorize(&app, &browser, "/oauth/authorize", &params).await;
    let location = location.expect("back to the app");
    assert_eq!(
        param(&location, "error").as_deref(),
        Some("invalid_target"),
        "{location}"
    );
    let (_, _, shown) = page(&admin, &app.url(&disabled)).await;
    assert!(shown.contains("badge-disabled") && shown.contains("name=\"enabled\" value=\"1\""));
    let updated = audit(&app, &admin, "resource.updated").await;
    assert_eq!(updated.len(), 2, "the edit and the switch: {updated:?}");
    assert_eq!(
        (
            &updated[0]["target"],
            &updated[0]["detail"]["enabled"],
            updated[0]["actor_id"].is_i64()
        ),
        (&json!(FILES), &json!(false), true),
        "{updated:?}"
    );

    // Enable again, from the list page.
    let (status, location, _) = submit(
        &admin,
        &app.url(&format!("/admin/resources/{id}/enabled")),
        &[
            ("csrf_token", &token),
            ("enabled", "1"),
            ("return_to", "https://evil.example/"),
        ],
    )
    .await;
    let enabled = format!("/admin/resources/{id}?done=enabled");
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some(enabled.as_str())),
        "return_to stays in /admin"
    );
    let (status, _, _) = authorize(&app, &browser, "/oauth/authorize", &params).await;
    assert_eq!(status, StatusCode::OK);
}

async fn an_api_limit_set_on_the_review_page_takes_effect_and_can_be_lifted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("developer").await;
    let registered = register_app(&app, &developer, json!({"name": "Limited App"})).await;
    let (browser, _) = app.user("user").await;
    let admin = app.admin().await;
    register(&app, &admin, &[]).await;
    register(
        &app,
        &admin,
        &[
            ("identifier", MCP),
            ("name", "MCP"),
            ("name_en", "MCP"),
            ("scopes", "mcp:tools"),
        ],
    )
    .await;
    let ask = |resource: &'static str, scope: &'static str| {
        let params = [
            ("client_id", registered.client_id.clone()),
            ("redirect_uri", CALLBACK.to_owned()),
            ("response_type", "code".to_owned()),
            ("scope", scope.to_owned()),
            ("state", "st".to_owned()),
            ("resource", resource.to_owned()),
        ];
        let (app, browser) = (&app, &browser);
        async move {
            let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, location, _) = authorize(app, browser, "/oauth/authorize", &params).await;
            (status, location.and_then(|l| param(&l, "error")))
        }
    };
    assert_eq!(ask(FILES, "files:read").await, (StatusCode::OK, None));

    // The review page offers every API, none ticked while the app has no limit.
    let (_, _, apps) = page(&admin, &app.url("/admin/apps?status=approved")).await;
    let action = format!("action=\"/admin/apps/{}/resources\"", registered.id);
    assert!(apps.contains(&action), "{apps}");
    assert!(apps.contains("任何已启用的 API"));
    assert!(
        apps.contains(&format!("value=\"{MCP}\">")),
        "unticked: {apps}"
    );
    let token = csrf(&apps);
    let (status, location, _) = submit(
        &admin,
        &app.url(&format!("/admin/apps/{}/resources", registered.id)),
        &[
            ("csrf_token", &token),
            ("resource", MCP),
            ("limit", "only"),
            ("return_to", "/admin/apps?status=approved"),
        ],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/admin/apps?status=approved"))
    );
    // The developer sees the limit on the app's own view.
    let url = app.url(&format!("/api/oauth_apps/{}", registered.id));
    let (_, view) = get_json(&developer, &url).await;
    assert_eq!(view["data"]["allowed_resources"], json!([MCP]), "{view}");
    assert_eq!(
        ask(FILES, "files:read").await,
        (StatusCode::FOUND, Some("invalid_target".into())),
        "another API than the one allowed"
    );
    assert_eq!(ask(MCP, "mcp:tools").await, (StatusCode::OK, None));
    let (_, _, apps) = page(&admin, &app.url("/admin/apps?status=approved")).await;
    assert!(apps.contains(&format!("value=\"{MCP}\" checked")), "{apps}");
    assert!(
        apps.contains("name=\"limit\" value=\"any\""),
        "a limit to lift"
    );
    let changed = audit(&app, &admin, "app.updated").await;
    assert_eq!(
        changed[0]["detail"]["resources"],
        json!([MCP]),
        "{changed:?}"
    );

    // A name that is no registered API is refused with a page; the limit stays.
    let (status, _, body) = submit(
        &admin,
        &app.url(&format!("/admin/apps/{}/resources", registered.id)),
        &[
            ("csrf_token", &token),
            ("resource", "https://unknown.example.com"),
            ("limit", "only"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("资源列表无效"), "{body}");
    let (_, view) = get_json(&developer, &url).await;
    assert_eq!(view["data"]["allowed_resources"], json!([MCP]));

    // Lifted: any enabled API again.
    let (status, _, _) = submit(
        &admin,
        &app.url(&format!("/admin/apps/{}/resources", registered.id)),
        &[("csrf_token", &token), ("resource", MCP), ("limit", "any")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, view) = get_json(&developer, &url).await;
    assert!(view["data"].get("allowed_resources").is_none(), "{view}");
    assert_eq!(ask(FILES, "files:read").await, (StatusCode::OK, None));
}

async fn english_resource_pages_say_their_words_and_refusals_in_english(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = english_browser(&app, app.admin().await).await;
    let (developer, _) = app.user("developer").await;
    register_app(&app, &developer, json!({"name": "Some App"})).await;
    // Names and descriptions are the admin's data, not the page's words: ASCII here.
    let ascii = [
        ("name", "Files"),
        ("scopes", "files:read | Read files | Read your files"),
    ];
    let id = register(&app, &admin, &ascii).await;
    for path in [
        "/admin/resources?done=created".to_owned(),
        format!("/admin/resources/{id}?done=saved"),
        "/admin/apps".to_owned(),
    ] {
        let (status, _, html) = page(&admin, &app.url(&path)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_english(&path, &html);
    }
    let (_, _, html) = page(&admin, &app.url("/admin/resources")).await;
    assert!(html.contains("Register an API"), "{html}");
    let token = csrf(&html);
    for (fields, why) in [
        (
            vec![("identifier", "http://api.example.com")],
            "The identifier must be an absolute https URI",
        ),
        (vec![], "That identifier is already registered."),
        (
            vec![
                ("identifier", "https://b.example.com"),
                ("access_token_ttl_secs", "x"),
            ],
            "Enter a whole number: Access token lifetime",
        ),
    ] {
        let mut typed = ascii.to_vec();
        typed.extend(fields);
        let (status, _, body) = submit(
            &admin,
            &app.url("/admin/resources"),
            &register_form(&token, &typed),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains(why), "{why}: {body}");
        assert_english(why, &body);
    }
    let (status, _, body) = submit(
        &admin,
        &app.url(&format!("/admin/resources/{id}")),
        &register_form(
            &token,
            &[("name", "Files"), ("scopes", "two words | Read | Read")],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("A scope name is 1 to 64"), "{body}");
    assert_english("edit refused", &body);
}
