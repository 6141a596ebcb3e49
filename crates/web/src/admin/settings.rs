//! `GET`/`PUT /api/admin/settings`: the runtime settings document, plus write-only secrets
//! (client secrets, bot token, SMTP password) that go to the encrypted vault and are reported
//! back only as `<name>_set: true|false`.

use crate::envelope::{ApiError, ApiJson, Success};
use crate::extract::AdminUser;
use crate::openapi::{Answer, schema_of_example};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::audit::{self, action};
use keyward_core::settings::Settings;
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

fn check(settings: &Settings, secret_set: impl Fn(&str) -> bool) -> Result<(), String> {
    if settings.quota_for_new_user < 0 || settings.linuxdo_minimum_trust_level < 0 {
        return Err("数值不能为负".into());
    }
    if settings.quota_per_unit <= 0 {
        return Err("quota_per_unit 必须为正数".into());
    }
    let url_ok = |u: &str| {
        u.is_empty() || u.starts_with("https://") || u.starts_with("http://") || u.starts_with('/')
    };
    if !url_ok(&settings.topup_url) {
        return Err("topup_url 必须是 http(s) 地址或站内路径".into());
    }
    if !["starttls", "tls", "none"].contains(&settings.smtp_security.as_str())
        || !(1..=65535).contains(&settings.smtp_port)
    {
        return Err("SMTP 设置不正确".into());
    }
    // A provider cannot be switched on without what it needs (new-api's rule).
    let missing = |enabled: bool, needs: &[bool]| enabled && needs.iter().any(|ok| !ok);
    if missing(
        settings.github_enabled,
        &[
            !settings.github_client_id.is_empty(),
            secret_set("github_client_secret"),
        ],
    ) {
        return Err(
            "无法启用 GitHub OAuth，请先填入 GitHub Client Id 以及 GitHub Client Secret！".into(),
        );
    }
    if missing(
        settings.oidc_enabled,
        &[
            !settings.oidc_client_id.is_empty(),
            !settings.oidc_issuer.is_empty(),
        ],
    ) {
        return Err("无法启用 OIDC 登录，请先填入 Client Id 与 Issuer！".into());
    }
    if missing(
        settings.linuxdo_enabled,
        &[
            !settings.linuxdo_client_id.is_empty(),
            secret_set("linuxdo_client_secret"),
        ],
    ) {
        return Err("无法启用 Linux DO OAuth，请先填入 Client Id 以及 Client Secret！".into());
    }
    if missing(
        settings.wechat_enabled,
        &[
            !settings.wechat_server_address.is_empty(),
            secret_set("wechat_server_token"),
        ],
    ) {
        return Err("无法启用微信登录，请先填入微信登录相关配置信息！".into());
    }
    if missing(
        settings.telegram_enabled,
        &[secret_set("telegram_bot_token")],
    ) {
        return Err("无法启用 Telegram OAuth，请先填入 Telegram Bot Token！".into());
    }
    Ok(())
}

/// `PUT /api/admin/settings`: fields given replace the current ones; the rest stay. Secret
/// names (e.g. `github_client_secret`) set the secret; an empty string clears it.
#[utoipa::path(put, path = "/api/admin/settings", tag = "admin",
    request_body = SettingsChanges,
    responses((status = 200, description = "The settings after the change, or a refusal (unknown name, wrong type, inconsistent values).", body = Answer<SettingsView>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn put(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    crate::extract::Client(client): crate::extract::Client,
    ApiJson(changes): ApiJson<Map<String, Value>>,
) -> Result<impl IntoResponse, ApiError> {
    let current = state.settings.get().await?;
    let mut merged =
        serde_json::to_value(current.as_ref()).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut secrets = Vec::new();
    if let Value::Object(fields) = &mut merged {
        for (key, value) in changes {
            if vault::NAMES.contains(&key.as_str()) {
                let Value::String(secret) = value else {
                    return Err(ApiError::Refused("设置项的值类型不正确".into()));
                };
                secrets.push((key, secret));
            } else if fields.contains_key(&key) {
                fields.insert(key, value);
            } else {
                return Err(ApiError::Refused(format!(
                    "未知的设置项: {}",
                    key.chars().take(64).collect::<String>()
                )));
            }
        }
    }
    let settings: Settings = serde_json::from_value(merged)
        .map_err(|_| ApiError::Refused("设置项的值类型不正确".into()))?;
    let mut set_now = Vec::new();
    for name in vault::NAMES {
        let pending = secrets
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| !v.is_empty());
        let stored = state
            .vault
            .is_set(name)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        if pending.unwrap_or(stored) {
            set_now.push(*name);
        }
    }
    check(&settings, |name| set_now.contains(&name)).map_err(ApiError::Refused)?;
    for (name, value) in &secrets {
        state
            .vault
            .set(name, value)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    let now = state.accounts.now();
    state.settings.save(&settings, now).await?;
    let changed: Vec<&str> = secrets.iter().map(|(n, _)| n.as_str()).collect();
    audit::record(
        state.store.as_ref(),
        now,
        Some(admin.user.id),
        action::SETTINGS_UPDATED,
        "",
        json!({"secrets_changed": changed}),
        &client.ip,
    )
    .await;
    tracing::info!(admin.id = admin.user.id, "settings updated");
    Ok(Success::new(view(&state, &settings).await?))
}
