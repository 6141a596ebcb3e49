//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).
//!
//! A client that registers itself is seen by no one at the platform, so it gets less than a
//! console app: it is never trusted (users always see the consent page), its scopes and APIs are
//! capped by the operator's settings, `client_credentials` is refused, registrations are rate
//! limited per IP, and one that no user ever authorized is purged after
//! `dynamic_client_purge_days`. Its registration access token, like its secret, exists in clear
//! text only in the answer that hands it out; the store keeps hashes.

mod metadata;
#[cfg(test)]
mod tests;

pub use metadata::{ApplicationType, BODY_MAX, NAME_MAX, Registered, ScopeLimits, parse};

use super::{CLIENT_ID_PREFIX, CLIENT_SECRET_PREFIX};
use crate::audit::{self, action};
use crate::clock::{Clock, UnixTime};
use crate::limits::{self, LimitError, RateLimiter};
use crate::model::{Client, ClientKind, ClientPatch, ClientStatus, NewClient};
use crate::oidc::SigningAlg;
use crate::secret::{ALPHANUMERIC, Secret, SecretHash, constant_time_eq, random_string};
use crate::settings::{DynamicRegistration, Settings, SettingsCache, SettingsError};
use crate::store::{Store, StoreError};
use serde_json::json;
use std::sync::Arc;

/// Registration access tokens (RFC 7592 §3), recognisable when leaked.
pub const REGISTRATION_TOKEN_PREFIX: &str = "kwrg_";

