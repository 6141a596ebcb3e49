//! `GET`/`PUT /api/admin/settings`: the runtime settings document, plus write-only secrets
//! (client secrets, bot token, SMTP password) that go to the encrypted vault and are reported
//! back only as `<name>_set: true|false`.

use crate::envelope::{ApiError, ApiJson, Success};
use crate::extract::AdminUser;
use crate::openapi::{Answer, schema_of_example};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::model::User;
use keyward_core::settings::{self, Settings, SettingsChange, SettingsUpdateError};
use keyward_core::vault;
use serde_json::{Map, Value, json};
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};

/// The settings as the admin API shows them: every setting, plus `<secret>_set` for each
/// write-only secret. Its schema is read off the defaults, so it follows the `Settings` type.
pub struct SettingsView;

crate::runtime_schema!(SettingsView, || {
    let mut example = serde_json::to_value(Settings::default()).unwrap_or_default();
    if let Value::Object(fields) = &mut example {
        for name in vault::NAMES {
            fields.insert(format!("{name}_set"), json!(false));
        }
    }
    schema_of_example(&example)
});

/// The changes a `PUT` may carry: any setting, or a write-only secret; nothing else.
pub struct SettingsChanges;

crate::runtime_schema!(SettingsChanges, || {
    let defaults = serde_json::to_value(Settings::default()).unwrap_or_default();
    let mut object = ObjectBuilder::new()
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
    if let Value::Object(fields) = &defaults {
        for (name, value) in fields {
            object = object.property(name, schema_of_example(value));
        }
    }
    for name in vault::NAMES {
        object = object.property(
            *name,
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("Write-only; an empty string clears it.")),
        );
    }
    object.into()
});

async fn view(state: &AppState, settings: &Settings) -> Result<Value, ApiError> {
    let mut value =
        serde_json::to_value(settings).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Value::Object(fields) = &mut value {
        for name in vault::NAMES {
            let set = state
                .vault
                .is_set(name)
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            fields.insert(format!("{name}_set"), json!(set));
        }
    }
    Ok(value)
}

/// `GET /api/admin/settings`.
#[utoipa::path(get, path = "/api/admin/settings", tag = "admin",
    responses((status = 200, description = "Every setting; secrets only as `<name>_set`.", body = Answer<SettingsView>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn get(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> Result<impl IntoResponse, ApiError> {
    let settings = state.settings.get().await?;
    Ok(Success::new(view(&state, &settings).await?))
}

impl From<SettingsUpdateError> for ApiError {
    fn from(e: SettingsUpdateError) -> Self {
        match e {
            SettingsUpdateError::Settings(e) => e.into(),
            SettingsUpdateError::Vault(e) => ApiError::Internal(e.to_string()),
            SettingsUpdateError::RootOnly(_) => {
                ApiError::Forbidden("只有超级管理员可以修改邮件与第三方登录的来源设置")
            }
            other => ApiError::Refused(other.to_string()),
        }
    }
}

/// `PUT /api/admin/settings`: fields given replace the stored ones; the rest stay, whatever
/// other admins changed meanwhile. Secret
/// names (e.g. `github_client_secret`) set the secret; an empty string clears it. Where recovery
/// mail and upstream identities come from is root's alone (`settings::ROOT_ONLY`).
#[utoipa::path(put, path = "/api/admin/settings", tag = "admin",
    request_body = SettingsChanges,
    responses(
        (status = 200, description = "The settings after the change, or a refusal (unknown name, wrong type, inconsistent values).", body = Answer<SettingsView>),
        (status = 403, description = "Not an admin; or an admin below root changing where recovery mail or upstream identities come from (SMTP, provider endpoints, client ids and secrets): root only.", body = crate::openapi::Failure)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn put(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    crate::extract::Client(client): crate::extract::Client,
    ApiJson(changes): ApiJson<Map<String, Value>>,
) -> Result<impl IntoResponse, ApiError> {
    let change = SettingsChange {
        values: changes,
        seen: Map::new(),
    };
    let settings = update(&state, &admin.user, &client.ip, change).await?;
    Ok(Success::new(view(&state, &settings).await?))
}

/// Applies an admin's change (core records it): the admin API and the settings page.
pub async fn update(
    state: &AppState,
    admin: &User,
    ip: &str,
    change: SettingsChange,
) -> Result<Settings, SettingsUpdateError> {
    let now = state.accounts.now();
    let update =
        settings::apply_changes(&state.settings, &state.vault, admin, change, now, ip).await?;
    Ok(update.settings)
}
