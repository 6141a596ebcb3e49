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
    if settings.quota_per_unit <= 0 {
        return Err(ApiError::Refused("quota_per_unit 必须为正数".into()));
    }
    let topup = &settings.topup_url;
    let topup_ok = topup.is_empty()
        || topup.starts_with("https://")
        || topup.starts_with("http://")
        || topup.starts_with('/');
    if !topup_ok {
        return Err(ApiError::Refused(
            "topup_url 必须是 http(s) 地址或站内路径".into(),
        ));
    }
    state.settings.save(&settings, state.accounts.now()).await?;
    tracing::info!(admin.id = admin.user.id, "settings updated");
    Ok(Success::new(settings))
}
