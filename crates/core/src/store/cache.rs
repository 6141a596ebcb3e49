//! Reads a backend serves from memory between the writes that could change them (a bearer
//! token's context, an app by its client_id: the reads behind every userinfo, introspection and
//! token request).
//!
//! An entry is tagged with the backend's generation current before it was read from the
//! database, and served only while that generation is still current. The backend moves the
//! generation on when something that may change these reads is committed: SQLite before anyone
//! waiting on that commit is answered (`Db::generation`), PostgreSQL when the database's change
//! notification reaches the node (`changes.rs` in its crate).

use crate::store::StoreResult;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Entries kept at most; when full the cache starts over (cheap, and it refills in one pass).
const CAPACITY: usize = 16_384;

pub struct Cache<K, V> {
    entries: Mutex<HashMap<K, (u64, V)>>,
}

impl<K, V> Default for Cache<K, V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq, V: Clone> Cache<K, V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The value for `key` if cached at `generation` and still `fresh`; otherwise `read`'s,
    /// cached when found.
    pub fn get_or_read<Q>(
        &self,
        key: &Q,
        generation: u64,
        fresh: impl Fn(&V) -> bool,
        read: impl FnOnce() -> StoreResult<Option<V>>,
    ) -> StoreResult<Option<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(value) = self.get(key, generation).filter(|value| fresh(value)) {
            return Ok(Some(value));
        }
        let found = read()?;
        if let Some(value) = &found {
            self.insert(key, generation, value);
        }
        Ok(found)
    }

    /// The value for `key` if it was cached at `generation`.
    pub fn get<Q>(&self, key: &Q, generation: u64) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entries = self.entries.lock().ok()?;
        let (tagged, value) = entries.get(key)?;
        (*tagged == generation).then(|| value.clone())
    }

    /// Caches `value` for `key`, read at `generation` (the one current before the read began).
    pub fn insert<Q>(&self, key: &Q, generation: u64, value: &V)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(key.to_owned(), (generation, value.clone()));
        }
    }
}
