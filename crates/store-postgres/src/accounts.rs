//! Users, sessions, developer tokens, throttling and settings.

use crate::{PostgresStore, backend, session_from_row, user_from_row, write_error};
use async_trait::async_trait;
use keyward_core::billing::MAX_QUOTA;
use keyward_core::clock::UnixTime;
use keyward_core::model::{
    NewSession, NewUser, Role, Session, TwoFactorRecord, User, UserId, UserStatus,
};
use keyward_core::secret::SecretHash;
use keyward_core::store::{
    AccountStore, Page, StoreResult, UserPatch, check_throttle_keys, live_throttle_counts,
};
use sqlx::Row;

#[async_trait]
impl AccountStore for PostgresStore {
    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        let id = crate::insert_user(&self.pool, &user).await?;
        self.user_by_id(id)
            .await?
            .ok_or_else(|| backend("the inserted user is gone"))
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE u.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(user_from_row).transpose().map_err(backend)
    }

    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>> {
        self.one_user(
            concat!(
                "SELECT ",
                user_columns!(),
                " FROM users u WHERE u.username_lower = $1 \
                 UNION ALL SELECT ",
                user_columns!(),
                " FROM users u WHERE u.email = $1 AND u.email_verified LIMIT 1"
            ),
            login,
        )
        .await
    }

    async fn user_by_aff_code(&self, code: &str) -> StoreResult<Option<User>> {
        self.one_user(
            concat!(
                "SELECT ",
                user_columns!(),
                " FROM users u WHERE u.aff_code = $1"
            ),
            code,
        )
        .await
    }

    async fn count_admins(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role >= 10")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)
    }

    async fn list_users(&self, search: Option<&str>, page: Page) -> StoreResult<Vec<User>> {
        let pattern = search.map(|s| format!("%{}%", s.to_lowercase()));
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE $1 IS NULL OR u.username_lower LIKE $1 OR u.email LIKE $1 \
             OR u.display_name LIKE $1 ORDER BY u.id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(pattern)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(user_from_row)
            .collect::<Result<_, _>>()
            .map_err(backend)
    }

    async fn patch_user(&self, id: UserId, patch: &UserPatch, now: UnixTime) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let changed = sqlx::query(
            "UPDATE users SET quota = COALESCE($2, quota), used_quota = COALESCE($3, used_quota), \
             level = COALESCE($4, level), role = COALESCE($5, role), \
             status = COALESCE($6, status), updated_at = $7 WHERE id = $1",
        )
        .bind(id)
        .bind(patch.quota)
        .bind(patch.used_quota)
        .bind(patch.level)
        .bind(patch.role.map(Role::as_i64))
        .bind(patch.status.map(UserStatus::as_i64))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(write_error)?
        .rows_affected();
        if patch.status == Some(UserStatus::Disabled) {
            // Sessions end and every token dies for good: re-enabling the account later does
            // not bring old credentials back.
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            sqlx::query("DELETE FROM developer_tokens WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            sqlx::query(
                "UPDATE token_families SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(changed > 0)
    }

    async fn set_password_hash(&self, id: UserId, hash: &str, now: UnixTime) -> StoreResult<bool> {
        self.update_user(
            sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(hash)
                .bind(now),
        )
        .await
    }

    async fn set_display_name(&self, id: UserId, name: &str, now: UnixTime) -> StoreResult<bool> {
        self.update_user(
            sqlx::query("UPDATE users SET display_name = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(name)
                .bind(now),
        )
        .await
    }

    async fn adjust_quota(
        &self,
        id: UserId,
        delta: i64,
        now: UnixTime,
    ) -> StoreResult<Option<i64>> {
        sqlx::query_scalar(
            // Compared without adding, so that nothing overflows ("bigint out of range").
            "UPDATE users SET quota = quota + $2, updated_at = $3 \
             WHERE id = $1 AND $2 >= -quota AND $2 <= $4 - quota RETURNING quota",
        )
        .bind(id)
        .bind(delta)
        .bind(now)
        .bind(MAX_QUOTA)
        .fetch_optional(&self.pool)
        .await
        .map_err(write_error)
    }

    async fn record_login(&self, id: UserId, now: UnixTime) -> StoreResult<()> {
        sqlx::query("UPDATE users SET last_login_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(backend)
    }

    async fn create_session(&self, s: NewSession) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at, ip, \
             user_agent, mfa_pending) VALUES ($1, $2, $3, $3, $4, $5, $6, $7)",
        )
        .bind(s.id_hash.as_bytes())
        .bind(s.user_id)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(&s.ip)
        .bind(&s.user_agent)
        .bind(i64::from(s.mfa_pending))
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(write_error)
    }

    async fn session_with_user(
        &self,
        id_hash: &SecretHash,
        now: UnixTime,
        touch_after: i64,
    ) -> StoreResult<Option<(Session, User)>> {
        let row = sqlx::query(concat!(
            "SELECT s.id_hash, s.user_id, s.created_at AS s_created_at, s.last_seen_at, \
             s.expires_at, s.ip, s.user_agent, s.mfa_pending, ",
            user_columns!(),
            " FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.mfa_pending = 0"
        ))
        .bind(id_hash.as_bytes())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let mut session = session_from_row(&row).map_err(backend)?;
        session.created_at = row.try_get("s_created_at").map_err(backend)?;
        let user = user_from_row(&row).map_err(backend)?;
        if session.last_seen_at < now - touch_after {
            sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
                .bind(id_hash.as_bytes())
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
            session.last_seen_at = now;
        }
        Ok(Some((session, user)))
    }

    async fn pending_session_with_user(
        &self,
        id_hash: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<Option<(Session, User)>> {
        let row = sqlx::query(concat!(
            "SELECT s.id_hash, s.user_id, s.created_at AS s_created_at, s.last_seen_at, \
             s.expires_at, s.ip, s.user_agent, s.mfa_pending, ",
            user_columns!(),
            " FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.mfa_pending = 1"
        ))
        .bind(id_hash.as_bytes())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let mut session = session_from_row(&row).map_err(backend)?;
        session.created_at = row.try_get("s_created_at").map_err(backend)?;
        Ok(Some((session, user_from_row(&row).map_err(backend)?)))
    }

    async fn two_factor(&self, user: UserId) -> StoreResult<TwoFactorRecord> {
        let row = sqlx::query(
            "SELECT totp_secret, totp_enabled, totp_last_step, recovery_codes FROM users WHERE id = $1",
        )
        .bind(user)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Ok(TwoFactorRecord::default());
        };
        (|| -> Result<TwoFactorRecord, sqlx::Error> {
            Ok(TwoFactorRecord {
                secret: row.try_get("totp_secret")?,
                enabled: row.try_get("totp_enabled")?,
                last_step: row.try_get("totp_last_step")?,
                recovery_codes: row.try_get("recovery_codes")?,
            })
        })()
        .map_err(backend)
    }

    async fn set_two_factor(
        &self,
        user: UserId,
        record: &TwoFactorRecord,
        now: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET totp_secret = $2, totp_enabled = $3, totp_last_step = $4, \
             recovery_codes = $5, updated_at = $6 WHERE id = $1",
        )
        .bind(user)
        .bind(&record.secret)
        .bind(record.enabled)
        .bind(record.last_step)
        .bind(&record.recovery_codes)
        .bind(now)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn advance_totp_step(&self, user: UserId, step: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2 AND totp_enabled = TRUE",
        )
        .bind(user)
        .bind(step)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE users SET recovery_codes = $3 WHERE id = $1 AND recovery_codes = $2",
        )
        .bind(user)
        .bind(old)
        .bind(new)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_session(&self, id_hash: &SecretHash) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash.as_bytes())
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(backend)
    }

    async fn delete_user_sessions(&self, user_id: UserId) -> StoreResult<u64> {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(backend)
    }

    async fn delete_user_session(
        &self,
        user_id: UserId,
        id_hash: &SecretHash,
    ) -> StoreResult<bool> {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash = $2")
            .bind(user_id)
            .bind(id_hash.as_bytes())
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected() > 0)
            .map_err(backend)
    }

    async fn list_user_sessions(
        &self,
        user_id: UserId,
        now: UnixTime,
    ) -> StoreResult<Vec<Session>> {
        let rows = sqlx::query(
            "SELECT id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, \
             mfa_pending FROM sessions WHERE user_id = $1 AND expires_at > $2 AND mfa_pending = 0 \
             ORDER BY last_seen_at DESC",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(session_from_row)
            .collect::<Result<_, _>>()
            .map_err(backend)
    }

    async fn replace_developer_token(
        &self,
        user_id: UserId,
        hash: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO developer_tokens (token_hash, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, \
             created_at = excluded.created_at, last_used_at = NULL",
        )
        .bind(hash.as_bytes())
        .bind(user_id)
        .bind(now)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(write_error)
    }

    async fn user_by_developer_token(&self, hash: &SecretHash) -> StoreResult<Option<User>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM developer_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1"
        ))
        .bind(hash.as_bytes())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(user_from_row).transpose().map_err(backend)
    }

    async fn delete_developer_token(&self, user_id: UserId) -> StoreResult<bool> {
        sqlx::query("DELETE FROM developer_tokens WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected() > 0)
            .map_err(backend)
    }

    async fn throttle_hit(&self, key: &str, window: i64, now: UnixTime) -> StoreResult<i64> {
        sqlx::query_scalar(
            "INSERT INTO throttle (key, count, window_start) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
               count = CASE WHEN throttle.window_start <= $2 - $3 THEN 1 ELSE throttle.count + 1 END, \
               window_start = CASE WHEN throttle.window_start <= $2 - $3 THEN $2 \
                              ELSE throttle.window_start END \
             RETURNING count",
        )
        .bind(key)
        .bind(now)
        .bind(window)
        .fetch_one(&self.pool)
        .await
        .map_err(backend)
    }

    async fn throttle_count(
        &self,
        key: &str,
        window: i64,
        now: UnixTime,
    ) -> StoreResult<Option<(i64, UnixTime)>> {
        sqlx::query_as(
            "SELECT count, window_start FROM throttle WHERE key = $1 AND window_start > $2 - $3",
        )
        .bind(key)
        .bind(now)
        .bind(window)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)
    }

    async fn throttle_counts(
        &self,
        keys: &[(&str, i64)],
        now: UnixTime,
    ) -> StoreResult<Vec<Option<(i64, UnixTime)>>> {
        check_throttle_keys(keys)?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // Checked before every token request: one round trip for all its counters.
        let names: Vec<&str> = keys.iter().map(|&(key, _)| key).collect();
        let rows: Vec<(String, i64, UnixTime)> =
            sqlx::query_as("SELECT key, count, window_start FROM throttle WHERE key = ANY($1)")
                .bind(&names)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        Ok(live_throttle_counts(keys, now, &rows))
    }

    async fn throttle_clear(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM throttle WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(backend)
    }

    async fn throttle_release(
        &self,
        key: &str,
        window: i64,
        reserved_at: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE throttle SET count = count - 1 WHERE key = $1 AND count > 0 \
             AND window_start <= $2 AND window_start > $2 - $3",
        )
        .bind(key)
        .bind(reserved_at)
        .bind(window)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn load_settings(&self) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = 'site'")
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)
    }

    async fn save_settings(&self, json: &str, now: UnixTime) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ('site', $1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(json)
        .bind(now)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(backend)
    }
}
