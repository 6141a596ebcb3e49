//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2): validation in the order that
//! decides whether an error may be sent back to the app, then the login / consent / code decision.

use super::audience::{self, ResourceGrants, TargetError};
use super::directory::{ClientDirectory, LookupError};
use super::error::ErrorCode;
use super::metadata_document::DocumentError;
use super::resources::{ResolveError, resolve};
use super::scope::{Scope, ScopeSet};
use super::{CODE_PREFIX, Lifetimes, pkce, redirect_uri};
use crate::billing::limit::{BadSpendLimit, SpendLimit};
use crate::clock::{Clock, UnixTime};
use crate::model::{AuthCode, Client, Consent, GrantType, Resource, User};
use crate::secret::Secret;
use crate::store::{Store, StoreError};
use std::sync::Arc;

/// The request's parameters as they arrived; every one optional until validated.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct AuthorizeParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub response_mode: Option<String>,
    /// new-api's "one-click" flag. Honoured only where consent is not needed anyway.
    pub auto_authorize: Option<String>,
    /// Ours, on the way back from a forced login (see [`after_login`]): the session must have
    /// begun at or after this Unix time. It can only make the request stricter.
    pub login_after: Option<String>,
    /// RFC 8707: the APIs the app wants tokens for; the one parameter that may repeat.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<String>,
    /// Issue #19: the limit the app suggests for `balance:spend`, `<quota units>/<period>`;
    /// it only pre-fills the consent form.
    pub spend_limit: Option<String>,
}

impl AuthorizeParams {
    /// The same parameters with empty values treated as absent, as RFC 6749 §3.1 asks.
    pub fn normalized(&self) -> Self {
        let keep = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        Self {
            client_id: keep(&self.client_id),
            redirect_uri: keep(&self.redirect_uri),
            response_type: keep(&self.response_type),
            scope: keep(&self.scope),
            state: keep(&self.state),
            code_challenge: keep(&self.code_challenge),
            code_challenge_method: keep(&self.code_challenge_method),
            nonce: keep(&self.nonce),
            prompt: keep(&self.prompt),
            max_age: keep(&self.max_age),
            login_hint: keep(&self.login_hint),
            response_mode: keep(&self.response_mode),
            auto_authorize: keep(&self.auto_authorize),
            login_after: keep(&self.login_after),
            spend_limit: keep(&self.spend_limit),
            resource: self
                .resource
                .iter()
                .filter(|r| !r.is_empty())
                .cloned()
                .collect(),
        }
    }
}

/// Why a request is refused with a page: the redirect URI cannot be trusted yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizeError {
    #[error("无效的客户端 ID")]
    UnknownClient,
    /// The client_id is a metadata document URL that cannot be used.
    #[error("客户端元数据文档无法使用: {0}")]
    ClientDocument(DocumentError),
    #[error("缺少重定向 URI")]
    MissingRedirectUri,
    #[error("无效的重定向 URI")]
    UnregisteredRedirectUri,
}

/// A refusal. `Page` errors are shown to the user and never redirect, because the redirect URI
/// cannot be trusted; every other error goes back to the app (SPEC §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    Page(AuthorizeError),
    Redirect {
        redirect_uri: String,
        error: ErrorCode,
        description: &'static str,
        state: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A request that passed validation.
#[derive(Debug, Clone)]
pub struct ValidRequest {
    pub client: Client,
    pub redirect_uri: String,
    /// Keyward's own scopes asked for.
    pub scopes: ScopeSet,
    /// The APIs named in `resource` (RFC 8707), as registered.
    pub resources: Vec<Resource>,
    /// The scopes asked for on each of them.
    pub grant: ResourceGrants,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    /// The session must have begun at or after this time (`login_after`).
    pub login_after: Option<UnixTime>,
    /// The limit the app suggested (`spend_limit`), to pre-fill the consent form.
    pub suggested_limit: Option<SpendLimit>,
}

impl ValidRequest {
    /// Whether an earlier consent covers everything asked: each built-in scope, each API and
    /// each scope on it.
    pub fn covered_by(&self, consent: Option<&Consent>) -> bool {
        consent.is_some_and(|c| {
            self.scopes.is_subset_of(c.scopes)
                && c.resources.covers(&self.grant)
                && (!self.scopes.contains(Scope::BalanceSpend) || c.spend_limit.is_some())
        })
    }

    /// Whether the user must see the page even for a trusted app: only they set a limit.
    fn asks_to_spend(&self) -> bool {
        self.scopes.contains(Scope::BalanceSpend)
    }

    fn reject(&self, error: ErrorCode, description: &'static str) -> Rejection {
        Rejection::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description,
            state: self.state.clone(),
        }
    }
}

