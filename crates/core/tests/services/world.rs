//! One set of core services on a throwaway store.

use keyward_core::accounts::PasswordHasher;
use keyward_core::accounts::email::{Mail, MailContext, MailSender};
use keyward_core::accounts::two_factor::TwoFactor;
use keyward_core::accounts::{Accounts, LoginPolicy};
pub use keyward_core::clock::Clock as _;
use keyward_core::clock::{Clock, MockClock};
use keyward_core::limits::RateLimiter;
use keyward_core::model::{Client, Role, User};
use keyward_core::oauth::Lifetimes;
use keyward_core::oauth::apps::{AppForm, AppPolicy, Apps};
use keyward_core::oauth::authorize::{self, AuthorizeParams, Authorizer};
use keyward_core::oauth::device::DeviceService;
use keyward_core::oauth::directory::{ClientDirectory, DocumentFetcher, FetchedDocument};
use keyward_core::oauth::successor::SuccessorKey;
use keyward_core::oauth::tokens::{
    ClientCredentials, Grant, TokenRequest, TokenService, TokenServiceParts,
};
use keyward_core::oidc::keys::KeyPolicy;
use keyward_core::oidc::{KeyRing, MasterKey};
use keyward_core::secret::Secret;
use keyward_core::settings::SettingsCache;
use keyward_core::store::Store;
use keyward_store_sqlite::SqliteStore;
use std::sync::Arc;
use std::time::Duration;

pub const ISSUER: &str = "https://id.example.test";
pub const REDIRECT: &str = "https://app.example.test/callback";
pub const IP: &str = "192.0.2.1";
/// A fixed start, so that expiry is tested by moving the clock, not by sleeping.
pub const START: i64 = 1_800_000_000;

pub struct World {
    _dir: tempfile::TempDir,
    pub store: Arc<dyn Store>,
    pub clock: Arc<MockClock>,
    pub accounts: Accounts,
    pub apps: Apps,
    pub tokens: Arc<TokenService>,
    pub device: DeviceService,
    pub codes: Authorizer,
    /// What the clients' URLs serve, instead of the network.
    pub documents: Arc<FakeDocuments>,
    pub settings: Arc<SettingsCache>,
    pub keys: Arc<KeyRing>,
    pub two_factor: TwoFactor,
    /// Every mail the services handed over, in order.
    pub mailer: FakeMailer,
    developers: std::sync::atomic::AtomicUsize,
}

/// Keeps the mails instead of sending them.
#[derive(Default)]
pub struct FakeMailer(std::sync::Mutex<Vec<Mail>>);

impl MailSender for FakeMailer {
    fn send(&self, mail: Mail) {
        self.0.lock().expect("mailer").push(mail);
    }
}

impl FakeMailer {
    pub fn sent(&self) -> Vec<Mail> {
        self.0.lock().expect("mailer").clone()
    }
}

impl World {
    pub async fn new() -> Self {
        Self::with_keys(true).await
    }

