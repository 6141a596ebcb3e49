//! Signing keys.

use crate::changes::Table;
use crate::rows::stored_key_from_row;
use crate::{PostgresStore, fetch_all};
use async_trait::async_trait;
use keyward_core::model::StoredKey;
use keyward_core::store::{KeyStore, StoreResult};

#[async_trait]
impl KeyStore for PostgresStore {
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        let query = sqlx::query(
            "SELECT kid, alg, private_key, public_jwk, created_at, not_before FROM signing_keys \
             ORDER BY created_at",
        );
        fetch_all(self.pool(), query, stored_key_from_row).await
    }

    async fn signing_keys_version(&self) -> StoreResult<Option<u64>> {
        Ok(self.changes.generation(Table::SigningKeys))
    }

    async fn insert_signing_key(&self, key: StoredKey) -> StoreResult<()> {
        let query = sqlx::query(
            "INSERT INTO signing_keys (kid, alg, private_key, public_jwk, created_at, not_before) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.private_key)
        .bind(&key.public_jwk)
        .bind(key.created_at)
        .bind(key.not_before);
        let inserted = self.run(query).await;
        self.changes.made_here(Table::SigningKeys);
        inserted
    }

    async fn delete_signing_key(&self, kid: &str) -> StoreResult<()> {
        let deleted = self
            .run(sqlx::query("DELETE FROM signing_keys WHERE kid = $1").bind(kid))
            .await;
        self.changes.made_here(Table::SigningKeys);
        deleted
    }
}
