//! The token endpoint's logic: client authentication and the three grants, plus the access-token
//! check every resource endpoint makes.

use super::scope::{Scope, ScopeSet};
use super::{ACCESS_TOKEN_PREFIX, Lifetimes, REFRESH_TOKEN_PREFIX, TokenError, pkce, redirect_uri};
use crate::audit::{self, action};
use crate::clock::{Clock, UnixTime};
use crate::model::{AccessContext, Client, GrantType, NewFamily, NewToken, TokenKind, UserId};
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

pub struct TokenService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    lifetimes: Lifetimes,
}

impl TokenService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, lifetimes: Lifetimes) -> Self {
        Self {
            store,
            clock,
            lifetimes,
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
    pub async fn refresh(
        &self,
        client: &Client,
        refresh_token: &str,
        scope: Option<&str>,
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
        let hash = SecretHash::of(refresh_token);
        let now = self.clock.now();
        let Some(record) = self.store.token_by_hash(&hash).await? else {
            return Err(BAD);
        };
        if record.kind != TokenKind::Refresh || record.client != client.id {
            return Err(BAD);
        }
        if record.used_at.is_some() && record.revoked_at.is_none() {
            self.reuse_detected(client, record.family_id, record.user_id, now)
                .await;
            return Err(BAD);
        }
        if record.revoked_at.is_some() || record.expires_at <= now {
            return Err(BAD);
        }
        if let Some(user_id) = record.user_id {
            let enabled = self
                .store
                .user_by_id(user_id)
                .await?
                .is_some_and(|u| u.is_enabled());
            if !enabled {
                return Err(BAD);
            }
        }
        let scopes = match scope.filter(|s| !s.trim().is_empty()) {
            None => record.scopes,
            Some(text) => {
                let asked =
                    ScopeSet::parse(text).map_err(|_| TokenError::InvalidScope("unknown scope"))?;
                if !asked.is_subset_of(record.scopes) {
                    return Err(TokenError::InvalidScope("scope exceeds the original grant"));
                }
                asked
            }
        };
        let (issued, tokens) = self.mint(client, scopes, record.user_id, record.auth_time, now);
        if self.store.rotate_refresh(&hash, &tokens, now).await? {
            Ok(issued)
        } else {
            // Someone else rotated it first: the same token was presented twice.
            self.reuse_detected(client, record.family_id, record.user_id, now)
                .await;
            Err(BAD)
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

    /// New access (and, where the grant allows, refresh) tokens, not yet stored.
    fn mint(
        &self,
        client: &Client,
        scopes: ScopeSet,
        user_id: Option<UserId>,
        auth_time: UnixTime,
        now: UnixTime,
    ) -> (IssuedTokens, Vec<NewToken>) {
        let access = Secret::generate(ACCESS_TOKEN_PREFIX);
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
            let secret = Secret::generate(REFRESH_TOKEN_PREFIX);
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
