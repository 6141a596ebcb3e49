//! The one storage interface. Each backend crate implements it with its own SQL and migrations,
//! and both run the same contract tests. Not-found is `Ok(None)`, never an error.
//!
//! To add a query: add the method here, implement it in `keyward-store-sqlite` and
//! `keyward-store-postgres`, and cover it in the integration tests that run on both.

use crate::billing::ledger::{Discrepancy, LedgerEntry};
use crate::billing::limit::SpendLimit;
use crate::billing::spend::{ChargeRequest, RefundRequest, SpendOutcome};
use crate::billing::topup::{NewTopUpCode, Redemption, TopUpCode};
use crate::clock::UnixTime;
use crate::model::{
    AccessContext, AuditEntry, AuthCode, Client, ClientDetails, ClientKind, ClientMetadata,
    ClientPatch, ClientPk, ClientStatus, CodeCheck, Consent, DeviceCode, DeviceDecision, Identity,
    NewAuditEntry, NewClient, NewDeviceCode, NewFamily, NewPasskey, NewResource, NewSession,
    NewToken, NewUser, PasskeyUse, Resource, ResourcePatch, ResourcePk, Role, Session, StoredKey,
    StoredPasskey, TokenRecord, TwoFactorRecord, UpstreamState, User, UserId, UserStatus,
    WebauthnChallenge,
};
use crate::oauth::audience::ResourceGrants;
use crate::oauth::scope::ScopeSet;
use crate::secret::SecretHash;
use async_trait::async_trait;

pub mod cache;
mod deletion;
pub use deletion::{AccountDeletion, AuditRewrite, DeletionOutcome, DeletionStore};
pub mod schema;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write.
    #[error("{0} already exists")]
    Conflict(Conflict),
    /// Anything the database or the connection reported, with its cause as the source. The
    /// message is for logs, never clients.
    #[error("storage failure: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// A `Backend` error from any cause, including a plain message.
    pub fn backend(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Backend(cause.into())
    }
}

/// The uniqueness rules a write can break. Each backend maps its own constraint names to these
/// in one function; a uniqueness failure it does not know stays a `Backend` error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// A user name, compared without case.
    #[error("username")]
    Username,
    /// A verified e-mail address (unverified ones may repeat).
    #[error("email")]
    Email,
    #[error("aff_code")]
    AffCode,
    #[error("uuid")]
    Uuid,
    /// An upstream identity (provider and subject) that an account already owns.
    #[error("identity")]
    Identity,
    /// The account already has an identity of this provider.
    #[error("identity_provider")]
    IdentityProvider,
    #[error("client_id")]
    ClientId,
    /// A resource server's identifier.
    #[error("resource identifier")]
    ResourceIdentifier,
    /// A signing key id.
    #[error("kid")]
    SigningKey,
    /// A passkey's credential id: an authenticator registers each credential once, for one
    /// account.
    #[error("passkey credential")]
    PasskeyCredential,
    /// A row keyed by the hash of a secret (session, code, token, upstream state, developer
    /// token or top-up code) exists already: a duplicate write of the same secret.
    #[error("secret")]
    Secret,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The most counters one `throttle_counts` call reads (callers check two or three).
pub const MAX_THROTTLE_KEYS: usize = 8;

/// For the backends' `throttle_counts`: refuses more than [`MAX_THROTTLE_KEYS`] keys.
pub fn check_throttle_keys(keys: &[(&str, i64)]) -> StoreResult<()> {
    if keys.len() > MAX_THROTTLE_KEYS {
        return Err(StoreError::backend(format!(
            "{} throttle counters asked for in one read, at most {MAX_THROTTLE_KEYS}",
            keys.len()
        )));
    }
    Ok(())
}

/// For the backends' `throttle_counts`: matches the rows read for the keys (`key`, `count`,
/// `window_start`, in any order) to the keys asked for, each judged by its own window.
pub fn live_throttle_counts(
    keys: &[(&str, i64)],
    now: UnixTime,
    rows: &[(String, i64, UnixTime)],
) -> Vec<Option<(i64, UnixTime)>> {
    keys.iter()
        .map(|&(key, window)| {
            rows.iter()
                .find(|(k, _, _)| k == key)
                .filter(|&&(_, _, since)| since > now - window)
                .map(|&(_, count, since)| (count, since))
        })
        .collect()
}

