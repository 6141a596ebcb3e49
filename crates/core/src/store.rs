//! The one storage interface. Each backend crate implements it with its own SQL and migrations,
//! and both run the same contract tests. Not-found is `Ok(None)`, never an error.
//!
//! To add a query: add the method here, implement it in `keyward-store-sqlite` and
//! `keyward-store-postgres`, and cover it in the integration tests that run on both.

use crate::clock::UnixTime;
use crate::model::{NewSession, NewUser, Role, Session, User, UserId, UserStatus};
use crate::secret::SecretHash;
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write; `what` names the rule (e.g. `username`).
    #[error("{what} already exists")]
    Conflict { what: &'static str },
    /// Anything the database or the connection reported. The message is for logs, never clients.
    #[error("storage failure: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Admin changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub quota: Option<i64>,
    pub used_quota: Option<i64>,
    pub level: Option<i64>,
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
}

/// A page of a listing, newest first.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub offset: i64,
    pub limit: i64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A round trip to the database, for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;

    // --- users ---
    async fn create_user(&self, user: NewUser) -> StoreResult<User>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    /// By user name (case-insensitive) or verified e-mail address, as new-api's login accepts both.
    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>>;
    async fn user_by_aff_code(&self, code: &str) -> StoreResult<Option<User>>;
    async fn count_admins(&self) -> StoreResult<i64>;
    async fn list_users(&self, search: Option<&str>, page: Page) -> StoreResult<Vec<User>>;
    /// Applies the fields present in `patch` in one update; returns whether the user existed.
    /// Disabling also ends every session of the user, in the same transaction.
    async fn patch_user(&self, id: UserId, patch: &UserPatch, now: UnixTime) -> StoreResult<bool>;
    async fn set_password_hash(&self, id: UserId, hash: &str, now: UnixTime) -> StoreResult<bool>;
    async fn set_display_name(&self, id: UserId, name: &str, now: UnixTime) -> StoreResult<bool>;
    /// Adds `delta` (which may be negative) in one conditional update: refused, returning
    /// `Ok(None)`, when the user is missing or the quota would drop below zero.
    async fn adjust_quota(&self, id: UserId, delta: i64, now: UnixTime)
    -> StoreResult<Option<i64>>;
    async fn record_login(&self, id: UserId, now: UnixTime) -> StoreResult<()>;

    // --- sessions ---
    async fn create_session(&self, session: NewSession) -> StoreResult<()>;
    /// The live session with this hash and its user, if the session has not expired. Refreshes
    /// `last_seen_at` when it is older than `touch_after` seconds.
    async fn session_with_user(
        &self,
        id_hash: &SecretHash,
        now: UnixTime,
        touch_after: i64,
    ) -> StoreResult<Option<(Session, User)>>;
    async fn delete_session(&self, id_hash: &SecretHash) -> StoreResult<()>;
    async fn delete_user_sessions(&self, user_id: UserId) -> StoreResult<u64>;
    async fn list_user_sessions(&self, user_id: UserId, now: UnixTime)
    -> StoreResult<Vec<Session>>;

    // --- developer tokens ---
    /// Stores the user's developer token, replacing any previous one.
    async fn replace_developer_token(
        &self,
        user_id: UserId,
        hash: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<()>;
    async fn user_by_developer_token(&self, hash: &SecretHash) -> StoreResult<Option<User>>;

    // --- throttling (shared by every node using this database) ---
    /// Counts one failure against `key` in a fixed window of `window` seconds and returns the
    /// count in the current window.
    async fn throttle_hit(&self, key: &str, window: i64, now: UnixTime) -> StoreResult<i64>;
    /// Failures counted against `key` in the current window, and when that window started.
    async fn throttle_count(
        &self,
        key: &str,
        window: i64,
        now: UnixTime,
    ) -> StoreResult<Option<(i64, UnixTime)>>;
    async fn throttle_clear(&self, key: &str) -> StoreResult<()>;

    // --- settings ---
    /// The operator's runtime settings document (JSON), if one was saved.
    async fn load_settings(&self) -> StoreResult<Option<String>>;
    async fn save_settings(&self, json: &str, now: UnixTime) -> StoreResult<()>;

    // --- housekeeping ---
    /// Deletes expired sessions and stale throttle windows; returns rows removed.
    async fn purge_expired(&self, now: UnixTime, throttle_window: i64) -> StoreResult<u64>;
}