const MAX_PARAM: usize = 2048;

impl ValidRequest {
    fn with_scopes(&mut self, scopes: ScopeSet) -> Result<(), Rejection> {
        if !scopes.is_subset_of(self.client.allowed_scopes) {
            return Err(self.reject(ErrorCode::InvalidScope, "scope not allowed for this app"));
        }
        self.scopes = scopes;
        Ok(())
    }

    /// Resolves `resource` (RFC 8707 §2) and splits `scope` between Keyward and those APIs. A
    /// bad `resource` is `invalid_target`, sent back to the app like any error after the
    /// redirect URI is known.
    async fn with_resources(
        mut self,
        store: &dyn Store,
        params: &AuthorizeParams,
        issuer: &str,
    ) -> Result<Result<Self, Rejection>, StoreError> {
        let resources = match resolve(store, &self.client, &params.resource, issuer, false).await {
            Ok(found) => found,
            Err(ResolveError::Store(e)) => return Err(e),
            Err(ResolveError::Target(e)) => return Ok(Err(self.target_error(e))),
        };
        let text = params.scope.as_deref().unwrap_or("");
        let (scopes, grant) = match audience::split_scopes(text, &resources) {
            Ok(split) => split,
            Err(e) => return Ok(Err(self.target_error(e))),
        };
        if let Err(rejection) = self.with_scopes(scopes) {
            return Ok(Err(rejection));
        }
        self.resources = resources;
        self.grant = grant;
        Ok(Ok(self))
    }

    fn target_error(&self, e: TargetError) -> Rejection {
        match e {
            TargetError::InvalidTarget(why) => self.reject(ErrorCode::InvalidTarget, why),
            TargetError::InvalidScope(why) => self.reject(ErrorCode::InvalidScope, why),
        }
    }
}

/// Validates a request against its app. Only a known, approved app with an exactly registered
/// redirect URI earns a redirect; anything wrong before that is a page.
pub fn validate(
    params: &AuthorizeParams,
    client: Option<Client>,
) -> Result<ValidRequest, Rejection> {
    validate_normalized(&params.normalized(), client)
}