/// Admin changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// Quota units granted (0..=`MAX_QUOTA`); the balance is `quota − used_quota`.
    pub quota: Option<i64>,
    /// Quota units the platform has counted as spent.
    pub used_quota: Option<i64>,
    /// The user's level as the seed APIs show it (2libra's `level`); Keyward gives it no rights.
    pub level: Option<i64>,
    /// Only root may change it (`accounts::admin::check`).
    pub role: Option<Role>,
    /// Disabling also ends the user's sessions and revokes their tokens.
    pub status: Option<UserStatus>,
    /// Who made the change (the ledger's actor of a quota edit); `None` from the CLI.
    pub by: Option<UserId>,
}

/// A code sent by e-mail (verification or password reset), as stored: only its hash.
#[derive(Debug, Clone, Copy)]
pub struct MailedCode<'a> {
    /// What it is for (`verify`, `reset`): codes of different purposes never stand in for each
    /// other.
    pub purpose: &'a str,
    pub email: &'a str,
    /// The account it was sent for, if any.
    pub user: Option<UserId>,
    pub hash: &'a SecretHash,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// Someone typing a mailed code: which one they mean, and what they typed (hashed).
#[derive(Debug, Clone, Copy)]
pub struct CodeAttempt<'a> {
    pub purpose: &'a str,
    pub email: &'a str,
    pub hash: &'a SecretHash,
    /// Misses allowed before the code is deleted.
    pub max_attempts: i64,
    pub now: UnixTime,
}

/// What [`FederationStore::unlink_identity_keeping_a_way_in`] and
/// [`PasskeyStore::delete_passkey_keeping_a_way_in`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlink {
    Unlinked,
    /// The account has no identity of that provider (no passkey of that id).
    NotLinked,
    /// It is the account's last way in: nothing was changed.
    LastWayIn,
}

/// A page of a listing, newest first.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub offset: i64,
    pub limit: i64,
}

/// Everything Keyward stores. Split by area so that each backend keeps one file per area; a
/// backend implements each area, then says `impl Store for ItsStore {}`.
pub trait Store:
    AccountStore
    + OAuthStore
    + AuditStore
    + KeyStore
    + FederationStore
    + BillingStore
    + ResourceStore
    + DeviceStore
    + PasskeyStore
    + MaintenanceStore
    + LifecycleStore
    + DeletionStore
{
    /// A number that moves on whenever the settings document may have changed, on this node or
    /// another, so that a node may keep the document in memory until it does. `None` when the
    /// backend cannot tell (or cannot now): readers then re-read it every few seconds.
    fn settings_generation(&self) -> Option<u64> {
        None
    }
}

#[async_trait]
pub trait MaintenanceStore: Send + Sync + 'static {
    /// A round trip to the database, for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;

    /// Sessions live at `now` that have passed every factor (pending second-factor steps are
    /// not counted): the `keyward_active_sessions` gauge, read once per scrape.
    async fn count_live_sessions(&self, now: UnixTime) -> StoreResult<i64>;

    /// Deletes expired sessions, codes (device codes included) and tokens and stale throttle
    /// windows; returns rows removed.
    async fn purge_expired(&self, now: UnixTime, throttle_window: i64) -> StoreResult<u64>;
}

