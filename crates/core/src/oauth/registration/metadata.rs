//! What a client says about itself at `/oauth2/register` (RFC 7591 §2), read from untrusted JSON
//! and checked with the console's rules (redirect URIs, JWK Sets) plus the stricter ones a
//! client nobody reviewed gets: no `client_credentials`, scopes within the operator's limit.

use super::RegistrationError;
use crate::model::{AuthMethod, ClientMetadata, GrantType};
use crate::oauth::apps::REDIRECT_URIS_MAX;
use crate::oauth::client_auth::validate_jwks;
use crate::oauth::redirect_uri::{self, display_host};
use crate::oauth::scope::{Scope, ScopeSet};
use serde_json::{Map, Value};

/// The largest registration request read; a client's metadata is a few hundred bytes.
pub const BODY_MAX: usize = 16 * 1024;
/// Longer than the console's 50: self-chosen names such as "Claude Code (my-laptop)".
pub const NAME_MAX: usize = 100;

/// RFC 7591 §2 / OIDC Registration §2 `application_type`: which redirect URIs are acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationType {
    /// https redirect URIs only.
    Web,
    /// Loopback http with any port (RFC 8252 §7.3) and, for public clients, private-use schemes
    /// (RFC 8252 §7.1), as well as https.
    Native,
}

impl ApplicationType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Native => "native",
        }
    }

    /// The type a stored client was registered with. The store keeps no column for it, so it is
    /// read back from the redirect URIs: only a native client can hold a loopback or
    /// private-use one. A native client with https URIs alone reads back as `web`, whose rules
    /// it meets.
    pub fn of_uris(uris: &[String]) -> Self {
        if uris
            .iter()
            .any(|u| !u.to_ascii_lowercase().starts_with("https://"))
        {
            Self::Native
        } else {
            Self::Web
        }
    }
}

/// What a self-registered client may ask for in `scope`: Keyward's own scopes up to `builtin`
/// (the operator's cap), and the scopes of the APIs listed for self-registered clients. An MCP
/// client typically asks for its API's scope (`mcp:tools`) here; that is accepted but not stored,
/// as an API's scopes are granted per request with the user's consent, within the client's APIs.
#[derive(Debug, Clone, Default)]
pub struct ScopeLimits {
    pub builtin: ScopeSet,
    pub api_scopes: Vec<String>,
}

/// A checked registration: what is stored, and what is echoed besides.
#[derive(Debug, Clone)]
pub struct Registered {
    pub metadata: ClientMetadata,
    pub application_type: ApplicationType,
    /// RFC 7592 §2.2: an update names the client it replaces.
    pub client_id: Option<String>,
    /// RFC 7592 §2.2: an update may repeat the secret; it must then be the current one.
    pub client_secret: Option<String>,
}

/// The grants a self-registered client may use: each needs a user who approves it on a page
/// showing the client's name. `client_credentials` has no such user, so it is refused.
const GRANTS: [GrantType; 3] = [
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::DeviceCode,
];

/// Reads and checks a registration request's body. `allowed_scopes` is the operator's limit for
/// self-registered clients: asked-for scopes outside it are dropped (RFC 7591 §3.2.1 lets the
/// server replace requested values), unknown ones refused.
pub fn parse(body: &[u8], limits: &ScopeLimits) -> Result<Registered, RegistrationError> {
    if body.len() > BODY_MAX {
        return Err(meta("the request body is larger than 16 KiB"));
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|_| meta("the body is not a JSON object"))?;
    let Value::Object(fields) = value else {
        return Err(meta("the body is not a JSON object"));
    };
    check(&Fields(&fields), limits)
}

