//! Upstream identities and login flows, verification codes, operator secrets.

use crate::{PostgresStore, backend, user_from_row, write_error};
use async_trait::async_trait;
use keyward_core::clock::UnixTime;
use keyward_core::model::{CodeCheck, Identity, NewUser, UpstreamState, User, UserId};
use keyward_core::secret::{SecretHash, constant_time_eq};
use keyward_core::store::{Conflict, FederationStore, StoreError, StoreResult, Unlink};
use sqlx::Row;
use sqlx::postgres::PgRow;

fn hash(row: &PgRow, column: &str) -> Result<SecretHash, sqlx::Error> {
    let bytes: Vec<u8> = row.try_get(column)?;
    SecretHash::from_slice(&bytes).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: "not 32 bytes".into(),
    })
}

fn identity_from_row(row: &PgRow) -> Result<Identity, sqlx::Error> {
    Ok(Identity {
        provider: row.try_get("provider")?,
        subject: row.try_get("subject")?,
        user_id: row.try_get("user_id")?,
        display: row.try_get("display")?,
        created_at: row.try_get("created_at")?,
    })
}

#[async_trait]
impl FederationStore for PostgresStore {
    async fn create_upstream_state(&self, s: UpstreamState) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO upstream_states (state_hash, browser_hash, provider, intent, user_id, \
             aff_code, pkce_verifier, nonce, return_to, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(s.state_hash.as_bytes())
        .bind(s.browser_hash.as_bytes())
        .bind(&s.provider)
        .bind(if s.bind_user.is_some() {
            "bind"
        } else {
            "login"
        })
        .bind(s.bind_user)
        .bind(&s.aff_code)
        .bind(&s.pkce_verifier)
        .bind(&s.nonce)
        .bind(&s.return_to)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(self.pool())
        .await
        .map(drop)
        .map_err(write_error)
    }

    async fn take_upstream_state(
        &self,
        state: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<Option<UpstreamState>> {
        let row = sqlx::query(
            "DELETE FROM upstream_states WHERE state_hash = $1 RETURNING state_hash, browser_hash, \
             provider, user_id, aff_code, pkce_verifier, nonce, return_to, created_at, expires_at",
        )
        .bind(state.as_bytes())
        .fetch_optional(self.pool())
        .await
        .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let taken = (|| -> Result<UpstreamState, sqlx::Error> {
            Ok(UpstreamState {
                state_hash: hash(&row, "state_hash")?,
                browser_hash: hash(&row, "browser_hash")?,
                provider: row.try_get("provider")?,
                bind_user: row.try_get("user_id")?,
                aff_code: row.try_get("aff_code")?,
                pkce_verifier: row.try_get("pkce_verifier")?,
                nonce: row.try_get("nonce")?,
                return_to: row.try_get("return_to")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
            })
        })()
        .map_err(backend)?;
        Ok((taken.expires_at > now).then_some(taken))
    }

    async fn identity(&self, provider: &str, subject: &str) -> StoreResult<Option<Identity>> {
        let row = sqlx::query(
            "SELECT provider, subject, user_id, display, created_at FROM identities \
             WHERE provider = $1 AND subject = $2",
        )
        .bind(provider)
        .bind(subject)
        .fetch_optional(self.pool())
        .await
        .map_err(backend)?;
        row.as_ref()
            .map(identity_from_row)
            .transpose()
            .map_err(backend)
    }

    async fn identities_of_user(&self, user: UserId) -> StoreResult<Vec<Identity>> {
        let rows = sqlx::query(
            "SELECT provider, subject, user_id, display, created_at FROM identities \
             WHERE user_id = $1 ORDER BY provider",
        )
        .bind(user)
        .fetch_all(self.pool())
        .await
        .map_err(backend)?;
        rows.iter()
            .map(identity_from_row)
            .collect::<Result<_, _>>()
            .map_err(backend)
    }

    async fn link_identity(&self, identity: Identity) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(backend)?;
        let existing: Option<UserId> = sqlx::query_scalar(
            "SELECT user_id FROM identities WHERE provider = $1 AND subject = $2",
        )
        .bind(&identity.provider)
        .bind(&identity.subject)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        match existing {
            Some(owner) if owner == identity.user_id => return Ok(()),
            Some(_) => return Err(StoreError::Conflict(Conflict::Identity)),
            None => {}
        }
        sqlx::query(
            "INSERT INTO identities (provider, subject, user_id, display, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&identity.provider)
        .bind(&identity.subject)
        .bind(identity.user_id)
        .bind(&identity.display)
        .bind(identity.created_at)
        .execute(&mut *tx)
        .await
        .map_err(write_error)?;
        tx.commit().await.map_err(backend)
    }

    async fn unlink_identity_keeping_a_way_in(
        &self,
        user: UserId,
        provider: &str,
    ) -> StoreResult<Unlink> {
        let mut tx = self.pool().begin().await.map_err(backend)?;
        // Concurrent unlinks of one account queue on its row; each then judges, in a statement
        // of its own, the identities the one before it left.
        sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
            .bind(user)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        let removed = sqlx::query(
            // Another way in: a password or another identity (passkeys will count here).
            "DELETE FROM identities WHERE user_id = $1 AND provider = $2 AND ( \
             EXISTS (SELECT 1 FROM users WHERE id = $1 AND password_hash IS NOT NULL) \
             OR EXISTS (SELECT 1 FROM identities WHERE user_id = $1 AND provider <> $2))",
        )
        .bind(user)
        .bind(provider)
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        let outcome = if removed > 0 {
            Unlink::Unlinked
        } else {
            let linked =
                sqlx::query("SELECT 1 FROM identities WHERE user_id = $1 AND provider = $2")
                    .bind(user)
                    .bind(provider)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?;
            if linked.is_some() {
                Unlink::LastWayIn
            } else {
                Unlink::NotLinked
            }
        };
        tx.commit().await.map_err(backend)?;
        Ok(outcome)
    }

    async fn create_user_with_identity(
        &self,
        user: NewUser,
        identity: Identity,
    ) -> StoreResult<User> {
        let mut tx = self.pool().begin().await.map_err(backend)?;
        let id = crate::insert_user(&mut *tx, &user).await?;
        sqlx::query(
            "INSERT INTO identities (provider, subject, user_id, display, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&identity.provider)
        .bind(&identity.subject)
        .bind(id)
        .bind(&identity.display)
        .bind(identity.created_at)
        .execute(&mut *tx)
        .await
        .map_err(write_error)?;
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE u.id = $1"
        ))
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let created = user_from_row(&row).map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(created)
    }

