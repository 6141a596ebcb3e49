//! `POST /admin/settings` and `/admin/settings/{section}`: a settings form saved. The form
//! carries the values it was shown with (`seen`), so only what the admin changed is sent to
//! core, which refuses a change to a setting someone else changed since the page was opened.
//! A form without `seen` (made by hand) is read against the current values.

use super::settings::{
    Shown, current_values, error_field, known_section, section_of, settings_page,
};
use super::settings_words::words;
use super::{admin_texts, unavailable};
use crate::admin::settings::update;
use crate::extract::Client;
use crate::pages::{PageAdmin, PageUser, login::redirect};
use crate::state::AppState;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::model::Role;
use keyward_core::settings::{self, SettingsChange, SettingsUpdateError};
use keyward_core::vault;
use serde_json::{Map, Value};

/// `POST /admin/settings`: the whole document. An unchecked box is absent, so every boolean of
/// the document is read from the form; a secret field changes the secret only when filled in
/// (or cleared with its box).
pub async fn save_settings(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Client(client): Client,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    save(&state, &page, &client.ip, &fields, None).await
}

/// `POST /admin/settings/{section}`: that section's settings only, as `POST /admin/settings`
/// does the whole document.
pub async fn save_section(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Path(section): Path<String>,
    Client(client): Client,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let Some(section) = known_section(&section) else {
        return crate::pages::error_page(
            StatusCode::NOT_FOUND,
            page.t,
            admin_texts(page.t).unknown_section,
        );
    };
    save(&state, &page, &client.ip, &fields, Some(section)).await
}

/// A form's value for a setting whose current value is `value`: `None` when the form leaves it
/// alone; `Err` with the text when a number is not one.
fn submitted(
    key: &str,
    value: &Value,
    fields: &[(String, String)],
) -> Option<Result<Value, String>> {
    let field = |name: &str| form_value(fields, name);
    let new = match (key, value, field(key)) {
        // The logo is uploaded on its own form; this one can only remove it.
        ("logo_upload", _, _) => match field("logo_upload__clear") {
            Some(_) => Value::String(String::new()),
            None => return None,
        },
        ("accent_color", _, _) if field("accent_color__default").is_some() => {
            Value::String(String::new())
        }
        (_, Value::Bool(_), submitted) => Value::Bool(submitted.is_some()),
        (_, _, None) => return None,
        (_, Value::Number(_), Some(text)) => match text.trim().parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => return Some(Err(text.to_owned())),
        },
        (_, Value::Array(_), Some(text)) => text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(|line| Value::String(line.to_owned()))
            .collect(),
        (_, _, Some(text)) => Value::String(text.trim().to_owned()),
    };
    Some(Ok(new))
}

fn form_value<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn save(
    state: &AppState,
    page: &PageUser,
    ip: &str,
    fields: &[(String, String)],
    section: Option<&'static str>,
) -> Response {
    let field = |name: &str| form_value(fields, name);
    if let Some(refused) = page.refuse_csrf(field("csrf_token").unwrap_or_default()) {
        return refused;
    }
    let a = admin_texts(page.t);
    let current = match current_values(state).await {
        Ok(values) => values,
        Err(e) => return unavailable(page.t, &e),
    };
    // What the form was shown with; a value it does not carry is taken as the current one.
    let seen: Map<String, Value> = match field("seen").map(serde_json::from_str::<Value>) {
        Some(Ok(Value::Object(mut seen))) => {
            seen.retain(|key, _| current.contains_key(key));
            let mut all = current.clone();
            all.extend(seen);
            all
        }
        _ => current.clone(),
    };
    // Other admins' forms have no root-only fields; whatever such a name carries is ignored.
    let editable = |key: &str| {
        (page.user.role == Role::Root || !settings::is_root_only(key))
            && section.is_none_or(|s| section_of(key) == s)
    };
    let mut values = Map::new();
    let mut error = None;
    for (key, was) in seen.iter().filter(|(key, _)| editable(key)) {
        let new = match submitted(key, was, fields) {
            None => continue,
            Some(Ok(new)) => new,
            Some(Err(text)) => {
                let label = words(key).map_or(key.as_str(), |w| {
                    if page.t.lang == "en" {
                        w.label_en
                    } else {
                        w.label_zh
                    }
                });
                error.get_or_insert_with(|| (key.clone(), format!("{}{label}", a.not_a_number)));
                Value::String(text)
            }
        };
        // Only what the admin changed: the rest of the form may be older than the store.
        if &new != was {
            values.insert(key.clone(), new);
        }
    }
    let mut shown = current.clone();
    shown.extend(values.clone());
    if let Some((key, message)) = error {
        let page_shown = Shown {
            values: &shown,
            seen: &seen,
            error: Some(message),
            field_error: Some(key),
            notice: None,
        };
        return settings_page(state, page, StatusCode::BAD_REQUEST, section, page_shown).await;
    }
    for name in vault::NAMES.iter().filter(|name| editable(name)) {
        if field(&format!("{name}__clear")).is_some() {
            values.insert((*name).to_owned(), Value::String(String::new()));
        } else if let Some(secret) = field(name).filter(|s| !s.is_empty()) {
            values.insert((*name).to_owned(), Value::String(secret.to_owned()));
        }
    }
    let change = SettingsChange {
        seen: values
            .keys()
            .filter_map(|key| Some((key.clone(), seen.get(key)?.clone())))
            .collect(),
        values,
    };
    match update(state, &page.user, ip, change).await {
        Ok(_) => redirect(&match section {
            Some(s) => format!("/admin/settings/{s}?done=saved"),
            None => "/admin/settings?done=saved".to_owned(),
        }),
        Err(e @ (SettingsUpdateError::Vault(_) | SettingsUpdateError::Settings(_))) => {
            unavailable(page.t, &e)
        }
        Err(e) => {
            let status = match e {
                SettingsUpdateError::Stale(_) | SettingsUpdateError::Contended => {
                    StatusCode::CONFLICT
                }
                _ => StatusCode::BAD_REQUEST,
            };
            let page_shown = Shown {
                values: &shown,
                seen: &seen,
                error: Some(page.t.error(&e)),
                field_error: error_field(&e),
                notice: None,
            };
            settings_page(state, page, status, section, page_shown).await
        }
    }
}
