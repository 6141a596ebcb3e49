//! Signing keys.

use crate::SqliteStore;
use crate::db::{all_rows, execute};
use async_trait::async_trait;
use keyward_core::model::StoredKey;
use keyward_core::store::{KeyStore, StoreResult};
use rusqlite::params;

#[async_trait]
impl KeyStore for SqliteStore {
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        self.db().read(|c| {
            all_rows(
                c,
                "SELECT kid, alg, private_key, public_jwk, created_at, not_before \
                 FROM signing_keys ORDER BY created_at",
                [],
                |row| {
                    Ok(StoredKey {
                        kid: row.get("kid")?,
                        alg: row.get("alg")?,
                        private_key: row.get("private_key")?,
                        public_jwk: row.get("public_jwk")?,
                        created_at: row.get("created_at")?,
                        not_before: row.get("not_before")?,
                    })
                },
            )
        })
    }

    async fn insert_signing_key(&self, key: StoredKey) -> StoreResult<()> {
        self.db()
            .write(|tx| {
                execute(
                    tx,
                    "INSERT INTO signing_keys (kid, alg, private_key, public_jwk, created_at, \
                 not_before) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        key.kid,
                        key.alg,
                        key.private_key,
                        key.public_jwk,
                        key.created_at,
                        key.not_before
                    ],
                )
                .map(drop)
            })
            .await
    }

    async fn delete_signing_key(&self, kid: &str) -> StoreResult<()> {
        self.db()
            .write(|tx| execute(tx, "DELETE FROM signing_keys WHERE kid = ?1", [kid]))
            .await
            .map(drop)
    }
}
