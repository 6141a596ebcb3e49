//! The token endpoint's protocol, whole: the client-authentication throttle, client
//! authentication, the three grants, the id_token and the one commit; revocation (RFC 7009) and
//! introspection (RFC 7662); and the access-token check every resource endpoint makes. The web
//! crate parses a request into a [`TokenRequest`], calls one function here and renders the result
//! in its API family's envelope.

mod client_failures;
mod device;
mod introspection;
pub mod jwt;
mod request;
mod throttle;

pub use introspection::{ActiveToken, is_live};
pub use request::{Grant, TokenRequest};

use super::audience::{self, ResourceGrants, TargetError};
use super::client_auth::{self, AssertionAudiences, AssertionError, Endpoint};
use super::directory::{ClientDirectory, LookupError};
use super::resources::resolve;
use super::scope::{Scope, ScopeSet};
use super::successor::SuccessorKey;
use super::{ACCESS_TOKEN_PREFIX, Lifetimes, REFRESH_TOKEN_PREFIX, TokenError, pkce, redirect_uri};
use crate::audit::{self, action};
use crate::clock::{Clock, UnixTime};
use crate::limits::RateLimiter;
use crate::model::{
    AccessContext, AuthMethod, Client, GrantType, NewFamily, NewToken, Resource, TokenFormat,
    TokenKind, TokenRecord, User, UserId,
};
use crate::oidc::KeyRing;
use crate::oidc::id_token::{IdTokenRequest, sign};
use crate::secret::{Secret, SecretHash, constant_time_eq};
use crate::settings::SettingsCache;
use crate::store::Store;
use serde_json::json;
use std::sync::Arc;
use throttle::FailureBudget;

/// How a client proved who it is: one method per request (RFC 6749 §2.3).
#[derive(Debug, Default)]
pub enum ClientAuth {
    /// A public client: its client_id only.
    #[default]
    None,
    /// `client_secret_basic` or `client_secret_post`.
    Secret(Secret),
    /// `private_key_jwt` (RFC 7523 §2.2): a signed JWT.
    Assertion(String),
}

impl ClientAuth {
    /// A secret, when one was sent.
    pub fn from_secret(secret: Option<Secret>) -> Self {
        secret.map_or(Self::None, Self::Secret)
    }
}

/// What a client presented to prove who it is.
#[derive(Debug, Default)]
pub struct ClientCredentials {
    pub client_id: String,
    pub auth: ClientAuth,
}

impl ClientCredentials {
    /// The secret, when the client sent one.
    pub fn secret(&self) -> Option<&Secret> {
        match &self.auth {
            ClientAuth::Secret(secret) => Some(secret),
            _ => None,
        }
    }
}

/// Tokens just issued, in clear text for this one answer: what both token envelopes render.
#[derive(Debug)]
pub struct IssuedTokens {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub expires_in: i64,
    /// The access token's built-in scopes.
    pub scopes: ScopeSet,
    /// The access token's audience and its scopes there; none for Keyward's own APIs.
    pub resources: ResourceGrants,
    /// For grants that carry `openid` and a user (OIDC Core §3.1.3.3, §12.2).
    pub id_token: Option<String>,
}

impl IssuedTokens {
    /// The `scope` of the answer (RFC 6749 §5.1).
    pub fn scope(&self) -> String {
        audience::scope_string(self.scopes, &self.resources)
    }
}

/// The API an access token is minted for, with the scopes it carries there.
struct Target {
    resource: Resource,
    grant: ResourceGrants,
}

/// What one grant asks to mint: the access token's built-in scopes (empty for an API's token)
/// and audience, and the grant's whole scope for the refresh token.
struct Issue<'a> {
    client: &'a Client,
    user: Option<&'a User>,
    auth_time: UnixTime,
    scopes: ScopeSet,
    target: Option<Target>,
    grant_scopes: ScopeSet,
    grant_resources: &'a ResourceGrants,
}

impl From<TargetError> for TokenError {
    fn from(e: TargetError) -> Self {
        match e {
            TargetError::InvalidTarget(why) => Self::InvalidTarget(why),
            TargetError::InvalidScope(why) => Self::InvalidScope(why),
        }
    }
}

impl From<super::resources::ResolveError> for TokenError {
    fn from(e: super::resources::ResolveError) -> Self {
        match e {
            super::resources::ResolveError::Target(e) => e.into(),
            super::resources::ResolveError::Store(e) => Self::Store(e),
        }
    }
}

/// The longest refresh-retry grace window an operator may set: long enough for a client's
/// retry after a lost answer, short enough that a stolen token is not usable for long.
pub const MAX_REFRESH_GRACE_SECS: i64 = 120;

