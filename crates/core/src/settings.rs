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
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            register_enabled: true,
            password_register_enabled: true,
            password_login_enabled: true,
            quota_for_new_user: 0,
            app_review_required: true,
            allow_http_redirect_uris: false,
            quota_per_unit: 1000,
            topup_url: String::new(),
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