/// [`validate`] for parameters already [`AuthorizeParams::normalized`].
fn validate_normalized(
    params: &AuthorizeParams,
    client: Option<Client>,
) -> Result<ValidRequest, Rejection> {
    let Some(client) = client.filter(Client::is_active) else {
        return Err(Rejection::Page(AuthorizeError::UnknownClient));
    };
    let Some(redirect) = params.redirect_uri.as_deref().filter(|r| !r.is_empty()) else {
        return Err(Rejection::Page(AuthorizeError::MissingRedirectUri));
    };
    if !redirect_uri::is_registered(redirect, &client.redirect_uris) {
        return Err(Rejection::Page(AuthorizeError::UnregisteredRedirectUri));
    }
    let state = params.state.clone().filter(|s| !s.is_empty());
    let mut request = ValidRequest {
        client,
        redirect_uri: redirect.to_owned(),
        scopes: ScopeSet::EMPTY,
        resources: Vec::new(),
        grant: ResourceGrants::none(),
        state,
        code_challenge: None,
        nonce: params.nonce.clone().filter(|n| !n.is_empty()),
        prompt: Prompt::default(),
        max_age: None,
        login_after: None,
        suggested_limit: None,
    };
    let too_long = [
        &params.state,
        &params.nonce,
        &params.scope,
        &params.login_hint,
    ]
    .iter()
    .any(|p| p.as_ref().is_some_and(|v| v.len() > MAX_PARAM));
    if too_long {
        return Err(request.reject(ErrorCode::InvalidRequest, "a parameter is too long"));
    }
    if let Some(text) = &params.spend_limit {
        match SpendLimit::parse(text) {
            Ok(limit) => request.suggested_limit = Some(limit),
            Err(_) => {
                return Err(request.reject(ErrorCode::InvalidRequest, BadSpendLimit::SUGGESTION));
            }
        }
    }
    if params.response_type.as_deref() != Some("code") {
        return Err(request.reject(
            ErrorCode::UnsupportedResponseType,
            "only response_type=code is supported",
        ));
    }
    if params
        .response_mode
        .as_deref()
        .is_some_and(|m| m != "query")
    {
        return Err(request.reject(
            ErrorCode::InvalidRequest,
            "only response_mode=query is supported",
        ));
    }
    if !request.client.allows_grant(GrantType::AuthorizationCode) {
        return Err(request.reject(
            ErrorCode::UnauthorizedClient,
            "this app may not use the authorization code flow",
        ));
    }

    match (
        &params.code_challenge,
        params.code_challenge_method.as_deref(),
    ) {
        (None, None) => {}
        (Some(challenge), Some("S256")) if pkce::is_well_formed(challenge) => {
            request.code_challenge = Some(challenge.clone());
        }
        (Some(_), Some("S256")) => {
            return Err(request.reject(ErrorCode::InvalidRequest, "malformed code_challenge"));
        }
        (_, Some("plain")) => {
            return Err(request.reject(
                ErrorCode::InvalidRequest,
                "code_challenge_method=plain is not allowed; use S256",
            ));
        }
        _ => {
            return Err(request.reject(
                ErrorCode::InvalidRequest,
                "code_challenge and code_challenge_method=S256 go together",
            ));
        }
    }
    if request.client.public && request.code_challenge.is_none() {
        return Err(request.reject(
            ErrorCode::InvalidRequest,
            "PKCE (S256) is required for this app",
        ));
    }
    if request.state.is_none() && request.code_challenge.is_none() {
        return Err(request.reject(
            ErrorCode::InvalidRequest,
            "state is required unless PKCE is used",
        ));
    }

    // With `resource`, the scopes are split between Keyward and the APIs once those are
    // resolved ([`Authorizer::load`]).
    if params.resource.is_empty() {
        let scope_text = params.scope.as_deref().unwrap_or("").trim();
        let scopes = if scope_text.is_empty() {
            ScopeSet::of(&[Scope::Profile])
        } else {
            ScopeSet::parse(scope_text)
                .map_err(|_| request.reject(ErrorCode::InvalidScope, "unknown scope"))?
        };
        request.with_scopes(scopes)?;
    }

    for value in params
        .prompt
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .filter(|v| !v.is_empty())
    {
        match value {
            "none" => request.prompt.none = true,
            "login" => request.prompt.login = true,
            "consent" => request.prompt.consent = true,
            "select_account" => {}
            _ => return Err(request.reject(ErrorCode::InvalidRequest, "unknown prompt value")),
        }
    }
    if request.prompt.none && (request.prompt.login || request.prompt.consent) {
        return Err(request.reject(ErrorCode::InvalidRequest, "prompt=none cannot be combined"));
    }
    if let Some(max_age) = params.max_age.as_deref().filter(|m| !m.is_empty()) {
        let parsed = max_age.parse::<i64>().ok().filter(|m| *m >= 0);
        request.max_age = Some(parsed.ok_or_else(|| {
            request.reject(
                ErrorCode::InvalidRequest,
                "max_age must be a non-negative integer",
            )
        })?);
    }
    if let Some(after) = params.login_after.as_deref() {
        let parsed = after.parse::<UnixTime>().ok().filter(|t| *t >= 0);
        request.login_after =
            Some(parsed.ok_or_else(|| {
                request.reject(ErrorCode::InvalidRequest, "malformed login_after")
            })?);
    }
    Ok(request)
}

/// How far in the future a `login_after` may lie (clock skew between nodes) before it is bad
/// input rather than a login that cannot have happened yet.
const LOGIN_AFTER_SKEW: i64 = 300;

/// The request to come back with after a forced login (`prompt=login`, an expired `max_age`, no
/// session): both are replaced by `login_after=now`, which the new login satisfies and an old
/// session cannot, so the user logs in once and is not sent round again.
pub fn after_login(params: &AuthorizeParams, now: UnixTime) -> AuthorizeParams {
    let mut again = params.clone();
    again.prompt = params
        .prompt
        .as_deref()
        .map(|p| {
            p.split(' ')
                .filter(|v| !v.is_empty() && *v != "login")
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|p| !p.is_empty());
    again.max_age = None;
    again.login_after = Some(now.to_string());
    again
}

/// What to do with a valid request for the current browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send the user to log in, then back.
    Login,
    /// Ask the user.
    Consent,
    /// Issue a code straight away.
    Issue,
    Reject(Rejection),
}