/// What the token service is built from.
pub struct TokenServiceParts {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub lifetimes: Lifetimes,
    pub successor_key: SuccessorKey,
    /// Signs id_tokens.
    pub keys: Arc<KeyRing>,
    /// The `iss` of id_tokens and introspection answers.
    pub issuer: String,
    /// Counts failed client authentications and grants.
    pub limits: Arc<RateLimiter>,
    /// The failure budgets and the refresh grace window.
    pub settings: Arc<SettingsCache>,
    /// What a `private_key_jwt` assertion's `aud` may name at each endpoint.
    pub audiences: AssertionAudiences,
    /// Finds clients, including those known by a metadata document, and published key sets.
    pub clients: Arc<ClientDirectory>,
}

pub struct TokenService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    lifetimes: Lifetimes,
    successor_key: SuccessorKey,
    keys: Arc<KeyRing>,
    issuer: String,
    limits: Arc<RateLimiter>,
    settings: Arc<SettingsCache>,
    audiences: AssertionAudiences,
    clients: Arc<ClientDirectory>,
}

/// Tokens minted for a grant and not yet stored.
struct Minted {
    issued: IssuedTokens,
    rows: Vec<NewToken>,
}

impl TokenService {
    pub fn new(parts: TokenServiceParts) -> Self {
        Self {
            store: parts.store,
            clock: parts.clock,
            lifetimes: parts.lifetimes,
            successor_key: parts.successor_key,
            keys: parts.keys,
            issuer: parts.issuer,
            limits: parts.limits,
            settings: parts.settings,
            audiences: parts.audiences,
            clients: parts.clients,
        }
    }

    pub fn lifetimes(&self) -> Lifetimes {
        self.lifetimes
    }

    /// The token endpoint (RFC 6749 §3.2), for both API families: throttle, authenticate the
    /// client, run the grant, check the user, build and sign the id_token, and only then commit.
    /// Everything that can fail happens before the code or refresh token is spent, so a failure
    /// leaves the client free to retry.
    pub async fn token(
        &self,
        request: &TokenRequest,
        ip: &str,
    ) -> Result<IssuedTokens, TokenError> {
        let result = self.throttled_grant(request, ip).await;
        // Every answer, a refusal by the throttle included, counted once by grant and result.
        crate::telemetry::token_grant(&request.grant, &result);
        if let Err(e) = &result {
            self.record_client_failure(request, e, ip).await;
        }
        result
    }

    async fn throttled_grant(
        &self,
        request: &TokenRequest,
        ip: &str,
    ) -> Result<IssuedTokens, TokenError> {
        let settings = self.settings.get().await?;
        let budget = FailureBudget::new(&settings, &request.client.client_id, ip);
        budget.check(&self.limits).await?;
        let result = self
            .run_grant(request, settings.refresh_reuse_grace_seconds)
            .await;
        budget.settle(&self.limits, result).await
    }

