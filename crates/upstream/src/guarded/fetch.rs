//! Fetches a JSON document from a URL an untrusted party gave us (a client metadata document, a
//! client's `jwks_uri`): https only, public addresses only (checked on the address connected to),
//! no redirects, a total deadline, a body limit, JSON only.

use super::address::address_allowed;
use super::resolver::{BlockedResolution, GuardedResolver, NoAddress, SystemResolver};
use crate::UpstreamError;
use crate::roots::ExtraRoots;
use reqwest::header::{self, HeaderMap};
use reqwest::{StatusCode, Url};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The shortest and longest time a fetched document may be cached, whatever its headers say
/// (the shortest also keeps a `no-store` document from making us fetch it on every request).
pub const MIN_CACHE: Duration = Duration::from_secs(60);
pub const MAX_CACHE: Duration = Duration::from_secs(24 * 3600);
/// The caching lifetime when the response says nothing.
pub const DEFAULT_CACHE: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy)]
pub struct FetchLimits {
    /// Deadline for the whole fetch: resolution, connection, TLS, headers and body.
    pub timeout: Duration,
    pub max_body_bytes: usize,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            max_body_bytes: 64 * 1024,
        }
    }
}

/// A fetched document and how long the caller may cache it.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedJson {
    pub value: serde_json::Value,
    pub cache_for: Duration,
}

/// Why a document was not fetched. Safe to show to an administrator; to an end user prefer a
/// generic message (the text may name addresses).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("not a valid URL")]
    InvalidUrl,
    #[error("only https URLs are fetched")]
    Scheme,
    #[error("the URL must not contain {0}")]
    UrlPart(&'static str),
    #[error("{0} is not an address Keyward connects to for this")]
    BlockedAddress(IpAddr),
    #[error("cannot resolve the host")]
    Resolve,
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("the server answered with a redirect ({0}); redirects are not followed")]
    Redirect(u16),
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    #[error("the document is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the content type {0:?} is not JSON")]
    NotJson(String),
    #[error("the server answered with status {0}")]
    Status(u16),
    #[error("the document is not valid JSON: {0}")]
    BadJson(String),
}

/// The guarded fetcher. Cheap to clone; build one at start-up.
#[derive(Clone)]
pub struct GuardedFetcher {
    strict: reqwest::Client,
    loopback: reqwest::Client,
    limits: FetchLimits,
}

impl GuardedFetcher {
    /// Resolves names with the operating system's resolver.
    pub fn new(roots: &ExtraRoots, limits: FetchLimits) -> Result<Self, UpstreamError> {
        Self::with_resolver(roots, limits, Arc::new(SystemResolver))
    }

