//! `/admin/settings`: the runtime settings document and the vault's write-only secrets, through
//! the same update as `PUT /api/admin/settings`. The form is built from the document itself, so
//! a field added to `Settings` shows up here without a template change.

use super::texts::{SETTINGS, setting_choices, settings_group};
use super::{AdminFrame, admin_texts, unavailable};
use crate::admin::settings::update;
use crate::extract::Client;
use crate::pages::{Chrome, PageAdmin, PageUser, login::redirect, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::model::Role;
use keyward_core::settings::{self, SettingsUpdateError};
use keyward_core::vault;
use serde::Deserialize;
use serde_json::{Map, Value};
#[cfg(test)]
use {crate::pages::Gallery, keyward_core::model::User};

pub struct SettingField {
    pub key: String,
    pub label: String,
    /// `bool`, `number`, `text`, `select` (one of `choices`), `list` (one entry per line) or
    /// `secret`.
    pub kind: &'static str,
    pub choices: &'static [&'static str],
    pub value: String,
    pub checked: bool,
    /// For secrets: whether the vault holds one (its value is never shown).
    pub is_set: bool,
    /// Root's alone (`settings::ROOT_ONLY`): shown to other admins, not editable.
    pub locked: bool,
}

pub struct SettingGroup {
    pub title: &'static str,
    pub fields: Vec<SettingField>,
}

#[derive(Template)]
#[template(path = "admin_settings.html")]
pub struct SettingsPage {
    pub frame: AdminFrame,
    pub groups: Vec<SettingGroup>,
    /// Some fields are root's alone and shown read-only.
    pub has_locked: bool,
    pub error: Option<String>,
    pub notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SettingsQuery {
    done: String,
}

/// `GET /admin/settings`.
pub async fn settings(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Query(query): Query<SettingsQuery>,
) -> Response {
    let current = match current_values(&state).await {
        Ok(values) => values,
        Err(e) => return unavailable(page.t, &e),
    };
    let notice = (query.done == "saved").then_some(admin_texts(page.t).saved);
    settings_page(&state, &page, StatusCode::OK, &current, None, notice).await
}

async fn current_values(state: &AppState) -> Result<Map<String, Value>, String> {
    let settings = state.settings.get().await.map_err(|e| e.to_string())?;
    match serde_json::to_value(settings.as_ref()) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err("settings are not an object".into()),
        Err(e) => Err(e.to_string()),
    }
}

