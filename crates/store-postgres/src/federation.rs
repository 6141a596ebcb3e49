//! Upstream identities and login flows, verification codes, operator secrets.

use crate::rows::{identity_from_row, required_hash, upstream_state_from_row, user_from_row};
use crate::{PostgresStore, backend, execute, fetch_all, fetch_optional};
use async_trait::async_trait;
use keyward_core::clock::UnixTime;
use keyward_core::model::{CodeCheck, Identity, NewUser, UpstreamState, User, UserId};
use keyward_core::secret::{SecretHash, constant_time_eq};
use keyward_core::store::{
    CodeAttempt, Conflict, FederationStore, MailedCode, StoreError, StoreResult, Unlink,
};
use sqlx::{Postgres, Row, Transaction};

/// Inserts `identity` for `user`. Its conflicts name which rule refused it: the identity is
/// someone's already, or the account already has one of this provider.
async fn insert_identity(
    tx: &mut Transaction<'_, Postgres>,
    identity: &Identity,
    user: UserId,
) -> StoreResult<()> {
    let insert = sqlx::query(
        "INSERT INTO identities (provider, subject, user_id, display, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&identity.provider)
    .bind(&identity.subject)
    .bind(user)
    .bind(&identity.display)
    .bind(identity.created_at);
    execute(&mut **tx, insert).await.map(drop)
}

#[async_trait]
impl FederationStore for PostgresStore {
    async fn create_upstream_state(&self, s: UpstreamState) -> StoreResult<()> {
        let query = sqlx::query(
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
        .bind(s.expires_at);
        self.run(query).await
    }

    async fn take_upstream_state(
        &self,
        state: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<Option<UpstreamState>> {
        let query = sqlx::query(
            "DELETE FROM upstream_states WHERE state_hash = $1 RETURNING state_hash, browser_hash, \
             provider, user_id, aff_code, pkce_verifier, nonce, return_to, created_at, expires_at",
        );
        let taken = fetch_optional(
            self.pool(),
            query.bind(state.as_bytes()),
            upstream_state_from_row,
        )
        .await?;
        Ok(taken.filter(|taken| taken.expires_at > now))
    }

    async fn identity(&self, provider: &str, subject: &str) -> StoreResult<Option<Identity>> {
        let query = sqlx::query(
            "SELECT provider, subject, user_id, display, created_at FROM identities \
             WHERE provider = $1 AND subject = $2",
        );
        fetch_optional(
            self.pool(),
            query.bind(provider).bind(subject),
            identity_from_row,
        )
        .await
    }

    async fn identities_of_user(&self, user: UserId) -> StoreResult<Vec<Identity>> {
        let query = sqlx::query(
            "SELECT provider, subject, user_id, display, created_at FROM identities \
             WHERE user_id = $1 ORDER BY provider",
        );
        fetch_all(self.pool(), query.bind(user), identity_from_row).await
    }

    async fn link_identity(&self, identity: Identity) -> StoreResult<()> {
        let mut tx = self.begin().await?;
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
        insert_identity(&mut tx, &identity, identity.user_id).await?;
        tx.commit().await.map_err(backend)
    }

    async fn unlink_identity_keeping_a_way_in(
        &self,
        user: UserId,
        provider: &str,
    ) -> StoreResult<Unlink> {
        let mut tx = self.begin().await?;
        // Concurrent unlinks of one account queue on its row; each then judges, in a statement
        // of its own, the identities the one before it left.
        let lock = sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE");
        fetch_optional(&mut *tx, lock.bind(user), |_| Ok(())).await?;
        let unlink = sqlx::query(
            // Another way in: a password, another identity or a passkey.
            "DELETE FROM identities WHERE user_id = $1 AND provider = $2 AND ( \
             EXISTS (SELECT 1 FROM users WHERE id = $1 AND password_hash IS NOT NULL) \
             OR EXISTS (SELECT 1 FROM identities WHERE user_id = $1 AND provider <> $2) \
             OR EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1))",
        );
        let removed = execute(&mut *tx, unlink.bind(user).bind(provider)).await?;
        let outcome = if removed > 0 {
            Unlink::Unlinked
        } else {
            let linked =
                sqlx::query("SELECT 1 FROM identities WHERE user_id = $1 AND provider = $2");
            match fetch_optional(&mut *tx, linked.bind(user).bind(provider), |_| Ok(())).await? {
                Some(()) => Unlink::LastWayIn,
                None => Unlink::NotLinked,
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
        let mut tx = self.begin().await?;
        let id = crate::insert_user(&mut *tx, &user).await?;
        insert_identity(&mut tx, &identity, id).await?;
        let created = sqlx::query(crate::USER_BY_ID).bind(id);
        let created = fetch_optional(&mut *tx, created, user_from_row)
            .await?
            .ok_or_else(|| backend("the inserted user is gone"))?;
        tx.commit().await.map_err(backend)?;
        Ok(created)
    }

    async fn set_verified_email(
        &self,
        user: UserId,
        email: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        let query = sqlx::query(
            "UPDATE users SET email = $2, email_verified = TRUE, updated_at = $3 WHERE id = $1",
        );
        self.run(query.bind(user).bind(email).bind(now)).await
    }

    async fn user_by_verified_email(&self, email: &str) -> StoreResult<Option<User>> {
        let query = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE u.email = $1 AND u.email_verified"
        ));
        self.one_user(query.bind(email)).await
    }

    async fn put_code(&self, code: &MailedCode<'_>) -> StoreResult<()> {
        let query = sqlx::query(
            "INSERT INTO verification_codes (purpose, email, user_id, code_hash, attempts, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, 0, $5, $6) \
             ON CONFLICT (purpose, email) DO UPDATE SET user_id = excluded.user_id, \
             code_hash = excluded.code_hash, attempts = 0, created_at = excluded.created_at, \
             expires_at = excluded.expires_at",
        )
        .bind(code.purpose)
        .bind(code.email)
        .bind(code.user)
        .bind(code.hash.as_bytes())
        .bind(code.created_at)
        .bind(code.expires_at);
        self.run(query).await
    }

    async fn check_code(&self, typed: &CodeAttempt<'_>) -> StoreResult<CodeCheck> {
        let CodeAttempt {
            purpose,
            email,
            hash: attempt,
            max_attempts,
            now,
        } = *typed;
        let mut tx = self.begin().await?;
        let query = sqlx::query(
            "SELECT user_id, code_hash, attempts, expires_at FROM verification_codes \
             WHERE purpose = $1 AND email = $2 FOR UPDATE",
        );
        let stored = fetch_optional(&mut *tx, query.bind(purpose).bind(email), |row| {
            Ok((
                row.try_get::<Option<UserId>, _>("user_id")?,
                required_hash(row, "code_hash")?,
                row.try_get::<i64, _>("attempts")?,
                row.try_get::<i64, _>("expires_at")?,
            ))
        })
        .await?;
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
            "DELETE FROM verification_codes WHERE purpose = $1 AND email = $2"
        } else {
            "UPDATE verification_codes SET attempts = attempts + 1 WHERE purpose = $1 AND email = $2"
        };
        execute(&mut *tx, sqlx::query(sql).bind(purpose).bind(email)).await?;
        tx.commit().await.map_err(backend)?;
        Ok(outcome)
    }

    async fn put_operator_secret(
        &self,
        name: &str,
        ciphertext: &[u8],
        now: UnixTime,
    ) -> StoreResult<()> {
        let query = sqlx::query(
            "INSERT INTO operator_secrets (name, ciphertext, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET ciphertext = excluded.ciphertext, \
             updated_at = excluded.updated_at",
        );
        self.run(query.bind(name).bind(ciphertext).bind(now)).await
    }

    async fn operator_secret(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        sqlx::query_scalar("SELECT ciphertext FROM operator_secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await
            .map_err(backend)
    }

    async fn delete_operator_secret(&self, name: &str) -> StoreResult<()> {
        self.run(sqlx::query("DELETE FROM operator_secrets WHERE name = $1").bind(name))
            .await
    }
}
