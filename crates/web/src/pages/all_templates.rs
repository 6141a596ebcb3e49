//! Every template renders in both languages with sample data, and no template carries what the
//! CSP forbids (inline script, inline style, event-handler attributes).

use super::{EN, Texts, ZH};
use askama::Template;
use keyward_core::model::{Role, User, UserStatus};
use std::collections::BTreeSet;
use std::path::Path;

fn sample_user() -> User {
    User {
        id: 1,
        uuid: uuid::Uuid::nil(),
        username: "alice".into(),
        display_name: "Alice <A>".into(),
        email: Some("alice@example.com".into()),
        email_verified: true,
        password_hash: None,
        avatar_url: String::new(),
        level: 2,
        role: Role::Root,
        status: UserStatus::Enabled,
        quota: 1_000_000,
        used_quota: 250_000,
        aff_code: "aff".into(),
        inviter_id: None,
        created_at: 1_767_225_600,
        last_login_at: Some(1_767_225_700),
        totp_enabled: false,
    }
}

fn every_page(t: &'static Texts) -> Vec<(&'static str, String)> {
    let user = sample_user();
    let chrome = || super::Chrome::new(t, "/x", Some(&user));
    let mut pages = vec![
        (
            "error.html",
            super::problem::ErrorPage {
                t,
                chrome: chrome(),
                message: "出错了 <b>",
                hint: t.hint_fix_the_app,
                code: "unknown_client",
                back: Some(&super::problem::Back {
                    app: "Notes <i>".into(),
                    href: "https://notes.example/cb?error=access_denied".into(),
                }),
            }
            .render()
            .unwrap_or_default(),
        ),
        (
            "message.html",
            super::MessagePage {
                t,
                chrome: chrome(),
                title: "T",
                message: "M",
            }
            .render()
            .unwrap_or_default(),
        ),
    ];
    pages.extend(super::login::samples(t));
    pages.extend(crate::oauth::authorize::samples(t));
    pages.extend(crate::oidc::logout::samples(t));
    pages.extend(super::console::samples(t, &user));
    pages.extend(super::device::samples(t, &user));
    pages.extend(super::admin::samples(t, &user));
    pages.extend(super::admin_topup::samples(t, &user));
    pages.extend(super::account::home::samples(t));
    pages.extend(super::account::authorizations::samples(t));
    pages.extend(super::account::spend_limit::samples(t));
    pages.extend(super::account::ledger::samples(t));
    pages.extend(super::account::register::samples(t));
    pages.extend(super::account::reset::samples(t));
    pages.extend(super::account::security::samples(t));
    pages.extend(super::account::topup::samples(t));
    pages.extend(super::account::activity::samples(t));
    pages.extend(super::docs::samples(t));
    pages
}

/// Templates on disk, by path under `templates/` (`account/home.html`); `_name.html` files are
/// partials and `base.html` the frame, both rendered as part of the others.
fn template_files() -> BTreeSet<String> {
    fn walk(dir: &Path, prefix: &str, found: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = format!("{prefix}{name}");
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&entry.path(), &format!("{path}/"), found);
            } else {
                found.insert(path);
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/templates")),
        "",
        &mut found,
    );
    found
}

/// A template rendered only as part of others: the frame, or a partial (`_name.html`).
fn is_part(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    path == "base.html" || file.starts_with('_')
}

/// What the CSP would block or a careless template would leak; empty when clean.
fn problems(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("<script") {
        let tag = &rest[at..];
        let end = tag.find('>').map_or(tag.len(), |i| i + 1);
        if !tag[..end].contains(" src=") || !tag[end..].starts_with("</script>") {
            found.push(format!("inline script: {}", &tag[..end]));
        }
        rest = &tag[end..];
    }
    if lower.contains("<style") {
        found.push("a <style> element".into());
    }
    for (i, _) in lower.match_indices("style=") {
        if lower[..i].ends_with(|c: char| c.is_ascii_whitespace()) {
            found.push("a style= attribute".into());
        }
    }
    for word in lower.split(|c: char| c.is_ascii_whitespace() || c == '<') {
        if let Some((name, _)) = word.split_once('=')
            && name.len() > 2
            && name.starts_with("on")
            && name.chars().all(|c| c.is_ascii_lowercase())
        {
            found.push(format!("an event handler attribute: {name}"));
        }
    }
    if lower.contains("javascript:") {
        found.push("a javascript: URL".into());
    }
    found
}

#[test]
fn every_template_renders_in_both_languages() {
    let mut rendered = BTreeSet::new();
    for t in [&ZH, &EN] {
        for (name, html) in every_page(t) {
            assert!(!html.is_empty(), "{name} failed to render");
            assert!(
                html.contains(&format!("<html lang=\"{}\">", t.lang)),
                "{name} ({}) lacks its lang attribute",
                t.lang
            );
            assert!(
                !html.contains("{{") && !html.contains("{%"),
                "{name} leaked template syntax:\n{html}"
            );
            assert!(problems(&html).is_empty(), "{name}: {:?}", problems(&html));
            rendered.insert(name.to_owned());
        }
    }
    let expected: BTreeSet<String> = template_files()
        .into_iter()
        .filter(|f| f.ends_with(".html") && !is_part(f))
        .collect();
    assert!(
        expected.contains("account/home.html"),
        "templates in folders not found: {expected:?}"
    );
    let missing: Vec<_> = expected.difference(&rendered).collect();
    assert!(
        missing.is_empty(),
        "templates without a sample: {missing:?}"
    );
}

#[test]
fn no_template_file_has_inline_script_style_or_handlers() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
    let files = template_files();
    assert!(files.len() > 5);
    for name in files {
        let text = std::fs::read_to_string(format!("{dir}/{name}")).unwrap_or_default();
        assert!(problems(&text).is_empty(), "{name}: {:?}", problems(&text));
    }
}

#[test]
fn the_integration_guides_render_without_script_or_style() {
    for markdown in [
        include_str!("../../../../docs/integration-guide.en.md"),
        include_str!("../../../../docs/integration-guide.zh-CN.md"),
    ] {
        let html = super::docs::to_html(markdown);
        assert!(problems(&html).is_empty(), "{:?}", problems(&html));
    }
}

#[test]
fn the_checks_catch_what_they_look_for() {
    for bad in [
        "<script>alert(1)</script>",
        "<script src=\"/a.js\">x()</script>",
        "<p style=\"color:red\">",
        "<button onclick=\"x()\">",
        "<body onload=x>",
        "<style>p{}</style>",
        "<a href=\"javascript:x()\">",
    ] {
        assert!(!problems(bad).is_empty(), "{bad}");
    }
    assert!(problems("<script src=\"/static/keyward.js\" defer></script><p>only=1</p>").is_empty());
}