/// Users, sessions, developer tokens, login throttling and settings.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    // --- users ---
    /// [`Conflict::Username`], [`Conflict::Email`] (verified), [`Conflict::AffCode`] or
    /// [`Conflict::Uuid`] when another account has it.
    async fn create_user(&self, user: NewUser) -> StoreResult<User>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    /// By user name or verified e-mail address, as new-api's login accepts both. `login` is
    /// compared as given: callers fold it first (`accounts::validate::login_key`), names being
    /// stored folded too.
    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>>;
    async fn user_by_aff_code(&self, code: &str) -> StoreResult<Option<User>>;
    async fn count_admins(&self) -> StoreResult<i64>;
    /// Users matching `query.search` (user name, e-mail or display name, case-insensitive) in
    /// `query.sort`'s order, ties broken by newest id first.
    async fn list_users(&self, query: &UserListQuery<'_>, page: Page) -> StoreResult<Vec<User>>;
    /// Applies the fields present in `patch` in one update; returns whether the user existed.
    /// Disabling also ends every session of the user, in the same transaction. A change of
    /// `quota` or `used_quota` writes its `admin` ledger entry (new − old) in it too.
    async fn patch_user(&self, id: UserId, patch: &UserPatch, now: UnixTime) -> StoreResult<bool>;
    async fn set_password_hash(&self, id: UserId, hash: &str, now: UnixTime) -> StoreResult<bool>;
    async fn set_display_name(&self, id: UserId, name: &str, now: UnixTime) -> StoreResult<bool>;
    /// Adds `delta` (which may be negative) in one conditional update, with its `admin` ledger
    /// entry: refused, returning `Ok(None)`, when the user is missing or the quota would leave
    /// `0..=MAX_QUOTA`.
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
    /// A live session that still waits for its second factor.
    async fn pending_session_with_user(
        &self,
        id_hash: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<Option<(Session, User)>>;
    async fn delete_session(&self, id_hash: &SecretHash) -> StoreResult<()>;
    async fn delete_user_sessions(&self, user_id: UserId) -> StoreResult<u64>;
    /// Ends one session of `user_id` (and no one else's); returns whether it existed.
    async fn delete_user_session(&self, user_id: UserId, id_hash: &SecretHash)
    -> StoreResult<bool>;
    async fn list_user_sessions(&self, user_id: UserId, now: UnixTime)
    -> StoreResult<Vec<Session>>;

    // --- two-factor ---
    async fn two_factor(&self, user: UserId) -> StoreResult<TwoFactorRecord>;
    async fn set_two_factor(
        &self,
        user: UserId,
        record: &TwoFactorRecord,
        now: UnixTime,
    ) -> StoreResult<()>;
    /// Records `step` as used if it is later than the last one; `false` means a replay.
    async fn advance_totp_step(&self, user: UserId, step: i64) -> StoreResult<bool>;
    /// Swaps the recovery-code list only if it is still `old` (each code works once).
    async fn replace_recovery_codes(&self, user: UserId, old: &str, new: &str)
    -> StoreResult<bool>;

    // --- developer tokens ---
    /// Stores the user's developer token, replacing any previous one.
    async fn replace_developer_token(
        &self,
        user_id: UserId,
        hash: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<()>;
    async fn user_by_developer_token(&self, hash: &SecretHash) -> StoreResult<Option<User>>;
    /// Revokes the user's developer token, if any; returns whether there was one.
    async fn delete_developer_token(&self, user_id: UserId) -> StoreResult<bool>;

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
    /// `throttle_count` for several counters in one read: for each `(key, window)`, in the same
    /// order, the failures counted against `key` in its current window of `window` seconds and
    /// when that window started, or `None`. At most [`MAX_THROTTLE_KEYS`] keys; no keys, no read.
    async fn throttle_counts(
        &self,
        keys: &[(&str, i64)],
        now: UnixTime,
    ) -> StoreResult<Vec<Option<(i64, UnixTime)>>>;
    async fn throttle_clear(&self, key: &str) -> StoreResult<()>;
    /// Takes back one count from `key`, but only in the window that was current at
    /// `reserved_at` (a later window's counts are not this attempt's) and never below zero.
    async fn throttle_release(
        &self,
        key: &str,
        window: i64,
        reserved_at: UnixTime,
    ) -> StoreResult<()>;

    // --- settings ---
    /// The operator's runtime settings document (JSON), if one was saved.
    async fn load_settings(&self) -> StoreResult<Option<String>>;
    /// Replaces the document with `json` only if the stored one is still `expected` (`None`:
    /// none stored yet), in one atomic step; `false`, changing nothing, when another change
    /// came first. Never an unconditional overwrite: one admin's change must not undo another's.
    async fn swap_settings(
        &self,
        expected: Option<&str>,
        json: &str,
        now: UnixTime,
    ) -> StoreResult<bool>;
}

/// Apps, consents, authorization codes and tokens.
#[async_trait]
pub trait OAuthStore: Send + Sync + 'static {
    // --- apps (OAuth clients) ---
    async fn create_client(&self, client: NewClient) -> StoreResult<Client>;
    async fn client_by_pk(&self, pk: ClientPk) -> StoreResult<Option<Client>>;
    async fn client_by_client_id(&self, client_id: &str) -> StoreResult<Option<Client>>;
    async fn clients_of_owner(&self, owner: UserId) -> StoreResult<Vec<Client>>;
    async fn list_clients(
        &self,
        status: Option<ClientStatus>,
        page: Page,
    ) -> StoreResult<Vec<Client>>;
    async fn patch_client(
        &self,
        pk: ClientPk,
        patch: &ClientPatch,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Stores the first secret of an approved confidential app, only if none was ever revealed:
    /// of two concurrent first reads exactly one gets the secret.
    async fn reveal_secret(
        &self,
        pk: ClientPk,
        hash: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Replaces the secret; the old one keeps working until `previous_expires_at`, if given.
    async fn rotate_secret(
        &self,
        pk: ClientPk,
        hash: &SecretHash,
        previous_expires_at: Option<UnixTime>,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// The apps whose owner asked for a change that waits for review, longest waiting first.
    async fn clients_with_pending_change(&self, page: Page) -> StoreResult<Vec<Client>>;
    /// Puts `details` in force for a console app (never a self-registered one) and sets or
    /// clears the change that waits for review (`pending` with when it was asked for);
    /// `reviewed`, when given, replaces `reviewed_at`. `false`: no such console app.
    async fn edit_client(
        &self,
        pk: ClientPk,
        details: &ClientDetails,
        pending: Option<(&ClientDetails, UnixTime)>,
        reviewed: Option<Option<UnixTime>>,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Deletes the app with its consents, codes and tokens.
    async fn delete_client(&self, pk: ClientPk) -> StoreResult<bool>;
    /// Deletes the dynamic clients (RFC 7591) created at or before `created_before` that no
    /// user ever authorized: never recorded as used (`last_used_at` unset), no consent and no
    /// token family. A device or code grant that is still pending goes with the client. Returns
    /// how many were deleted.
    async fn purge_unused_dynamic_clients(&self, created_before: UnixTime) -> StoreResult<u64>;
    /// Replaces what a self-registered client says about itself.
    async fn update_client_metadata(
        &self,
        pk: ClientPk,
        metadata: &ClientMetadata,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Clients of `kind`, most recently seen first, each with how many users consented to it.
    async fn clients_of_kind(
        &self,
        kind: ClientKind,
        page: Page,
    ) -> StoreResult<Vec<(Client, i64)>>;
    /// Records that the client was seen authorizing a user at `now`; at most one write per
    /// `every` seconds, so that a busy client does not write on every request.
    async fn touch_client(&self, pk: ClientPk, now: UnixTime, every: i64) -> StoreResult<()>;
    /// Records a client assertion's `jti` (RFC 7523 §3 item 7) as used until `expires_at`.
    /// `false`: the same client already used it and that use has not expired, a replay. An
    /// expired record is taken over. Shared by every node, so a replay is caught on any of them.
    async fn use_assertion_jti(
        &self,
        client: ClientPk,
        jti: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> StoreResult<bool>;

    // --- consents ---
    async fn consent(&self, user: UserId, client: ClientPk) -> StoreResult<Option<Consent>>;
    /// Records consent to `scopes`, adding to what was granted before, and to `resources`,
    /// which replace what was granted before (the caller merges them). A `spend_limit` replaces
    /// the one before; `None` keeps it.
    async fn save_consent(
        &self,
        user: UserId,
        client: ClientPk,
        scopes: ScopeSet,
        resources: &ResourceGrants,
        spend_limit: Option<SpendLimit>,
        now: UnixTime,
    ) -> StoreResult<()>;
    async fn consents_of_user(&self, user: UserId) -> StoreResult<Vec<(Consent, Client)>>;
    /// Forgets the consent and kills every code and token the user gave the app, at once
    /// (a device authorization approved but not yet collected becomes denied).
    async fn revoke_consent(
        &self,
        user: UserId,
        client: ClientPk,
        now: UnixTime,
    ) -> StoreResult<bool>;

    /// Replaces the spending limit of `user`'s consent to `client` with `new`, only while it is
    /// still `expected` (the limit the change was judged against); nothing else of the consent
    /// changes. `false`: no such consent, or its limit is another one by now.
    async fn change_spend_limit(
        &self,
        user: UserId,
        client: ClientPk,
        expected: SpendLimit,
        new: SpendLimit,
    ) -> StoreResult<bool>;

    // --- codes and tokens ---
    async fn create_code(&self, code: AuthCode) -> StoreResult<()>;
    async fn code_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<AuthCode>>;
    /// Marks the code used and issues the family's first tokens in one transaction. Of
    /// concurrent redemptions exactly one gets `Some(family id)`; the others get `None`.
    async fn redeem_code(
        &self,
        hash: &SecretHash,
        family: NewFamily,
        tokens: &[NewToken],
        now: UnixTime,
    ) -> StoreResult<Option<i64>>;
    /// Revokes every token issued from a code (after a replay of it); returns families revoked.
    async fn revoke_code_family(&self, code: &SecretHash, now: UnixTime) -> StoreResult<u64>;
    /// Starts a token family without a code (client credentials).
    async fn issue_family(&self, family: NewFamily, tokens: &[NewToken]) -> StoreResult<i64>;
    async fn token_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>>;
    /// [`Self::token_by_hash`] and the user of its family, if it has one who still exists, in
    /// one read: what a refresh grant checks first.
    async fn token_with_user(
        &self,
        hash: &SecretHash,
    ) -> StoreResult<Option<(TokenRecord, Option<User>)>>;
    /// Marks a refresh token used and adds its successors to the family, in one transaction;
    /// `false` when it was used already (concurrent reuse) or its family is revoked.
    async fn rotate_refresh(
        &self,
        old: &SecretHash,
        tokens: &[NewToken],
        now: UnixTime,
    ) -> StoreResult<bool>;
    async fn revoke_family(&self, family_id: i64, now: UnixTime) -> StoreResult<()>;
    /// Revokes one access token on its own.
    async fn revoke_token(&self, hash: &SecretHash, now: UnixTime) -> StoreResult<()>;
    /// The hot path of every resource request: a live access token and its user, or `None`.
    async fn access_context(
        &self,
        hash: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<Option<AccessContext>>;
}

/// The APIs tokens can be bound to (RFC 8707).
#[async_trait]
pub trait ResourceStore: Send + Sync + 'static {
    /// `Conflict::ResourceIdentifier` when the identifier is taken.
    async fn create_resource(&self, resource: NewResource) -> StoreResult<Resource>;
    async fn resource_by_id(&self, id: ResourcePk) -> StoreResult<Option<Resource>>;
    async fn resource_by_identifier(&self, identifier: &str) -> StoreResult<Option<Resource>>;
    async fn list_resources(&self) -> StoreResult<Vec<Resource>>;
    /// `false` when there is no such resource.
    async fn patch_resource(
        &self,
        id: ResourcePk,
        patch: &ResourcePatch,
        now: UnixTime,
    ) -> StoreResult<bool>;
}

/// Device authorizations (RFC 8628): the codes a device polls with and the user types.
#[async_trait]
pub trait DeviceStore: Send + Sync + 'static {
    /// [`Conflict::Secret`] when either code's hash exists already.
    async fn create_device_code(&self, code: &NewDeviceCode) -> StoreResult<()>;
    async fn device_code_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<DeviceCode>>;
    async fn device_code_by_user_code(
        &self,
        user_code_hash: &SecretHash,
    ) -> StoreResult<Option<DeviceCode>>;
    /// Records the user's decision, only if the code is still pending and unexpired at `now`:
    /// of two concurrent decisions exactly one gets `true`.
    async fn decide_device_code(
        &self,
        user_code_hash: &SecretHash,
        decision: DeviceDecision,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// One poll of a device code, in one step: the code as it was before this poll and, if
    /// `client` holds it and it is still pending and unexpired at `now`, the poll recorded at
    /// `now`, its interval grown by `slow_down_secs` when the poll came sooner than the interval
    /// after the last one ([`DeviceCode::polled_too_soon`]; RFC 8628 §3.5 `slow_down`).
    async fn poll_device_code(
        &self,
        hash: &SecretHash,
        client: ClientPk,
        now: UnixTime,
        slow_down_secs: i64,
    ) -> StoreResult<Option<DeviceCode>>;
    /// Marks an approved, unexpired code issued and stores the family's first tokens in one
    /// transaction. Of concurrent redemptions exactly one gets `Some(family id)`.
    async fn redeem_device_code(
        &self,
        hash: &SecretHash,
        family: NewFamily,
        tokens: &[NewToken],
        now: UnixTime,
    ) -> StoreResult<Option<i64>>;
}

/// Passkeys and the challenges of their ceremonies. A passkey is one of the account's ways in,
/// like its password and its upstream identities.
#[async_trait]
pub trait PasskeyStore: Send + Sync + 'static {
    /// The account's WebAuthn user handle: the stored one, or `fresh` stored now if it has none.
    async fn passkey_handle(&self, user: UserId, fresh: &[u8]) -> StoreResult<Vec<u8>>;
    async fn user_by_passkey_handle(&self, handle: &[u8]) -> StoreResult<Option<UserId>>;
    /// `Conflict::PasskeyCredential` when the credential is registered already (to anyone).
    async fn add_passkey(&self, passkey: NewPasskey) -> StoreResult<i64>;
    /// Oldest first.
    async fn passkeys_of_user(&self, user: UserId) -> StoreResult<Vec<StoredPasskey>>;
    async fn passkey_by_credential_id(&self, id: &[u8]) -> StoreResult<Option<StoredPasskey>>;
    /// `false` when the account has no passkey of that id.
    async fn rename_passkey(&self, user: UserId, id: i64, name: &str) -> StoreResult<bool>;
    /// Removes the passkey unless it is the account's last way in (no password, no identity, no
    /// other passkey), in one step, so two removals cannot both pass the check.
    async fn delete_passkey_keeping_a_way_in(&self, user: UserId, id: i64) -> StoreResult<Unlink>;
    /// Removes the passkey whatever else the account has (an admin acting on a lost device).
    async fn delete_passkey(&self, user: UserId, id: i64) -> StoreResult<bool>;
    /// Records a use: the new counter and credential, if the stored counter is still the one
    /// read before the ceremony; `false` if another use moved it meanwhile.
    async fn record_passkey_use(&self, used: PasskeyUse, credential: &str) -> StoreResult<bool>;
    async fn put_webauthn_challenge(&self, challenge: &WebauthnChallenge) -> StoreResult<()>;
    /// Takes (deletes) a live challenge of `purpose`: each is used once, whatever the outcome.
    /// Returns the account it was for and the state.
    async fn take_webauthn_challenge(
        &self,
        id_hash: &SecretHash,
        purpose: &str,
        now: UnixTime,
    ) -> StoreResult<Option<(Option<UserId>, String)>>;
}

#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    async fn audit(&self, entry: NewAuditEntry) -> StoreResult<()>;
    /// Newest first, narrowed by whichever parts of `filter` are set.
    async fn list_audit(
        &self,
        filter: &AuditFilter<'_>,
        page: Page,
    ) -> StoreResult<Vec<AuditEntry>>;
    /// Up to `limit` records with an id above `after`, oldest first: what `keyward audit
    /// export` streams, resuming where it stopped.
    async fn audit_after(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditEntry>>;
}

/// Which audit records a listing shows; `None` (or the default) does not narrow.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditFilter<'a> {
    pub action: Option<&'a str>,
    pub actor: Option<UserId>,
    /// Records at or after this time.
    pub since: Option<UnixTime>,
    /// Records before this time.
    pub until: Option<UnixTime>,
}

impl<'a> AuditFilter<'a> {
    /// Only `action`, if given.
    pub fn action(action: Option<&'a str>) -> Self {
        Self {
            action,
            ..Self::default()
        }
    }
}

/// The order of the user list. A closed set: each backend maps it to its own `ORDER BY`, so no
/// SQL ever comes from a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UserSort {
    /// By id (creation order).
    #[default]
    Id,
    Username,
    /// Accounts that never signed in count as the oldest.
    LastLogin,
    Role,
}

impl UserSort {
    pub const ALL: [Self; 4] = [Self::Id, Self::Username, Self::LastLogin, Self::Role];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Username => "username",
            Self::LastLogin => "last_login",
            Self::Role => "role",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// What the user list shows: a search and an order.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserListQuery<'a> {
    pub search: Option<&'a str>,
    pub sort: UserSort,
    pub descending: bool,
}

impl<'a> UserListQuery<'a> {
    /// Newest first, narrowed by `search`.
    pub fn search(search: Option<&'a str>) -> Self {
        Self {
            search,
            sort: UserSort::Id,
            descending: true,
        }
    }
}

/// Which audit records are "about" one user (see [`LifecycleStore::audit_about_user`]).
#[derive(Debug, Clone, Copy)]
pub struct UserAuditQuery<'a> {
    pub user: UserId,
    /// Records whose target is the user's id count only for these actions: the target column
    /// also holds client ids, and one could be the same digits.
    pub actions: &'a [&'a str],
    /// Also every record the user did themselves (any action, any target).
    pub include_acted: bool,
    pub page: Page,
}

/// The life of an account: what the export and the security activity read.
#[async_trait]
pub trait LifecycleStore: Send + Sync + 'static {
    /// Audit records about a user, newest first: those targeting their id with one of
    /// `query.actions`, and with `include_acted` those they are the actor of.
    async fn audit_about_user(&self, query: &UserAuditQuery<'_>) -> StoreResult<Vec<AuditEntry>>;
}

/// Signing keys, shared by every node.
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>>;
    /// A number that moves on whenever the signing keys may have changed, at this node or at
    /// another (it may also move when nothing did); read it before `signing_keys`, whose answer
    /// stays good while it stays the same. `None` while this backend cannot tell: a reader then
    /// keeps its copy for `key_cache_secs`. Answered from memory, never by a round trip.
    async fn signing_keys_version(&self) -> StoreResult<Option<u64>>;
    async fn insert_signing_key(&self, key: StoredKey) -> StoreResult<()>;
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<()>;
}

/// Upstream identities and login flows, verification codes, operator secrets.
#[async_trait]
pub trait FederationStore: Send + Sync + 'static {
    async fn create_upstream_state(&self, state: UpstreamState) -> StoreResult<()>;
    /// Deletes and returns the state if it exists and is unexpired: a state works once.
    async fn take_upstream_state(
        &self,
        hash: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<Option<UpstreamState>>;
    async fn identity(&self, provider: &str, subject: &str) -> StoreResult<Option<Identity>>;
    async fn identities_of_user(&self, user: UserId) -> StoreResult<Vec<Identity>>;
    /// Links an identity to an account. [`Conflict::Identity`] when someone owns it,
    /// [`Conflict::IdentityProvider`] when the account has another of this provider.
    async fn link_identity(&self, identity: Identity) -> StoreResult<()>;
    /// Unlinks `user`'s `provider` identity only if the account keeps another way in (a
    /// password or another identity), judged and done atomically, so that concurrent unlinks
    /// cannot remove the last ways in between them.
    async fn unlink_identity_keeping_a_way_in(
        &self,
        user: UserId,
        provider: &str,
    ) -> StoreResult<Unlink>;
    /// Creates an account and links its first identity in one transaction.
    async fn create_user_with_identity(
        &self,
        user: NewUser,
        identity: Identity,
    ) -> StoreResult<User>;
    /// Sets a verified e-mail address; [`Conflict::Email`] when another account has it.
    async fn set_verified_email(&self, user: UserId, email: &str, now: UnixTime)
    -> StoreResult<()>;
    async fn user_by_verified_email(&self, email: &str) -> StoreResult<Option<User>>;

    /// Stores a code for (purpose, e-mail), replacing any earlier one.
    async fn put_code(&self, code: &MailedCode<'_>) -> StoreResult<()>;
    /// Checks a code: a match deletes it; a miss counts an attempt, and the last allowed miss
    /// deletes it too.
    async fn check_code(&self, attempt: &CodeAttempt<'_>) -> StoreResult<CodeCheck>;

    async fn put_operator_secret(
        &self,
        name: &str,
        ciphertext: &[u8],
        now: UnixTime,
    ) -> StoreResult<()>;
    async fn operator_secret(&self, name: &str) -> StoreResult<Option<Vec<u8>>>;
    async fn delete_operator_secret(&self, name: &str) -> StoreResult<()>;
}

/// Top-up codes, the ledger, charges and refunds. Every change of a user's `quota` or
/// `used_quota`, in any area, writes its ledger entry in the same transaction.
#[async_trait]
pub trait BillingStore: Send + Sync + 'static {
    /// The user's entries, newest first.
    async fn ledger_of_user(&self, user: UserId, page: Page) -> StoreResult<Vec<LedgerEntry>>;
    /// The users whose entries do not add up to their `quota` and `used_quota`: none, ever.
    async fn ledger_discrepancies(&self) -> StoreResult<Vec<Discrepancy>>;
    /// Charges minus refunds of `client` on `user`'s balance at or after `since`.
    async fn spent_by_client(
        &self,
        user: UserId,
        client: ClientPk,
        since: UnixTime,
    ) -> StoreResult<i64>;
    /// Applies a charge atomically by the rules of `billing::spend` (idempotency, the grant,
    /// the consent's limit, the balance): moves `used_quota` and writes the entry, or nothing.
    async fn charge(&self, request: &ChargeRequest) -> StoreResult<SpendOutcome>;
    /// Applies a refund of part of a charge atomically, or nothing.
    async fn refund(&self, request: &RefundRequest) -> StoreResult<SpendOutcome>;
    /// Stores a batch of codes in one transaction: all or none.
    async fn create_topup_codes(&self, codes: &[NewTopUpCode]) -> StoreResult<()>;
    /// In one transaction: marks the code used by `user` if it is unused and unexpired, and adds
    /// its amount to the user's quota, if that stays within `MAX_QUOTA`. Of concurrent
    /// redemptions exactly one is `Credited`; a code that would overflow the quota stays unused.
    async fn redeem_topup_code(
        &self,
        hash: &SecretHash,
        user: UserId,
        now: UnixTime,
    ) -> StoreResult<Redemption>;
    /// Newest first.
    async fn list_topup_codes(&self, page: Page) -> StoreResult<Vec<TopUpCode>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_rows_are_matched_by_key_each_in_its_own_window() {
        let rows = vec![("ip".to_owned(), 7, 900), ("client".to_owned(), 3, 500)];
        // In the order asked, not the order read; a missing key is `None`.
        assert_eq!(
            live_throttle_counts(&[("client", 600), ("none", 600), ("ip", 600)], 1_000, &rows),
            vec![Some((3, 500)), None, Some((7, 900))]
        );
        // The client's window of 400 s ended at 900; the IP's did not.
        assert_eq!(
            live_throttle_counts(&[("client", 400), ("ip", 400)], 1_000, &rows),
            vec![None, Some((7, 900))]
        );
        // A window ends exactly `window` seconds after it started.
        assert_eq!(
            live_throttle_counts(&[("client", 500), ("client", 501)], 1_000, &rows),
            vec![None, Some((3, 500))]
        );
    }

    #[test]
    fn throttle_reads_are_bounded() {
        assert!(check_throttle_keys(&[("k", 1); MAX_THROTTLE_KEYS]).is_ok());
        assert!(check_throttle_keys(&[("k", 1); MAX_THROTTLE_KEYS + 1]).is_err());
    }
}