/// Decides, given the session's login time (if logged in) and the user's earlier consent.
/// A login is asked for with no session, with `prompt=login`, when the session is older than
/// `max_age` or began before `login_after`. Consent is skipped when it was given before for
/// every requested scope or the app is trusted (whether or not `auto_authorize` was asked for),
/// unless `prompt=consent` (SPEC §3.4).
pub fn decide(
    request: &ValidRequest,
    auth_time: Option<UnixTime>,
    consent: Option<&Consent>,
    now: UnixTime,
) -> Decision {
    if request
        .login_after
        .is_some_and(|after| after > now + LOGIN_AFTER_SKEW)
    {
        return Decision::Reject(
            request.reject(ErrorCode::InvalidRequest, "malformed login_after"),
        );
    }
    let fresh = auth_time.is_some_and(|t| {
        !request.prompt.login
            && request.max_age.is_none_or(|max| now - t <= max)
            && request.login_after.is_none_or(|after| t >= after)
    });
    if !fresh {
        return if request.prompt.none {
            Decision::Reject(request.reject(ErrorCode::LoginRequired, "the user is not logged in"))
        } else {
            Decision::Login
        };
    }
    let remembered = request.covered_by(consent);
    let trusted = request.client.is_trusted() && !request.asks_to_spend();
    if request.prompt.consent || !(remembered || trusted) {
        return if request.prompt.none {
            Decision::Reject(
                request.reject(ErrorCode::ConsentRequired, "the user has not consented"),
            )
        } else {
            Decision::Consent
        };
    }
    Decision::Issue
}

/// Loads authorization requests and issues codes for approved ones.
pub struct Authorizer {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    lifetimes: Lifetimes,
    issuer: String,
    clients: Arc<ClientDirectory>,
}

impl Authorizer {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        lifetimes: Lifetimes,
        issuer: String,
        clients: Arc<ClientDirectory>,
    ) -> Self {
        Self {
            store,
            clock,
            lifetimes,
            issuer,
            clients,
        }
    }

    /// The request's app and APIs, validated ([`validate`], then RFC 8707's `resource`).
    pub async fn load(
        &self,
        params: &AuthorizeParams,
    ) -> Result<Result<ValidRequest, Rejection>, LookupError> {
        let params = params.normalized();
        let client_id = params.client_id.as_deref().unwrap_or_default();
        let client = match self.clients.find(client_id).await {
            Ok(client) => client,
            Err(LookupError::Document(e)) => {
                return Ok(Err(Rejection::Page(AuthorizeError::ClientDocument(e))));
            }
            Err(e) => return Err(e),
        };
        let request = match validate_normalized(&params, client) {
            Ok(request) => request,
            Err(rejection) => return Ok(Err(rejection)),
        };
        if params.resource.is_empty() {
            return Ok(Ok(request));
        }
        Ok(request
            .with_resources(self.store.as_ref(), &params, &self.issuer)
            .await?)
    }

    /// Stores a code bound to the request and returns the URL to send the browser to.
    pub async fn issue(
        &self,
        request: &ValidRequest,
        user: &User,
        auth_time: UnixTime,
    ) -> Result<String, StoreError> {
        let code = Secret::generate(CODE_PREFIX);
        let now = self.clock.now();
        self.store
            .create_code(AuthCode {
                hash: code.hash(),
                client: request.client.id,
                user_id: user.id,
                redirect_uri: request.redirect_uri.clone(),
                scopes: request.scopes,
                resources: request.grant.clone(),
                code_challenge: request.code_challenge.clone(),
                nonce: request.nonce.clone(),
                auth_time,
                created_at: now,
                expires_at: now + self.lifetimes.code_secs,
                used_at: None,
            })
            .await?;
        self.clients.touch(&request.client).await?;
        let mut pairs = vec![("code", code.expose().to_owned())];
        if let Some(state) = &request.state {
            pairs.push(("state", state.clone()));
        }
        pairs.push(("iss", self.issuer.clone()));
        Ok(append_query(&request.redirect_uri, &pairs))
    }
}

/// The redirect for a `Rejection::Redirect`: `error`, `error_description`, `state` and `iss`
/// (RFC 9207) appended to the app's URI.
pub fn error_redirect(
    redirect_uri: &str,
    error: ErrorCode,
    description: &str,
    state: Option<&str>,
    issuer: &str,
) -> String {
    let mut pairs = vec![
        ("error", error.as_str().to_owned()),
        ("error_description", description.to_owned()),
    ];
    if let Some(state) = state {
        pairs.push(("state", state.to_owned()));
    }
    pairs.push(("iss", issuer.to_owned()));
    append_query(redirect_uri, &pairs)
}

/// Appends form-encoded pairs to a URI that may already have a query. Values are encoded byte
/// for byte, so `state` comes back to the app exactly as it was sent.
pub fn append_query(uri: &str, pairs: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(uri.len() + 64);
    out.push_str(uri);
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (key, value) in pairs {
        out.push(sep);
        out.push_str(key);
        out.push('=');
        percent_encode_into(value, &mut out);
        sep = '&';
    }
    out
}

fn percent_encode_into(value: &str, out: &mut String) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte & 15)]));
        }
    }
}

#[cfg(test)]
mod tests;
