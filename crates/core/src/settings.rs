//! Runtime settings an admin changes without a restart (`/api/admin/settings`). Stored as one JSON
//! document so that adding a field needs no migration; absent fields take their defaults.

use crate::clock::UnixTime;
use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Any new account at all (new-api `RegisterEnabled`).
    pub register_enabled: bool,
    /// New accounts with a password (new-api `PasswordRegisterEnabled`).
    pub password_register_enabled: bool,
    /// Logging in with a password (new-api `PasswordLoginEnabled`).
    pub password_login_enabled: bool,
    /// Password registration needs an e-mail address proved by a code (new-api
    /// `EmailVerificationEnabled`); needs SMTP.
    pub email_verification_enabled: bool,
    /// Quota given to every new account (new-api `QuotaForNewUser`).
    pub quota_for_new_user: i64,
    /// New apps wait for an admin's approval before they can be used.
    pub app_review_required: bool,
    /// Let apps register plain-http redirect URIs on hosts other than loopback.
    pub allow_http_redirect_uris: bool,
    /// Quota units per unit of currency: `balance_formatted = (quota − used_quota) / this`.
    pub quota_per_unit: i64,
    /// Where `/api/oauth2/topup` sends users; empty means this server's `/topup` page.
    pub topup_url: String,

    // Upstream providers. Client secrets and tokens live in the vault, not here.
    pub github_enabled: bool,
    pub github_client_id: String,
    pub github_web_base: String,
    pub github_api_base: String,
    pub github_register_enabled: bool,
    pub oidc_enabled: bool,
    pub oidc_client_id: String,
    /// Discovery is read from the issuer unless the three endpoints and the JWKS URI are set.
    pub oidc_issuer: String,
    pub oidc_authorization_endpoint: String,
    pub oidc_token_endpoint: String,
    pub oidc_userinfo_endpoint: String,
    pub oidc_jwks_uri: String,
    pub oidc_scopes: String,
    pub oidc_register_enabled: bool,
    pub linuxdo_enabled: bool,
    pub linuxdo_client_id: String,
    pub linuxdo_authorize_url: String,
    pub linuxdo_token_url: String,
    pub linuxdo_user_url: String,
    pub linuxdo_minimum_trust_level: i64,
    pub linuxdo_register_enabled: bool,
    pub wechat_enabled: bool,
    pub wechat_server_address: String,
    pub wechat_qrcode_url: String,
    pub wechat_register_enabled: bool,
    pub telegram_enabled: bool,
    pub telegram_bot_name: String,
    /// How old a Telegram login may be, in seconds.
    pub telegram_max_age_secs: i64,
    /// new-api never registers from Telegram; off by default here too.
    pub telegram_register_enabled: bool,

    // E-mail.
    pub smtp_host: String,
    pub smtp_port: i64,
    pub smtp_username: String,
    pub smtp_from: String,
    /// `starttls`, `tls` (implicit, port 465) or `none` (only for a relay on this machine).
    pub smtp_security: String,
    pub system_name: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            register_enabled: true,
            password_register_enabled: true,
            password_login_enabled: true,
            email_verification_enabled: false,
            quota_for_new_user: 0,
            app_review_required: true,
            allow_http_redirect_uris: false,
            quota_per_unit: 1000,
            topup_url: String::new(),
            github_enabled: false,
            github_client_id: String::new(),
            github_web_base: "https://github.com".into(),
            github_api_base: "https://api.github.com".into(),
            github_register_enabled: true,
            oidc_enabled: false,
            oidc_client_id: String::new(),
            oidc_issuer: String::new(),
            oidc_authorization_endpoint: String::new(),
            oidc_token_endpoint: String::new(),
            oidc_userinfo_endpoint: String::new(),
            oidc_jwks_uri: String::new(),
            oidc_scopes: "openid profile email".into(),
            oidc_register_enabled: true,
            linuxdo_enabled: false,
            linuxdo_client_id: String::new(),
            linuxdo_authorize_url: "https://connect.linux.do/oauth2/authorize".into(),
            linuxdo_token_url: "https://connect.linux.do/oauth2/token".into(),
            linuxdo_user_url: "https://connect.linux.do/api/user".into(),
            linuxdo_minimum_trust_level: 0,
            linuxdo_register_enabled: true,
            wechat_enabled: false,
            wechat_server_address: String::new(),
            wechat_qrcode_url: String::new(),
            wechat_register_enabled: true,
            telegram_enabled: false,
            telegram_bot_name: String::new(),
            telegram_max_age_secs: 86_400,
            telegram_register_enabled: false,
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_username: String::new(),
            smtp_from: String::new(),
            smtp_security: "starttls".into(),
            system_name: "Keyward".into(),
        }
    }
}

/// The settings document, re-read from the store at most once per `ttl` so that a change made on
/// one node reaches every node within that time without a query per request.
pub struct SettingsCache {
    store: Arc<dyn Store>,
    ttl: Duration,
    cached: RwLock<Option<(Instant, Arc<Settings>)>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored settings are not valid: {0}")]
    Corrupt(String),
}

impl SettingsCache {
    pub fn new(store: Arc<dyn Store>, ttl: Duration) -> Self {
        Self {
            store,
            ttl,
            cached: RwLock::new(None),
        }
    }

    pub async fn get(&self) -> Result<Arc<Settings>, SettingsError> {
        if let Ok(guard) = self.cached.read()
            && let Some((at, settings)) = guard.as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok(settings.clone());
        }
        let settings = Arc::new(match self.store.load_settings().await? {
            Some(json) => {
                serde_json::from_str(&json).map_err(|e| SettingsError::Corrupt(e.to_string()))?
            }
            None => Settings::default(),
        });
        if let Ok(mut guard) = self.cached.write() {
            *guard = Some((Instant::now(), settings.clone()));
        }
        Ok(settings)
    }

    pub async fn save(&self, settings: &Settings, now: UnixTime) -> Result<(), SettingsError> {
        let json =
            serde_json::to_string(settings).map_err(|e| SettingsError::Corrupt(e.to_string()))?;
        self.store.save_settings(&json, now).await?;
        if let Ok(mut guard) = self.cached.write() {
            *guard = Some((Instant::now(), Arc::new(settings.clone())));
        }
        Ok(())
    }
}
