//! Users, sessions, developer tokens, throttling and settings.

use crate::changes::Table;
use crate::rows::{session_from_row, two_factor_from_row, user_from_row};
use crate::{PgQuery, PostgresStore, backend, execute, fetch_all, fetch_optional};
use async_trait::async_trait;
use keyward_core::billing::MAX_QUOTA;
use keyward_core::billing::ledger::{EntryKind, NewEntry};
use keyward_core::clock::UnixTime;
use keyward_core::model::{
    NewSession, NewUser, Role, Session, TwoFactorRecord, User, UserId, UserStatus,
};
use keyward_core::secret::SecretHash;
use keyward_core::store::{
    AccountStore, Page, StoreResult, UserListQuery, UserPatch, UserSort, check_throttle_keys,
    live_throttle_counts,
};
use sqlx::Row;
use sqlx::postgres::PgRow;

impl PostgresStore {
    /// The user `query` (selecting `user_columns!()`) finds.
    pub(crate) async fn one_user(&self, query: PgQuery<'_>) -> StoreResult<Option<User>> {
        fetch_optional(self.pool(), query, user_from_row).await
    }

    /// The rows of `keys` (each `None` when it has none) if every one was cached at
    /// `generation`.
    fn cached_throttle_rows(
        &self,
        keys: &[(&str, i64)],
        generation: u64,
    ) -> Option<Vec<(String, i64, UnixTime)>> {
        let mut rows = Vec::with_capacity(keys.len());
        for &(key, _) in keys {
            if let Some((count, since)) = self.throttle.get(key, generation)? {
                rows.push((key.to_owned(), count, since));
            }
        }
        Some(rows)
    }

    /// The live session with this hash and its user, if its second factor is still `pending`
    /// (or, with `false`, done or never asked).
    async fn live_session(
        &self,
        id_hash: &SecretHash,
        now: UnixTime,
        pending: bool,
    ) -> StoreResult<Option<(Session, User)>> {
        let query = sqlx::query(concat!(
            "SELECT s.id_hash, s.user_id, s.created_at AS s_created_at, s.last_seen_at, \
             s.expires_at, s.ip, s.user_agent, s.mfa_pending, ",
            user_columns!(),
            " FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.mfa_pending = $3"
        ))
        .bind(id_hash.as_bytes())
        .bind(now)
        .bind(i64::from(pending));
        fetch_optional(self.pool(), query, session_and_user).await
    }
}

fn session_and_user(row: &PgRow) -> Result<(Session, User), sqlx::Error> {
    let mut session = session_from_row(row)?;
    session.created_at = row.try_get("s_created_at")?;
    Ok((session, user_from_row(row)?))
}