    async fn set_verified_email(
        &self,
        user: UserId,
        email: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET email = $2, email_verified = TRUE, updated_at = $3 WHERE id = $1",
        )
        .bind(user)
        .bind(email)
        .bind(now)
        .execute(self.pool())
        .await
        .map(drop)
        .map_err(write_error)
    }

    async fn user_by_verified_email(&self, email: &str) -> StoreResult<Option<User>> {
        self.one_user(
            concat!(
                "SELECT ",
                user_columns!(),
                " FROM users u WHERE u.email = $1 AND u.email_verified"
            ),
            email,
        )
        .await
    }

    async fn put_code(
        &self,
        purpose: &str,
        email: &str,
        user: Option<UserId>,
        hash: &SecretHash,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO verification_codes (purpose, email, user_id, code_hash, attempts, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, 0, $5, $6) \
             ON CONFLICT (purpose, email) DO UPDATE SET user_id = excluded.user_id, \
             code_hash = excluded.code_hash, attempts = 0, created_at = excluded.created_at, \
             expires_at = excluded.expires_at",
        )
        .bind(purpose)
        .bind(email)
        .bind(user)
        .bind(hash.as_bytes())
        .bind(now)
        .bind(expires_at)
        .execute(self.pool())
        .await
        .map(drop)
        .map_err(write_error)
    }

    async fn check_code(
        &self,
        purpose: &str,
        email: &str,
        attempt: &SecretHash,
        max_attempts: i64,
        now: UnixTime,
    ) -> StoreResult<CodeCheck> {
        let mut tx = self.pool().begin().await.map_err(backend)?;
        let row = sqlx::query(
            "SELECT user_id, code_hash, attempts, expires_at FROM verification_codes \
             WHERE purpose = $1 AND email = $2 FOR UPDATE",
        )
        .bind(purpose)
        .bind(email)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Ok(CodeCheck::Missing);
        };
        let stored = hash(&row, "code_hash").map_err(backend)?;
        let attempts: i64 = row.try_get("attempts").map_err(backend)?;
        let expires_at: i64 = row.try_get("expires_at").map_err(backend)?;
        let user: Option<UserId> = row.try_get("user_id").map_err(backend)?;
        let outcome = if expires_at <= now || attempts >= max_attempts {
            CodeCheck::Missing
        } else if constant_time_eq(stored.as_bytes(), attempt.as_bytes()) {
            CodeCheck::Valid(user)
        } else {
            CodeCheck::Wrong
        };
        let spent = !matches!(outcome, CodeCheck::Wrong) || attempts + 1 >= max_attempts;
        let sql = if spent {
            "DELETE FROM verification_codes WHERE purpose = $1 AND email = $2"
        } else {
            "UPDATE verification_codes SET attempts = attempts + 1 WHERE purpose = $1 AND email = $2"
        };
        sqlx::query(sql)
            .bind(purpose)
            .bind(email)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(outcome)
    }

    async fn put_operator_secret(
        &self,
        name: &str,
        ciphertext: &[u8],
        now: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO operator_secrets (name, ciphertext, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET ciphertext = excluded.ciphertext, \
             updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(ciphertext)
        .bind(now)
        .execute(self.pool())
        .await
        .map(drop)
        .map_err(write_error)
    }

    async fn operator_secret(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        sqlx::query_scalar("SELECT ciphertext FROM operator_secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await
            .map_err(backend)
    }

    async fn delete_operator_secret(&self, name: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM operator_secrets WHERE name = $1")
            .bind(name)
            .execute(self.pool())
            .await
            .map(drop)
            .map_err(backend)
    }
}
