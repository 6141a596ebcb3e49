//! Finding the client a request names, for the authorization, token, device, introspection and
//! revocation endpoints alike: a registered app by its id, or a client whose id is the URL of
//! its metadata document ([`super::metadata_document`]), fetched through the outbound guard when
//! first seen and again when its cache lifetime ends. Self-registered clients (documents and
//! dynamic registrations) come back with the operator's current limits applied, so narrowing
//! those limits takes effect at once.
//!
//! Also the JWK Sets of clients that publish them at a `jwks_uri`.

use super::client_auth::validate_jwks;
use super::metadata_document::{self, DocumentError};
use super::scope::{Scope, ScopeSet};
use crate::clock::{Clock, UnixTime};
use crate::model::{Client, ClientKind, ClientStatus, NewClient};
use crate::settings::{Settings, SettingsCache, SettingsError, Switch};
use crate::store::{Store, StoreError};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The longest id of a registered app.
const APP_ID_MAX_LEN: usize = 128;
/// A client's last use is written at most this often.
const TOUCH_EVERY_SECS: i64 = 60;
/// A JWK Set is fetched again for an unknown `kid` at most this often (the client may have
/// rotated its keys; an attacker sending made-up kids must not make us fetch on every request).
const JWKS_REFETCH_SECS: i64 = 60;
/// The most JWK Sets kept in memory; the cache starts over when full.
const JWKS_CACHE_MAX: usize = 1000;
/// Fetches from one host per minute, on each node. Whoever can reach the authorization endpoint
/// chooses the URLs fetched, so made-up client_ids on one host must not become a flood of
/// requests to it (failed fetches are not cached, and every path is a new client_id).
pub const FETCHES_PER_HOST_PER_MINUTE: u32 = 30;

/// A JSON document fetched from a client's URL.
pub struct FetchedDocument {
    pub value: Value,
    /// How long it may be used, from its caching headers, within the fetcher's bounds.
    pub cache_for: Duration,
}

impl FetchedDocument {
    /// When a document fetched at `now` must be fetched again.
    fn expires_at(&self, now: UnixTime) -> UnixTime {
        now.saturating_add(i64::try_from(self.cache_for.as_secs()).unwrap_or(i64::MAX))
    }
}

/// Fetches JSON from the URLs clients give (metadata documents, `jwks_uri`): https only, never
/// to a private address, bounded in time and size. Implemented over the outbound guard.
#[async_trait]
pub trait DocumentFetcher: Send + Sync {
    /// `allow_loopback`: development and tests only. Errors are said for the log.
    async fn fetch_json(&self, url: &str, allow_loopback: bool) -> Result<FetchedDocument, String>;
}

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Document(#[from] DocumentError),
}

struct CachedKeys {
    jwks: String,
    fetched_at: UnixTime,
    expires_at: UnixTime,
}

pub struct ClientDirectory {
    store: Arc<dyn Store>,
    settings: Arc<SettingsCache>,
    clock: Arc<dyn Clock>,
    fetcher: Arc<dyn DocumentFetcher>,
    jwks: Mutex<HashMap<String, CachedKeys>>,
    /// Per host: the minute counted and the fetches in it.
    fetches: Mutex<HashMap<String, (i64, u32)>>,
}

impl ClientDirectory {
    pub fn new(
        store: Arc<dyn Store>,
        settings: Arc<SettingsCache>,
        clock: Arc<dyn Clock>,
        fetcher: Arc<dyn DocumentFetcher>,
    ) -> Self {
        Self {
            store,
            settings,
            clock,
            fetcher,
            jwks: Mutex::new(HashMap::new()),
            fetches: Mutex::new(HashMap::new()),
        }
    }

