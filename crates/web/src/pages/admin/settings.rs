//! `/admin/settings/{section}`: the runtime settings document and the vault's write-only
//! secrets, one page per section, through the same update as `PUT /api/admin/settings`. Each
//! field has its label and help text (`settings_words.rs`); a setting added to `Settings`
//! without words fails that file's test. `POST /admin/settings` still takes the whole document (`settings_save.rs`).

use super::settings_words::{SECTIONS, setting_choices, settings_group, words};
use super::{AdminFrame, admin_texts, unavailable};
use crate::federation::state::{callback_uri, spa_callback_uri};
use crate::pages::{PageAdmin, PageUser, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::model::Role;
use keyward_core::settings::{self, BrandProblem, InvalidSettings, SettingsUpdateError};
use keyward_core::vault;
use serde::Deserialize;
use serde_json::{Map, Value};
#[cfg(test)]
use {crate::pages::Gallery, keyward_core::model::User};

pub struct SettingField {
    pub key: String,
    pub label: &'static str,
    pub help: &'static str,
    /// `bool`, `number`, `text`, `select` (one of `choices`), `list` (one entry per line),
    /// `secret`, `color` (with a "default" box) or `upload` (the logo: set or not, and a box
    /// that removes it).
    pub kind: &'static str,
    pub choices: &'static [&'static str],
    pub value: String,
    pub checked: bool,
    /// For secrets and the uploaded logo: whether one is set (its value is never shown).
    pub is_set: bool,
    /// Root's alone (`settings::ROOT_ONLY`): shown to other admins, not editable.
    pub locked: bool,
    pub error: Option<String>,
}

/// Where to register this server with a provider.
pub struct Callback {
    pub label: &'static str,
    pub url: String,
}

pub struct SettingGroup {
    pub title: &'static str,
    pub callbacks: Vec<Callback>,
    pub fields: Vec<SettingField>,
}

/// One link of the settings sub-navigation.
pub struct SectionLink {
    pub slug: &'static str,
    pub title: &'static str,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "admin_settings.html")]
pub struct SettingsPage {
    pub frame: AdminFrame,
    pub sections: Vec<SectionLink>,
    /// The section's title; empty for the whole document (a failed `POST /admin/settings`).
    pub title: &'static str,
    /// Where the form posts.
    pub action: String,
    pub groups: Vec<SettingGroup>,
    /// Some fields are root's alone and shown read-only.
    pub has_locked: bool,
    /// The branding page's own form that uploads a logo.
    pub logo_form: bool,
    pub error: Option<String>,
    pub notice: Option<&'static str>,
    /// The values the form shows, as JSON: sent back with it, so that a save changes only
    /// what the admin changed, and refuses what someone else changed meanwhile.
    pub seen: String,
}

crate::pages::framed!(AdminFrame => SettingsPage);

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SettingsQuery {
    done: String,
}

/// The page a setting is on: its section's slug.
pub(super) fn section_of(key: &str) -> &'static str {
    words(key).map_or("access", |w| w.section)
}

pub(super) fn known_section(slug: &str) -> Option<&'static str> {
    SECTIONS
        .iter()
        .find(|(s, _, _)| *s == slug)
        .map(|(s, _, _)| *s)
}

/// `GET /admin/settings`: the first section.
pub async fn settings(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Query(query): Query<SettingsQuery>,
) -> Response {
    show(&state, &page, SECTIONS[0].0, &query).await
}

/// `GET /admin/settings/{section}`.
pub async fn settings_section(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Path(section): Path<String>,
    Query(query): Query<SettingsQuery>,
) -> Response {
    match known_section(&section) {
        Some(section) => show(&state, &page, section, &query).await,
        None => crate::pages::error_page(
            StatusCode::NOT_FOUND,
            page.t,
            admin_texts(page.t).unknown_section,
        ),
    }
}

async fn show(
    state: &AppState,
    page: &PageUser,
    section: &'static str,
    query: &SettingsQuery,
) -> Response {
    let current = match current_values(state).await {
        Ok(values) => values,
        Err(e) => return unavailable(page.t, &e),
    };
    let notice = (query.done == "saved").then_some(admin_texts(page.t).saved);
    let shown = Shown {
        values: &current,
        seen: &current,
        error: None,
        field_error: None,
        notice,
    };
    settings_page(state, page, StatusCode::OK, Some(section), shown).await
}

