//! `GET`/`PUT /api/admin/settings`: the runtime settings document, plus write-only secrets
//! (client secrets, bot token, SMTP password) that go to the encrypted vault and are reported
//! back only as `<name>_set: true|false`.

use crate::envelope::{ApiError, ApiJson, Success};
use crate::extract::AdminUser;
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::audit::{self, action};
use keyward_core::model::User;
use keyward_core::settings::{self, Settings, SettingsUpdateError};
use keyward_core::vault;
use serde_json::{Map, Value, json};

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
            other => ApiError::Refused(other.to_string()),
        }
    }
}

/// `PUT /api/admin/settings`: fields given replace the current ones; the rest stay. Secret
/// names (e.g. `github_client_secret`) set the secret; an empty string clears it.
pub async fn put(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    crate::extract::Client(client): crate::extract::Client,
    ApiJson(changes): ApiJson<Map<String, Value>>,
) -> Result<impl IntoResponse, ApiError> {
    let settings = update(&state, &admin.user, &client.ip, changes).await?;
    Ok(Success::new(view(&state, &settings).await?))
}

/// Applies and records an admin's change: the admin API and the settings page.
pub async fn update(
    state: &AppState,
    admin: &User,
    ip: &str,
    changes: Map<String, Value>,
) -> Result<Settings, SettingsUpdateError> {
    let now = state.accounts.now();
    let update = settings::apply_changes(&state.settings, &state.vault, changes, now).await?;
    audit::record(
        state.store.as_ref(),
        now,
        Some(admin.id),
        action::SETTINGS_UPDATED,
        "",
        json!({"secrets_changed": update.secrets_changed}),
        ip,
    )
    .await;
    tracing::info!(admin.id = admin.id, "settings updated");
    Ok(update.settings)
}