fn check(f: &Fields<'_>, limits: &ScopeLimits) -> Result<Registered, RegistrationError> {
    let application_type = match f.string("application_type")? {
        Some("web") => ApplicationType::Web,
        Some("native") => ApplicationType::Native,
        // RFC 7591 leaves it out; OIDC Registration defaults to web. Typical MCP and CLI clients
        // omit it and register a loopback redirect, which only a native app can receive, so the
        // type is read from the redirect URIs. An explicit `web` stays strict.
        None => f
            .array("redirect_uris")?
            .map(|uris| {
                let uris: Vec<String> = uris
                    .iter()
                    .filter_map(|u| u.as_str().map(str::to_owned))
                    .collect();
                ApplicationType::of_uris(&uris)
            })
            .unwrap_or(ApplicationType::Web),
        Some(_) => return Err(meta("application_type must be web or native")),
    };
    let auth_method = match f.string("token_endpoint_auth_method")? {
        // RFC 7591 §2: the default is client_secret_basic.
        None => AuthMethod::ClientSecretBasic,
        Some(name) => {
            AuthMethod::parse(name).ok_or_else(|| meta("unsupported token_endpoint_auth_method"))?
        }
    };
    let public = auth_method == AuthMethod::None;
    let grant_types = grant_types(f)?;
    response_types(f, &grant_types)?;
    let redirect_uris = redirect_uris(f, application_type, public)?;
    if redirect_uris.is_empty() && grant_types.contains(&GrantType::AuthorizationCode) {
        return Err(RegistrationError::InvalidRedirectUri(
            "redirect_uris is required for the authorization_code grant".into(),
        ));
    }
    let (jwks, jwks_uri) = keys(f, auth_method)?;
    let name = match f.string("client_name")? {
        Some(name) => check_name(name)?,
        // RFC 7591 §2 makes the name optional; users still need something to recognise.
        None => redirect_uris
            .first()
            .and_then(|u| display_host(u))
            .unwrap_or_else(|| "Unnamed client".to_owned()),
    };
    let allowed_scopes = scopes(f, limits)?;
    Ok(Registered {
        metadata: ClientMetadata {
            name,
            redirect_uris,
            grant_types,
            allowed_scopes,
            public,
            auth_method,
            jwks,
            jwks_uri,
            metadata_expires_at: None,
        },
        application_type,
        client_id: f.string("client_id")?.map(str::to_owned),
        client_secret: f.string("client_secret")?.map(str::to_owned),
    })
}

fn grant_types(f: &Fields<'_>) -> Result<Vec<GrantType>, RegistrationError> {
    let Some(names) = f.strings("grant_types", GRANTS.len() * 4)? else {
        // RFC 7591 §2: the default is authorization_code.
        return Ok(vec![GrantType::AuthorizationCode]);
    };
    let mut grants = Vec::new();
    for name in names {
        let grant = GrantType::parse(name)
            .filter(|g| GRANTS.contains(g))
            .ok_or_else(|| {
                meta("grant_types may hold authorization_code, refresh_token and device_code only")
            })?;
        if !grants.contains(&grant) {
            grants.push(grant);
        }
    }
    if !grants
        .iter()
        .any(|g| matches!(g, GrantType::AuthorizationCode | GrantType::DeviceCode))
    {
        return Err(meta(
            "grant_types needs authorization_code or urn:ietf:params:oauth:grant-type:device_code",
        ));
    }
    Ok(grants)
}

/// RFC 7591 §2.1: `code` goes with the authorization_code grant, both ways; Keyward implements no
/// other response type.
fn response_types(f: &Fields<'_>, grants: &[GrantType]) -> Result<(), RegistrationError> {
    let code = match f.strings("response_types", 4)? {
        None => true,
        Some(types) => {
            if types.iter().any(|t| *t != "code") {
                return Err(meta("response_types may hold code only"));
            }
            !types.is_empty()
        }
    };
    if code != grants.contains(&GrantType::AuthorizationCode) {
        return Err(meta(
            "response_types code and grant_types authorization_code go together",
        ));
    }
    Ok(())
}

fn redirect_uris(
    f: &Fields<'_>,
    application_type: ApplicationType,
    public: bool,
) -> Result<Vec<String>, RegistrationError> {
    let bad = |message: String| RegistrationError::InvalidRedirectUri(message);
    let Some(raw) = f.array("redirect_uris")? else {
        return Ok(Vec::new());
    };
    // Counted before any is parsed, so a thousand URIs cost nothing.
    if raw.len() > REDIRECT_URIS_MAX {
        return Err(bad(format!("at most {REDIRECT_URIS_MAX} redirect_uris")));
    }
    let mut uris: Vec<String> = Vec::new();
    for value in raw {
        let uri = value
            .as_str()
            .ok_or_else(|| meta("redirect_uris must be an array of strings"))?;
        // The console's rules: no fragment, no userinfo, bounded length, http for loopback only,
        // private-use schemes (never javascript: or data:) for public clients only.
        redirect_uri::validate_redirect(uri, false, public).map_err(|e| bad(e.to_string()))?;
        if application_type == ApplicationType::Web
            && !uri.to_ascii_lowercase().starts_with("https://")
        {
            return Err(bad(
                "a web client's redirect URIs must use https; loopback and custom schemes need application_type native".into(),
            ));
        }
        if !uris.iter().any(|u| u == uri) {
            uris.push(uri.to_owned());
        }
    }
    Ok(uris)
}

