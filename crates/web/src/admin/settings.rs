use crate::envelope::{ApiError, ApiJson, Success};
use crate::extract::AdminUser;
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::settings::Settings;

/// `GET /api/admin/settings`.
pub async fn get(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> Result<impl IntoResponse, ApiError> {
    let settings = state.settings.get().await?;
    Ok(Success::new(settings.as_ref().clone()))
}

/// `PUT /api/admin/settings`: fields given replace the current ones; the rest stay.
pub async fn put(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiJson(changes): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<impl IntoResponse, ApiError> {
    let current = state.settings.get().await?;
    let mut merged =
        serde_json::to_value(current.as_ref()).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let serde_json::Value::Object(fields) = &mut merged {
        for (key, value) in changes {
            if !fields.contains_key(&key) {
                return Err(ApiError::Refused(format!(
                    "未知的设置项: {}",
                    key.chars().take(64).collect::<String>()
                )));
            }
            fields.insert(key, value);
        }
    }
    let settings: Settings = serde_json::from_value(merged)
        .map_err(|_| ApiError::Refused("设置项的值类型不正确".into()))?;
    if settings.quota_for_new_user < 0 {
        return Err(ApiError::Refused("数值不能为负".into()));
    }
    state.settings.save(&settings, state.accounts.now()).await?;
    tracing::info!(admin.id = admin.user.id, "settings updated");
    Ok(Success::new(settings))
}
