//! Passkeys and WebAuthn challenges.

use crate::{PostgresStore, backend, execute, fetch_all, fetch_optional};
use async_trait::async_trait;
use keyward_core::clock::UnixTime;
use keyward_core::model::{NewPasskey, PasskeyUse, StoredPasskey, UserId, WebauthnChallenge};
use keyward_core::secret::SecretHash;
use keyward_core::store::{PasskeyStore, StoreResult, Unlink};
use sqlx::Row;
use sqlx::postgres::PgRow;

macro_rules! passkey_columns {
    () => {
        "id, user_id, credential_id, name, credential, sign_count, created_at, last_used_at"
    };
}

fn passkey_from_row(row: &PgRow) -> Result<StoredPasskey, sqlx::Error> {
    Ok(StoredPasskey {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        credential_id: row.try_get("credential_id")?,
        name: row.try_get("name")?,
        credential: row.try_get("credential")?,
        sign_count: row.try_get("sign_count")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

#[async_trait]
impl PasskeyStore for PostgresStore {
    async fn passkey_handle(&self, user: UserId, fresh: &[u8]) -> StoreResult<Vec<u8>> {
        // Inserts or, when a handle is there already, reads it, in one statement.
        let query = sqlx::query(
            "WITH added AS (INSERT INTO passkey_handles (user_id, handle) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO NOTHING RETURNING handle) \
             SELECT handle FROM added UNION ALL \
             SELECT handle FROM passkey_handles WHERE user_id = $1",
        );
        if let Some(handle) = fetch_optional(self.pool(), query.bind(user).bind(fresh), |row| {
            row.try_get::<Vec<u8>, _>(0)
        })
        .await?
        {
            return Ok(handle);
        }
        // A concurrent first enrolment stored it after this statement's snapshot was taken.
        let again = sqlx::query("SELECT handle FROM passkey_handles WHERE user_id = $1");
        fetch_optional(self.pool(), again.bind(user), |row| row.try_get(0))
            .await?
            .ok_or_else(|| backend("the passkey handle was neither stored nor found"))
    }

    async fn user_by_passkey_handle(&self, handle: &[u8]) -> StoreResult<Option<UserId>> {
        let query = sqlx::query("SELECT user_id FROM passkey_handles WHERE handle = $1");
        fetch_optional(self.pool(), query.bind(handle), |row| row.try_get(0)).await
    }

    async fn add_passkey(&self, p: NewPasskey) -> StoreResult<i64> {
        let query = sqlx::query(
            "INSERT INTO passkeys (user_id, credential_id, name, credential, sign_count, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(p.user_id)
        .bind(&p.credential_id)
        .bind(&p.name)
        .bind(&p.credential)
        .bind(p.sign_count)
        .bind(p.created_at);
        let id = fetch_optional(self.pool(), query, |row| row.try_get(0)).await?;
        id.ok_or_else(|| backend("INSERT … RETURNING id returned no row"))
    }

    async fn passkeys_of_user(&self, user: UserId) -> StoreResult<Vec<StoredPasskey>> {
        const SQL: &str = concat!(
            "SELECT ",
            passkey_columns!(),
            " FROM passkeys WHERE user_id = $1 ORDER BY id"
        );
        fetch_all(self.pool(), sqlx::query(SQL).bind(user), passkey_from_row).await
    }

    async fn passkey_by_credential_id(&self, id: &[u8]) -> StoreResult<Option<StoredPasskey>> {
        const SQL: &str = concat!(
            "SELECT ",
            passkey_columns!(),
            " FROM passkeys WHERE credential_id = $1"
        );
        fetch_optional(self.pool(), sqlx::query(SQL).bind(id), passkey_from_row).await
    }

    async fn rename_passkey(&self, user: UserId, id: i64, name: &str) -> StoreResult<bool> {
        let query = sqlx::query("UPDATE passkeys SET name = $3 WHERE user_id = $1 AND id = $2")
            .bind(user)
            .bind(id)
            .bind(name);
        Ok(execute(self.pool(), query).await? > 0)
    }

    async fn delete_passkey_keeping_a_way_in(&self, user: UserId, id: i64) -> StoreResult<Unlink> {
        let mut tx = self.begin().await?;
        // Removals and unlinks of one account queue on its row (as identities' unlinks do);
        // each then judges what the one before it left.
        let lock = sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE");
        fetch_optional(&mut *tx, lock.bind(user), |_| Ok(())).await?;
        let delete = sqlx::query(
            "DELETE FROM passkeys WHERE user_id = $1 AND id = $2 AND ( \
             EXISTS (SELECT 1 FROM users WHERE id = $1 AND password_hash IS NOT NULL) \
             OR EXISTS (SELECT 1 FROM identities WHERE user_id = $1) \
             OR EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1 AND id <> $2))",
        );
        let removed = execute(&mut *tx, delete.bind(user).bind(id)).await?;
        let outcome = if removed > 0 {
            Unlink::Unlinked
        } else {
            let exists = sqlx::query("SELECT 1 FROM passkeys WHERE user_id = $1 AND id = $2");
            match fetch_optional(&mut *tx, exists.bind(user).bind(id), |_| Ok(())).await? {
                Some(()) => Unlink::LastWayIn,
                None => Unlink::NotLinked,
            }
        };
        tx.commit().await.map_err(backend)?;
        Ok(outcome)
    }

    async fn delete_passkey(&self, user: UserId, id: i64) -> StoreResult<bool> {
        let query = sqlx::query("DELETE FROM passkeys WHERE user_id = $1 AND id = $2")
            .bind(user)
            .bind(id);
        Ok(execute(self.pool(), query).await? > 0)
    }

    async fn record_passkey_use(&self, used: PasskeyUse, credential: &str) -> StoreResult<bool> {
        let query = sqlx::query(
            "UPDATE passkeys SET sign_count = $3, credential = $4, last_used_at = $5 \
             WHERE id = $1 AND sign_count = $2",
        )
        .bind(used.id)
        .bind(used.seen_count)
        .bind(used.new_count)
        .bind(credential)
        .bind(used.at);
        Ok(execute(self.pool(), query).await? > 0)
    }

    async fn put_webauthn_challenge(&self, c: &WebauthnChallenge) -> StoreResult<()> {
        let query = sqlx::query(
            "INSERT INTO webauthn_challenges (id_hash, purpose, user_id, state, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(c.id_hash.as_bytes())
        .bind(c.purpose)
        .bind(c.user_id)
        .bind(&c.state)
        .bind(c.expires_at);
        self.run(query).await
    }

    async fn take_webauthn_challenge(
        &self,
        id_hash: &SecretHash,
        purpose: &str,
        now: UnixTime,
    ) -> StoreResult<Option<(Option<UserId>, String)>> {
        let query = sqlx::query(
            "DELETE FROM webauthn_challenges WHERE id_hash = $1 \
             RETURNING purpose, user_id, state, expires_at",
        );
        let found = fetch_optional(self.pool(), query.bind(id_hash.as_bytes()), |row| {
            Ok((
                row.try_get::<String, _>("purpose")?,
                row.try_get::<Option<UserId>, _>("user_id")?,
                row.try_get::<String, _>("state")?,
                row.try_get::<i64, _>("expires_at")?,
            ))
        })
        .await?;
        Ok(found
            .filter(|(p, _, _, expires_at)| p == purpose && *expires_at > now)
            .map(|(_, user, state, _)| (user, state)))
    }
}