pub(super) async fn current_values(state: &AppState) -> Result<Map<String, Value>, String> {
    let settings = state.settings.get().await.map_err(|e| e.to_string())?;
    match serde_json::to_value(settings.as_ref()) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err("settings are not an object".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// What a settings page shows: the values, and a failed save's error (at its field too).
pub(super) struct Shown<'a> {
    pub values: &'a Map<String, Value>,
    /// What the form was first shown with (after a failed save: what the posted form had).
    pub seen: &'a Map<String, Value>,
    pub error: Option<String>,
    pub field_error: Option<String>,
    pub notice: Option<&'static str>,
}

/// The provider a callback URL is shown for, from a group's first key.
fn callbacks(state: &AppState, a: &super::AdminTexts, key: &str) -> Vec<Callback> {
    let provider = ["github", "oidc", "linuxdo"]
        .into_iter()
        .find(|p| key.starts_with(&format!("{p}_")));
    if let Some(provider) = provider {
        return vec![
            Callback {
                label: a.callback_url,
                url: callback_uri(state, provider),
            },
            Callback {
                label: a.callback_url_spa,
                url: spa_callback_uri(state, provider),
            },
        ];
    }
    if key.starts_with("telegram_") {
        let host = url::Url::parse(&state.config.public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        return vec![Callback {
            label: a.telegram_domain,
            url: host,
        }];
    }
    Vec::new()
}

pub(super) async fn settings_page(
    state: &AppState,
    page: &PageUser,
    status: StatusCode,
    section: Option<&'static str>,
    shown: Shown<'_>,
) -> Response {
    let en = page.t.lang == "en";
    let a = admin_texts(page.t);
    let is_root = page.user.role == Role::Root;
    let mut secrets_set = Vec::new();
    for name in vault::NAMES {
        match state.vault.is_set(name).await {
            Ok(true) => secrets_set.push(*name),
            Ok(false) => {}
            Err(e) => return unavailable(page.t, &e),
        }
    }
    let in_section = |key: &str| section.is_none_or(|s| section_of(key) == s);
    let mut groups: Vec<SettingGroup> = Vec::new();
    let mut add = |key: &str, field: Option<&Value>| {
        let w = words(key);
        let (label, help) = match w {
            Some(w) if en => (w.label_en, w.help_en),
            Some(w) => (w.label_zh, w.help_zh),
            None => ("", ""),
        };
        let (kind, value, checked) = match field {
            None => ("secret", String::new(), false),
            Some(Value::String(s)) if key == "logo_upload" => ("upload", String::new(), false),
            Some(Value::String(s)) if key == "accent_color" => ("color", s.clone(), s.is_empty()),
            Some(Value::Bool(b)) => ("bool", String::new(), *b),
            Some(Value::Number(n)) => ("number", n.to_string(), false),
            Some(Value::String(s)) if setting_choices(key).is_some() => {
                ("select", s.clone(), false)
            }
            Some(Value::String(s)) => ("text", s.clone(), false),
            // One entry per line.
            Some(Value::Array(items)) => {
                let lines: Vec<String> = items
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect();
                ("list", lines.join("\n"), false)
            }
            Some(other) => ("text", other.to_string(), false),
        };
        let is_set = match field {
            None => secrets_set.contains(&key),
            Some(Value::String(s)) => key == "logo_upload" && !s.is_empty(),
            Some(_) => false,
        };
        // A key with no fieldset of its own is under its page's title.
        let (zh_title, en_title) = match settings_group(key) {
            ("", _) => SECTIONS
                .iter()
                .find(|(slug, _, _)| *slug == section_of(key))
                .map_or(("", ""), |(_, zh, e)| (*zh, *e)),
            titles => titles,
        };
        let title = if en { en_title } else { zh_title };
        let field = SettingField {
            key: key.to_owned(),
            label,
            help,
            kind,
            choices: setting_choices(key).unwrap_or_default(),
            value,
            checked,
            is_set,
            locked: !is_root && settings::is_root_only(key),
            error: shown
                .field_error
                .as_deref()
                .filter(|k| *k == key)
                .and(shown.error.clone()),
        };
        match groups.iter_mut().find(|g| g.title == title) {
            Some(group) => group.fields.push(field),
            None => groups.push(SettingGroup {
                title,
                callbacks: callbacks(state, a, key),
                fields: vec![field],
            }),
        }
    };
    for w in super::settings_words::SETTINGS {
        if !in_section(w.key) {
            continue;
        }
        if vault::NAMES.contains(&w.key) {
            add(w.key, None);
        } else if let Some(value) = shown.values.get(w.key) {
            add(w.key, Some(value));
        }
    }
    let has_locked = groups.iter().any(|g| g.fields.iter().any(|f| f.locked));
    let seen: Map<String, Value> = groups
        .iter()
        .flat_map(|g| &g.fields)
        .filter(|f| f.kind != "secret" && f.kind != "upload")
        .filter_map(|f| Some((f.key.clone(), shown.seen.get(&f.key)?.clone())))
        .collect();
    let section_title = |slug: &str| {
        SECTIONS
            .iter()
            .find(|(s, _, _)| *s == slug)
            .map_or("", |(_, zh, e)| if en { *e } else { *zh })
    };
    render(
        status,
        &SettingsPage {
            frame: AdminFrame::of(page, "settings"),
            sections: SECTIONS
                .iter()
                .map(|(slug, zh, e)| SectionLink {
                    slug,
                    title: if en { e } else { zh },
                    current: section == Some(*slug),
                })
                .collect(),
            title: section.map_or("", section_title),
            action: section.map_or_else(
                || "/admin/settings".to_owned(),
                |s| format!("/admin/settings/{s}"),
            ),
            groups,
            has_locked,
            logo_form: section == Some("brand"),
            error: shown.error,
            notice: shown.notice,
            seen: Value::Object(seen).to_string(),
        },
    )
}

/// The field a failed update is about, where one is.
pub(super) fn error_field(e: &SettingsUpdateError) -> Option<String> {
    let key = match e {
        SettingsUpdateError::RootOnly(key)
        | SettingsUpdateError::Unknown(key)
        | SettingsUpdateError::Stale(key) => {
            return Some(key.clone());
        }
        SettingsUpdateError::Invalid(invalid) => match invalid {
            InvalidSettings::QuotaTooLarge => "quota_for_new_user",
            InvalidSettings::QuotaPerUnit => "quota_per_unit",
            InvalidSettings::RefundWindow => "refund_window_secs",
            InvalidSettings::TopupUrl => "topup_url",
            InvalidSettings::Smtp => "smtp_host",
            InvalidSettings::VerificationWithoutMail => "email_verification_enabled",
            InvalidSettings::Brand(problem) => match problem {
                BrandProblem::Name => "system_name",
                BrandProblem::LogoUrl => "logo_url",
                BrandProblem::LogoUpload => "logo_upload",
                BrandProblem::AccentColor => "accent_color",
                BrandProblem::Currency => "currency_symbol",
                BrandProblem::Footer => "footer_text",
                BrandProblem::PolicyUrl => "terms_url",
            },
            InvalidSettings::ProviderIncomplete(message) => {
                let lower = message.to_lowercase();
                match ["github", "oidc", "linux do", "wechat", "微信", "telegram"]
                    .into_iter()
                    .find(|p| lower.contains(p))
                {
                    Some("github") => "github_enabled",
                    Some("oidc") => "oidc_enabled",
                    Some("linux do") => "linuxdo_enabled",
                    Some("wechat" | "微信") => "wechat_enabled",
                    Some("telegram") => "telegram_enabled",
                    _ => return None,
                }
            }
            _ => return None,
        },
        _ => return None,
    };
    Some(key.to_owned())
}

#[cfg(test)]
pub(crate) fn samples(t: &'static crate::pages::Texts, user: &User) -> Gallery {
    let a = admin_texts(t);
    let field = |key: &str, kind, value: &str, checked, is_set| SettingField {
        key: key.into(),
        label: words(key).map_or("", |w| w.label_en),
        help: words(key).map_or("", |w| w.help_zh),
        kind,
        choices: setting_choices(key).unwrap_or_default(),
        value: value.into(),
        checked,
        is_set,
        locked: key == "github_client_id",
        error: (key == "quota_per_unit").then(|| "bad <number>".into()),
    };
    let page = SettingsPage {
        frame: AdminFrame::sample(t, user, "/admin/settings/providers", "settings"),
        sections: SECTIONS
            .iter()
            .map(|(slug, zh, _)| SectionLink {
                slug,
                title: zh,
                current: *slug == "providers",
            })
            .collect(),
        title: "第三方登录",
        action: "/admin/settings/providers".into(),
        groups: vec![
            SettingGroup {
                title: "GitHub",
                callbacks: vec![Callback {
                    label: a.callback_url,
                    url: "https://id.example.com/api/oauth/github".into(),
                }],
                fields: vec![
                    field("github_enabled", "bool", "", true, false),
                    field("github_client_id", "text", "Iv1.\"x", false, false),
                    field("github_client_secret", "secret", "", false, true),
                    field("quota_per_unit", "number", "1000", false, false),
                    field("dynamic_registration", "select", "review", false, false),
                    field(
                        "client_metadata_allowed_hosts",
                        "list",
                        "a\nb",
                        false,
                        false,
                    ),
                ],
            },
            SettingGroup {
                title: "品牌",
                callbacks: Vec::new(),
                fields: vec![
                    field("accent_color", "color", "", true, false),
                    field("logo_upload", "upload", "", false, true),
                ],
            },
        ],
        has_locked: true,
        logo_form: true,
        error: Some("无法启用 GitHub OAuth".into()),
        notice: Some(a.saved),
        seen: r#"{"github_client_id":"Iv1.\"x"}"#.into(),
    };
    vec![("admin_settings.html", page.render().unwrap_or_default())]
}
