//! Revocation (RFC 7009) and introspection (RFC 7662), and the one rule for whether a token is
//! live. Both endpoints authenticate the client behind the token endpoint's failure budget.

use super::{TokenService, jwt};
use crate::clock::UnixTime;
use crate::model::{Client, TokenKind, TokenRecord, User, UserId};
use crate::oauth::audience::{ResourceGrants, scope_string};
use crate::oauth::client_auth::Endpoint;
use crate::oauth::scope::{Scope, ScopeSet};
use crate::oauth::{TokenError, tokens::ClientCredentials};
use crate::secret::SecretHash;

/// Whether a token is live: its app's (`client` must be the app that holds it, and approved),
/// unexpired, unrevoked (itself or its family), not yet rotated (a refresh token), and its user,
/// if it has one, present and enabled. The SQL behind [`TokenService::access`] applies the same
/// rule to access tokens in one read.
pub fn is_live(record: &TokenRecord, client: &Client, user: Option<&User>, now: UnixTime) -> bool {
    record.client == client.id
        && client.is_active()
        && record.revoked_at.is_none()
        && record.expires_at > now
        && record.used_at.is_none()
        && user_allows(record.user_id, user)
}

/// A grant without a user needs none; one with a user needs that user, enabled.
pub(super) fn user_allows(user_id: Option<UserId>, user: Option<&User>) -> bool {
    match user_id {
        None => true,
        Some(id) => user.is_some_and(|u| u.id == id && u.is_enabled()),
    }
}

/// What introspection says about a live token (RFC 7662 §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveToken {
    pub kind: TokenKind,
    /// Cut to what the app is allowed now.
    pub scopes: ScopeSet,
    /// An access token's audience and its scopes there (RFC 8707); a refresh token's grant.
    pub resources: ResourceGrants,
    pub client_id: String,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    /// The user's UUID.
    pub subject: Option<String>,
    /// Only with `profile`, as everywhere else a username is shown.
    pub username: Option<String>,
}

impl ActiveToken {
    /// RFC 7662 `scope`.
    pub fn scope(&self) -> String {
        scope_string(self.scopes, &self.resources)
    }

    /// RFC 7662 `aud`: the API an access token is bound to; otherwise the app itself.
    pub fn audience(&self) -> &str {
        match self.kind {
            TokenKind::Access => self.resources.audience().unwrap_or(&self.client_id),
            TokenKind::Refresh => &self.client_id,
        }
    }
}

impl TokenService {
    /// RFC 7009: a refresh token takes its whole family with it, an access token goes alone.
    /// Unknown tokens and other clients' tokens change nothing and are not told apart.
    pub async fn revoke(
        &self,
        creds: &ClientCredentials,
        token: &str,
        ip: &str,
    ) -> Result<(), TokenError> {
        let client = self
            .authenticate_throttled(creds, Endpoint::Revocation, ip)
            .await?;
        let Some(hash) = self.row_hash(token).await? else {
            return Ok(());
        };
        let now = self.clock.now();
        if let Some(record) = self.store.token_by_hash(&hash).await?
            && record.client == client.id
        {
            match record.kind {
                TokenKind::Refresh => self.store.revoke_family(record.family_id, now).await?,
                TokenKind::Access => self.store.revoke_token(&record.hash, now).await?,
            }
        }
        Ok(())
    }

    /// The row a presented token is stored under: an opaque token's hash, or the `jti` of a JWT
    /// access token this provider signed. `None` for anything else.
    async fn row_hash(&self, token: &str) -> Result<Option<SecretHash>, TokenError> {
        if token.len() <= 256 && !token.contains('.') {
            return Ok(Some(SecretHash::of(token)));
        }
        if !jwt::looks_like_jwt(token) {
            return Ok(None);
        }
        Ok(jwt::row_hash(&self.keys, token).await?)
    }

