//! Signing keys.

use crate::SqliteStore;
use crate::rows::stored_key_from_row;
use async_trait::async_trait;
use keyward_core::model::StoredKey;
use keyward_core::store::{KeyStore, StoreResult};

#[async_trait]
impl KeyStore for SqliteStore {
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        const SQL: &str = "SELECT kid, alg, private_key, public_jwk, created_at, not_before \
             FROM signing_keys ORDER BY created_at";
        self.read_all(SQL, [], stored_key_from_row)
    }

    async fn signing_keys_version(&self) -> StoreResult<Option<u64>> {
        // Key writes move the generation on (they are not appends), and so does another
        // process's commit to the file.
        Ok(Some(self.db().generation()))
    }

    async fn insert_signing_key(&self, key: StoredKey) -> StoreResult<()> {
        self.write_one(
            "INSERT INTO signing_keys (kid, alg, private_key, public_jwk, created_at, not_before) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            (
                key.kid,
                key.alg,
                key.private_key,
                key.public_jwk,
                key.created_at,
                key.not_before,
            ),
        )
        .await
        .map(drop)
    }

    async fn delete_signing_key(&self, kid: &str) -> StoreResult<()> {
        self.write_one("DELETE FROM signing_keys WHERE kid = ?1", [kid])
            .await
            .map(drop)
    }
}
