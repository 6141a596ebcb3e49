//! Signing keys.

use crate::{PostgresStore, fetch_all};
use async_trait::async_trait;
use keyward_core::model::StoredKey;
use keyward_core::store::{KeyStore, StoreResult};
use sqlx::Row;

#[async_trait]
impl KeyStore for PostgresStore {
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        let query = sqlx::query(
            "SELECT kid, alg, private_key, public_jwk, created_at, not_before FROM signing_keys \
             ORDER BY created_at",
        );
        fetch_all(self.pool(), query, |row| {
            Ok(StoredKey {
                kid: row.try_get("kid")?,
                alg: row.try_get("alg")?,
                private_key: row.try_get("private_key")?,
                public_jwk: row.try_get("public_jwk")?,
                created_at: row.try_get("created_at")?,
                not_before: row.try_get("not_before")?,
            })
        })
        .await
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
        self.run(query).await
    }

    async fn delete_signing_key(&self, kid: &str) -> StoreResult<()> {
        self.run(sqlx::query("DELETE FROM signing_keys WHERE kid = $1").bind(kid))
            .await
    }
}
