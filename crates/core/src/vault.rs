//! Operator secrets (provider client secrets, bot tokens, the SMTP password): encrypted with the
//! master key in their own table, never part of the settings document that admins read back.

use crate::clock::Clock;
use crate::oidc::MasterKey;
use crate::store::{Store, StoreError};
use std::sync::Arc;

/// The secrets an admin may set through `/api/admin/settings`.
pub const NAMES: &[&str] = &[
    "github_client_secret",
    "oidc_client_secret",
    "linuxdo_client_secret",
    "wechat_server_token",
    "telegram_bot_token",
    "smtp_password",
];

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("unknown secret {0}")]
    Unknown(String),
    #[error("the secret {0} cannot be decrypted with this master key")]
    Decrypt(String),
    #[error("encryption failed")]
    Encrypt,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether `master` opens the operator secret `name` as stored (`sealed`).
pub fn master_opens(master: &MasterKey, name: &str, sealed: &[u8]) -> bool {
    master.decrypt(&format!("{LABEL}{name}"), sealed).is_ok()
}

pub struct Vault {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    master: MasterKey,
}

const LABEL: &str = "keyward-operator-secret:";

impl Vault {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, master: MasterKey) -> Self {
        Self {
            store,
            clock,
            master,
        }
    }

    fn check(name: &str) -> Result<(), VaultError> {
        if NAMES.contains(&name) {
            Ok(())
        } else {
            Err(VaultError::Unknown(name.chars().take(64).collect()))
        }
    }

    /// Stores `value`; an empty value deletes the secret.
    pub async fn set(&self, name: &str, value: &str) -> Result<(), VaultError> {
        Self::check(name)?;
        if value.is_empty() {
            self.store.delete_operator_secret(name).await?;
            return Ok(());
        }
        let sealed = self
            .master
            .encrypt(&format!("{LABEL}{name}"), value.as_bytes())
            .map_err(|_| VaultError::Encrypt)?;
        self.store
            .put_operator_secret(name, &sealed, self.clock.now())
            .await?;
        Ok(())
    }

    pub async fn get(&self, name: &str) -> Result<Option<String>, VaultError> {
        Self::check(name)?;
        let Some(sealed) = self.store.operator_secret(name).await? else {
            return Ok(None);
        };
        let plain = self
            .master
            .decrypt(&format!("{LABEL}{name}"), &sealed)
            .map_err(|_| VaultError::Decrypt(name.to_owned()))?;
        String::from_utf8(plain)
            .map(Some)
            .map_err(|_| VaultError::Decrypt(name.to_owned()))
    }

    pub async fn is_set(&self, name: &str) -> Result<bool, VaultError> {
        Self::check(name)?;
        Ok(self.store.operator_secret(name).await?.is_some())
    }

    /// Seals a short-lived value held by a browser for this server (a freshly minted app secret
    /// kept for its owner's session for a few minutes): encrypted with the master key, `purpose`
    /// bound as associated data so that a value sealed for one session, app or expiry cannot be
    /// opened for another. `None` if encryption failed.
    pub fn seal(&self, purpose: &str, plain: &[u8]) -> Option<Vec<u8>> {
        self.master
            .encrypt(&format!("{SEALED}{purpose}"), plain)
            .ok()
    }

    /// Opens what [`Vault::seal`] sealed for the same `purpose`; `None` for anything else.
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        self.master
            .decrypt(&format!("{SEALED}{purpose}"), sealed)
            .ok()
    }
}

const SEALED: &str = "keyward-sealed-for-browser:";