    /// With another resolver underneath the guard (tests resolve names to chosen addresses).
    pub fn with_resolver(
        roots: &ExtraRoots,
        limits: FetchLimits,
        resolver: Arc<dyn reqwest::dns::Resolve>,
    ) -> Result<Self, UpstreamError> {
        let client = |allow_loopback: bool| {
            roots
                .apply(reqwest::Client::builder())
                .dns_resolver(GuardedResolver::new(resolver.clone(), allow_loopback))
                // A proxy would resolve the name itself, out of the guard's sight.
                .no_proxy()
                .https_only(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(limits.timeout)
                .user_agent(concat!("keyward/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| UpstreamError::Config(e.to_string()))
        };
        Ok(Self {
            strict: client(false)?,
            loopback: client(true)?,
            limits,
        })
    }

    /// Fetches `url` and parses it as JSON. `allow_loopback` lets loopback addresses through
    /// (development and tests only; every other refused range stays refused).
    pub async fn fetch_json(
        &self,
        url: &str,
        allow_loopback: bool,
    ) -> Result<FetchedJson, FetchError> {
        let url = check_url(url, allow_loopback)?;
        let client = if allow_loopback {
            &self.loopback
        } else {
            &self.strict
        };
        let deadline = self.limits.timeout;
        tokio::time::timeout(deadline, self.fetch(client, url, allow_loopback))
            .await
            .map_err(|_| FetchError::Timeout(deadline))?
    }

    async fn fetch(
        &self,
        client: &reqwest::Client,
        url: Url,
        allow_loopback: bool,
    ) -> Result<FetchedJson, FetchError> {
        let mut response = client
            .get(url)
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.send_error(&e))?;
        // The resolver already kept refused addresses out; this checks the socket itself.
        if let Some(peer) = response.remote_addr()
            && !address_allowed(peer.ip(), allow_loopback)
        {
            return Err(FetchError::BlockedAddress(peer.ip()));
        }
        let status = response.status();
        if status.is_redirection() {
            return Err(FetchError::Redirect(status.as_u16()));
        }
        if status != StatusCode::OK {
            return Err(FetchError::Status(status.as_u16()));
        }
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        if !is_json_content_type(&content_type) {
            return Err(FetchError::NotJson(content_type));
        }
        let cache_for = cache_lifetime(response.headers());
        let max = self.limits.max_body_bytes;
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(FetchError::TooLarge(max));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.send_error(&e))? {
            if body.len() + chunk.len() > max {
                return Err(FetchError::TooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        let value =
            serde_json::from_slice(&body).map_err(|e| FetchError::BadJson(e.to_string()))?;
        Ok(FetchedJson { value, cache_for })
    }

    fn send_error(&self, e: &reqwest::Error) -> FetchError {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        let mut chain = Vec::new();
        while let Some(err) = source {
            if let Some(blocked) = err.downcast_ref::<BlockedResolution>() {
                return FetchError::BlockedAddress(blocked.ip);
            }
            if err.downcast_ref::<NoAddress>().is_some() {
                return FetchError::Resolve;
            }
            chain.push(err.to_string());
            source = err.source();
        }
        if e.is_timeout() {
            return FetchError::Timeout(self.limits.timeout);
        }
        FetchError::Connect(chain.join(": "))
    }
}

/// Parses and checks a document URL before anything is resolved or connected: `https`, a host,
/// no user name or password, no fragment, and an IP-literal host must pass the address guard
/// (the connector does not resolve literals, so the resolver never sees them).
pub fn check_url(url: &str, allow_loopback: bool) -> Result<Url, FetchError> {
    let parsed = Url::parse(url).map_err(|_| FetchError::InvalidUrl)?;
    if parsed.scheme() != "https" {
        return Err(FetchError::Scheme);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(FetchError::UrlPart("a user name or password"));
    }
    if parsed.fragment().is_some() {
        return Err(FetchError::UrlPart("a fragment"));
    }
    let ip = match parsed.host() {
        None => return Err(FetchError::InvalidUrl),
        Some(url::Host::Domain(_)) => None,
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
    };
    if let Some(ip) = ip
        && !address_allowed(ip, allow_loopback)
    {
        return Err(FetchError::BlockedAddress(ip));
    }
    Ok(parsed)
}

/// `application/json` or any `application/…+json`, parameters ignored.
pub fn is_json_content_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.len() > "+json".len() && sub.ends_with("+json"))
}

/// How long the response may be cached: `no-store`/`no-cache` give [`MIN_CACHE`], `max-age`
/// its value, nothing [`DEFAULT_CACHE`]; always within [`MIN_CACHE`]..=[`MAX_CACHE`].
pub fn cache_lifetime(headers: &HeaderMap) -> Duration {
    let mut max_age = None;
    for value in headers.get_all(header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',') {
            let directive = directive.trim().to_ascii_lowercase();
            if directive == "no-store" || directive == "no-cache" {
                return MIN_CACHE;
            }
            if let Some(secs) = directive.strip_prefix("max-age=")
                && let Ok(secs) = secs.trim_matches('"').parse::<u64>()
            {
                max_age = Some(Duration::from_secs(secs));
            }
        }
    }
    max_age.unwrap_or(DEFAULT_CACHE).clamp(MIN_CACHE, MAX_CACHE)
}

#[cfg(test)]
#[path = "fetch_tests.rs"]
mod tests;
