//! Passkeys and WebAuthn challenges.

use crate::SqliteStore;
use crate::db::{Cols, execute, first_row};
use async_trait::async_trait;
use keyward_core::clock::UnixTime;
use keyward_core::model::{NewPasskey, PasskeyUse, StoredPasskey, UserId, WebauthnChallenge};
use keyward_core::secret::SecretHash;
use keyward_core::store::{PasskeyStore, StoreResult, Unlink};
use rusqlite::params;

macro_rules! passkey_columns {
    () => {
        "id, user_id, credential_id, name, credential, sign_count, created_at, last_used_at"
    };
}

fn passkey_from_row(row: &Cols<'_, '_>) -> rusqlite::Result<StoredPasskey> {
    Ok(StoredPasskey {
        id: row.get("id")?,
        user_id: row.get("user_id")?,
        credential_id: row.get("credential_id")?,
        name: row.get("name")?,
        credential: row.get("credential")?,
        sign_count: row.get("sign_count")?,
        created_at: row.get("created_at")?,
        last_used_at: row.get("last_used_at")?,
    })
}

#[async_trait]
impl PasskeyStore for SqliteStore {
    async fn passkey_handle(&self, user: UserId, fresh: &[u8]) -> StoreResult<Vec<u8>> {
        let fresh = fresh.to_vec();
        self.db()
            .write(move |tx| {
                execute(
                    tx,
                    "INSERT INTO passkey_handles (user_id, handle) VALUES (?1, ?2) \
                     ON CONFLICT (user_id) DO NOTHING",
                    params![user, fresh],
                )?;
                first_row(
                    tx,
                    "SELECT handle FROM passkey_handles WHERE user_id = ?1",
                    [user],
                    |row| row.get(0),
                )
                .map(Option::unwrap_or_default)
            })
            .await
    }

    async fn user_by_passkey_handle(&self, handle: &[u8]) -> StoreResult<Option<UserId>> {
        self.read_one(
            "SELECT user_id FROM passkey_handles WHERE handle = ?1",
            [handle],
            |row| row.get(0),
        )
    }

    async fn add_passkey(&self, p: NewPasskey) -> StoreResult<i64> {
        self.db()
            .write(move |tx| {
                execute(
                    tx,
                    "INSERT INTO passkeys (user_id, credential_id, name, credential, sign_count, \
                     created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        p.user_id,
                        p.credential_id,
                        p.name,
                        p.credential,
                        p.sign_count,
                        p.created_at
                    ],
                )?;
                Ok(tx.last_insert_rowid())
            })
            .await
    }

    async fn passkeys_of_user(&self, user: UserId) -> StoreResult<Vec<StoredPasskey>> {
        const SQL: &str = concat!(
            "SELECT ",
            passkey_columns!(),
            " FROM passkeys WHERE user_id = ?1 ORDER BY id"
        );
        self.read_all(SQL, [user], passkey_from_row)
    }

    async fn passkey_by_credential_id(&self, id: &[u8]) -> StoreResult<Option<StoredPasskey>> {
        const SQL: &str = concat!(
            "SELECT ",
            passkey_columns!(),
            " FROM passkeys WHERE credential_id = ?1"
        );
        self.read_one(SQL, [id], passkey_from_row)
    }

    async fn rename_passkey(&self, user: UserId, id: i64, name: &str) -> StoreResult<bool> {
        self.write_one(
            "UPDATE passkeys SET name = ?3 WHERE user_id = ?1 AND id = ?2",
            (user, id, name),
        )
        .await
        .map(|n| n > 0)
    }

    async fn delete_passkey_keeping_a_way_in(&self, user: UserId, id: i64) -> StoreResult<Unlink> {
        // One writer at a time: the check and the delete see no concurrent removal between them.
        self.db()
            .write(|tx| {
                let removed = execute(
                    tx,
                    "DELETE FROM passkeys WHERE user_id = ?1 AND id = ?2 AND ( \
                     EXISTS (SELECT 1 FROM users WHERE id = ?1 AND password_hash IS NOT NULL) \
                     OR EXISTS (SELECT 1 FROM identities WHERE user_id = ?1) \
                     OR EXISTS (SELECT 1 FROM passkeys WHERE user_id = ?1 AND id <> ?2))",
                    params![user, id],
                )?;
                if removed > 0 {
                    return Ok(Unlink::Unlinked);
                }
                let exists = first_row(
                    tx,
                    "SELECT 1 FROM passkeys WHERE user_id = ?1 AND id = ?2",
                    params![user, id],
                    |_| Ok(()),
                )?;
                Ok(match exists {
                    Some(()) => Unlink::LastWayIn,
                    None => Unlink::NotLinked,
                })
            })
            .await
    }

    async fn delete_passkey(&self, user: UserId, id: i64) -> StoreResult<bool> {
        self.write_one(
            "DELETE FROM passkeys WHERE user_id = ?1 AND id = ?2",
            (user, id),
        )
        .await
        .map(|n| n > 0)
    }

    async fn record_passkey_use(&self, used: PasskeyUse, credential: &str) -> StoreResult<bool> {
        self.write_one(
            "UPDATE passkeys SET sign_count = ?3, credential = ?4, last_used_at = ?5 \
             WHERE id = ?1 AND sign_count = ?2",
            (
                used.id,
                used.seen_count,
                used.new_count,
                credential,
                used.at,
            ),
        )
        .await
        .map(|n| n > 0)
    }

    async fn put_webauthn_challenge(&self, c: &WebauthnChallenge) -> StoreResult<()> {
        self.write_one(
            "INSERT INTO webauthn_challenges (id_hash, purpose, user_id, state, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            (
                c.id_hash.as_bytes(),
                c.purpose,
                c.user_id,
                &c.state,
                c.expires_at,
            ),
        )
        .await
        .map(drop)
    }

    async fn take_webauthn_challenge(
        &self,
        id_hash: &SecretHash,
        purpose: &str,
        now: UnixTime,
    ) -> StoreResult<Option<(Option<UserId>, String)>> {
        let hash = id_hash.as_bytes().to_vec();
        let purpose = purpose.to_owned();
        self.db()
            .write(move |tx| {
                let found = first_row(
                    tx,
                    "DELETE FROM webauthn_challenges WHERE id_hash = ?1 \
                     RETURNING purpose, user_id, state, expires_at",
                    [&hash],
                    |row| {
                        Ok((
                            row.get::<_, String>("purpose")?,
                            row.get::<_, Option<UserId>>("user_id")?,
                            row.get::<_, String>("state")?,
                            row.get::<_, i64>("expires_at")?,
                        ))
                    },
                )?;
                Ok(found
                    .filter(|(p, _, _, expires_at)| *p == purpose && *expires_at > now)
                    .map(|(_, user, state, _)| (user, state)))
            })
            .await
    }
}