    /// `signing_keys: false` leaves the key ring empty, so every signature fails.
    pub async fn with_keys(signing_keys: bool) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("keyward.db").display());
        let sqlite = SqliteStore::connect(&url).await.expect("open store");
        sqlite.migrate().await.expect("migrate");
        let store: Arc<dyn Store> = Arc::new(sqlite);
        let clock = Arc::new(MockClock::new(START));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let master = MasterKey::generate();
        let keys = Arc::new(KeyRing::new(
            store.clone(),
            dyn_clock.clone(),
            master.clone(),
            KeyPolicy {
                id_token_ttl_secs: 3600,
                cache: Duration::ZERO,
            },
        ));
        if signing_keys {
            keys.ensure_keys().await.expect("signing keys");
        }
        let settings = Arc::new(SettingsCache::new(store.clone(), Duration::ZERO));
        let limits = Arc::new(RateLimiter::new(store.clone(), dyn_clock.clone()));
        let lifetimes = Lifetimes::default();
        let policy = LoginPolicy {
            window_secs: 900,
            max_failures_per_account: 5,
            max_failures_per_ip: 50,
            session_ttl_secs: 86_400,
        };
        let hasher = PasswordHasher::new().expect("hasher");
        let documents = Arc::new(FakeDocuments::default());
        let clients = Arc::new(ClientDirectory::new(
            store.clone(),
            settings.clone(),
            dyn_clock.clone(),
            documents.clone(),
        ));
        let tokens = Arc::new(TokenService::new(TokenServiceParts {
            store: store.clone(),
            clock: dyn_clock.clone(),
            lifetimes,
            successor_key: SuccessorKey::new(&master),
            keys: keys.clone(),
            issuer: ISSUER.into(),
            limits: limits.clone(),
            settings: settings.clone(),
            audiences: keyward_core::oauth::client_auth::AssertionAudiences {
                issuer: ISSUER.into(),
                ..Default::default()
            },
            clients: clients.clone(),
        }));
        Self {
            _dir: dir,
            accounts: Accounts::new(store.clone(), dyn_clock.clone(), hasher, policy)
                .with_device_key(keyward_core::accounts::devices::DeviceKey::new(&master)),
            apps: Apps::new(store.clone(), dyn_clock.clone(), settings.clone()),
            device: DeviceService::new(
                tokens.clone(),
                store.clone(),
                dyn_clock.clone(),
                limits,
                ISSUER,
                keyward_core::oauth::device::DEVICE_CODE_TTL_SECS,
            ),
            tokens,
            codes: Authorizer::new(
                store.clone(),
                dyn_clock.clone(),
                lifetimes,
                ISSUER.into(),
                clients,
            ),
            documents,
            two_factor: TwoFactor::new(store.clone(), dyn_clock, master, settings.clone()),
            settings,
            keys,
            mailer: FakeMailer::default(),
            developers: Default::default(),
            store,
            clock,
        }
    }

    /// The mail context the web layer would pass (SMTP set up or not as the settings say).
    pub fn mail(&self) -> MailContext<'_> {
        MailContext {
            settings: &self.settings,
            mailer: &self.mailer,
            public_url: ISSUER,
        }
    }

    pub async fn user(&self, name: &str) -> User {
        self.accounts
            .create_user(name, "correct horse battery", Role::User)
            .await
            .expect("user")
    }

    /// An approved confidential app of a fresh developer, with its secret.
    pub async fn app(&self, scopes: &str, grant_types: &[&str]) -> (Client, Secret) {
        let n = self
            .developers
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let owner = self.user(&format!("developer{n}")).await;
        let form = AppForm {
            name: "Test app".into(),
            redirect_uris: vec![REDIRECT.into()],
            scopes: Some(scopes.into()),
            grant_types: Some(grant_types.iter().map(|g| (*g).to_owned()).collect()),
            ..AppForm::default()
        };
        let policy = AppPolicy {
            review_required: false,
            allow_http_redirect_uris: false,
        };
        let (client, secret) = self
            .apps
            .register(&owner, form, policy, IP)
            .await
            .expect("app");
        (client, secret.expect("a confidential app's secret"))
    }

    /// A code for `user` as the authorize endpoint would issue it after consent.
    pub async fn code(
        &self,
        client: &Client,
        user: &User,
        scope: &str,
        nonce: Option<&str>,
    ) -> String {
        let params = AuthorizeParams {
            client_id: Some(client.client_id.clone()),
            redirect_uri: Some(REDIRECT.into()),
            response_type: Some("code".into()),
            scope: Some(scope.into()),
            state: Some("xyz".into()),
            nonce: nonce.map(str::to_owned),
            ..AuthorizeParams::default()
        };
        let request = authorize::validate(&params, Some(client.clone())).expect("valid request");
        let location = self
            .codes
            .issue(&request, user, self.clock.now())
            .await
            .expect("code");
        let url = url::Url::parse(&location).expect("redirect");
        url.query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("code in the redirect")
    }
}

pub fn credentials(client: &Client, secret: &Secret) -> ClientCredentials {
    ClientCredentials {
        client_id: client.client_id.clone(),
        auth: keyward_core::oauth::tokens::ClientAuth::from_secret(Some(Secret::from_string(
            secret.expose().to_owned(),
        ))),
    }
}

pub fn code_grant(client: &Client, secret: &Secret, code: &str) -> TokenRequest {
    TokenRequest {
        client: credentials(client, secret),
        grant: Grant::AuthorizationCode {
            code: code.into(),
            redirect_uri: Some(REDIRECT.into()),
            code_verifier: None,
            resources: Vec::new(),
        },
    }
}

pub fn refresh_grant(client: &Client, secret: &Secret, refresh_token: &str) -> TokenRequest {
    TokenRequest {
        client: credentials(client, secret),
        grant: Grant::RefreshToken {
            refresh_token: refresh_token.into(),
            scope: None,
            resources: Vec::new(),
        },
    }
}

/// Serves JSON documents from memory by URL, counting fetches; a URL without a document fails
/// as an unreachable one would.
#[derive(Default)]
pub struct FakeDocuments {
    served: std::sync::Mutex<std::collections::HashMap<String, (serde_json::Value, Duration)>>,
    fetches: std::sync::atomic::AtomicUsize,
    /// The `allow_loopback` of the last fetch.
    pub last_allow_loopback: std::sync::atomic::AtomicBool,
}

impl FakeDocuments {
    pub fn serve(&self, url: &str, document: serde_json::Value, cache_for: Duration) {
        if let Ok(mut served) = self.served.lock() {
            served.insert(url.into(), (document, cache_for));
        }
    }

    pub fn remove(&self, url: &str) {
        if let Ok(mut served) = self.served.lock() {
            served.remove(url);
        }
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl DocumentFetcher for FakeDocuments {
    async fn fetch_json(&self, url: &str, allow_loopback: bool) -> Result<FetchedDocument, String> {
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.last_allow_loopback
            .store(allow_loopback, std::sync::atomic::Ordering::SeqCst);
        let served = self.served.lock().map_err(|_| "poisoned".to_owned())?;
        served
            .get(url)
            .map(|(value, cache_for)| FetchedDocument {
                value: value.clone(),
                cache_for: *cache_for,
            })
            .ok_or_else(|| format!("cannot connect to {url}"))
    }
}
