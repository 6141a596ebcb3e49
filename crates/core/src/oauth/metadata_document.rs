//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a client whose
//! `client_id` is an https URL describes itself in the JSON found there. This module decides
//! whether such a URL may be used and what a fetched document allows; fetching is the
//! directory's ([`super::directory`]), through the outbound guard.
//!
//! Such a client is never trusted: it is public unless it signs with `private_key_jwt` (a
//! shared secret cannot be published), and its scopes are cut to what the operator allows
//! self-registered clients.

use super::client_auth::{JwksError, validate_jwks};
use super::redirect_uri::{self, RedirectUriError};
use super::scope::{Scope, ScopeSet};
use crate::clock::UnixTime;
use crate::model::{AuthMethod, ClientMetadata, GrantType};
use serde_json::{Map, Value};

/// The longest client_id URL taken.
pub const URL_MAX_LEN: usize = 2000;
/// The most redirect URIs a document may list.
pub const REDIRECT_URIS_MAX: usize = 10;
/// The longest `client_name` kept, in characters.
pub const NAME_MAX: usize = 100;

/// Why a metadata document client cannot be used. The page shows the kind; the log the details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("client metadata documents are turned off on this server")]
    Disabled,
    #[error("the client_id is not a usable metadata document URL: {0}")]
    Url(&'static str),
    #[error("this server does not accept metadata documents from that host")]
    HostNotAllowed,
    #[error("an administrator blocked this client")]
    Blocked,
    #[error("the metadata document could not be fetched: {0}")]
    Unreachable(String),
    #[error("the metadata document's client_id is not its URL")]
    ClientIdMismatch,
    #[error("the metadata document is not valid: {0}")]
    Invalid(&'static str),
    #[error("a redirect URI of the metadata document is not valid: {0}")]
    RedirectUri(RedirectUriError),
    #[error("the metadata document's jwks is not valid: {0}")]
    Jwks(JwksError),
}

/// Whether `client_id` is meant as a metadata document URL (and so is not looked up as an
/// app's id, which never contains `://`).
pub fn is_document_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// Checks a client_id URL (draft §3): https, with a path, no dot segments, fragment, user or
/// password, and in canonical form, so that one document has exactly one client_id. Returns
/// its host, lower-case.
pub fn check_url(client_id: &str) -> Result<String, DocumentError> {
    if client_id.len() > URL_MAX_LEN {
        return Err(DocumentError::Url("too long"));
    }
    let url = url::Url::parse(client_id).map_err(|_| DocumentError::Url("not a URL"))?;
    if url.scheme() != "https" {
        return Err(DocumentError::Url("it must use https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(DocumentError::Url("it must not contain a user or password"));
    }
    if client_id.contains('#') {
        return Err(DocumentError::Url("it must not contain a fragment"));
    }
    let path = client_id
        .split_once("://")
        .map(|(_, rest)| rest.split_once('/').map_or("", |(_, p)| p))
        .unwrap_or_default();
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() {
        return Err(DocumentError::Url("it must have a path"));
    }
    if path
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err(DocumentError::Url("it must not contain . or .. segments"));
    }
    if url.as_str() != client_id {
        return Err(DocumentError::Url("it must be in canonical form"));
    }
    url.host_str()
        .map(str::to_owned)
        .ok_or(DocumentError::Url("it has no host"))
}

/// What a fetched document allows, for the client `client_id`: its redirect URIs, grants and
/// keys, with Keyward's scopes cut to `allowed_scopes`. `expires_at`: when to fetch it again.
pub fn parse(
    client_id: &str,
    document: &Value,
    allowed_scopes: ScopeSet,
    expires_at: UnixTime,
) -> Result<ClientMetadata, DocumentError> {
    let doc = document
        .as_object()
        .ok_or(DocumentError::Invalid("it is not a JSON object"))?;
    if doc.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err(DocumentError::ClientIdMismatch);
    }
    if doc.contains_key("client_secret") || doc.contains_key("client_secret_expires_at") {
        return Err(DocumentError::Invalid(
            "a public document cannot hold a secret",
        ));
    }
    let auth_method = match optional_str(doc, "token_endpoint_auth_method")? {
        None | Some("none") => AuthMethod::None,
        Some("private_key_jwt") => AuthMethod::PrivateKeyJwt,
        Some(_) => {
            return Err(DocumentError::Invalid(
                "token_endpoint_auth_method must be none or private_key_jwt",
            ));
        }
    };
    let public = auth_method == AuthMethod::None;
    let (jwks, jwks_uri) = keys(doc, auth_method)?;
    let grant_types = grant_types(doc)?;
    if let Some(types) = doc.get("response_types") {
        let only_code = types
            .as_array()
            .is_some_and(|list| list.iter().all(|t| t == "code"));
        if !only_code {
            return Err(DocumentError::Invalid("response_types may only hold code"));
        }
    }
    let redirect_uris = redirect_uris(doc, public)?;
    if redirect_uris.is_empty() && grant_types.contains(&GrantType::AuthorizationCode) {
        return Err(DocumentError::Invalid("redirect_uris is required"));
    }
    let host = check_url(client_id)?;
    let name = match optional_str(doc, "client_name")?.map(str::trim) {
        None | Some("") => host,
        Some(name) if name.chars().count() > NAME_MAX || name.chars().any(char::is_control) => {
            return Err(DocumentError::Invalid(
                "client_name is too long or not plain text",
            ));
        }
        Some(name) => name.to_owned(),
    };
    Ok(ClientMetadata {
        name,
        redirect_uris,
        grant_types,
        allowed_scopes: scopes(doc, allowed_scopes)?,
        public,
        auth_method,
        jwks,
        jwks_uri,
        metadata_expires_at: Some(expires_at),
    })
}

fn optional_str<'a>(
    doc: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, DocumentError> {
    match doc.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= URL_MAX_LEN => Ok(Some(s)),
        Some(_) => Err(DocumentError::Invalid(
            "a field that must be a short string is not",
        )),
    }
}