    async fn run_grant(
        &self,
        request: &TokenRequest,
        grace_secs: i64,
    ) -> Result<IssuedTokens, TokenError> {
        let client = self.authenticate(&request.client, Endpoint::Token).await?;
        match &request.grant {
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
                resources,
            } => {
                self.exchange_code(
                    &client,
                    code,
                    redirect_uri.as_deref(),
                    code_verifier.as_deref(),
                    resources,
                )
                .await
            }
            Grant::RefreshToken {
                refresh_token,
                scope,
                resources,
            } => {
                let asked = Asked {
                    scope: scope.as_deref(),
                    resources,
                };
                self.refresh(&client, refresh_token, asked, grace_secs)
                    .await
            }
            Grant::ClientCredentials { scope, resources } => {
                self.client_credentials(&client, scope.as_deref(), resources)
                    .await
            }
            Grant::DeviceCode {
                device_code,
                resources,
            } => self.device_code(&client, device_code, resources).await,
        }
    }

    /// Authenticates a client at `endpoint`: an approved app, by the one method it registered.
    /// A secret app proves its current secret (or the previous one within its grace period); a
    /// `private_key_jwt` app a fresh assertion signed by one of its keys; a public app sends
    /// nothing. Any other combination is refused.
    async fn authenticate(
        &self,
        creds: &ClientCredentials,
        endpoint: Endpoint,
    ) -> Result<Client, TokenError> {
        let client = match self.clients.find(&creds.client_id).await {
            Ok(client) => client.filter(Client::is_active),
            Err(LookupError::Document(e)) => {
                tracing::info!(client_id = %creds.client_id, error = %e, "metadata document client refused");
                None
            }
            Err(LookupError::Store(e)) => return Err(e.into()),
            Err(LookupError::Settings(e)) => return Err(e.into()),
        }
        .ok_or(TokenError::UnknownClient)?;
        match (&creds.auth, client.auth_method) {
            (ClientAuth::None, AuthMethod::None) => Ok(client),
            (ClientAuth::Secret(secret), method) if method.uses_secret() => {
                let presented = secret.hash();
                let now = self.clock.now();
                let current = client.secret_hash.is_some_and(|h| hash_eq(&h, &presented));
                let previous = client
                    .previous_secret_hash
                    .is_some_and(|h| hash_eq(&h, &presented))
                    && client.previous_secret_expires_at.is_some_and(|t| t > now);
                if current || previous {
                    Ok(client)
                } else {
                    Err(TokenError::BadClientSecret)
                }
            }
            (ClientAuth::Assertion(jwt), AuthMethod::PrivateKeyJwt) => {
                self.check_assertion(client, jwt, endpoint).await
            }
            (ClientAuth::Assertion(_), _) => Err(TokenError::BadClientAssertion(
                AssertionError::NotRegistered,
            )),
            _ => Err(TokenError::BadClientSecret),
        }
    }

    /// RFC 7523 §3: the assertion verifies, and its `jti` was not used before (recorded in the
    /// store, so a replay is caught on every node until the assertion expires).
    async fn check_assertion(
        &self,
        client: Client,
        jwt: &str,
        endpoint: Endpoint,
    ) -> Result<Client, TokenError> {
        let now = self.clock.now();
        let verified = match &client.jwks_uri {
            None => client_auth::verify(jwt, &client, &self.audiences, endpoint, now),
            Some(uri) => {
                self.verify_published(jwt, &client, uri, endpoint, now)
                    .await
            }
        }
        .map_err(TokenError::BadClientAssertion)?;
        if !self
            .store
            .use_assertion_jti(client.id, &verified.jti, verified.expires_at, now)
            .await?
        {
            return Err(TokenError::BadClientAssertion(AssertionError::Replayed));
        }
        Ok(client)
    }

    /// Verifies an assertion against the keys the client publishes at `jwks_uri`; fetches them
    /// again (at most once a minute) when none matches, for a client that rotated its keys.
    async fn verify_published(
        &self,
        jwt: &str,
        client: &Client,
        jwks_uri: &str,
        endpoint: Endpoint,
        now: UnixTime,
    ) -> Result<client_auth::VerifiedAssertion, AssertionError> {
        let mut stale_kid = false;
        loop {
            let keys = self
                .clients
                .published_keys(jwks_uri, stale_kid)
                .await
                .map_err(|reason| {
                    tracing::info!(client_id = %client.client_id, %reason, "jwks_uri unusable");
                    AssertionError::KeysUnavailable
                })?;
            let with_keys = Client {
                jwks: Some(keys),
                ..client.clone()
            };
            match client_auth::verify(jwt, &with_keys, &self.audiences, endpoint, now) {
                Err(AssertionError::UnknownKey) if !stale_kid => stale_kid = true,
                result => return result,
            }
        }
    }

    /// [`Self::authenticate`] with its failures counted against the token endpoint's budgets:
    /// a failure over the address's budget, or over the client_id's, is answered 429. Unlike the
    /// token endpoint, the budgets are read only after a failure: the only thing guessed here is
    /// a client secret of 256 random bits, which guessing faster does not find, so a success
    /// costs no throttle read. Also the device authorization endpoint's (RFC 8628 §3.1).
    pub(crate) async fn authenticate_throttled(
        &self,
        creds: &ClientCredentials,
        endpoint: Endpoint,
        ip: &str,
    ) -> Result<Client, TokenError> {
        let result = self.authenticate(creds, endpoint).await;
        if result.is_ok() {
            return result;
        }
        // As at the token endpoint, an address already over its budget is refused without
        // counting the attempt against the client_id.
        let settings = self.settings.get().await?;
        let budget = FailureBudget::new(&settings, &creds.client_id, ip);
        budget.check(&self.limits).await?;
        budget.settle(&self.limits, result).await
    }

    /// The authorization-code grant (RFC 6749 §4.1.3, RFC 7636 §4.6), its access token bound to
    /// the audience `resources` picks from the code's grant (RFC 8707 §2.2).
    async fn exchange_code(
        &self,
        client: &Client,
        code: &str,
        redirect: Option<&str>,
        verifier: Option<&str>,
        resources: &[String],
    ) -> Result<IssuedTokens, TokenError> {
        const BAD_CODE: TokenError = TokenError::InvalidGrant("invalid or expired code");
        if !client.allows_grant(GrantType::AuthorizationCode) {
            return Err(TokenError::UnauthorizedClient(
                "authorization_code is not enabled",
            ));
        }
        let Some(redirect) = redirect.filter(|r| !r.is_empty()) else {
            return Err(TokenError::InvalidRequest("redirect_uri is required"));
        };
        if !redirect_uri::is_registered(redirect, &client.redirect_uris) {
            return Err(TokenError::UnregisteredRedirectUri);
        }
        if code.len() > 256 {
            return Err(BAD_CODE);
        }
        let hash = SecretHash::of(code);
        let now = self.clock.now();
        let Some(stored) = self.store.code_by_hash(&hash).await? else {
            return Err(BAD_CODE);
        };
        if stored.client != client.id {
            return Err(BAD_CODE);
        }
        if stored.used_at.is_some() {
            // A replayed code means it leaked: everything issued from it dies (RFC 6749 §4.1.2).
            let families = self.store.revoke_code_family(&hash, now).await?;
            audit::record(
                self.store.as_ref(),
                now,
                Some(stored.user_id),
                action::CODE_REPLAY,
                client.client_id.clone(),
                json!({"families_revoked": families}),
                "",
            )
            .await;
            return Err(BAD_CODE);
        }
        if stored.expires_at <= now || stored.redirect_uri != redirect {
            return Err(BAD_CODE);
        }
        match (&stored.code_challenge, verifier) {
            (Some(challenge), Some(v)) if pkce::verify(v, challenge) => {}
            (Some(_), _) => return Err(TokenError::InvalidGrant("PKCE verification failed")),
            // A verifier for a code issued without a challenge is a downgrade attempt (RFC 9700).
            (None, Some(_)) => {
                return Err(TokenError::InvalidGrant(
                    "code_verifier sent for a code without PKCE",
                ));
            }
            (None, None) if client.public => {
                return Err(TokenError::InvalidGrant(
                    "PKCE is required for public clients",
                ));
            }
            (None, None) => {}
        }
        let approved = Approved {
            user_id: stored.user_id,
            auth_time: stored.auth_time,
            scopes: stored.scopes,
            resources: &stored.resources,
            nonce: stored.nonce.as_deref(),
        };
        let minted = self.mint_approved(client, approved, resources, now).await?;
        let family = NewFamily {
            client: client.id,
            user_id: Some(stored.user_id),
            code_hash: Some(hash),
            auth_time: stored.auth_time,
            created_at: now,
        };
        // The one commit: the code is spent and the tokens stored together.
        match self
            .store
            .redeem_code(&hash, family, &minted.rows, now)
            .await?
        {
            Some(_) => Ok(minted.issued),
            // Lost a race with a concurrent redemption of the same code: that is a replay too.
            None => {
                self.store.revoke_code_family(&hash, now).await?;
                Err(BAD_CODE)
            }
        }
    }

    /// The tokens of a grant a user approved (a code, a device authorization), not yet stored:
    /// the user must still be enabled, the scopes are cut to what the app is allowed now, the
    /// access token goes to the audience `resources` picks, and an id_token comes with `openid`.
    async fn mint_approved(
        &self,
        client: &Client,
        approved: Approved<'_>,
        resources: &[String],
        now: UnixTime,
    ) -> Result<Minted, TokenError> {
        // A grant approved before its user was disabled is worth nothing now.
        let user = self
            .store
            .user_by_id(approved.user_id)
            .await?
            .filter(User::is_enabled)
            .ok_or(TokenError::InvalidGrant("the user is disabled or gone"))?;
        // The app's scopes may have been narrowed since the user consented.
        let scopes = approved.scopes.intersection(client.allowed_scopes);
        let target = self.target(client, approved.resources, resources).await?;
        let issue = Issue {
            client,
            user: Some(&user),
            auth_time: approved.auth_time,
            scopes,
            target,
            grant_scopes: scopes,
            grant_resources: approved.resources,
        };
        let mut minted = self.mint(issue, now, None).await?;
        minted.issued.id_token = self
            .id_token(
                client,
                Some(&user),
                scopes,
                approved.nonce,
                approved.auth_time,
                &minted.issued.access_token,
            )
            .await?;
        Ok(minted)
    }

    /// The API a token request's `resource` values pick from a grant (RFC 8707 §2.2), checked
    /// again now: still registered, enabled and allowed for the app. `None`: Keyward's own APIs.
    async fn target(
        &self,
        client: &Client,
        grant: &ResourceGrants,
        requested: &[String],
    ) -> Result<Option<Target>, TokenError> {
        let Some(picked) = audience::pick_audience(grant, requested, &self.issuer)? else {
            return Ok(None);
        };
        let found = resolve(
            self.store.as_ref(),
            client,
            std::slice::from_ref(&picked.resource),
            &self.issuer,
            false,
        )
        .await?;
        let resource = found
            .into_iter()
            .next()
            .ok_or(TokenError::InvalidTarget("unknown or disabled resource"))?;
        // Scopes the API no longer defines are no longer granted.
        let mut grant = ResourceGrants::none();
        grant.insert(&resource.identifier, None);
        for scope in picked.scopes.iter().filter(|s| resource.scope(s).is_some()) {
            grant.insert(&resource.identifier, Some(scope));
        }
        Ok(Some(Target { resource, grant }))
    }

    /// The refresh grant with rotation: the presented token dies, a new pair is issued, and
    /// presenting a dead refresh token again revokes the whole family (RFC 9700 §4.14.2).
    ///
    /// A narrower `scope`, or a `resource` of the grant (RFC 8707 §2.2), narrows the new access
    /// token only; the new refresh token keeps the grant (RFC 6749 §6), cut to what the app is
    /// still allowed.
    ///
    /// With `grace_secs` > 0 (the operator's `refresh_reuse_grace_seconds`), presenting the
    /// token again within that many seconds of its rotation, while its successor is still
    /// unused, is taken for an honest retry and answered with the same new pair.
    async fn refresh(
        &self,
        client: &Client,
        refresh_token: &str,
        asked: Asked<'_>,
        grace_secs: i64,
    ) -> Result<IssuedTokens, TokenError> {
        const BAD: TokenError = TokenError::InvalidGrant("invalid or expired refresh token");
        if !client.allows_grant(GrantType::RefreshToken) {
            return Err(TokenError::UnauthorizedClient(
                "refresh_token is not enabled",
            ));
        }
        if !refresh_token.starts_with(REFRESH_TOKEN_PREFIX) || refresh_token.len() > 256 {
            return Err(BAD);
        }
        let grace_secs = grace_secs.clamp(0, MAX_REFRESH_GRACE_SECS);
        let hash = SecretHash::of(refresh_token);
        let now = self.clock.now();
        // The one read of the token and its user (for the liveness rule and the id_token).
        let Some((record, user)) = self.store.token_with_user(&hash).await? else {
            return Err(BAD);
        };
        if record.kind != TokenKind::Refresh || record.client != client.id {
            return Err(BAD);
        }
        if record.revoked_at.is_some() {
            return Err(BAD);
        }
        if record.used_at.is_some() {
            return match self
                .retry(client, refresh_token, &record, grace_secs, now)
                .await?
            {
                Some(issued) => Ok(issued),
                None => {
                    self.reuse_detected(client, record.family_id, record.user_id, now)
                        .await;
                    Err(BAD)
                }
            };
        }
        if !is_live(&record, client, user.as_ref(), now) {
            return Err(BAD);
        }
        let granted = record.scopes.intersection(client.allowed_scopes);
        let mut target = self
            .target(client, &record.resources, asked.resources)
            .await?;
        let scopes = match asked.scope.filter(|s| !s.trim().is_empty()) {
            None => granted,
            Some(text) => narrow(granted, target.as_mut(), text)?,
        };
        let successors = self.successor_key.successors(refresh_token);
        let issue = Issue {
            client,
            user: user.as_ref(),
            auth_time: record.auth_time,
            scopes,
            target,
            grant_scopes: granted,
            grant_resources: &record.resources,
        };
        let mut minted = self.mint(issue, now, Some(successors)).await?;
        minted.issued.id_token = self
            .refreshed_id_token(
                client,
                user.as_ref(),
                scopes,
                &record,
                &minted.issued.access_token,
            )
            .await?;
        // The one commit.
        if self.store.rotate_refresh(&hash, &minted.rows, now).await? {
            return Ok(minted.issued);
        }
        // Someone else rotated it first: the same token was presented twice at once. Within
        // the grace window that is a retry like any other; otherwise it is reuse.
        let latest = self.store.token_by_hash(&hash).await?;
        if let Some(latest) = latest.filter(|r| r.revoked_at.is_none())
            && let Some(issued) = self
                .retry(client, refresh_token, &latest, grace_secs, now)
                .await?
        {
            return Ok(issued);
        }
        self.reuse_detected(client, record.family_id, record.user_id, now)
            .await;
        Err(BAD)
    }

    /// The pair a rotated refresh token was replaced by, if presenting it again counts as an
    /// honest retry: within `grace_secs` of the rotation, and the successor refresh token still
    /// unused and live (once the client has used its new token, the old one can only be a leak).
    /// Writes nothing, so an id_token that cannot be signed here costs the client nothing.
    async fn retry(
        &self,
        client: &Client,
        refresh_token: &str,
        record: &TokenRecord,
        grace_secs: i64,
        now: UnixTime,
    ) -> Result<Option<IssuedTokens>, TokenError> {
        let Some(used_at) = record.used_at else {
            return Ok(None);
        };
        if grace_secs == 0 || now - used_at > grace_secs {
            return Ok(None);
        }
        let (access, refresh) = self.successor_key.successors(refresh_token);
        let live = |t: &TokenRecord, kind: TokenKind| {
            t.kind == kind
                && t.family_id == record.family_id
                && t.revoked_at.is_none()
                && t.expires_at > now
        };
        let Some(access_record) = self
            .store
            .token_by_hash(&access.hash())
            .await?
            .filter(|t| live(t, TokenKind::Access))
        else {
            return Ok(None);
        };
        // The rotation may have issued no refresh token (a grant without offline_access);
        // when it did, that token must not have been used yet.
        let refresh = match self.store.token_by_hash(&refresh.hash()).await? {
            None => None,
            Some(t) if live(&t, TokenKind::Refresh) && t.used_at.is_none() => Some(refresh),
            Some(_) => return Ok(None),
        };
        let user = self.grant_user(record.user_id).await?;
        if !introspection::user_allows(record.user_id, user.as_ref()) {
            return Ok(None);
        }
        let scopes = access_record.scopes.intersection(client.allowed_scopes);
        // An API's token has no built-in scope; the grant's decide the id_token.
        let id_scopes = if access_record.resources.is_empty() {
            scopes
        } else {
            record.scopes.intersection(client.allowed_scopes)
        };
        // A JWT is signed again with the same claims; its row is the one found above.
        let access = match self
            .target(client, &record.resources, &audience_of(&access_record))
            .await?
        {
            Some(target) if target.resource.token_format == TokenFormat::Jwt => {
                let at = AccessRow {
                    hash: &access_record.hash,
                    issued_at: access_record.created_at,
                    expires_at: access_record.expires_at,
                };
                let scope = audience::scope_string(ScopeSet::EMPTY, &access_record.resources);
                let profile = record
                    .scopes
                    .intersection(client.allowed_scopes)
                    .contains(Scope::Profile);
                let jwt = self
                    .sign_jwt(
                        client,
                        user.as_ref(),
                        record.auth_time,
                        &target,
                        (scope, profile),
                        at,
                    )
                    .await?;
                Secret::from_string(jwt)
            }
            _ => access,
        };
        let id_token = self
            .refreshed_id_token(client, user.as_ref(), id_scopes, record, &access)
            .await?;
        Ok(Some(IssuedTokens {
            access_token: access,
            refresh_token: refresh,
            expires_in: access_record.expires_at - now,
            scopes,
            resources: access_record.resources,
            id_token,
        }))
    }

    /// The user behind a grant, if it has one (read once per request).
    async fn grant_user(&self, user_id: Option<UserId>) -> Result<Option<User>, TokenError> {
        match user_id {
            Some(id) => Ok(self.store.user_by_id(id).await?),
            None => Ok(None),
        }
    }

    async fn reuse_detected(
        &self,
        client: &Client,
        family: i64,
        user: Option<UserId>,
        now: UnixTime,
    ) {
        if let Err(e) = self.store.revoke_family(family, now).await {
            tracing::error!(error = %e, "could not revoke a token family after refresh reuse");
        }
        audit::record(
            self.store.as_ref(),
            now,
            user,
            action::REFRESH_REUSE,
            client.client_id.clone(),
            json!({"family": family}),
            "",
        )
        .await;
    }

    /// The client-credentials grant: a token for the app itself, with no user and no refresh.
    /// With a `resource`, for an API an admin listed for the app (no user consents here), with
    /// that API's scopes (RFC 8707 §2).
    async fn client_credentials(
        &self,
        client: &Client,
        scope: Option<&str>,
        requested: &[String],
    ) -> Result<IssuedTokens, TokenError> {
        if client.public || !client.allows_grant(GrantType::ClientCredentials) {
            return Err(TokenError::UnauthorizedClient(
                "client_credentials is not enabled",
            ));
        }
        let now = self.clock.now();
        let found = resolve(self.store.as_ref(), client, requested, &self.issuer, true).await?;
        let (scopes, target) = match found.as_slice() {
            [] => (self.client_scopes(client, scope)?, None),
            [_] => {
                let resource = found
                    .into_iter()
                    .next()
                    .ok_or(TokenError::InvalidTarget("unknown or disabled resource"))?;
                (ScopeSet::EMPTY, Some(api_scopes(resource, scope)?))
            }
            _ => {
                return Err(TokenError::InvalidTarget(
                    "one access token serves one resource",
                ));
            }
        };
        let none = ResourceGrants::none();
        let issue = Issue {
            client,
            user: None,
            auth_time: now,
            scopes,
            target,
            grant_scopes: scopes,
            grant_resources: &none,
        };
        let minted = self.mint(issue, now, None).await?;
        let family = NewFamily {
            client: client.id,
            user_id: None,
            code_hash: None,
            auth_time: now,
            created_at: now,
        };
        self.store.issue_family(family, &minted.rows).await?;
        Ok(minted.issued)
    }

    /// The built-in scopes of a client-credentials token for Keyward's own APIs: user-facing
    /// scopes mean nothing without a user; the app gets what remains.
    fn client_scopes(&self, client: &Client, scope: Option<&str>) -> Result<ScopeSet, TokenError> {
        let allowed = client
            .allowed_scopes
            .without(Scope::OpenId)
            .without(Scope::OfflineAccess);
        match requested_scopes(scope)? {
            None => Ok(allowed),
            Some(asked) if asked.is_subset_of(allowed) => Ok(asked),
            Some(_) => Err(TokenError::InvalidScope(
                "scope not allowed for this client",
            )),
        }
    }

    /// New access (and, where the grant allows, refresh) tokens, not yet stored: random, or
    /// the given `(access, refresh)` pair derived for a rotation. The access token carries the
    /// issue's scopes and audience (a JWT for an API that wants one), the refresh token the
    /// whole grant.
    async fn mint(
        &self,
        issue: Issue<'_>,
        now: UnixTime,
        derived: Option<(Secret, Secret)>,
    ) -> Result<Minted, TokenError> {
        let client = issue.client;
        let (access, refresh_secret) = match derived {
            Some((access, refresh)) => (access, Some(refresh)),
            None => (Secret::generate(ACCESS_TOKEN_PREFIX), None),
        };
        let (resources, ttl) = match &issue.target {
            Some(target) => (target.grant.clone(), target.resource.access_token_ttl_secs),
            None => (ResourceGrants::none(), self.lifetimes.access_token_secs),
        };
        // An API's token carries that API's scopes only; the built-in ones are for Keyward's
        // own APIs (and decide the id_token and the refresh token).
        let scopes = match issue.target {
            Some(_) => ScopeSet::EMPTY,
            None => issue.scopes,
        };
        let access_hash = access.hash();
        let mut rows = vec![NewToken {
            hash: access_hash,
            kind: TokenKind::Access,
            scopes,
            resources: resources.clone(),
            expires_at: now + ttl,
        }];
        let access = match &issue.target {
            Some(target) if target.resource.token_format == TokenFormat::Jwt => {
                let at = AccessRow {
                    hash: &access_hash,
                    issued_at: now,
                    expires_at: now + ttl,
                };
                let scope = audience::scope_string(ScopeSet::EMPTY, &resources);
                let profile = issue.grant_scopes.contains(Scope::Profile);
                let jwt = self
                    .sign_jwt(
                        client,
                        issue.user,
                        issue.auth_time,
                        target,
                        (scope, profile),
                        at,
                    )
                    .await?;
                Secret::from_string(jwt)
            }
            _ => access,
        };
        // OIDC clients get refresh tokens only with offline_access (OIDC Core §11); new-api
        // style apps (no openid) get them whenever the grant type is enabled. Decided on the
        // grant, so narrowing one access token does not end the grant.
        let grant_scopes = issue.grant_scopes;
        let wants_refresh = issue.user.is_some()
            && client.allows_grant(GrantType::RefreshToken)
            && (!grant_scopes.contains(Scope::OpenId)
                || grant_scopes.contains(Scope::OfflineAccess));
        let refresh = wants_refresh.then(|| {
            let secret = refresh_secret.unwrap_or_else(|| Secret::generate(REFRESH_TOKEN_PREFIX));
            rows.push(NewToken {
                hash: secret.hash(),
                kind: TokenKind::Refresh,
                scopes: grant_scopes,
                resources: issue.grant_resources.clone(),
                expires_at: now + self.lifetimes.refresh_token_secs,
            });
            secret
        });
        let issued = IssuedTokens {
            access_token: access,
            refresh_token: refresh,
            expires_in: ttl,
            scopes,
            resources,
            id_token: None,
        };
        Ok(Minted { issued, rows })
    }

    /// An RFC 9068 access token for `target`, standing for the row `at`, with its `scope`
    /// claim and, if the grant includes `profile`, the user's name.
    async fn sign_jwt(
        &self,
        client: &Client,
        user: Option<&User>,
        auth_time: UnixTime,
        target: &Target,
        (scope, profile): (String, bool),
        at: AccessRow<'_>,
    ) -> Result<String, TokenError> {
        let claims = jwt::JwtAccess {
            issuer: &self.issuer,
            resource: &target.resource,
            client_id: &client.client_id,
            user,
            auth_time,
            scope,
            profile,
            hash: at.hash,
            issued_at: at.issued_at,
            expires_at: at.expires_at,
        };
        Ok(jwt::sign(&self.keys, &claims).await?)
    }

    /// A signed id_token when the access token carries `openid` and there is a user.
    async fn id_token(
        &self,
        client: &Client,
        user: Option<&User>,
        scopes: ScopeSet,
        nonce: Option<&str>,
        auth_time: UnixTime,
        access_token: &Secret,
    ) -> Result<Option<String>, TokenError> {
        let Some(user) = user.filter(|_| scopes.contains(Scope::OpenId)) else {
            return Ok(None);
        };
        let request = IdTokenRequest {
            issuer: &self.issuer,
            client_id: &client.client_id,
            user,
            scopes,
            nonce,
            auth_time,
            access_token: Some(access_token.expose()),
            alg: client.id_token_alg,
            now: self.clock.now(),
            ttl: self.keys.policy().id_token_ttl_secs,
        };
        Ok(Some(sign(&self.keys, &request).await?))
    }

    /// The id_token of a refresh (OIDC Core §12.2): no nonce, and the `auth_time` of the
    /// login that started the grant.
    async fn refreshed_id_token(
        &self,
        client: &Client,
        user: Option<&User>,
        scopes: ScopeSet,
        grant: &TokenRecord,
        access_token: &Secret,
    ) -> Result<Option<String>, TokenError> {
        self.id_token(client, user, scopes, None, grant.auth_time, access_token)
            .await
    }

    /// The live access token behind a bearer value, with its user, for Keyward's own APIs;
    /// `None` for anything else, including a token bound to another resource (RFC 8707).
    /// Its scopes are cut to what its app is allowed now, so narrowing an app's scopes takes
    /// effect on tokens already issued.
    pub async fn access(&self, bearer: &str) -> Result<Option<AccessContext>, TokenError> {
        if !bearer.starts_with(ACCESS_TOKEN_PREFIX) || bearer.len() > 256 {
            return Ok(None);
        }
        let context = self.access_by_hash(&SecretHash::of(bearer)).await?;
        Ok(context.filter(|c| c.token.resources.is_empty()))
    }

    /// The live access token stored under `hash`, whatever its audience.
    async fn access_by_hash(&self, hash: &SecretHash) -> Result<Option<AccessContext>, TokenError> {
        let context = self.store.access_context(hash, self.clock.now()).await?;
        Ok(context.map(|mut context| {
            context.token.scopes = context.token.scopes.intersection(context.client_scopes);
            context
        }))
    }
}

