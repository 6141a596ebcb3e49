//! `POST /admin/settings/brand/logo`: the branding page's file input. The image is read from
//! the multipart form and stored as the `logo_upload` setting (base64) through the same update
//! as every other setting, so core validates it (`decode_logo`: type and size).

use super::settings::{Shown, current_values, error_field, settings_page};
use super::{admin_texts, unavailable};
use crate::admin::settings::update;
use crate::extract::Client;
use crate::pages::{PageAdmin, login::redirect};
use crate::state::AppState;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use keyward_core::settings::{SettingsChange, SettingsUpdateError};
use serde_json::{Map, Value};

/// The form's fields: its token and the file's bytes (if a file was chosen).
async fn read(mut form: Multipart) -> Result<(String, Option<Vec<u8>>), ()> {
    let mut token = String::new();
    let mut logo = None;
    while let Some(field) = form.next_field().await.map_err(|_| ())? {
        match field.name() {
            Some("csrf_token") => token = field.text().await.map_err(|_| ())?,
            Some("logo") => {
                let bytes = field.bytes().await.map_err(|_| ())?;
                logo = (!bytes.is_empty()).then(|| bytes.to_vec());
            }
            _ => {}
        }
    }
    Ok((token, logo))
}

pub async fn upload_logo(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Client(client): Client,
    form: Multipart,
) -> Response {
    let a = admin_texts(page.t);
    let read = read(form).await;
    if let Some(refused) = page.refuse_csrf(read.as_ref().map_or("", |(t, _)| t.as_str())) {
        return refused;
    }
    let current = match current_values(&state).await {
        Ok(values) => values,
        Err(e) => return unavailable(page.t, &e),
    };
    let failed = |message: String| {
        let current = &current;
        let state = &state;
        let page = &page;
        async move {
            let shown = Shown {
                values: current,
                seen: current,
                error: Some(message),
                field_error: Some("logo_upload".into()),
                notice: None,
            };
            settings_page(state, page, StatusCode::BAD_REQUEST, Some("brand"), shown).await
        }
    };
    let logo = match read {
        Ok((_, Some(logo))) => logo,
        Ok((_, None)) => return failed(a.logo_missing.into()).await,
        Err(()) => return failed(a.logo_unreadable.into()).await,
    };
    let mut values = Map::new();
    values.insert(
        "logo_upload".into(),
        Value::String(base64::engine::general_purpose::STANDARD.encode(logo)),
    );
    let change = SettingsChange {
        values,
        seen: Map::new(),
    };
    match update(&state, &page.user, &client.ip, change).await {
        Ok(_) => redirect("/admin/settings/brand?done=saved"),
        Err(e @ (SettingsUpdateError::Vault(_) | SettingsUpdateError::Settings(_))) => {
            unavailable(page.t, &e)
        }
        Err(e) => {
            let shown = Shown {
                values: &current,
                seen: &current,
                error: Some(page.t.error(&e)),
                field_error: error_field(&e).or_else(|| Some("logo_upload".into())),
                notice: None,
            };
            settings_page(&state, &page, StatusCode::BAD_REQUEST, Some("brand"), shown).await
        }
    }
}