    /// The client `client_id` names, in any state (callers check [`Client::is_active`]);
    /// `None` when there is none. A metadata document that cannot be used is an error, so
    /// that the user and the log can be told why.
    pub async fn find(&self, client_id: &str) -> Result<Option<Client>, LookupError> {
        let is_url = metadata_document::is_document_url(client_id);
        let max = if is_url {
            metadata_document::URL_MAX_LEN
        } else {
            APP_ID_MAX_LEN
        };
        if client_id.is_empty() || client_id.len() > max {
            return Ok(None);
        }
        let stored = self.store.client_by_client_id(client_id).await?;
        match stored {
            Some(client) if client.kind == ClientKind::Console => Ok(Some(spending(client))),
            Some(client) if client.kind == ClientKind::Dynamic => {
                let settings = self.settings.get().await?;
                Ok(Some(limited(client, &settings)))
            }
            _ if !is_url => Ok(None),
            stored => self.document_client(client_id, stored).await.map(Some),
        }
    }

    /// Records that `client` was seen authorizing a user now (for the admins' list).
    pub async fn touch(&self, client: &Client) -> Result<(), StoreError> {
        if !client.kind.self_registered() {
            return Ok(());
        }
        let now = self.clock.now();
        self.store
            .touch_client(client.id, now, TOUCH_EVERY_SECS)
            .await
    }

    async fn document_client(
        &self,
        client_id: &str,
        stored: Option<Client>,
    ) -> Result<Client, LookupError> {
        let settings = self.settings.get().await?;
        if settings.client_metadata_documents == Switch::Off {
            return Err(DocumentError::Disabled.into());
        }
        let host = metadata_document::check_url(client_id)?;
        if !settings.metadata_host_allowed(&host) {
            return Err(DocumentError::HostNotAllowed.into());
        }
        let now = self.clock.now();
        if let Some(client) = &stored {
            if client.status == ClientStatus::Disabled {
                return Err(DocumentError::Blocked.into());
            }
            if client.metadata_expires_at.is_some_and(|t| t > now) {
                return Ok(limited(client.clone(), &settings));
            }
        }
        self.spend_fetch(&host)
            .map_err(DocumentError::Unreachable)?;
        let fetched = self
            .fetcher
            .fetch_json(client_id, settings.client_metadata_allow_loopback)
            .await
            .map_err(DocumentError::Unreachable)?;
        let expires_at = fetched.expires_at(now);
        let allowed = self_registered_scopes(&settings);
        let metadata = metadata_document::parse(client_id, &fetched.value, allowed, expires_at)?;
        let pk = match stored {
            Some(client) => {
                self.store
                    .update_client_metadata(client.id, &metadata, now)
                    .await?;
                client.id
            }
            None => self.create(client_id, metadata, now).await?,
        };
        let client = self
            .store
            .client_by_pk(pk)
            .await?
            .ok_or_else(|| StoreError::backend("the document client is gone"))?;
        Ok(limited(client, &settings))
    }

    /// Stores a document client seen for the first time. Of two first requests at once, the
    /// second finds the first's row.
    async fn create(
        &self,
        client_id: &str,
        m: crate::model::ClientMetadata,
        now: UnixTime,
    ) -> Result<i64, StoreError> {
        let new = NewClient {
            client_id: client_id.to_owned(),
            owner_id: None,
            name: m.name,
            description: String::new(),
            redirect_uris: m.redirect_uris,
            post_logout_redirect_uris: Vec::new(),
            allowed_scopes: m.allowed_scopes,
            grant_types: m.grant_types,
            public: m.public,
            id_token_alg: crate::oidc::SigningAlg::Rs256,
            auth_method: m.auth_method,
            jwks: m.jwks,
            jwks_uri: m.jwks_uri,
            kind: ClientKind::MetadataDocument,
            registration_token_hash: None,
            metadata_expires_at: m.metadata_expires_at,
            logo_uri: None,
            client_uri: None,
            policy_uri: None,
            status: ClientStatus::Approved,
            secret_hash: None,
            secret_revealed_at: None,
            created_at: now,
        };
        match self.store.create_client(new).await {
            Ok(client) => Ok(client.id),
            Err(StoreError::Conflict(_)) => self
                .store
                .client_by_client_id(client_id)
                .await?
                .map(|c| c.id)
                .ok_or_else(|| StoreError::backend("the document client is gone")),
            Err(e) => Err(e),
        }
    }