#[async_trait]
impl AccountStore for PostgresStore {
    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        let id = crate::insert_user(self.pool(), &user).await?;
        self.user_by_id(id)
            .await?
            .ok_or_else(|| backend("the inserted user is gone"))
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        self.one_user(sqlx::query(crate::USER_BY_ID).bind(id)).await
    }

    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>> {
        let query = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE u.username_lower = $1 \
             UNION ALL SELECT ",
            user_columns!(),
            " FROM users u WHERE u.email = $1 AND u.email_verified LIMIT 1"
        ));
        self.one_user(query.bind(login)).await
    }

    async fn user_by_aff_code(&self, code: &str) -> StoreResult<Option<User>> {
        let query = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE u.aff_code = $1"
        ));
        self.one_user(query.bind(code)).await
    }

    async fn count_admins(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role >= 10")
            .fetch_one(self.pool())
            .await
            .map_err(backend)
    }

    async fn list_users(&self, query: &UserListQuery<'_>, page: Page) -> StoreResult<Vec<User>> {
        let pattern = query.search.map(|s| format!("%{}%", s.to_lowercase()));
        let sql = format!(
            concat!(
                "SELECT ",
                user_columns!(),
                " FROM users u WHERE $1::TEXT IS NULL OR u.username_lower LIKE $1 \
                 OR LOWER(u.email) LIKE $1 OR LOWER(u.display_name) LIKE $1 \
                 ORDER BY {} LIMIT $2 OFFSET $3"
            ),
            user_order(query.sort, query.descending)
        );
        // Safe: the only text added is one of `user_order`'s fixed strings.
        let query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(pattern)
            .bind(page.limit)
            .bind(page.offset);
        fetch_all(self.pool(), query, user_from_row).await
    }

    async fn patch_user(&self, id: UserId, patch: &UserPatch, now: UnixTime) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        // Locked, so that the entry's delta is against the balance this update replaces.
        let before = sqlx::query("SELECT quota, used_quota FROM users WHERE id = $1 FOR UPDATE");
        let before: Option<(i64, i64)> = fetch_optional(&mut *tx, before.bind(id), |row| {
            Ok((row.try_get(0)?, row.try_get(1)?))
        })
        .await?;
        let update = sqlx::query(
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
        .bind(now);
        let changed = execute(&mut *tx, update).await?;
        if let Some((quota, used)) = before {
            let moved = (
                patch.quota.map_or(0, |q| q - quota),
                patch.used_quota.map_or(0, |u| u - used),
            );
            if moved != (0, 0) {
                let entry = NewEntry::by(id, EntryKind::Admin, moved, patch.by, now);
                crate::ledger::record(&mut *tx, &entry).await?;
            }
        }
        if patch.status == Some(UserStatus::Disabled) {
            // Sessions end and every token dies for good: re-enabling the account later does
            // not bring old credentials back.
            for sql in [
                "DELETE FROM sessions WHERE user_id = $1",
                "DELETE FROM developer_tokens WHERE user_id = $1",
            ] {
                execute(&mut *tx, sqlx::query(sql).bind(id)).await?;
            }
            let revoke = sqlx::query(
                "UPDATE token_families SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            );
            execute(&mut *tx, revoke.bind(id).bind(now)).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(changed > 0)
    }

    async fn set_password_hash(&self, id: UserId, hash: &str, now: UnixTime) -> StoreResult<bool> {
        let query =
            sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1");
        self.changed(query.bind(id).bind(hash).bind(now)).await
    }

    async fn set_display_name(&self, id: UserId, name: &str, now: UnixTime) -> StoreResult<bool> {
        let query =
            sqlx::query("UPDATE users SET display_name = $2, updated_at = $3 WHERE id = $1");
        self.changed(query.bind(id).bind(name).bind(now)).await
    }

    async fn adjust_quota(
        &self,
        id: UserId,
        delta: i64,
        now: UnixTime,
    ) -> StoreResult<Option<i64>> {
        let query = sqlx::query(
            // Compared without adding, so that nothing overflows ("bigint out of range"). One
            // statement with its ledger entry.
            "WITH moved AS (UPDATE users SET quota = quota + $2, updated_at = $3 \
             WHERE id = $1 AND $2 >= -quota AND $2 <= $4 - quota \
             RETURNING id, quota, used_quota), \
             entry AS (INSERT INTO ledger (user_id, kind, quota_delta, quota_after, used_after, \
             created_at) SELECT id, 'admin', $2, quota, used_quota, $3 FROM moved WHERE $2 <> 0) \
             SELECT quota FROM moved",
        )
        .bind(id)
        .bind(delta)
        .bind(now)
        .bind(MAX_QUOTA);
        fetch_optional(self.pool(), query, |row| row.try_get(0)).await
    }

    async fn record_login(&self, id: UserId, now: UnixTime) -> StoreResult<()> {
        let query = sqlx::query("UPDATE users SET last_login_at = $2 WHERE id = $1");
        self.run(query.bind(id).bind(now)).await
    }

    async fn create_session(&self, s: NewSession) -> StoreResult<()> {
        let query = sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at, ip, \
             user_agent, mfa_pending) VALUES ($1, $2, $3, $3, $4, $5, $6, $7)",
        )
        .bind(s.id_hash.as_bytes())
        .bind(s.user_id)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(&s.ip)
        .bind(&s.user_agent)
        .bind(i64::from(s.mfa_pending));
        self.run(query).await
    }

    async fn session_with_user(
        &self,
        id_hash: &SecretHash,
        now: UnixTime,
        touch_after: i64,
    ) -> StoreResult<Option<(Session, User)>> {
        let Some((mut session, user)) = self.live_session(id_hash, now, false).await? else {
            return Ok(None);
        };
        if session.last_seen_at < now - touch_after {
            let touch = sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1");
            self.run(touch.bind(id_hash.as_bytes()).bind(now)).await?;
            session.last_seen_at = now;
        }
        Ok(Some((session, user)))
    }

    async fn pending_session_with_user(
        &self,
        id_hash: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<Option<(Session, User)>> {
        self.live_session(id_hash, now, true).await
    }

    async fn two_factor(&self, user: UserId) -> StoreResult<TwoFactorRecord> {
        let query = sqlx::query(
            "SELECT totp_secret, totp_enabled, totp_last_step, recovery_codes FROM users WHERE id = $1",
        );
        let found = fetch_optional(self.pool(), query.bind(user), two_factor_from_row).await?;
        Ok(found.unwrap_or_default())
    }

    async fn set_two_factor(
        &self,
        user: UserId,
        record: &TwoFactorRecord,
        now: UnixTime,
    ) -> StoreResult<()> {
        let query = sqlx::query(
            "UPDATE users SET totp_secret = $2, totp_enabled = $3, totp_last_step = $4, \
             recovery_codes = $5, updated_at = $6 WHERE id = $1",
        )
        .bind(user)
        .bind(&record.secret)
        .bind(record.enabled)
        .bind(record.last_step)
        .bind(&record.recovery_codes)
        .bind(now);
        self.run(query).await
    }

    async fn advance_totp_step(&self, user: UserId, step: i64) -> StoreResult<bool> {
        let query = sqlx::query(
            "UPDATE users SET totp_last_step = $2 \
             WHERE id = $1 AND totp_last_step < $2 AND totp_enabled = TRUE",
        );
        self.changed(query.bind(user).bind(step)).await
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        let query = sqlx::query(
            "UPDATE users SET recovery_codes = $3 WHERE id = $1 AND recovery_codes = $2",
        );
        self.changed(query.bind(user).bind(old).bind(new)).await
    }

    async fn delete_session(&self, id_hash: &SecretHash) -> StoreResult<()> {
        let query = sqlx::query("DELETE FROM sessions WHERE id_hash = $1");
        self.run(query.bind(id_hash.as_bytes())).await
    }

    async fn delete_user_sessions(&self, user_id: UserId) -> StoreResult<u64> {
        let query = sqlx::query("DELETE FROM sessions WHERE user_id = $1");
        execute(self.pool(), query.bind(user_id)).await
    }

    async fn delete_user_session(
        &self,
        user_id: UserId,
        id_hash: &SecretHash,
    ) -> StoreResult<bool> {
        let query = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash = $2");
        self.changed(query.bind(user_id).bind(id_hash.as_bytes()))
            .await
    }

    async fn list_user_sessions(
        &self,
        user_id: UserId,
        now: UnixTime,
    ) -> StoreResult<Vec<Session>> {
        let query = sqlx::query(
            "SELECT id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, \
             mfa_pending FROM sessions WHERE user_id = $1 AND expires_at > $2 AND mfa_pending = 0 \
             ORDER BY last_seen_at DESC",
        );
        fetch_all(self.pool(), query.bind(user_id).bind(now), session_from_row).await
    }

    async fn replace_developer_token(
        &self,
        user_id: UserId,
        hash: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<()> {
        let query = sqlx::query(
            "INSERT INTO developer_tokens (token_hash, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, \
             created_at = excluded.created_at, last_used_at = NULL",
        );
        self.run(query.bind(hash.as_bytes()).bind(user_id).bind(now))
            .await
    }

    async fn user_by_developer_token(&self, hash: &SecretHash) -> StoreResult<Option<User>> {
        let query = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM developer_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1"
        ));
        self.one_user(query.bind(hash.as_bytes())).await
    }

    async fn delete_developer_token(&self, user_id: UserId) -> StoreResult<bool> {
        let query = sqlx::query("DELETE FROM developer_tokens WHERE user_id = $1");
        self.changed(query.bind(user_id)).await
    }

    async fn throttle_hit(&self, key: &str, window: i64, now: UnixTime) -> StoreResult<i64> {
        let count = sqlx::query_scalar(
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
        .fetch_one(self.pool())
        .await
        .map_err(backend);
        self.changes.made_here(Table::Throttle);
        count
    }

    async fn throttle_count(
        &self,
        key: &str,
        window: i64,
        now: UnixTime,
    ) -> StoreResult<Option<(i64, UnixTime)>> {
        let query = sqlx::query(
            "SELECT count, window_start FROM throttle WHERE key = $1 AND window_start > $2 - $3",
        );
        fetch_optional(self.pool(), query.bind(key).bind(now).bind(window), |row| {
            Ok((row.try_get("count")?, row.try_get("window_start")?))
        })
        .await
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
        // Checked before every token request, and changed only by failures: from memory while no
        // counter changed anywhere, else one round trip for all of them.
        let generation = self.changes.generation(Table::Throttle);
        if let Some(rows) = generation.and_then(|g| self.cached_throttle_rows(keys, g)) {
            return Ok(live_throttle_counts(keys, now, &rows));
        }
        let names: Vec<&str> = keys.iter().map(|&(key, _)| key).collect();
        let query =
            sqlx::query("SELECT key, count, window_start FROM throttle WHERE key = ANY($1)");
        let rows: Vec<(String, i64, UnixTime)> =
            fetch_all(self.pool(), query.bind(&names), |row| {
                Ok((
                    row.try_get("key")?,
                    row.try_get("count")?,
                    row.try_get("window_start")?,
                ))
            })
            .await?;
        if let Some(generation) = generation {
            for &(key, _) in keys {
                let row = rows
                    .iter()
                    .find(|(k, _, _)| k == key)
                    .map(|&(_, count, since)| (count, since));
                self.throttle.insert(key, generation, &row);
            }
        }
        Ok(live_throttle_counts(keys, now, &rows))
    }

    async fn throttle_clear(&self, key: &str) -> StoreResult<()> {
        let cleared = self
            .run(sqlx::query("DELETE FROM throttle WHERE key = $1").bind(key))
            .await;
        self.changes.made_here(Table::Throttle);
        cleared
    }

    async fn throttle_release(
        &self,
        key: &str,
        window: i64,
        reserved_at: UnixTime,
    ) -> StoreResult<()> {
        let query = sqlx::query(
            "UPDATE throttle SET count = count - 1 WHERE key = $1 AND count > 0 \
             AND window_start <= $2 AND window_start > $2 - $3",
        );
        let released = self
            .run(query.bind(key).bind(reserved_at).bind(window))
            .await;
        self.changes.made_here(Table::Throttle);
        released
    }

    async fn load_settings(&self) -> StoreResult<Option<String>> {
        let query = sqlx::query("SELECT value FROM settings WHERE key = 'site'");
        fetch_optional(self.pool(), query, |row| row.try_get(0)).await
    }

    async fn swap_settings(
        &self,
        expected: Option<&str>,
        json: &str,
        now: UnixTime,
    ) -> StoreResult<bool> {
        // A concurrent change holds the row until it commits; the comparison is then made
        // against what it wrote, so the later of two swaps from the same document fails.
        let query = match expected {
            Some(expected) => sqlx::query(
                "UPDATE settings SET value = $2, updated_at = $3 \
                 WHERE key = 'site' AND value = $1",
            )
            .bind(expected)
            .bind(json)
            .bind(now),
            None => sqlx::query(
                "INSERT INTO settings (key, value, updated_at) VALUES ('site', $1, $2) \
                 ON CONFLICT (key) DO NOTHING",
            )
            .bind(json)
            .bind(now),
        };
        let changed = execute(self.pool(), query).await?;
        if changed == 1 {
            self.changes.made_here(Table::Settings);
        }
        Ok(changed == 1)
    }
}

/// The `ORDER BY` of a user list: fixed text for each closed choice.
fn user_order(sort: UserSort, descending: bool) -> &'static str {
    match (sort, descending) {
        (UserSort::Id, false) => "u.id ASC",
        (UserSort::Id, true) => "u.id DESC",
        (UserSort::Username, false) => "u.username_lower ASC, u.id DESC",
        (UserSort::Username, true) => "u.username_lower DESC, u.id DESC",
        (UserSort::LastLogin, false) => "COALESCE(u.last_login_at, 0) ASC, u.id DESC",
        (UserSort::LastLogin, true) => "COALESCE(u.last_login_at, 0) DESC, u.id DESC",
        (UserSort::Role, false) => "u.role ASC, u.id DESC",
        (UserSort::Role, true) => "u.role DESC, u.id DESC",
    }
}
