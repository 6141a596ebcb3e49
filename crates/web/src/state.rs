use ipnet::IpNet;
use keyward_core::accounts::Accounts;
use keyward_core::billing::topup::TopUps;
use keyward_core::oauth::apps::Apps;
use keyward_core::oauth::authorize::Authorizer;
use keyward_core::oauth::tokens::TokenService;
use keyward_core::oidc::KeyRing;
use keyward_core::settings::SettingsCache;
use keyward_core::store::Store;
use keyward_core::vault::Vault;
use std::sync::Arc;
use std::time::Duration;

/// What the HTTP layer needs to know about its deployment.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The public base URL (issuer, links), without a trailing slash. An `https` URL turns on
    /// `Secure` cookies.
    pub public_url: String,
    /// Peers whose `X-Forwarded-For` is believed (single addresses are one-address ranges);
    /// everyone else's address is taken as is.
    pub trusted_proxies: Vec<IpNet>,
    pub body_limit: usize,
    pub request_timeout: Duration,
}

impl WebConfig {
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// `__Host-` pins the cookie to this host and path `/`, but browsers only accept it with
    /// `Secure`, so plain-http deployments (local development) use a plain name.
    pub fn session_cookie_name(&self) -> &'static str {
        if self.https() {
            "__Host-keyward_session"
        } else {
            "keyward_session"
        }
    }

    /// The login forms' double-submit cookie, `__Host-` on https like the session's: a
    /// sibling subdomain cannot plant one.
    pub fn csrf_cookie_name(&self) -> &'static str {
        if self.https() {
            "__Host-keyward_login_csrf"
        } else {
            "keyward_login_csrf"
        }
    }

    /// The upstream login flow's cookie (binds the provider's callback to this browser).
    pub fn flow_cookie_name(&self) -> &'static str {
        if self.https() {
            "__Host-keyward_flow"
        } else {
            "keyward_flow"
        }
    }

    /// The device token of a browser that signed in (its own password-guessing budget).
    pub fn device_cookie_name(&self) -> &'static str {
        if self.https() {
            "__Host-keyward_device"
        } else {
            "keyward_device"
        }
    }

    /// Whether `peer` is one of the trusted proxies.
    pub fn trusts(&self, peer: std::net::IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .any(|range| range.contains(&peer))
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:3000".into(),
            trusted_proxies: Vec::new(),
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// What every handler reaches. Cloned for every request (axum hands each handler its own
/// copy), so it is one `Arc` rather than a struct of them.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

pub struct Services {
    pub accounts: Arc<Accounts>,
    pub apps: Arc<Apps>,
    pub tokens: Arc<TokenService>,
    pub authorizer: Arc<Authorizer>,
    /// The resource servers (RFC 8707) admins register.
    pub resources: Arc<keyward_core::oauth::resources::Resources>,
    /// Dynamic client registration and management (RFC 7591, RFC 7592).
    pub registrations: Arc<keyward_core::oauth::registration::Registrations>,
    /// The device authorization grant's endpoint and `/device` page (RFC 8628).
    pub device: Arc<keyward_core::oauth::device::DeviceService>,
    pub keys: Arc<KeyRing>,
    pub vault: Arc<Vault>,
    pub two_factor: Arc<keyward_core::accounts::two_factor::TwoFactor>,
    /// Passkeys (WebAuthn), for the relying party that `public_url` names.
    pub passkeys: Arc<keyward_core::accounts::passkeys::Passkeys>,
    /// Rate limits counted in the store, shared by every node on the same database.
    pub limits: Arc<keyward_core::limits::RateLimiter>,
    pub topups: Arc<TopUps>,
    /// Apps spending users' balances (issue #19), and the statements.
    pub spending: Arc<keyward_core::billing::charges::Spending>,
    /// Outbound HTTP to upstream providers.
    pub http: keyward_upstream::Http,
    /// Finds clients, including those known by a metadata document, whose fetches (and those
    /// of a client's `jwks_uri`) go through the outbound guard.
    pub clients: Arc<keyward_core::oauth::directory::ClientDirectory>,
    pub store: Arc<dyn Store>,
    pub settings: Arc<SettingsCache>,
    pub config: Arc<WebConfig>,
}