/// Everything that can go wrong, as kinds; the web crate words them in RFC 7591 §3.2.2's
/// envelope (`invalid_redirect_uri`, `invalid_client_metadata`) or RFC 6750's (`invalid_token`).
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// `dynamic_registration` is `off`: the endpoints do not exist.
    #[error("dynamic client registration is off")]
    Disabled,
    #[error("{0}")]
    InvalidRedirectUri(String),
    #[error("{0}")]
    InvalidMetadata(String),
    /// Missing or wrong registration access token, an unknown client, or one that did not
    /// register itself: all alike, so the answer never tells whether a client exists.
    #[error("the registration access token is missing or not valid for this client")]
    InvalidToken,
    #[error("too many registrations from this address, retry after {retry_after} seconds")]
    RateLimited { retry_after: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

/// A registered client as RFC 7591 §3.2.1 and RFC 7592 §3 describe it.
#[derive(Debug)]
pub struct ClientInformation {
    pub client: Client,
    /// Only in the answer to the registration itself: afterwards only its hash exists.
    pub client_secret: Option<Secret>,
    /// The token that manages this registration: a new one at registration, and otherwise the
    /// one the caller just presented (RFC 7592 §3 requires it in every answer).
    pub registration_access_token: Secret,
    pub application_type: ApplicationType,
}

/// The service behind `/oauth2/register` and `/oauth2/register/{client_id}`; each action writes
/// an audit record with the caller's `ip`.
pub struct Registrations {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: Arc<SettingsCache>,
}

impl Registrations {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: Arc<SettingsCache>) -> Self {
        Self {
            store,
            clock,
            settings,
        }
    }

    /// Whether `/oauth2/register` is served (and advertised in the metadata documents).
    pub async fn enabled(&self) -> Result<bool, SettingsError> {
        Ok(self.settings.get().await?.dynamic_registration != DynamicRegistration::Off)
    }

    /// RFC 7591 §3.1: registers a client from the request's JSON `body`. Every attempt counts
    /// against the caller's IP before anything is read, so refused ones are not free either.
    pub async fn register(
        &self,
        body: &[u8],
        ip: &str,
    ) -> Result<ClientInformation, RegistrationError> {
        let settings = self.open_settings().await?;
        RateLimiter::new(self.store.clone(), self.clock.clone())
            .consume(&[(
                limits::key("dcr:ip", ip),
                settings.dynamic_registration_per_ip(),
            )])
            .await
            .map_err(|e| match e {
                LimitError::Exceeded { retry_after } => {
                    RegistrationError::RateLimited { retry_after }
                }
                LimitError::Store(e) => RegistrationError::Store(e),
            })?;
        let request = parse(body, &self.scope_limits(&settings).await?)?;
        let m = request.metadata;
        let now = self.clock.now();
        let token = Secret::generate(REGISTRATION_TOKEN_PREFIX);
        // No owner will ever look at this client in the console, so a secret is made now, even
        // while it waits for review, and this answer is the only one that shows it.
        let secret = m
            .auth_method
            .uses_secret()
            .then(|| Secret::generate(CLIENT_SECRET_PREFIX));
        let status = match settings.dynamic_registration {
            DynamicRegistration::Open => ClientStatus::Approved,
            _ => ClientStatus::Pending,
        };
        let new = NewClient {
            client_id: format!("{CLIENT_ID_PREFIX}{}", random_string(ALPHANUMERIC, 24)),
            owner_id: None,
            name: m.name,
            description: String::new(),
            redirect_uris: m.redirect_uris,
            post_logout_redirect_uris: Vec::new(),
            allowed_scopes: m.allowed_scopes,
            grant_types: m.grant_types,
            public: m.public,
            id_token_alg: SigningAlg::Rs256,
            auth_method: m.auth_method,
            jwks: m.jwks,
            jwks_uri: m.jwks_uri,
            kind: ClientKind::Dynamic,
            registration_token_hash: Some(token.hash()),
            metadata_expires_at: None,
            // Pending until the patch below has set its limits, so that a failure in between
            // leaves a client nobody can use rather than one without limits.
            logo_uri: None,
            client_uri: None,
            policy_uri: None,
            status: ClientStatus::Pending,
            secret_hash: secret.as_ref().map(Secret::hash),
            secret_revealed_at: secret.as_ref().map(|_| now),
            created_at: now,
        };
        let client = self.store.create_client(new).await?;
        // The APIs it may ask for are the operator's list for self-registered clients, stored
        // like an admin's limit so that the same checks apply at authorize and token time.
        let resources = ClientPatch {
            status: Some(status),
            allowed_resources: Some(Some(settings.self_registered_client_resources.clone())),
            ..ClientPatch::default()
        };
        self.store.patch_client(client.id, &resources, now).await?;
        let client = self.by_pk(client.id).await?;
        let detail = json!({
            "kind": client.kind.as_str(),
            "name": client.name,
            "status": client.status.as_str(),
            "public": client.public,
            "redirect_uris": client.redirect_uris,
        });
        self.audit(action::CLIENT_REGISTERED, &client, detail, ip)
            .await;
        Ok(ClientInformation {
            application_type: request.application_type,
            client,
            client_secret: secret,
            registration_access_token: token,
        })
    }

    /// RFC 7592 §2.1: the client's current registration.
    pub async fn read(
        &self,
        client_id: &str,
        token: Option<&str>,
    ) -> Result<ClientInformation, RegistrationError> {
        self.open_settings().await?;
        let (client, token) = self.authorized(client_id, token).await?;
        Ok(information(client, token))
    }

    /// RFC 7592 §2.2: replaces the client's metadata with the request's, checked as at
    /// registration. Under review, a change of name or redirect URIs sends an approved client
    /// back to the queue: an admin approved what it said then, not what it says now.
    pub async fn update(
        &self,
        client_id: &str,
        token: Option<&str>,
        body: &[u8],
        ip: &str,
    ) -> Result<ClientInformation, RegistrationError> {
        let settings = self.open_settings().await?;
        let (client, token) = self.authorized(client_id, token).await?;
        let request = parse(body, &self.scope_limits(&settings).await?)?;
        if request.client_id.as_deref() != Some(client.client_id.as_str()) {
            return Err(meta("client_id must be this client's"));
        }
        if let Some(sent) = &request.client_secret {
            let matches = client
                .secret_hash
                .as_ref()
                .is_some_and(|h| constant_time_eq(SecretHash::of(sent).as_bytes(), h.as_bytes()));
            if !matches {
                return Err(meta("client_secret is not this client's secret"));
            }
        }
        let m = request.metadata;
        // A secret cannot be shown again and none exists for a client that had none, so the
        // kind of credential stays; switching between the two secret methods is harmless.
        let same_credential = m.auth_method == client.auth_method
            || (m.auth_method.uses_secret() && client.auth_method.uses_secret());
        if !same_credential {
            return Err(meta(
                "token_endpoint_auth_method cannot change to another kind of credential",
            ));
        }
        let now = self.clock.now();
        let back_to_review = settings.dynamic_registration == DynamicRegistration::Review
            && client.status == ClientStatus::Approved
            && (m.name != client.name || m.redirect_uris != client.redirect_uris);
        self.store
            .update_client_metadata(client.id, &m, now)
            .await?;
        if back_to_review {
            let patch = ClientPatch {
                status: Some(ClientStatus::Pending),
                ..ClientPatch::default()
            };
            self.store.patch_client(client.id, &patch, now).await?;
        }
        let client = self.by_pk(client.id).await?;
        let detail = json!({
            "kind": client.kind.as_str(),
            "name": client.name,
            "redirect_uris": client.redirect_uris,
            "back_to_review": back_to_review,
        });
        self.audit(action::CLIENT_REGISTRATION_UPDATED, &client, detail, ip)
            .await;
        let mut info = information(client, token);
        info.application_type = request.application_type;
        Ok(info)
    }

    /// RFC 7592 §2.3: deletes the client with its consents, codes and tokens.
    pub async fn delete(
        &self,
        client_id: &str,
        token: Option<&str>,
        ip: &str,
    ) -> Result<(), RegistrationError> {
        self.open_settings().await?;
        let (client, _) = self.authorized(client_id, token).await?;
        self.store.delete_client(client.id).await?;
        let detail = json!({"kind": client.kind.as_str(), "name": client.name});
        self.audit(action::CLIENT_REGISTRATION_DELETED, &client, detail, ip)
            .await;
        Ok(())
    }

    /// Deletes the dynamic clients older than `dynamic_client_purge_days` that no user
    /// authorized (the store's `purge_unused_dynamic_clients` states the rule). Returns how
    /// many went.
    pub async fn purge_unused(&self) -> Result<u64, RegistrationError> {
        let settings = self.settings.get().await?;
        let cutoff = self.clock.now() - settings.dynamic_client_purge_days * 24 * 3600;
        Ok(self.store.purge_unused_dynamic_clients(cutoff).await?)
    }

    /// The operator's cap on a self-registered client's scopes (the settings document was
    /// checked when saved, so an unparsable value means none), and the scopes of the enabled
    /// APIs listed for such clients (at most 100 lookups, behind the per-IP limit).
    async fn scope_limits(&self, settings: &Settings) -> Result<ScopeLimits, StoreError> {
        let mut api_scopes = Vec::new();
        for identifier in &settings.self_registered_client_resources {
            if let Some(resource) = self.store.resource_by_identifier(identifier).await?
                && resource.enabled
            {
                api_scopes.extend(resource.scopes.into_iter().map(|s| s.name));
            }
        }
        Ok(ScopeLimits {
            builtin: crate::oauth::scope::ScopeSet::parse(&settings.self_registered_client_scopes)
                .unwrap_or_default(),
            api_scopes,
        })
    }

    async fn open_settings(&self) -> Result<Arc<Settings>, RegistrationError> {
        let settings = self.settings.get().await?;
        if settings.dynamic_registration == DynamicRegistration::Off {
            return Err(RegistrationError::Disabled);
        }
        Ok(settings)
    }

    /// The dynamic client `client_id` if `token` is its registration access token. Console
    /// apps and metadata-document clients have none, so they are refused like a wrong token.
    async fn authorized(
        &self,
        client_id: &str,
        token: Option<&str>,
    ) -> Result<(Client, Secret), RegistrationError> {
        let token = token
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .ok_or(RegistrationError::InvalidToken)?;
        if client_id.is_empty() || client_id.len() > 128 {
            return Err(RegistrationError::InvalidToken);
        }
        let presented = SecretHash::of(token);
        let client = self
            .store
            .client_by_client_id(client_id)
            .await?
            .filter(|c| c.kind == ClientKind::Dynamic)
            .filter(|c| {
                c.registration_token_hash
                    .as_ref()
                    .is_some_and(|h| constant_time_eq(h.as_bytes(), presented.as_bytes()))
            })
            .ok_or(RegistrationError::InvalidToken)?;
        Ok((client, Secret::from_string(token.to_owned())))
    }

    async fn by_pk(&self, pk: crate::model::ClientPk) -> Result<Client, RegistrationError> {
        self.store
            .client_by_pk(pk)
            .await?
            .ok_or_else(|| StoreError::backend("a client vanished while it was registered").into())
    }

    async fn audit(
        &self,
        what: &'static str,
        client: &Client,
        detail: serde_json::Value,
        ip: &str,
    ) {
        let now: UnixTime = self.clock.now();
        let target = client.client_id.clone();
        // No user acts: the client registered itself.
        audit::record(self.store.as_ref(), now, None, what, target, detail, ip).await;
    }
}

fn information(client: Client, token: Secret) -> ClientInformation {
    ClientInformation {
        application_type: ApplicationType::of_uris(&client.redirect_uris),
        client,
        client_secret: None,
        registration_access_token: token,
    }
}

fn meta(message: &str) -> RegistrationError {
    RegistrationError::InvalidMetadata(message.to_owned())
}