async fn settings_page(
    state: &AppState,
    page: &PageUser,
    status: StatusCode,
    values: &Map<String, Value>,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Response {
    let en = page.t.lang == "en";
    let is_root = page.user.role == Role::Root;
    let mut secrets_set = Vec::new();
    for name in vault::NAMES {
        match state.vault.is_set(name).await {
            Ok(true) => secrets_set.push(*name),
            Ok(false) => {}
            Err(e) => return unavailable(page.t, &e),
        }
    }
    let mut groups: Vec<SettingGroup> = Vec::new();
    let mut add = |key: &str, label: &str, field: Option<&Value>| {
        let (kind, value, checked) = match field {
            None => ("secret", String::new(), false),
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
        let (zh_title, en_title) = settings_group(key);
        let title = if en { en_title } else { zh_title };
        let field = SettingField {
            key: key.to_owned(),
            label: label.to_owned(),
            kind,
            choices: setting_choices(key).unwrap_or_default(),
            value,
            checked,
            is_set: secrets_set.contains(&key),
            locked: !is_root && settings::is_root_only(key),
        };
        match groups.iter_mut().find(|g| g.title == title) {
            Some(group) => group.fields.push(field),
            None => groups.push(SettingGroup {
                title,
                fields: vec![field],
            }),
        }
    };
    for (key, zh, en_label) in SETTINGS {
        let label = if en { *en_label } else { *zh };
        if vault::NAMES.contains(key) {
            add(key, label, None);
        } else if let Some(value) = values.get(*key) {
            add(key, label, Some(value));
        }
    }
    for (key, value) in values {
        if !SETTINGS.iter().any(|(k, _, _)| k == key) {
            add(key, key, Some(value));
        }
    }
    let has_locked = groups.iter().any(|g| g.fields.iter().any(|f| f.locked));
    render(
        status,
        &SettingsPage {
            frame: AdminFrame::new(
                page.t,
                Chrome::new(page.t, "/admin/settings", Some(&page.user)),
                "settings",
                page.csrf.clone(),
            ),
            groups,
            has_locked,
            error,
            notice,
        },
    )
}

/// `POST /admin/settings`: the whole form. An unchecked box is absent, so every boolean of the
/// document is set from the form; a secret field changes the secret only when filled in (or
/// cleared with its box).
pub async fn save_settings(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Client(client): Client,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if let Some(refused) = page.refuse_csrf(field("csrf_token").unwrap_or_default()) {
        return refused;
    }
    let a = admin_texts(page.t);
    let current = match current_values(&state).await {
        Ok(values) => values,
        Err(e) => return unavailable(page.t, &e),
    };
    // Other admins' forms have no root-only fields; whatever such a name carries is ignored.
    let editable = |key: &str| page.user.role == Role::Root || !settings::is_root_only(key);
    let mut changes = Map::new();
    let mut error = None;
    for (key, value) in current.iter().filter(|(key, _)| editable(key)) {
        let new = match (value, field(key)) {
            (Value::Bool(_), submitted) => Value::Bool(submitted.is_some()),
            (_, None) => continue,
            (Value::Number(_), Some(text)) => match text.trim().parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    error.get_or_insert_with(|| format!("{}{key}", a.not_a_number));
                    Value::String(text.to_owned())
                }
            },
            (Value::Array(_), Some(text)) => text
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(|line| Value::String(line.to_owned()))
                .collect(),
            (_, Some(text)) => Value::String(text.trim().to_owned()),
        };
        changes.insert(key.clone(), new);
    }
    let mut shown = current.clone();
    shown.extend(changes.clone());
    if let Some(message) = error {
        return settings_page(
            &state,
            &page,
            StatusCode::BAD_REQUEST,
            &shown,
            Some(message),
            None,
        )
        .await;
    }
    for name in vault::NAMES.iter().filter(|name| editable(name)) {
        if field(&format!("{name}__clear")).is_some() {
            changes.insert((*name).to_owned(), Value::String(String::new()));
        } else if let Some(secret) = field(name).filter(|s| !s.is_empty()) {
            changes.insert((*name).to_owned(), Value::String(secret.to_owned()));
        }
    }
    match update(&state, &page.user, &client.ip, changes).await {
        Ok(_) => redirect("/admin/settings?done=saved"),
        Err(e @ (SettingsUpdateError::Vault(_) | SettingsUpdateError::Settings(_))) => {
            unavailable(page.t, &e)
        }
        Err(e) => {
            settings_page(
                &state,
                &page,
                StatusCode::BAD_REQUEST,
                &shown,
                Some(page.t.error(&e)),
                None,
            )
            .await
        }
    }
}

#[cfg(test)]
pub(crate) fn samples(t: &'static crate::pages::Texts, user: &User) -> Gallery {
    let field = |key: &str, kind, value: &str, checked, is_set| SettingField {
        key: key.into(),
        label: key.into(),
        kind,
        choices: setting_choices(key).unwrap_or_default(),
        value: value.into(),
        checked,
        is_set,
        locked: key == "github_client_id",
    };
    let page = SettingsPage {
        frame: AdminFrame::sample(t, user, "/admin/settings", "settings"),
        groups: vec![SettingGroup {
            title: "GitHub",
            fields: vec![
                field("github_enabled", "bool", "", true, false),
                field("github_client_id", "text", "Iv1.\"x", false, false),
                field("github_client_secret", "secret", "", false, true),
                field("quota_per_unit", "number", "1000", false, false),
                field("dynamic_registration", "select", "review", false, false),
            ],
        }],
        has_locked: true,
        error: Some("无法启用 GitHub OAuth".into()),
        notice: Some(admin_texts(t).saved),
    };
    vec![("admin_settings.html", page.render().unwrap_or_default())]
}
