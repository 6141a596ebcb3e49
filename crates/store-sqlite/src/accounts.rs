//! Users, sessions, developer tokens, throttling and settings.

use crate::SqliteStore;
use crate::db::{Cols, execute, first_row, store_error};
use crate::ledger::record;
use crate::rows::{session_from_row, two_factor_from_row, user_from_row};
use async_trait::async_trait;
use keyward_core::billing::MAX_QUOTA;
use keyward_core::billing::ledger::{EntryKind, NewEntry};
use keyward_core::clock::UnixTime;
use keyward_core::model::{
    NewSession, NewUser, Role, Session, TwoFactorRecord, User, UserId, UserStatus,
};
use keyward_core::secret::SecretHash;
use keyward_core::store::{
    AccountStore, MAX_THROTTLE_KEYS, Page, StoreResult, UserListQuery, UserPatch, UserSort,
    check_throttle_keys, live_throttle_counts,
};
use rusqlite::{Params, params, params_from_iter};
use std::sync::LazyLock;

/// `throttle_counts`' query for 1, 2, ... `MAX_THROTTLE_KEYS` keys: one text per key count, so
/// each is prepared once per connection.
static THROTTLE_COUNTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    (1..=MAX_THROTTLE_KEYS)
        .map(|n| {
            let marks: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
            format!(
                "SELECT key, count, window_start FROM throttle WHERE key IN ({})",
                marks.join(", ")
            )
        })
        .collect()
});

impl SqliteStore {
    /// The user `sql` (selecting `user_columns!()`) finds with `params`.
    pub(crate) fn one_user(&self, sql: &str, params: impl Params) -> StoreResult<Option<User>> {
        self.read_one(sql, params, user_from_row)
    }

    /// Runs one statement as a write of its own; returns whether it changed a row.
    pub(crate) async fn changed(&self, sql: &str, params: impl Params + Send) -> StoreResult<bool> {
        Ok(self.write_one(sql, params).await? > 0)
    }

