//! The settings document in memory. Read on nearly every request, changed rarely: a node keeps
//! it until the store says it may have changed ([`Store::settings_generation`], PostgreSQL's
//! change notifications), or, where the store cannot tell, for a few seconds. A change made
//! through this node is seen by its next read at once.

use super::Settings;
use crate::store::{Store, StoreError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

pub struct SettingsCache {
    pub(super) store: Arc<dyn Store>,
    ttl: Duration,
    cached: RwLock<Option<Cached>>,
}

struct Cached {
    settings: Arc<Settings>,
    read_at: Instant,
    /// The store's settings generation before the read; `None` when it had none.
    generation: Option<u64>,
    /// Written through this node since: shown by `latest`, but read again by `get`.
    stale: bool,
}

impl Cached {
    fn fresh(&self, generation: Option<u64>, ttl: Duration) -> bool {
        if self.stale {
            return false;
        }
        match (generation, self.generation) {
            (Some(now), Some(then)) => now == then,
            // Without notifications (now or at the read), only the age tells.
            _ => self.read_at.elapsed() < ttl,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored settings are not valid: {0}")]
    Corrupt(String),
}

/// The stored document as it is text (what a change must find unchanged to replace it) and as
/// settings.
pub(super) struct Stored {
    pub text: Option<String>,
    pub settings: Settings,
}

impl SettingsCache {
    /// `ttl`: how long the document is kept when the store cannot say whether it changed.
    pub fn new(store: Arc<dyn Store>, ttl: Duration) -> Self {
        Self {
            store,
            ttl,
            cached: RwLock::new(None),
        }
    }

    pub async fn get(&self) -> Result<Arc<Settings>, SettingsError> {
        let generation = self.store.settings_generation();
        if let Ok(guard) = self.cached.read()
            && let Some(cached) = guard.as_ref()
            && cached.fresh(generation, self.ttl)
        {
            return Ok(cached.settings.clone());
        }
        let settings = Arc::new(self.read_stored().await?.settings);
        self.keep(settings.clone(), generation, false);
        Ok(settings)
    }

    /// The settings as last read, however old, without waiting for the store: for what may lag
    /// a refresh behind (the brand on a page). The defaults before the first read.
    pub fn latest(&self) -> Arc<Settings> {
        self.cached
            .read()
            .ok()
            .and_then(|guard| guard.as_ref().map(|c| c.settings.clone()))
            .unwrap_or_default()
    }

    /// The document as stored now, past the cache.
    pub(super) async fn read_stored(&self) -> Result<Stored, SettingsError> {
        let text = self.store.load_settings().await?;
        let settings = match &text {
            Some(json) => {
                serde_json::from_str(json).map_err(|e| SettingsError::Corrupt(e.to_string()))?
            }
            None => Settings::default(),
        };
        Ok(Stored { text, settings })
    }

    /// Stores `settings` whole, over whatever is stored: for setting up a fresh database (tests,
    /// fixtures). An admin's change goes through [`super::apply_changes`], which writes only
    /// what it changes.
    pub async fn seed(
        &self,
        settings: &Settings,
        now: crate::clock::UnixTime,
    ) -> Result<(), SettingsError> {
        let json =
            serde_json::to_string(settings).map_err(|e| SettingsError::Corrupt(e.to_string()))?;
        loop {
            let stored = self.store.load_settings().await?;
            if self
                .store
                .swap_settings(stored.as_deref(), &json, now)
                .await?
            {
                self.wrote(settings.clone());
                return Ok(());
            }
        }
    }

    /// A change through this node was stored: shown at once, and the next `get` reads the
    /// store again (another node's change may have landed right after it).
    pub(super) fn wrote(&self, settings: Settings) {
        self.keep(Arc::new(settings), None, true);
    }

    fn keep(&self, settings: Arc<Settings>, generation: Option<u64>, stale: bool) {
        if let Ok(mut guard) = self.cached.write() {
            *guard = Some(Cached {
                settings,
                read_at: Instant::now(),
                generation,
                stale,
            });
        }
    }
}
