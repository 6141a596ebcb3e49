//! An admin's change to the settings: only the settings it names are written, against the
//! document as stored (not a node's cached copy), in one atomic swap, so that two admins'
//! changes never undo each other, whichever nodes they are made on.

use super::{Settings, SettingsCache, SettingsError, is_root_only};
use crate::clock::UnixTime;
use crate::model::{Role, User};
use crate::vault::{self, Vault};
use serde_json::{Map, Value};

/// How often a change is tried again when other changes keep landing between its read and its
/// write; each try costs two quick statements, and admins do not change settings by the
/// hundred per second.
const ATTEMPTS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum SettingsUpdateError {
    /// An admin below root tried to change a [`super::ROOT_ONLY`] setting.
    #[error("只有超级管理员可以修改此设置: {0}")]
    RootOnly(String),
    #[error("未知的设置项: {0}")]
    Unknown(String),
    #[error("设置项的值类型不正确")]
    WrongType,
    /// A form changed this setting, which someone else changed after the form was shown:
    /// saving it would undo their change unseen. Nothing was written.
    #[error("此设置在页面打开后已被他人修改，请刷新后重试: {0}")]
    Stale(String),
    /// Other changes kept landing in between (see [`ATTEMPTS`]). Nothing was written.
    #[error("设置正被同时修改，请稍后重试")]
    Contended,
    #[error(transparent)]
    Invalid(#[from] super::InvalidSettings),
    #[error(transparent)]
    Vault(#[from] vault::VaultError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

/// What an admin asks to change.
#[derive(Debug, Default, Clone)]
pub struct SettingsChange {
    /// Settings and vault secrets by name: a setting given replaces the stored one; a secret
    /// given is set, or cleared by an empty string.
    pub values: Map<String, Value>,
    /// For a form: what each setting showed when the form was rendered. A setting changed
    /// here whose stored value is no longer that (and not already the new one) is refused as
    /// [`SettingsUpdateError::Stale`]. Empty for the API, whose callers name what they change.
    pub seen: Map<String, Value>,
}

/// The outcome of an admin's change: the new document, which vault secrets were written, and
/// which [`super::ROOT_ONLY`] settings changed (for the audit log).
pub struct SettingsUpdate {
    pub settings: Settings,
    pub secrets_changed: Vec<String>,
    pub root_only_changed: Vec<String>,
}

/// A change applied to one reading of the stored document.
struct Planned {
    settings: Settings,
    /// Each changed setting with its old and new value; secrets as `"set"`/`"cleared"`.
    changed: Map<String, Value>,
    secrets: Vec<(String, String)>,
    root_only_changed: Vec<String>,
}

/// Applies an admin's change (the admin API's `PUT` body, or what a settings form changed).
/// A [`super::ROOT_ONLY`] setting given with a new value (or any secret of that list) by
/// someone below root refuses the whole change. Nothing is written unless the whole result is
/// valid and allowed.
///
/// The change is made to the document as stored, and stored only if nobody changed it in
/// between (else it is made again to the newer document). The audit log records each changed
/// setting with its old and new value, each secret only as `"set"` or `"cleared"`.
pub async fn apply_changes(
    cache: &SettingsCache,
    vault: &Vault,
    actor: &User,
    change: SettingsChange,
    now: UnixTime,
    ip: &str,
) -> Result<SettingsUpdate, SettingsUpdateError> {
    for _ in 0..ATTEMPTS {
        let stored = cache.read_stored().await?;
        let planned = plan(&stored.settings, &change, actor)?;
        check(&planned, vault).await?;
        // Refused when a change brings it about; a document stored so earlier still takes
        // other changes (turning registration off must not wait for a mail server).
        if planned.settings.verification_without_mail()
            && !stored.settings.verification_without_mail()
        {
            return Err(super::InvalidSettings::VerificationWithoutMail.into());
        }
        for (name, value) in &planned.secrets {
            vault.set(name, value).await?;
        }
        let json = serde_json::to_string(&planned.settings)
            .map_err(|e| SettingsError::Corrupt(e.to_string()))?;
        let swapped = cache
            .store
            .swap_settings(stored.text.as_deref(), &json, now)
            .await
            .map_err(SettingsError::from)?;
        if !swapped {
            continue;
        }
        cache.wrote(planned.settings.clone());
        let secrets_changed: Vec<String> = planned.secrets.into_iter().map(|(n, _)| n).collect();
        crate::audit::record(
            cache.store.as_ref(),
            now,
            Some(actor.id),
            crate::audit::action::SETTINGS_UPDATED,
            "",
            serde_json::json!({
                "changed": planned.changed,
                "secrets_changed": secrets_changed,
                "root_only_changed": planned.root_only_changed,
            }),
            ip,
        )
        .await;
        tracing::info!(admin.id = actor.id, "settings updated");
        return Ok(SettingsUpdate {
            settings: planned.settings,
            secrets_changed,
            root_only_changed: planned.root_only_changed,
        });
    }
    Err(SettingsUpdateError::Contended)
}

fn plan(
    current: &Settings,
    change: &SettingsChange,
    actor: &User,
) -> Result<Planned, SettingsUpdateError> {
    let Ok(Value::Object(mut fields)) = serde_json::to_value(current) else {
        return Err(SettingsError::Corrupt("settings are not an object".into()).into());
    };
    let mut secrets = Vec::new();
    let mut root_only_changed = Vec::new();
    let mut changed = Map::new();
    for (key, value) in &change.values {
        let is_secret = vault::NAMES.contains(&key.as_str());
        if !is_secret && !fields.contains_key(key) {
            return Err(SettingsUpdateError::Unknown(key.chars().take(64).collect()));
        }
        let stored = fields.get(key);
        // Sending back an unchanged value (a whole document, a whole form) is no change.
        if is_root_only(key) && (is_secret || stored != Some(value)) {
            if actor.role != Role::Root {
                return Err(SettingsUpdateError::RootOnly(key.clone()));
            }
            root_only_changed.push(key.clone());
        }
        if is_secret {
            let Value::String(secret) = value else {
                return Err(SettingsUpdateError::WrongType);
            };
            let masked = if secret.is_empty() { "cleared" } else { "set" };
            changed.insert(key.clone(), Value::from(masked));
            secrets.push((key.clone(), secret.clone()));
            continue;
        }
        if stored == Some(value) {
            continue;
        }
        if let Some(seen) = change.seen.get(key)
            && stored != Some(seen)
        {
            return Err(SettingsUpdateError::Stale(key.clone()));
        }
        let old = stored.cloned().unwrap_or(Value::Null);
        changed.insert(
            key.clone(),
            serde_json::json!({"old": audited(key, old), "new": audited(key, value.clone())}),
        );
        fields.insert(key.clone(), value.clone());
    }
    let settings: Settings = serde_json::from_value(Value::Object(fields))
        .map_err(|_| SettingsUpdateError::WrongType)?;
    Ok(Planned {
        settings,
        changed,
        secrets,
        root_only_changed,
    })
}

/// A setting's value as the audit log keeps it: the uploaded logo (up to 128 KB) only as
/// whether there is one.
fn audited(key: &str, value: Value) -> Value {
    match (key, &value) {
        ("logo_upload", Value::String(s)) => Value::from(if s.is_empty() { "none" } else { "set" }),
        _ => value,
    }
}

/// Whether the planned document may be used, with the secrets it sets and those already set.
async fn check(planned: &Planned, vault: &Vault) -> Result<(), SettingsUpdateError> {
    let mut set_now = Vec::new();
    for name in vault::NAMES {
        let pending = planned
            .secrets
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| !v.is_empty());
        let set = match pending {
            Some(set) => set,
            None => vault.is_set(name).await?,
        };
        if set {
            set_now.push(*name);
        }
    }
    planned.settings.validate(|name| set_now.contains(&name))?;
    Ok(())
}