/// `jwks` (checked as the console checks it) or `jwks_uri`, never both (RFC 7591 §2), and only
/// with `private_key_jwt`, which needs one of them.
fn keys(
    f: &Fields<'_>,
    method: AuthMethod,
) -> Result<(Option<String>, Option<String>), RegistrationError> {
    let jwks = f.object("jwks")?;
    let jwks_uri = f.string("jwks_uri")?;
    let keys = match (jwks, jwks_uri) {
        (Some(_), Some(_)) => return Err(meta("send jwks or jwks_uri, not both")),
        (Some(set), None) => (
            Some(validate_jwks(set).map_err(|e| meta(&e.to_string()))?),
            None,
        ),
        (None, Some(uri)) => (None, Some(check_jwks_uri(uri)?)),
        (None, None) => (None, None),
    };
    let has_keys = keys != (None, None);
    if has_keys != (method == AuthMethod::PrivateKeyJwt) {
        return Err(meta(
            "private_key_jwt needs jwks or jwks_uri, and only it may have them",
        ));
    }
    Ok(keys)
}

/// The console's rule for `jwks_uri`: https with a path, no credentials, fragment or dot
/// segments. Whether its host may be fetched is the outbound guard's decision, when fetched.
fn check_jwks_uri(uri: &str) -> Result<String, RegistrationError> {
    crate::oauth::metadata_document::check_url(uri)
        .map(|_| uri.to_owned())
        .map_err(|_| {
            meta("jwks_uri must be an https URL with a path, without userinfo or fragment")
        })
}

fn check_name(name: &str) -> Result<String, RegistrationError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(meta(
            "client_name must be 1 to 100 characters without control characters",
        ));
    }
    Ok(name.to_owned())
}

/// Keyward's own asked-for scopes within the operator's limit; all of the limit when none of
/// them are asked (no `scope`, or only API scopes). A name that is neither is refused.
fn scopes(f: &Fields<'_>, limits: &ScopeLimits) -> Result<ScopeSet, RegistrationError> {
    let Some(text) = f.string("scope")? else {
        return nonempty(limits.builtin);
    };
    let mut asked = ScopeSet::EMPTY;
    for name in text.split(' ').filter(|s| !s.is_empty()) {
        match ScopeSet::parse(name) {
            Ok(scope) => asked = asked.union(scope),
            Err(_) if limits.api_scopes.iter().any(|s| s == name) => {}
            Err(_) => return Err(meta("scope names an unknown scope")),
        }
    }
    if asked.contains(Scope::BalanceSpend) {
        // Spending is an admin's decision about a known app, never self-service.
        return Err(meta(
            "balance:spend cannot be registered: an administrator grants it",
        ));
    }
    if asked.is_empty() {
        return nonempty(limits.builtin);
    }
    nonempty(asked.intersection(limits.builtin))
}

fn nonempty(granted: ScopeSet) -> Result<ScopeSet, RegistrationError> {
    if granted.is_empty() {
        return Err(meta(
            "none of the requested scopes is available to self-registered clients",
        ));
    }
    Ok(granted)
}

fn meta(message: &str) -> RegistrationError {
    RegistrationError::InvalidMetadata(message.to_owned())
}

/// Typed reads of the request's members: a member of the wrong JSON type is the client's error
/// (`invalid_client_metadata`) naming the member, and `null` counts as absent.
struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> Option<&'a Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    fn string(&self, name: &str) -> Result<Option<&'a str>, RegistrationError> {
        self.get(name)
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| meta(&format!("{name} must be a string")))
            })
            .transpose()
    }

    fn object(&self, name: &str) -> Result<Option<&'a Value>, RegistrationError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.is_object() => Ok(Some(v)),
            Some(_) => Err(meta(&format!("{name} must be a JSON object"))),
        }
    }

    fn array(&self, name: &str) -> Result<Option<&'a Vec<Value>>, RegistrationError> {
        self.get(name)
            .map(|v| {
                v.as_array()
                    .ok_or_else(|| meta(&format!("{name} must be an array of strings")))
            })
            .transpose()
    }

    /// An array of at most `max` strings.
    fn strings(&self, name: &str, max: usize) -> Result<Option<Vec<&'a str>>, RegistrationError> {
        let Some(values) = self.array(name)? else {
            return Ok(None);
        };
        let wrong = || meta(&format!("{name} must be an array of at most {max} strings"));
        if values.len() > max {
            return Err(wrong());
        }
        values
            .iter()
            .map(|v| v.as_str().ok_or_else(wrong))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}