/// A grant a user approved, as a code or a device authorization stored it.
struct Approved<'a> {
    user_id: UserId,
    auth_time: UnixTime,
    scopes: ScopeSet,
    resources: &'a ResourceGrants,
    nonce: Option<&'a str>,
}

/// What a refresh request asks for beyond the token itself.
struct Asked<'a> {
    scope: Option<&'a str>,
    resources: &'a [String],
}

/// The stored row a JWT access token stands for.
#[derive(Clone, Copy)]
struct AccessRow<'a> {
    hash: &'a SecretHash,
    issued_at: UnixTime,
    expires_at: UnixTime,
}

/// The `resource` value that picks a stored access token's own audience again.
fn audience_of(record: &TokenRecord) -> Vec<String> {
    record
        .resources
        .audience()
        .map(|a| vec![a.to_owned()])
        .unwrap_or_default()
}

/// A refresh's `scope` (RFC 6749 §6): built-in names narrow the built-in grant without revealing
/// more ([`ScopeSet::may_narrow_to`]); other names must be granted on the token's API, which
/// they narrow to.
fn narrow(
    granted: ScopeSet,
    target: Option<&mut Target>,
    text: &str,
) -> Result<ScopeSet, TokenError> {
    const WIDER: TokenError = TokenError::InvalidScope("scope exceeds the original grant");
    let mut builtin = ScopeSet::EMPTY;
    let mut api = Vec::new();
    for name in text.split([' ', '+']).filter(|s| !s.is_empty()) {
        match Scope::parse(name) {
            Some(scope) => builtin = builtin.with(scope),
            None => api.push(name),
        }
    }
    if !granted.may_narrow_to(builtin) {
        return Err(WIDER);
    }
    match target {
        Some(target) => {
            let identifier = target.resource.identifier.clone();
            let held = target.grant.get(&identifier).cloned();
            let mut narrowed = ResourceGrants::none();
            narrowed.insert(&identifier, None);
            for name in api {
                if !held.as_ref().is_some_and(|g| g.has(name)) {
                    return Err(WIDER);
                }
                narrowed.insert(&identifier, Some(name));
            }
            target.grant = narrowed;
        }
        None if !api.is_empty() => return Err(TokenError::InvalidScope("unknown scope")),
        None => {}
    }
    // An API's token carries no built-in scope; the built-in ones still decide the id_token.
    Ok(builtin)
}

