//! `GET /api/status`: what a login page needs to know (new-api's field names): which providers
//! are on and their public client ids. Never a secret.

use crate::envelope::{ApiError, Success};
use crate::openapi::Answer;
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

/// What a login page needs: which providers are on, with their public client ids.
#[derive(Serialize, ToSchema)]
pub struct StatusView {
    pub system_name: String,
    /// The platform's logo (new-api's `logo`): an absolute URL, or empty.
    pub logo: String,
    pub server_address: String,
    pub register_enabled: bool,
    pub password_login_enabled: bool,
    pub password_register_enabled: bool,
    pub github_oauth: bool,
    pub github_client_id: String,
    pub oidc_enabled: bool,
    pub oidc_client_id: String,
    pub oidc_authorization_endpoint: String,
    pub linuxdo_oauth: bool,
    pub linuxdo_client_id: String,
    pub linuxdo_minimum_trust_level: i64,
    pub wechat_login: bool,
    pub wechat_qrcode: String,
    pub telegram_oauth: bool,
    pub telegram_bot_name: String,
    pub email_verification: bool,
    pub quota_per_unit: i64,
}

#[utoipa::path(get, path = "/api/status", tag = "account",
    responses((status = 200, description = "The public status of this instance.", body = Answer<StatusView>)))]
pub async fn get(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let s = state.settings.get().await?;
    Ok(Success::new(StatusView {
        system_name: s.system_name.clone(),
        logo: match crate::pages::brand::Brand::current().logo.clone() {
            Some(path) if path.starts_with('/') => format!("{}{path}", state.config.public_url),
            Some(url) => url,
            None => String::new(),
        },
        server_address: state.config.public_url.clone(),
        register_enabled: s.register_enabled,
        password_login_enabled: s.password_login_enabled,
        password_register_enabled: s.password_register_enabled,
        github_oauth: s.github_enabled,
        github_client_id: s.github_client_id.clone(),
        oidc_enabled: s.oidc_enabled,
        oidc_client_id: s.oidc_client_id.clone(),
        oidc_authorization_endpoint: s.oidc_authorization_endpoint.clone(),
        linuxdo_oauth: s.linuxdo_enabled,
        linuxdo_client_id: s.linuxdo_client_id.clone(),
        linuxdo_minimum_trust_level: s.linuxdo_minimum_trust_level,
        wechat_login: s.wechat_enabled,
        wechat_qrcode: s.wechat_qrcode_url.clone(),
        telegram_oauth: s.telegram_enabled,
        telegram_bot_name: s.telegram_bot_name.clone(),
        email_verification: s.email_verification_enabled,
        quota_per_unit: s.quota_per_unit,
    }))
}