fn keys(
    doc: &Map<String, Value>,
    method: AuthMethod,
) -> Result<(Option<String>, Option<String>), DocumentError> {
    if method != AuthMethod::PrivateKeyJwt {
        return Ok((None, None));
    }
    match (doc.get("jwks"), optional_str(doc, "jwks_uri")?) {
        (Some(set), None) => Ok((Some(validate_jwks(set).map_err(DocumentError::Jwks)?), None)),
        (None, Some(uri)) => {
            check_url(uri).map_err(|_| DocumentError::Invalid("jwks_uri must be an https URL"))?;
            Ok((None, Some(uri.to_owned())))
        }
        _ => Err(DocumentError::Invalid(
            "private_key_jwt needs exactly one of jwks and jwks_uri",
        )),
    }
}

fn grant_types(doc: &Map<String, Value>) -> Result<Vec<GrantType>, DocumentError> {
    let Some(value) = doc.get("grant_types") else {
        return Ok(vec![GrantType::AuthorizationCode]);
    };
    let names = value
        .as_array()
        .filter(|list| !list.is_empty() && list.len() <= GrantType::ALL.len())
        .ok_or(DocumentError::Invalid("grant_types must be a short list"))?;
    let mut grants = Vec::new();
    for name in names {
        let grant = name
            .as_str()
            .and_then(GrantType::parse)
            .ok_or(DocumentError::Invalid("grant_types holds an unknown grant"))?;
        // No user ever approves a client_credentials token, so a self-described client
        // cannot have one.
        if grant == GrantType::ClientCredentials {
            return Err(DocumentError::Invalid(
                "client_credentials is not available to metadata document clients",
            ));
        }
        if !grants.contains(&grant) {
            grants.push(grant);
        }
    }
    Ok(grants)
}

fn redirect_uris(doc: &Map<String, Value>, public: bool) -> Result<Vec<String>, DocumentError> {
    let Some(value) = doc.get("redirect_uris") else {
        return Ok(Vec::new());
    };
    let list = value
        .as_array()
        .filter(|list| list.len() <= REDIRECT_URIS_MAX)
        .ok_or(DocumentError::Invalid(
            "redirect_uris must be a list of at most 10",
        ))?;
    let mut uris: Vec<String> = Vec::new();
    for uri in list {
        let uri = uri
            .as_str()
            .ok_or(DocumentError::Invalid("redirect_uris must hold strings"))?;
        redirect_uri::validate_redirect(uri, false, public).map_err(DocumentError::RedirectUri)?;
        if !uris.iter().any(|u| u == uri) {
            uris.push(uri.to_owned());
        }
    }
    Ok(uris)
}

/// Keyward's own scopes the document asks for (all allowed ones when it names none), cut to
/// what self-registered clients may have. Other names are scopes of APIs, which the resource
/// registry governs.
fn scopes(doc: &Map<String, Value>, allowed: ScopeSet) -> Result<ScopeSet, DocumentError> {
    let Some(text) = optional_str(doc, "scope")? else {
        return Ok(allowed);
    };
    let asked = text
        .split(' ')
        .filter_map(Scope::parse)
        .fold(ScopeSet::EMPTY, |set, scope| set.with(scope));
    if asked.contains(Scope::BalanceSpend) {
        // Spending is an admin's decision about a known app, never self-service.
        return Err(DocumentError::Invalid(
            "balance:spend cannot be registered: an administrator grants it",
        ));
    }
    Ok(asked.intersection(allowed))
}

#[cfg(test)]
mod tests;
