//! Upstream identities and login flows, verification codes, operator secrets.

use crate::SqliteStore;
use crate::db::{execute, first_row, store_error};
use crate::rows::{identity_from_row, required_hash, upstream_state_from_row};
use async_trait::async_trait;
use keyward_core::clock::UnixTime;
use keyward_core::model::{CodeCheck, Identity, NewUser, UpstreamState, User, UserId};
use keyward_core::secret::{SecretHash, constant_time_eq};
use keyward_core::store::{
    CodeAttempt, Conflict, FederationStore, MailedCode, StoreError, StoreResult, Unlink,
};
use rusqlite::{Connection, params};

/// Inserts `identity` for `user`. Its conflicts name which rule refused it: the identity is
/// someone's already, or the account already has one of this provider.
fn insert_identity(tx: &Connection, identity: &Identity, user: UserId) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO identities (provider, subject, user_id, display, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut insert| {
        insert.execute(params![
            identity.provider,
            identity.subject,
            user,
            identity.display,
            identity.created_at
        ])
    })
    .map(drop)
    .map_err(store_error)
}

#[async_trait]
impl FederationStore for SqliteStore {
    async fn create_upstream_state(&self, s: UpstreamState) -> StoreResult<()> {
        let intent = if s.bind_user.is_some() {
            "bind"
        } else {
            "login"
        };
        self.write_one(
            "INSERT INTO upstream_states (state_hash, browser_hash, provider, intent, user_id, \
             aff_code, pkce_verifier, nonce, return_to, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            (
                s.state_hash.as_bytes(),
                s.browser_hash.as_bytes(),
                &s.provider,
                intent,
                s.bind_user,
                &s.aff_code,
                &s.pkce_verifier,
                &s.nonce,
                &s.return_to,
                s.created_at,
                s.expires_at,
            ),
        )
        .await
        .map(drop)
    }

    async fn take_upstream_state(
        &self,
        state: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<Option<UpstreamState>> {
        let taken = self
            .db()
            .write(|tx| {
                first_row(
                    tx,
                    "DELETE FROM upstream_states WHERE state_hash = ?1 RETURNING state_hash, \
                 browser_hash, provider, user_id, aff_code, pkce_verifier, nonce, return_to, \
                 created_at, expires_at",
                    [state.as_bytes()],
                    upstream_state_from_row,
                )
            })
            .await?;
        Ok(taken.filter(|taken| taken.expires_at > now))
    }

    async fn identity(&self, provider: &str, subject: &str) -> StoreResult<Option<Identity>> {
        const SQL: &str = "SELECT provider, subject, user_id, display, created_at \
             FROM identities WHERE provider = ?1 AND subject = ?2";
        self.read_one(SQL, [provider, subject], identity_from_row)
    }

    async fn identities_of_user(&self, user: UserId) -> StoreResult<Vec<Identity>> {
        const SQL: &str = "SELECT provider, subject, user_id, display, created_at \
             FROM identities WHERE user_id = ?1 ORDER BY provider";
        self.read_all(SQL, [user], identity_from_row)
    }

    async fn link_identity(&self, identity: Identity) -> StoreResult<()> {
        self.db()
            .write(|tx| {
                let existing: Option<UserId> = first_row(
                    tx,
                    "SELECT user_id FROM identities WHERE provider = ?1 AND subject = ?2",
                    [&identity.provider, &identity.subject],
                    |row| row.get(0),
                )?;
                match existing {
                    Some(owner) if owner == identity.user_id => Ok(()),
                    Some(_) => Err(StoreError::Conflict(Conflict::Identity)),
                    None => insert_identity(tx, &identity, identity.user_id),
                }
            })
            .await
    }

    async fn unlink_identity_keeping_a_way_in(
        &self,
        user: UserId,
        provider: &str,
    ) -> StoreResult<Unlink> {
        // One writer at a time: the check and the delete see no concurrent unlink between them.
        self.db()
            .write(|tx| {
                let removed = execute(
                    tx,
                    // Another way in: a password, another identity or a passkey.
                    "DELETE FROM identities WHERE user_id = ?1 AND provider = ?2 AND ( \
                     EXISTS (SELECT 1 FROM users WHERE id = ?1 AND password_hash IS NOT NULL) \
                     OR EXISTS (SELECT 1 FROM identities WHERE user_id = ?1 AND provider <> ?2) \
             OR EXISTS (SELECT 1 FROM passkeys WHERE user_id = ?1))",
                    params![user, provider],
                )?;
                if removed > 0 {
                    return Ok(Unlink::Unlinked);
                }
                let linked = first_row(
                    tx,
                    "SELECT 1 FROM identities WHERE user_id = ?1 AND provider = ?2",
                    params![user, provider],
                    |_| Ok(()),
                )?;
                Ok(match linked {
                    Some(()) => Unlink::LastWayIn,
                    None => Unlink::NotLinked,
                })
            })
            .await
    }

    async fn create_user_with_identity(
        &self,
        user: NewUser,
        identity: Identity,
    ) -> StoreResult<User> {
        self.db()
            .write(|tx| {
                let created = crate::insert_user(tx, &user)?;
                insert_identity(tx, &identity, created.id)?;
                Ok(created)
            })
            .await
    }

    async fn set_verified_email(
        &self,
        user: UserId,
        email: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        self.write_one(
            "UPDATE users SET email = ?2, email_verified = 1, updated_at = ?3 WHERE id = ?1",
            (user, email, now),
        )
        .await
        .map(drop)
    }

    async fn user_by_verified_email(&self, email: &str) -> StoreResult<Option<User>> {
        const SQL: &str = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE u.email = ?1 AND u.email_verified = 1"
        );
        self.one_user(SQL, [email])
    }

    async fn put_code(&self, code: &MailedCode<'_>) -> StoreResult<()> {
        self.write_one(
            "INSERT INTO verification_codes (purpose, email, user_id, code_hash, attempts, \
             created_at, expires_at) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6) \
             ON CONFLICT (purpose, email) DO UPDATE SET user_id = excluded.user_id, \
             code_hash = excluded.code_hash, attempts = 0, created_at = excluded.created_at, \
             expires_at = excluded.expires_at",
            (
                code.purpose,
                code.email,
                code.user,
                code.hash.as_bytes(),
                code.created_at,
                code.expires_at,
            ),
        )
        .await
        .map(drop)
    }

    async fn check_code(&self, typed: &CodeAttempt<'_>) -> StoreResult<CodeCheck> {
        let CodeAttempt {
            purpose,
            email,
            hash: attempt,
            max_attempts,
            now,
        } = *typed;
        self.db()
            .write(|tx| {
                let stored = first_row(
                    tx,
                    "SELECT user_id, code_hash, attempts, expires_at FROM verification_codes \
                 WHERE purpose = ?1 AND email = ?2",
                    [purpose, email],
                    |row| {
                        Ok((
                            row.get::<_, Option<UserId>>("user_id")?,
                            required_hash(row, "code_hash")?,
                            row.get::<_, i64>("attempts")?,
                            row.get::<_, i64>("expires_at")?,
                        ))
                    },
                )?;
                let Some((user, stored, attempts, expires_at)) = stored else {
                    return Ok(CodeCheck::Missing);
                };
                let outcome = if expires_at <= now || attempts >= max_attempts {
                    CodeCheck::Missing
                } else if constant_time_eq(stored.as_bytes(), attempt.as_bytes()) {
                    CodeCheck::Valid(user)
                } else {
                    CodeCheck::Wrong
                };
                let spent = !matches!(outcome, CodeCheck::Wrong) || attempts + 1 >= max_attempts;
                let sql = if spent {
                    "DELETE FROM verification_codes WHERE purpose = ?1 AND email = ?2"
                } else {
                    "UPDATE verification_codes SET attempts = attempts + 1 \
                 WHERE purpose = ?1 AND email = ?2"
                };
                execute(tx, sql, [purpose, email])?;
                Ok(outcome)
            })
            .await
    }

    async fn put_operator_secret(
        &self,
        name: &str,
        ciphertext: &[u8],
        now: UnixTime,
    ) -> StoreResult<()> {
        self.write_one(
            "INSERT INTO operator_secrets (name, ciphertext, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (name) DO UPDATE SET ciphertext = excluded.ciphertext, \
             updated_at = excluded.updated_at",
            (name, ciphertext, now),
        )
        .await
        .map(drop)
    }

    async fn operator_secret(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        const SQL: &str = "SELECT ciphertext FROM operator_secrets WHERE name = ?1";
        self.read_one(SQL, [name], |row| row.get(0))
    }

    async fn delete_operator_secret(&self, name: &str) -> StoreResult<()> {
        self.write_one("DELETE FROM operator_secrets WHERE name = ?1", [name])
            .await
            .map(drop)
    }
}
