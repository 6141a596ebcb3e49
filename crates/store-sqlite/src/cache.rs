//! Reads served from memory between the writes that could change them: a bearer token's
//! context and an app by its client_id, the reads behind every userinfo, introspection and
//! token request.
//!
//! An entry is tagged with the generation (`Db::generation`) current before it was read from
//! the database, and served only while that generation is still current. Every commit that may
//! change what these reads return moves the generation on before anyone in its batch answers
//! (any write but `Db::append`), and so does a commit by another process on the same file (the
//! CLI, another node), noticed through SQLite's `data_version` before every cached read. So a
//! revocation, a disabled user or app, a changed balance is seen by the next request, as
//! without the cache.

use keyward_core::store::StoreResult;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Entries kept at most; when full the cache starts over (cheap, and it refills in one pass).
const CAPACITY: usize = 16_384;

pub(crate) struct Cache<K, V> {
    entries: Mutex<HashMap<K, (u64, V)>>,
}

impl<K: Hash + Eq, V: Clone> Cache<K, V> {
    pub(crate) fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value for `key` if cached at `generation` and still `fresh`; otherwise `read`'s,
    /// cached when found.
    pub(crate) fn get_or_read<Q>(
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
        if let Ok(entries) = self.entries.lock()
            && let Some((tagged, value)) = entries.get(key)
            && *tagged == generation
            && fresh(value)
        {
            return Ok(Some(value.clone()));
        }
        let found = read()?;
        if let Some(value) = &found
            && let Ok(mut entries) = self.entries.lock()
        {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(key.to_owned(), (generation, value.clone()));
        }
        Ok(found)
    }
}
