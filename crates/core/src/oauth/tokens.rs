//! The token endpoint's logic: client authentication and the three grants, plus the access-token
//! check every resource endpoint makes.

use super::scope::{Scope, ScopeSet};
use super::successor::SuccessorKey;
use super::{ACCESS_TOKEN_PREFIX, Lifetimes, REFRESH_TOKEN_PREFIX, TokenError, pkce, redirect_uri};
use crate::audit::{self, action};
use crate::clock::{Clock, UnixTime};
use crate::model::{
    AccessContext, Client, GrantType, NewFamily, NewToken, TokenKind, TokenRecord, UserId,
};
use crate::secret::{Secret, SecretHash, constant_time_eq};
use crate::store::Store;
use serde_json::json;
use std::sync::Arc;

/// What a client presented to prove who it is.
#[derive(Debug, Default)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<Secret>,
}

/// Tokens just issued, in clear text for this one answer.
#[derive(Debug)]
pub struct IssuedTokens {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub expires_in: i64,
    pub scopes: ScopeSet,
    pub user_id: Option<UserId>,
    pub auth_time: UnixTime,
    /// Echoed into the id_token of a code exchange.
    pub nonce: Option<String>,
}

/// The longest refresh-retry grace window an operator may set: long enough for a client's
/// retry after a lost answer, short enough that a stolen token is not usable for long.
pub const MAX_REFRESH_GRACE_SECS: i64 = 120;

pub struct TokenService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    lifetimes: Lifetimes,
    successor_key: SuccessorKey,
}