    /// RFC 7662, for confidential clients: about their own tokens, and, for the app an API
    /// introspects with, about access tokens bound to that API whichever app holds them.
    /// `None` for anything else, and for tokens of a resource since disabled.
    pub async fn introspect(
        &self,
        creds: &ClientCredentials,
        token: &str,
        ip: &str,
    ) -> Result<Option<ActiveToken>, TokenError> {
        let client = self
            .authenticate_throttled(creds, Endpoint::Introspection, ip)
            .await?;
        if client.public {
            return Err(TokenError::UnauthorizedClient(
                "public clients cannot introspect",
            ));
        }
        let Some(hash) = self.row_hash(token).await? else {
            return Ok(None);
        };
        // An access token: the same check (and, on SQLite, cache) a bearer request gets.
        if let Some(context) = self.access_by_hash(&hash).await? {
            let token = &context.token;
            let own = token.client == client.id;
            if let Some(audience) = token.resources.audience() {
                let resource = self.store.resource_by_identifier(audience).await?;
                let Some(resource) = resource.filter(|r| r.enabled) else {
                    return Ok(None);
                };
                let introspector = resource.introspection_client_id.as_deref();
                if !own && introspector != Some(client.client_id.as_str()) {
                    return Ok(None);
                }
            } else if !own {
                return Ok(None);
            }
            let holder = context.client_id.clone();
            return Ok(Some(active(holder, token, context.user.as_ref())));
        }
        let Some(record) = self.store.token_by_hash(&hash).await? else {
            return Ok(None);
        };
        // An access token that check refused is dead; the rest concerns refresh tokens.
        if record.kind == TokenKind::Access {
            return Ok(None);
        }
        let user = self.grant_user(record.user_id).await?;
        if !is_live(&record, &client, user.as_ref(), self.clock.now()) {
            return Ok(None);
        }
        let mut record = record;
        record.scopes = record.scopes.intersection(client.allowed_scopes);
        Ok(Some(active(client.client_id, &record, user.as_ref())))
    }
}

/// What introspection tells about `record`, held by the app `client_id`.
fn active(client_id: String, record: &TokenRecord, user: Option<&User>) -> ActiveToken {
    let profile = record.scopes.contains(Scope::Profile);
    ActiveToken {
        kind: record.kind,
        scopes: record.scopes,
        resources: record.resources.clone(),
        client_id,
        issued_at: record.created_at,
        expires_at: record.expires_at,
        subject: user.map(|u| u.uuid.to_string()),
        username: user.filter(|_| profile).map(|u| u.username.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClientStatus, GrantType};

    fn client() -> Client {
        Client {
            id: 7,
            client_id: "client_x".into(),
            redirect_uris: vec![],
            allowed_scopes: ScopeSet::of(&[Scope::Profile]),
            grant_types: vec![GrantType::RefreshToken],
            ..crate::test_support::approved_client()
        }
    }

    fn record() -> TokenRecord {
        TokenRecord {
            hash: SecretHash::of("kwrt_x"),
            kind: TokenKind::Refresh,
            family_id: 1,
            client: 7,
            user_id: None,
            scopes: ScopeSet::of(&[Scope::Profile]),
            resources: ResourceGrants::none(),
            created_at: 0,
            expires_at: 100,
            used_at: None,
            revoked_at: None,
            auth_time: 0,
        }
    }

    #[test]
    fn one_rule_for_live_tokens() {
        let (client, record) = (client(), record());
        assert!(is_live(&record, &client, None, 50));
        assert!(!is_live(&record, &client, None, 100), "expired");
        let revoked = TokenRecord {
            revoked_at: Some(10),
            ..record.clone()
        };
        assert!(!is_live(&revoked, &client, None, 50));
        let rotated = TokenRecord {
            used_at: Some(10),
            ..record.clone()
        };
        assert!(!is_live(&rotated, &client, None, 50));
        let disabled_app = Client {
            status: ClientStatus::Disabled,
            ..client.clone()
        };
        assert!(!is_live(&record, &disabled_app, None, 50));
        let other_app = Client {
            id: 8,
            ..client.clone()
        };
        assert!(!is_live(&record, &other_app, None, 50));
        let with_user = TokenRecord {
            user_id: Some(3),
            ..record
        };
        assert!(!is_live(&with_user, &client, None, 50), "user gone");
    }
}
