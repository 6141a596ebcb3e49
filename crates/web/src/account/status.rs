//! `GET /api/status`: what a login page needs to know (new-api's field names): which providers
//! are on and their public client ids. Never a secret.

use crate::envelope::{ApiError, Success};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::json;

pub async fn get(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let s = state.settings.get().await?;
    Ok(Success::new(json!({
        "system_name": s.system_name,
        "server_address": state.config.public_url,
        "register_enabled": s.register_enabled,
        "password_login_enabled": s.password_login_enabled,
        "password_register_enabled": s.password_register_enabled,
        "github_oauth": s.github_enabled,
        "github_client_id": s.github_client_id,
        "oidc_enabled": s.oidc_enabled,
        "oidc_client_id": s.oidc_client_id,
        "oidc_authorization_endpoint": s.oidc_authorization_endpoint,
        "linuxdo_oauth": s.linuxdo_enabled,
        "linuxdo_client_id": s.linuxdo_client_id,
        "linuxdo_minimum_trust_level": s.linuxdo_minimum_trust_level,
        "wechat_login": s.wechat_enabled,
        "wechat_qrcode": s.wechat_qrcode_url,
        "telegram_oauth": s.telegram_enabled,
        "telegram_bot_name": s.telegram_bot_name,
        "email_verification": !s.smtp_host.is_empty(),
        "quota_per_unit": s.quota_per_unit,
    })))
}