impl TokenService {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        lifetimes: Lifetimes,
        successor_key: SuccessorKey,
    ) -> Self {
        Self {
            store,
            clock,
            lifetimes,
            successor_key,
        }
    }

    pub fn lifetimes(&self) -> Lifetimes {
        self.lifetimes
    }

    /// Authenticates a client: an approved app, and for a confidential one its current secret (or
    /// the previous one within its grace period). Public apps must not send a secret.
    pub async fn authenticate(&self, creds: &ClientCredentials) -> Result<Client, TokenError> {
        if creds.client_id.is_empty() || creds.client_id.len() > 128 {
            return Err(TokenError::UnknownClient);
        }
        let client = self
            .store
            .client_by_client_id(&creds.client_id)
            .await?
            .filter(Client::is_active)
            .ok_or(TokenError::UnknownClient)?;
        match (&creds.secret, client.public) {
            (None, true) => Ok(client),
            (Some(_), true) | (None, false) => Err(TokenError::BadClientSecret),
            (Some(secret), false) => {
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
        }
    }

    /// The authorization-code grant (RFC 6749 §4.1.3, RFC 7636 §4.6).
    pub async fn exchange_code(
        &self,
        client: &Client,
        code: &str,
        redirect: Option<&str>,
        verifier: Option<&str>,
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

        let issued = self.mint(
            client,
            stored.scopes,
            Some(stored.user_id),
            stored.auth_time,
            now,
            None,
        );
        let family = NewFamily {
            client: client.id,
            user_id: Some(stored.user_id),
            code_hash: Some(hash),
            auth_time: stored.auth_time,
            created_at: now,
        };
        match self
            .store
            .redeem_code(&hash, family, &issued.1, now)
            .await?
        {
            Some(_) => Ok(IssuedTokens {
                nonce: stored.nonce,
                ..issued.0
            }),
            // Lost a race with a concurrent redemption of the same code: that is a replay too.
            None => {
                self.store.revoke_code_family(&hash, now).await?;
                Err(BAD_CODE)
            }
        }
    }

    /// The refresh grant with rotation: the presented token dies, a new pair is issued, and
    /// presenting a dead refresh token again revokes the whole family (RFC 9700 §4.14.2).
    ///
    /// With `grace_secs` > 0 (the operator's `refresh_reuse_grace_seconds`), presenting the
    /// token again within that many seconds of its rotation, while its successor is still
    /// unused, is taken for an honest retry and answered with the same new pair.
    pub async fn refresh(
        &self,
        client: &Client,
        refresh_token: &str,
        scope: Option<&str>,
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
        let Some(record) = self.store.token_by_hash(&hash).await? else {
            return Err(BAD);
        };
        if record.kind != TokenKind::Refresh || record.client != client.id {
            return Err(BAD);
        }
        if record.revoked_at.is_some() {
            return Err(BAD);
        }
        if record.used_at.is_some() {
            return match self.retry(refresh_token, &record, grace_secs, now).await? {
                Some(issued) => Ok(issued),
                None => {
                    self.reuse_detected(client, record.family_id, record.user_id, now)
                        .await;
                    Err(BAD)
                }
            };
        }
        if record.expires_at <= now || !self.user_enabled(record.user_id).await? {
            return Err(BAD);
        }
        let scopes = match scope.filter(|s| !s.trim().is_empty()) {
            None => record.scopes,
            Some(text) => {
                let asked =
                    ScopeSet::parse(text).map_err(|_| TokenError::InvalidScope("unknown scope"))?;
                if !record.scopes.may_narrow_to(asked) {
                    return Err(TokenError::InvalidScope("scope exceeds the original grant"));
                }
                asked
            }
        };
        let successors = self.successor_key.successors(refresh_token);
        let (issued, tokens) = self.mint(
            client,
            scopes,
            record.user_id,
            record.auth_time,
            now,
            Some(successors),
        );
        if self.store.rotate_refresh(&hash, &tokens, now).await? {
            return Ok(issued);
        }
        // Someone else rotated it first: the same token was presented twice at once. Within
        // the grace window that is a retry like any other; otherwise it is reuse.
        let latest = self.store.token_by_hash(&hash).await?;
        if let Some(latest) = latest.filter(|r| r.revoked_at.is_none())
            && let Some(issued) = self.retry(refresh_token, &latest, grace_secs, now).await?
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
    async fn retry(
        &self,
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
        // The rotation may have issued no refresh token (an OIDC grant narrowed to drop
        // offline_access); when it did, that token must not have been used yet.
        let refresh = match self.store.token_by_hash(&refresh.hash()).await? {
            None => None,
            Some(t) if live(&t, TokenKind::Refresh) && t.used_at.is_none() => Some(refresh),
            Some(_) => return Ok(None),
        };
        if !self.user_enabled(record.user_id).await? {
            return Ok(None);
        }
        Ok(Some(IssuedTokens {
            access_token: access,
            refresh_token: refresh,
            expires_in: access_record.expires_at - now,
            scopes: access_record.scopes,
            user_id: record.user_id,
            auth_time: record.auth_time,
            nonce: None,
        }))
    }

    async fn user_enabled(&self, user_id: Option<UserId>) -> Result<bool, TokenError> {
        let Some(user_id) = user_id else {
            return Ok(true);
        };
        Ok(self
            .store
            .user_by_id(user_id)
            .await?
            .is_some_and(|u| u.is_enabled()))
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
    pub async fn client_credentials(
        &self,
        client: &Client,
        scope: Option<&str>,
    ) -> Result<IssuedTokens, TokenError> {
        if client.public || !client.allows_grant(GrantType::ClientCredentials) {
            return Err(TokenError::UnauthorizedClient(
                "client_credentials is not enabled",
            ));
        }
        // User-facing scopes mean nothing without a user; the app gets what remains.
        let allowed = client
            .allowed_scopes
            .without(Scope::OpenId)
            .without(Scope::OfflineAccess);
        let scopes = match scope.filter(|s| !s.trim().is_empty()) {
            None => allowed,
            Some(text) => {
                let asked =
                    ScopeSet::parse(text).map_err(|_| TokenError::InvalidScope("unknown scope"))?;
                if !asked.is_subset_of(allowed) {
                    return Err(TokenError::InvalidScope(
                        "scope not allowed for this client",
                    ));
                }
                asked
            }
        };
        let now = self.clock.now();
        let access = Secret::generate(ACCESS_TOKEN_PREFIX);
        let expires_in = self.lifetimes.access_token_secs;
        let token = NewToken {
            hash: access.hash(),
            kind: TokenKind::Access,
            scopes,
            expires_at: now + expires_in,
        };
        let family = NewFamily {
            client: client.id,
            user_id: None,
            code_hash: None,
            auth_time: now,
            created_at: now,
        };
        self.store.issue_family(family, &[token]).await?;
        Ok(IssuedTokens {
            access_token: access,
            refresh_token: None,
            expires_in,
            scopes,
            user_id: None,
            auth_time: now,
            nonce: None,
        })
    }

    /// New access (and, where the grant allows, refresh) tokens, not yet stored: random, or
    /// the given `(access, refresh)` pair derived for a rotation.
    fn mint(
        &self,
        client: &Client,
        scopes: ScopeSet,
        user_id: Option<UserId>,
        auth_time: UnixTime,
        now: UnixTime,
        derived: Option<(Secret, Secret)>,
    ) -> (IssuedTokens, Vec<NewToken>) {
        let (access, refresh_secret) = match derived {
            Some((access, refresh)) => (access, Some(refresh)),
            None => (Secret::generate(ACCESS_TOKEN_PREFIX), None),
        };
        let mut tokens = vec![NewToken {
            hash: access.hash(),
            kind: TokenKind::Access,
            scopes,
            expires_at: now + self.lifetimes.access_token_secs,
        }];
        // OIDC clients get refresh tokens only with offline_access (OIDC Core §11); new-api
        // style apps (no openid) get them whenever the grant type is enabled.
        let wants_refresh = client.allows_grant(GrantType::RefreshToken)
            && (!scopes.contains(Scope::OpenId) || scopes.contains(Scope::OfflineAccess));
        let refresh = wants_refresh.then(|| {
            let secret = refresh_secret.unwrap_or_else(|| Secret::generate(REFRESH_TOKEN_PREFIX));
            tokens.push(NewToken {
                hash: secret.hash(),
                kind: TokenKind::Refresh,
                scopes,
                expires_at: now + self.lifetimes.refresh_token_secs,
            });
            secret
        });
        let issued = IssuedTokens {
            access_token: access,
            refresh_token: refresh,
            expires_in: self.lifetimes.access_token_secs,
            scopes,
            user_id,
            auth_time,
            nonce: None,
        };
        (issued, tokens)
    }

    /// The live access token behind a bearer value, with its user; `None` for anything else.
    pub async fn access(&self, bearer: &str) -> Result<Option<AccessContext>, TokenError> {
        if !bearer.starts_with(ACCESS_TOKEN_PREFIX) || bearer.len() > 256 {
            return Ok(None);
        }
        let context = self
            .store
            .access_context(&SecretHash::of(bearer), self.clock.now())
            .await?;
        Ok(context)
    }
}

fn hash_eq(a: &SecretHash, b: &SecretHash) -> bool {
    constant_time_eq(a.as_bytes(), b.as_bytes())
}