/// The scopes of a client-credentials token for `resource`: those `scope` names, all of them
/// the API's own, or every scope the API defines when `scope` is absent.
fn api_scopes(resource: Resource, scope: Option<&str>) -> Result<Target, TokenError> {
    let mut grant = ResourceGrants::none();
    grant.insert(&resource.identifier, None);
    match scope.filter(|s| !s.trim().is_empty()) {
        None => {
            for defined in &resource.scopes {
                grant.insert(&resource.identifier, Some(&defined.name));
            }
        }
        Some(text) => {
            let (builtin, asked) = audience::split_scopes(text, std::slice::from_ref(&resource))?;
            if !builtin.is_empty() {
                return Err(TokenError::InvalidScope(
                    "Keyward's own scopes need a token without resource",
                ));
            }
            grant = asked;
        }
    }
    Ok(Target { resource, grant })
}

fn hash_eq(a: &SecretHash, b: &SecretHash) -> bool {
    constant_time_eq(a.as_bytes(), b.as_bytes())
}

/// The scopes a token request asks for (RFC 6749 §3.3), or `None` when its `scope` is absent
/// or blank and the grant's own scopes apply.
fn requested_scopes(scope: Option<&str>) -> Result<Option<ScopeSet>, TokenError> {
    scope
        .filter(|s| !s.trim().is_empty())
        .map(|text| ScopeSet::parse(text).map_err(|_| TokenError::InvalidScope("unknown scope")))
        .transpose()
}
