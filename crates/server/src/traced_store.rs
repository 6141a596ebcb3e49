//! A store that wraps every call in a span (`store.<operation>`), for the OTLP traces: which
//! store operations a request made and how long each took. Built only when `otlp_endpoint` is
//! set ([`crate::app::Node::build`]), so with tracing off the store is called directly and pays
//! nothing. A new store method is a compile error here until it is listed.

use async_trait::async_trait;
use keyward_core::billing::ledger::{Discrepancy, LedgerEntry};
use keyward_core::billing::limit::SpendLimit;
use keyward_core::billing::spend::{ChargeRequest, RefundRequest, SpendOutcome};
use keyward_core::billing::topup::{NewTopUpCode, Redemption, TopUpCode};
use keyward_core::clock::UnixTime;
use keyward_core::model::*;
use keyward_core::oauth::audience::ResourceGrants;
use keyward_core::oauth::scope::ScopeSet;
use keyward_core::secret::SecretHash;
use keyward_core::store::*;
use keyward_core::telemetry::TRACE_TARGET;
use std::sync::Arc;
use tracing::Instrument as _;

/// [`Store`] with a span around each call, a child of the request's span.
pub struct TracedStore {
    inner: Arc<dyn Store>,
    /// `db.system.name`: `sqlite` or `postgresql`.
    system: &'static str,
}

impl TracedStore {
    pub fn new(inner: Arc<dyn Store>, system: &'static str) -> Self {
        Self { inner, system }
    }
}

impl Store for TracedStore {
    fn settings_generation(&self) -> Option<u64> {
        self.inner.settings_generation()
    }
}