    /// The live session with this hash and its user, if its second factor is still `pending`
    /// (or, with `false`, done or never asked).
    fn live_session(
        &self,
        id_hash: &SecretHash,
        now: UnixTime,
        pending: bool,
    ) -> StoreResult<Option<(Session, User)>> {
        const SQL: &str = concat!(
            "SELECT s.id_hash, s.user_id, s.created_at AS s_created_at, s.last_seen_at, \
             s.expires_at, s.ip, s.user_agent, s.mfa_pending, ",
            user_columns!(),
            " FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = ?1 AND s.expires_at > ?2 AND s.mfa_pending = ?3"
        );
        let params = params![id_hash.as_bytes(), now, i64::from(pending)];
        self.read_one(SQL, params, session_and_user)
    }
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        self.db().write(|tx| crate::insert_user(tx, &user)).await
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        self.one_user(crate::USER_BY_ID, [id])
    }

    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>> {
        self.one_user(
            concat!(
                "SELECT ",
                user_columns!(),
                " FROM users u WHERE u.username_lower = ?1 \
                 UNION ALL SELECT ",
                user_columns!(),
                " FROM users u WHERE u.email = ?1 AND u.email_verified = 1 LIMIT 1"
            ),
            [login],
        )
    }

    async fn user_by_aff_code(&self, code: &str) -> StoreResult<Option<User>> {
        self.one_user(
            concat!(
                "SELECT ",
                user_columns!(),
                " FROM users u WHERE u.aff_code = ?1"
            ),
            [code],
        )
    }

    async fn count_admins(&self) -> StoreResult<i64> {
        self.read_one("SELECT COUNT(*) FROM users WHERE role >= 10", [], |row| {
            row.get(0)
        })
        .map(Option::unwrap_or_default)
    }

    async fn list_users(&self, query: &UserListQuery<'_>, page: Page) -> StoreResult<Vec<User>> {
        let pattern = query.search.map(|s| format!("%{}%", s.to_lowercase()));
        let sql = format!(
            concat!(
                "SELECT ",
                user_columns!(),
                " FROM users u WHERE ?1 IS NULL OR u.username_lower LIKE ?1 \
                 OR u.email LIKE ?1 OR u.display_name LIKE ?1 ORDER BY {} LIMIT ?2 OFFSET ?3"
            ),
            user_order(query.sort, query.descending)
        );
        self.read_all(
            &sql,
            params![pattern, page.limit, page.offset],
            user_from_row,
        )
    }

    async fn patch_user(&self, id: UserId, patch: &UserPatch, now: UnixTime) -> StoreResult<bool> {
        self.db()
            .write(|tx| {
                let before: Option<(i64, i64)> = first_row(
                    tx,
                    "SELECT quota, used_quota FROM users WHERE id = ?1",
                    [id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )?;
                let changed = execute(
                    tx,
                    "UPDATE users SET quota = COALESCE(?2, quota), \
                 used_quota = COALESCE(?3, used_quota), level = COALESCE(?4, level), \
                 role = COALESCE(?5, role), status = COALESCE(?6, status), updated_at = ?7 \
                 WHERE id = ?1",
                    params![
                        id,
                        patch.quota,
                        patch.used_quota,
                        patch.level,
                        patch.role.map(Role::as_i64),
                        patch.status.map(UserStatus::as_i64),
                        now
                    ],
                )?;
                if let Some((quota, used)) = before {
                    let moved = (
                        patch.quota.map_or(0, |q| q - quota),
                        patch.used_quota.map_or(0, |u| u - used),
                    );
                    if moved != (0, 0) {
                        record(
                            tx,
                            &NewEntry::by(id, EntryKind::Admin, moved, patch.by, now),
                        )?;
                    }
                }
                if patch.status == Some(UserStatus::Disabled) {
                    // Sessions end and every token dies for good: re-enabling the account later
                    // does not bring old credentials back.
                    execute(tx, "DELETE FROM sessions WHERE user_id = ?1", [id])?;
                    execute(tx, "DELETE FROM developer_tokens WHERE user_id = ?1", [id])?;
                    execute(
                        tx,
                        "UPDATE token_families SET revoked_at = ?2 \
                     WHERE user_id = ?1 AND revoked_at IS NULL",
                        [id, now],
                    )?;
                }
                Ok(changed > 0)
            })
            .await
    }

    async fn set_password_hash(&self, id: UserId, hash: &str, now: UnixTime) -> StoreResult<bool> {
        self.changed(
            "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
            (id, hash, now),
        )
        .await
    }

    async fn set_display_name(&self, id: UserId, name: &str, now: UnixTime) -> StoreResult<bool> {
        self.changed(
            "UPDATE users SET display_name = ?2, updated_at = ?3 WHERE id = ?1",
            (id, name, now),
        )
        .await
    }

    async fn adjust_quota(
        &self,
        id: UserId,
        delta: i64,
        now: UnixTime,
    ) -> StoreResult<Option<i64>> {
        self.db()
            .write(|tx| {
                let quota: Option<i64> = first_row(
                    tx,
                    // Compared without adding, so that nothing overflows (SQLite would turn the
                    // integer into a REAL).
                    "UPDATE users SET quota = quota + ?2, updated_at = ?3 \
                 WHERE id = ?1 AND ?2 >= -quota AND ?2 <= ?4 - quota RETURNING quota",
                    [id, delta, now, MAX_QUOTA],
                    |row| row.get(0),
                )?;
                if quota.is_some() && delta != 0 {
                    record(
                        tx,
                        &NewEntry::by(id, EntryKind::Admin, (delta, 0), None, now),
                    )?;
                }
                Ok(quota)
            })
            .await
    }

    async fn record_login(&self, id: UserId, now: UnixTime) -> StoreResult<()> {
        self.write_one(
            "UPDATE users SET last_login_at = ?2 WHERE id = ?1",
            [id, now],
        )
        .await
        .map(drop)
    }

    async fn create_session(&self, s: NewSession) -> StoreResult<()> {
        self.append_one(
            "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at, ip, \
             user_agent, mfa_pending) VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7)",
            (
                s.id_hash.as_bytes(),
                s.user_id,
                s.created_at,
                s.expires_at,
                &s.ip,
                &s.user_agent,
                i64::from(s.mfa_pending),
            ),
        )
        .await
        .map(drop)
    }

    async fn session_with_user(
        &self,
        id_hash: &SecretHash,
        now: UnixTime,
        touch_after: i64,
    ) -> StoreResult<Option<(Session, User)>> {
        let Some((mut session, user)) = self.live_session(id_hash, now, false)? else {
            return Ok(None);
        };
        if session.last_seen_at < now - touch_after {
            let touch = "UPDATE sessions SET last_seen_at = ?2 WHERE id_hash = ?1";
            self.append_one(touch, (id_hash.as_bytes(), now)).await?;
            session.last_seen_at = now;
        }
        Ok(Some((session, user)))
    }

    async fn pending_session_with_user(
        &self,
        id_hash: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<Option<(Session, User)>> {
        self.live_session(id_hash, now, true)
    }

    async fn two_factor(&self, user: UserId) -> StoreResult<TwoFactorRecord> {
        const SQL: &str = "SELECT totp_secret, totp_enabled, totp_last_step, recovery_codes \
             FROM users WHERE id = ?1";
        let found = self.read_one(SQL, [user], two_factor_from_row)?;
        Ok(found.unwrap_or_default())
    }

    async fn set_two_factor(
        &self,
        user: UserId,
        record: &TwoFactorRecord,
        now: UnixTime,
    ) -> StoreResult<()> {
        self.write_one(
            "UPDATE users SET totp_secret = ?2, totp_enabled = ?3, totp_last_step = ?4, \
             recovery_codes = ?5, updated_at = ?6 WHERE id = ?1",
            (
                user,
                &record.secret,
                record.enabled,
                record.last_step,
                &record.recovery_codes,
                now,
            ),
        )
        .await
        .map(drop)
    }

    async fn advance_totp_step(&self, user: UserId, step: i64) -> StoreResult<bool> {
        self.changed(
            "UPDATE users SET totp_last_step = ?2 \
             WHERE id = ?1 AND totp_last_step < ?2 AND totp_enabled = 1",
            [user, step],
        )
        .await
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        self.changed(
            "UPDATE users SET recovery_codes = ?3 WHERE id = ?1 AND recovery_codes = ?2",
            (user, old, new),
        )
        .await
    }

    async fn delete_session(&self, id_hash: &SecretHash) -> StoreResult<()> {
        self.write_one(
            "DELETE FROM sessions WHERE id_hash = ?1",
            [id_hash.as_bytes()],
        )
        .await
        .map(drop)
    }

    async fn delete_user_sessions(&self, user_id: UserId) -> StoreResult<u64> {
        self.write_one("DELETE FROM sessions WHERE user_id = ?1", [user_id])
            .await
    }

    async fn delete_user_session(
        &self,
        user_id: UserId,
        id_hash: &SecretHash,
    ) -> StoreResult<bool> {
        self.changed(
            "DELETE FROM sessions WHERE user_id = ?1 AND id_hash = ?2",
            (user_id, id_hash.as_bytes()),
        )
        .await
    }

    async fn list_user_sessions(
        &self,
        user_id: UserId,
        now: UnixTime,
    ) -> StoreResult<Vec<Session>> {
        const SQL: &str = "SELECT id_hash, user_id, created_at, last_seen_at, expires_at, ip, \
             user_agent, mfa_pending FROM sessions \
             WHERE user_id = ?1 AND expires_at > ?2 AND mfa_pending = 0 ORDER BY last_seen_at DESC";
        self.read_all(SQL, [user_id, now], session_from_row)
    }

    async fn replace_developer_token(
        &self,
        user_id: UserId,
        hash: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<()> {
        self.write_one(
            "INSERT INTO developer_tokens (token_hash, user_id, created_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, \
             created_at = excluded.created_at, last_used_at = NULL",
            (hash.as_bytes(), user_id, now),
        )
        .await
        .map(drop)
    }

    async fn user_by_developer_token(&self, hash: &SecretHash) -> StoreResult<Option<User>> {
        self.one_user(
            concat!(
                "SELECT ",
                user_columns!(),
                " FROM developer_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.token_hash = ?1"
            ),
            [hash.as_bytes()],
        )
    }

    async fn delete_developer_token(&self, user_id: UserId) -> StoreResult<bool> {
        self.changed("DELETE FROM developer_tokens WHERE user_id = ?1", [user_id])
            .await
    }

    async fn throttle_hit(&self, key: &str, window: i64, now: UnixTime) -> StoreResult<i64> {
        self.db()
            .append(|tx| {
                tx.prepare_cached(
                    "INSERT INTO throttle (key, count, window_start) VALUES (?1, 1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET \
                   count = CASE WHEN throttle.window_start <= ?2 - ?3 THEN 1 \
                           ELSE throttle.count + 1 END, \
                   window_start = CASE WHEN throttle.window_start <= ?2 - ?3 THEN ?2 \
                                  ELSE throttle.window_start END \
                 RETURNING count",
                )
                .and_then(|mut hit| hit.query_row(params![key, now, window], |row| row.get(0)))
                .map_err(store_error)
            })
            .await
    }

    async fn throttle_count(
        &self,
        key: &str,
        window: i64,
        now: UnixTime,
    ) -> StoreResult<Option<(i64, UnixTime)>> {
        const SQL: &str =
            "SELECT count, window_start FROM throttle WHERE key = ?1 AND window_start > ?2 - ?3";
        self.read_one(SQL, params![key, now, window], |row| {
            Ok((row.get("count")?, row.get("window_start")?))
        })
    }

    async fn throttle_counts(
        &self,
        keys: &[(&str, i64)],
        now: UnixTime,
    ) -> StoreResult<Vec<Option<(i64, UnixTime)>>> {
        check_throttle_keys(keys)?;
        // The query for this many keys; none for no keys.
        let Some(sql) = keys
            .len()
            .checked_sub(1)
            .and_then(|i| THROTTLE_COUNTS.get(i))
        else {
            return Ok(Vec::new());
        };
        // Checked before every token request: on the hot path, one read for all its counters.
        let keys_read = params_from_iter(keys.iter().map(|(key, _)| key));
        let rows = self.read_all(sql, keys_read, |row| {
            Ok((row.get("key")?, row.get("count")?, row.get("window_start")?))
        })?;
        Ok(live_throttle_counts(keys, now, &rows))
    }

    async fn throttle_clear(&self, key: &str) -> StoreResult<()> {
        self.append_one("DELETE FROM throttle WHERE key = ?1", [key])
            .await
            .map(drop)
    }

    async fn throttle_release(
        &self,
        key: &str,
        window: i64,
        reserved_at: UnixTime,
    ) -> StoreResult<()> {
        self.append_one(
            "UPDATE throttle SET count = count - 1 WHERE key = ?1 AND count > 0 \
             AND window_start <= ?2 AND window_start > ?2 - ?3",
            (key, reserved_at, window),
        )
        .await
        .map(drop)
    }

    async fn load_settings(&self) -> StoreResult<Option<String>> {
        self.read_one("SELECT value FROM settings WHERE key = 'site'", [], |row| {
            row.get(0)
        })
    }

    async fn swap_settings(
        &self,
        expected: Option<&str>,
        json: &str,
        now: UnixTime,
    ) -> StoreResult<bool> {
        // One statement each: it runs under the writer's lock, so nothing comes in between
        // the comparison and the write.
        let changed = match expected {
            Some(expected) => {
                self.write_one(
                    "UPDATE settings SET value = ?2, updated_at = ?3 \
                     WHERE key = 'site' AND value = ?1",
                    (expected, json, now),
                )
                .await?
            }
            None => {
                self.write_one(
                    "INSERT INTO settings (key, value, updated_at) VALUES ('site', ?1, ?2) \
                     ON CONFLICT (key) DO NOTHING",
                    (json, now),
                )
                .await?
            }
        };
        Ok(changed == 1)
    }
}

fn session_and_user(row: &Cols<'_, '_>) -> rusqlite::Result<(Session, User)> {
    let mut session = session_from_row(row)?;
    session.created_at = row.get("s_created_at")?;
    Ok((session, user_from_row(row)?))
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