    /// The JWK Set a client publishes at `jwks_uri`, from memory while its cache lifetime
    /// lasts. `stale_kid`: the last set had no key for the assertion's `kid`, so fetch again if
    /// the set in memory is older than a minute.
    pub async fn published_keys(&self, jwks_uri: &str, stale_kid: bool) -> Result<String, String> {
        let now = self.clock.now();
        if let Ok(cache) = self.jwks.lock()
            && let Some(keys) = cache.get(jwks_uri)
        {
            let fresh = keys.expires_at > now;
            let may_refetch = now - keys.fetched_at >= JWKS_REFETCH_SECS;
            if fresh && !(stale_kid && may_refetch) {
                return Ok(keys.jwks.clone());
            }
        }
        let settings = self.settings.get().await.map_err(|e| e.to_string())?;
        let host = metadata_document::check_url(jwks_uri).map_err(|e| e.to_string())?;
        self.spend_fetch(&host)?;
        let fetched = self
            .fetcher
            .fetch_json(jwks_uri, settings.client_metadata_allow_loopback)
            .await?;
        let jwks = validate_jwks(&fetched.value).map_err(|e| e.to_string())?;
        let expires_at = fetched.expires_at(now);
        if let Ok(mut cache) = self.jwks.lock() {
            if cache.len() >= JWKS_CACHE_MAX {
                cache.clear();
            }
            cache.insert(
                jwks_uri.to_owned(),
                CachedKeys {
                    jwks: jwks.clone(),
                    fetched_at: now,
                    expires_at,
                },
            );
        }
        Ok(jwks)
    }
}

impl ClientDirectory {
    /// Counts one fetch from `host` against [`FETCHES_PER_HOST_PER_MINUTE`].
    fn spend_fetch(&self, host: &str) -> Result<(), String> {
        let minute = self.clock.now().div_euclid(60);
        let mut fetches = self
            .fetches
            .lock()
            .map_err(|_| "the fetch budget is unavailable".to_owned())?;
        if fetches.len() >= JWKS_CACHE_MAX {
            fetches.retain(|_, (counted, _)| *counted == minute);
        }
        let (counted, spent) = fetches.entry(host.to_owned()).or_insert((minute, 0));
        if *counted != minute {
            (*counted, *spent) = (minute, 0);
        }
        if *spent >= FETCHES_PER_HOST_PER_MINUTE {
            return Err(format!(
                "more than {FETCHES_PER_HOST_PER_MINUTE} fetches from {host} this minute"
            ));
        }
        *spent += 1;
        Ok(())
    }
}

/// What the operator lets self-registered clients ask of Keyward itself.
fn self_registered_scopes(settings: &Settings) -> ScopeSet {
    ScopeSet::parse(&settings.self_registered_client_scopes).unwrap_or(ScopeSet::EMPTY)
}

/// A self-registered client as the operator's current limits leave it: never trusted, its
/// scopes and APIs within those allowed to self-registered clients.
/// `balance:spend` is the admin's to give (`may_spend`), whatever scopes the app registered
/// with.
fn spending(mut client: Client) -> Client {
    client.allowed_scopes = if client.may_spend {
        client.allowed_scopes.with(Scope::BalanceSpend)
    } else {
        client.allowed_scopes.without(Scope::BalanceSpend)
    };
    client
}

fn limited(client: Client, settings: &Settings) -> Client {
    let mut client = spending(client);
    if !client.kind.self_registered() {
        return client;
    }
    client.trusted = false;
    client.allowed_scopes = client
        .allowed_scopes
        .intersection(self_registered_scopes(settings));
    let allowed = &settings.self_registered_client_resources;
    client.allowed_resources = Some(match client.allowed_resources.take() {
        None => allowed.clone(),
        Some(own) => own.into_iter().filter(|r| allowed.contains(r)).collect(),
    });
    client
}