/// Implements each listed trait by calling the inner store inside a span named after the
/// method (a static name: the span's metadata is built once per method, at compile time).
macro_rules! traced {
    ($($area:ident {
        $(fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*
    })*) => {$(
        #[async_trait]
        impl $area for TracedStore {
            $(async fn $name(&self, $($arg: $ty),*) -> StoreResult<$ret> {
                let span = tracing::info_span!(
                    target: TRACE_TARGET,
                    "store",
                    otel.name = concat!("store.", stringify!($name)),
                    db.operation.name = stringify!($name),
                    db.system.name = self.system,
                );
                self.inner.$name($($arg),*).instrument(span).await
            })*
        }
    )*};
}

traced! {
    MaintenanceStore {
        fn ping() -> ();
        fn count_live_sessions(now: UnixTime) -> i64;
        fn purge_expired(now: UnixTime, throttle_window: i64) -> u64;
    }
    AccountStore {
        fn create_user(user: NewUser) -> User;
        fn user_by_id(id: UserId) -> Option<User>;
        fn user_by_login(login: &str) -> Option<User>;
        fn user_by_aff_code(code: &str) -> Option<User>;
        fn count_admins() -> i64;
        fn list_users(query: &UserListQuery<'_>, page: Page) -> Vec<User>;
        fn patch_user(id: UserId, patch: &UserPatch, now: UnixTime) -> bool;
        fn set_password_hash(id: UserId, hash: &str, now: UnixTime) -> bool;
        fn set_display_name(id: UserId, name: &str, now: UnixTime) -> bool;
        fn adjust_quota(id: UserId, delta: i64, now: UnixTime) -> Option<i64>;
        fn record_login(id: UserId, now: UnixTime) -> ();
        fn create_session(session: NewSession) -> ();
        fn session_with_user(
            id_hash: &SecretHash, now: UnixTime, touch_after: i64
        ) -> Option<(Session, User)>;
        fn pending_session_with_user(
            id_hash: &SecretHash, now: UnixTime
        ) -> Option<(Session, User)>;
        fn delete_session(id_hash: &SecretHash) -> ();
        fn delete_user_sessions(user_id: UserId) -> u64;
        fn delete_user_session(user_id: UserId, id_hash: &SecretHash) -> bool;
        fn list_user_sessions(user_id: UserId, now: UnixTime) -> Vec<Session>;
        fn two_factor(user: UserId) -> TwoFactorRecord;
        fn set_two_factor(user: UserId, record: &TwoFactorRecord, now: UnixTime) -> ();
        fn advance_totp_step(user: UserId, step: i64) -> bool;
        fn replace_recovery_codes(user: UserId, old: &str, new: &str) -> bool;
        fn replace_developer_token(user_id: UserId, hash: &SecretHash, now: UnixTime) -> ();
        fn user_by_developer_token(hash: &SecretHash) -> Option<User>;
        fn delete_developer_token(user_id: UserId) -> bool;
        fn throttle_hit(key: &str, window: i64, now: UnixTime) -> i64;
        fn throttle_count(key: &str, window: i64, now: UnixTime) -> Option<(i64, UnixTime)>;
        fn throttle_counts(keys: &[(&str, i64)], now: UnixTime) -> Vec<Option<(i64, UnixTime)>>;
        fn throttle_clear(key: &str) -> ();
        fn throttle_release(key: &str, window: i64, reserved_at: UnixTime) -> ();
        fn load_settings() -> Option<String>;
        fn swap_settings(expected: Option<&str>, json: &str, now: UnixTime) -> bool;
    }
    OAuthStore {
        fn create_client(client: NewClient) -> Client;
        fn client_by_pk(pk: ClientPk) -> Option<Client>;
        fn client_by_client_id(client_id: &str) -> Option<Client>;
        fn clients_of_owner(owner: UserId) -> Vec<Client>;
        fn list_clients(status: Option<ClientStatus>, page: Page) -> Vec<Client>;
        fn patch_client(pk: ClientPk, patch: &ClientPatch, now: UnixTime) -> bool;
        fn reveal_secret(pk: ClientPk, hash: &SecretHash, now: UnixTime) -> bool;
        fn rotate_secret(
            pk: ClientPk, hash: &SecretHash, previous_expires_at: Option<UnixTime>, now: UnixTime
        ) -> bool;
        fn clients_with_pending_change(page: Page) -> Vec<Client>;
        fn edit_client(
            pk: ClientPk, details: &ClientDetails, pending: Option<(&ClientDetails, UnixTime)>, reviewed: Option<Option<UnixTime>>, now: UnixTime
        ) -> bool;
        fn delete_client(pk: ClientPk) -> bool;
        fn purge_unused_dynamic_clients(created_before: UnixTime) -> u64;
        fn update_client_metadata(pk: ClientPk, metadata: &ClientMetadata, now: UnixTime) -> bool;
        fn clients_of_kind(kind: ClientKind, page: Page) -> Vec<(Client, i64)>;
        fn touch_client(pk: ClientPk, now: UnixTime, every: i64) -> ();
        fn use_assertion_jti(
            client: ClientPk, jti: &str, expires_at: UnixTime, now: UnixTime
        ) -> bool;
        fn consent(user: UserId, client: ClientPk) -> Option<Consent>;
        fn save_consent(
            user: UserId, client: ClientPk, scopes: ScopeSet, resources: &ResourceGrants,
            spend_limit: Option<SpendLimit>, now: UnixTime
        ) -> ();
        fn consents_of_user(user: UserId) -> Vec<(Consent, Client)>;
        fn revoke_consent(user: UserId, client: ClientPk, now: UnixTime) -> bool;
        fn change_spend_limit(
            user: UserId, client: ClientPk, expected: SpendLimit, new: SpendLimit
        ) -> bool;
        fn create_code(code: AuthCode) -> ();
        fn code_by_hash(hash: &SecretHash) -> Option<AuthCode>;
        fn redeem_code(
            hash: &SecretHash, family: NewFamily, tokens: &[NewToken], now: UnixTime
        ) -> Option<i64>;
        fn revoke_code_family(code: &SecretHash, now: UnixTime) -> u64;
        fn issue_family(family: NewFamily, tokens: &[NewToken]) -> i64;
        fn token_by_hash(hash: &SecretHash) -> Option<TokenRecord>;
        fn token_with_user(hash: &SecretHash) -> Option<(TokenRecord, Option<User>)>;
        fn rotate_refresh(old: &SecretHash, tokens: &[NewToken], now: UnixTime) -> bool;
        fn revoke_family(family_id: i64, now: UnixTime) -> ();
        fn revoke_token(hash: &SecretHash, now: UnixTime) -> ();
        fn access_context(hash: &SecretHash, now: UnixTime) -> Option<AccessContext>;
    }
    ResourceStore {
        fn create_resource(resource: NewResource) -> Resource;
        fn resource_by_id(id: ResourcePk) -> Option<Resource>;
        fn resource_by_identifier(identifier: &str) -> Option<Resource>;
        fn list_resources() -> Vec<Resource>;
        fn patch_resource(id: ResourcePk, patch: &ResourcePatch, now: UnixTime) -> bool;
    }
    DeviceStore {
        fn create_device_code(code: &NewDeviceCode) -> ();
        fn device_code_by_hash(hash: &SecretHash) -> Option<DeviceCode>;
        fn device_code_by_user_code(user_code_hash: &SecretHash) -> Option<DeviceCode>;
        fn decide_device_code(
            user_code_hash: &SecretHash, decision: DeviceDecision, now: UnixTime
        ) -> bool;
        fn poll_device_code(
            hash: &SecretHash, client: ClientPk, now: UnixTime, slow_down_secs: i64
        ) -> Option<DeviceCode>;
        fn redeem_device_code(
            hash: &SecretHash, family: NewFamily, tokens: &[NewToken], now: UnixTime
        ) -> Option<i64>;
    }
    PasskeyStore {
        fn passkey_handle(user: UserId, fresh: &[u8]) -> Vec<u8>;
        fn user_by_passkey_handle(handle: &[u8]) -> Option<UserId>;
        fn add_passkey(passkey: NewPasskey) -> i64;
        fn passkeys_of_user(user: UserId) -> Vec<StoredPasskey>;
        fn passkey_by_credential_id(id: &[u8]) -> Option<StoredPasskey>;
        fn rename_passkey(user: UserId, id: i64, name: &str) -> bool;
        fn delete_passkey_keeping_a_way_in(user: UserId, id: i64) -> Unlink;
        fn delete_passkey(user: UserId, id: i64) -> bool;
        fn record_passkey_use(used: PasskeyUse, credential: &str) -> bool;
        fn put_webauthn_challenge(challenge: &WebauthnChallenge) -> ();
        fn take_webauthn_challenge(
            id_hash: &SecretHash, purpose: &str, now: UnixTime
        ) -> Option<(Option<UserId>, String)>;
    }
    AuditStore {
        fn audit(entry: NewAuditEntry) -> ();
        fn list_audit(filter: &AuditFilter<'_>, page: Page) -> Vec<AuditEntry>;
        fn audit_after(after: i64, limit: i64) -> Vec<AuditEntry>;
    }
    LifecycleStore {
        fn audit_about_user(query: &UserAuditQuery<'_>) -> Vec<AuditEntry>;
    }
    KeyStore {
        fn signing_keys() -> Vec<StoredKey>;
        fn signing_keys_version() -> Option<u64>;
        fn insert_signing_key(key: StoredKey) -> ();
        fn delete_signing_key(kid: &str) -> ();
    }
    FederationStore {
        fn create_upstream_state(state: UpstreamState) -> ();
        fn take_upstream_state(hash: &SecretHash, now: UnixTime) -> Option<UpstreamState>;
        fn identity(provider: &str, subject: &str) -> Option<Identity>;
        fn identities_of_user(user: UserId) -> Vec<Identity>;
        fn link_identity(identity: Identity) -> ();
        fn unlink_identity_keeping_a_way_in(user: UserId, provider: &str) -> Unlink;
        fn create_user_with_identity(user: NewUser, identity: Identity) -> User;
        fn set_verified_email(user: UserId, email: &str, now: UnixTime) -> ();
        fn user_by_verified_email(email: &str) -> Option<User>;
        fn put_code(code: &MailedCode<'_>) -> ();
        fn check_code(attempt: &CodeAttempt<'_>) -> CodeCheck;
        fn put_operator_secret(name: &str, ciphertext: &[u8], now: UnixTime) -> ();
        fn operator_secret(name: &str) -> Option<Vec<u8>>;
        fn delete_operator_secret(name: &str) -> ();
    }
    BillingStore {
        fn create_topup_codes(codes: &[NewTopUpCode]) -> ();
        fn redeem_topup_code(hash: &SecretHash, user: UserId, now: UnixTime) -> Redemption;
        fn list_topup_codes(page: Page) -> Vec<TopUpCode>;
        fn ledger_of_user(user: UserId, page: Page) -> Vec<LedgerEntry>;
        fn ledger_discrepancies() -> Vec<Discrepancy>;
        fn spent_by_client(user: UserId, client: ClientPk, since: UnixTime) -> i64;
        fn charge(request: &ChargeRequest) -> SpendOutcome;
        fn refund(request: &RefundRequest) -> SpendOutcome;
    }
    DeletionStore {
        fn delete_account(deletion: &AccountDeletion) -> DeletionOutcome;
    }
}
