//! `/.well-known/openid-configuration` (OIDC Discovery 1.0) and
//! `/.well-known/oauth-authorization-server` (RFC 8414). Only what is implemented is claimed.

use super::public_document;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keyward_core::model::GrantType;
use keyward_core::oauth::client_auth::AssertionAudiences;
use keyward_core::oauth::scope::Scope;
use keyward_core::oidc::SigningAlg;
use serde_json::{Value, json};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};

/// The discovery document; its schema is read off the document this module builds.
pub struct ProviderMetadata;

crate::runtime_schema!(ProviderMetadata, || {
    let mut doc = document("https://issuer.example");
    with_settings(&mut doc, &keyward_core::settings::Settings::default());
    crate::openapi::schema_of_example(&doc)
});

/// A JSON Web Key Set (RFC 7517 §5): public keys only.
pub struct JwkSet;

crate::runtime_schema!(JwkSet, || {
    let text = || ObjectBuilder::new().schema_type(Type::String);
    let key = ObjectBuilder::new()
        .property("kty", text())
        .required("kty")
        .property("kid", text())
        .required("kid")
        .property("use", text())
        .property("alg", text());
    ObjectBuilder::new()
        .property("keys", ArrayBuilder::new().items(key))
        .required("keys")
        .into()
});

/// What a `private_key_jwt` assertion's `aud` may name (RFC 7523 §3 item 3): the issuer, or the
/// URL of the endpoint it is sent to; at the token endpoint, either API family's.
pub fn assertion_audiences(issuer: &str) -> AssertionAudiences {
    AssertionAudiences {
        issuer: issuer.to_owned(),
        token: vec![
            format!("{issuer}/api/oauth2/token"),
            format!("{issuer}/api/oauth/token"),
        ],
        introspection: vec![format!("{issuer}/oauth2/introspect")],
        revocation: vec![format!("{issuer}/oauth2/revoke")],
        device_authorization: vec![format!("{issuer}/oauth2/device_authorization")],
    }
}

pub fn document(issuer: &str) -> Value {
    let scopes: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let algs: Vec<&str> = SigningAlg::ALL.iter().map(|a| a.as_str()).collect();
    let grants: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/api/oauth2/token"),
        "userinfo_endpoint": format!("{issuer}/oauth2/userinfo"),
        "jwks_uri": format!("{issuer}/oauth2/jwks"),
        "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth2/introspect"),
        "device_authorization_endpoint": format!("{issuer}/oauth2/device_authorization"),
        "end_session_endpoint": format!("{issuer}/oauth2/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grants,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "scopes_supported": scopes,
        "claims_supported": [
            "iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "at_hash",
            "preferred_username", "name", "picture", "email", "email_verified"
        ],
        // private_key_jwt (RFC 7523 §2.2) with a JWK Set registered inline or at a jwks_uri.
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": algs,
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": algs,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": algs,
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "authorization_response_iss_parameter_supported": true,
        // RFC 8707: `resource` on authorize and token requests; tokens bound to one audience.
        "resource_indicators_supported": true,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
        "ui_locales_supported": ["zh-CN", "en"]
    })
}

#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "oidc",
    responses((status = 200, description = "OpenID Connect Discovery 1.0 metadata.", body = ProviderMetadata)))]
pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    metadata_document(&state).await
}

#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oidc",
    responses((status = 200, description = "RFC 8414 metadata (the same document).", body = ProviderMetadata)))]
pub async fn authorization_server(State(state): State<AppState>) -> Response {
    metadata_document(&state).await
}

/// `GET /.well-known/oauth-authorization-server/{path}`: RFC 8414 §3.1 puts the well-known
/// segment between the host and an issuer's path, so an issuer `https://host/auth` is found at
/// `https://host/.well-known/oauth-authorization-server/auth`. Any other path is not found.
pub async fn authorization_server_for_path(
    State(state): State<AppState>,
    axum::extract::Path(path): axum::extract::Path<String>,
) -> Response {
    let issuer_path = url::Url::parse(&state.config.public_url)
        .map(|u| u.path().trim_matches('/').to_owned())
        .unwrap_or_default();
    if issuer_path.is_empty() || path.trim_matches('/') != issuer_path {
        return StatusCode::NOT_FOUND.into_response();
    }
    metadata_document(&state).await
}

/// The provider metadata: one document, served at both well-known paths, with what the
/// operator's settings switch on. Cached by clients for a minute, so a change shows soon.
async fn metadata_document(state: &AppState) -> Response {
    let settings = match state.settings.get().await {
        Ok(settings) => settings,
        Err(e) => return crate::envelope::ApiError::from(e).into_response(),
    };
    let mut doc = document(&state.config.public_url);
    with_settings(&mut doc, &settings);
    public_document(Json(doc).into_response(), 60)
}

/// The metadata that follows the settings: whether an https `client_id` is taken for a
/// Client ID Metadata Document, and whether clients may register themselves.
pub fn with_settings(doc: &mut Value, settings: &keyward_core::settings::Settings) {
    let documents = settings.client_metadata_documents == keyward_core::settings::Switch::On;
    doc["client_id_metadata_document_supported"] = json!(documents);
    // RFC 8414 §2: the registration endpoint (RFC 7591) is listed only while registration is on.
    if settings.dynamic_registration != keyward_core::settings::DynamicRegistration::Off {
        let issuer = doc["issuer"].as_str().unwrap_or_default().to_owned();
        doc["registration_endpoint"] = json!(format!("{issuer}/oauth2/register"));
    }
}

/// `GET /oauth2/jwks`: current, next and still-needed previous public keys.
#[utoipa::path(get, path = "/oauth2/jwks", tag = "oidc",
    responses(
        (status = 200, description = "The published signing keys.", body = JwkSet),
        (status = 500, description = "`server_error`: the keys cannot be read (a database outage).", body = crate::openapi::OAuthErrorBody)))]
pub async fn jwks(State(state): State<AppState>) -> Response {
    match state.keys.jwks().await {
        Ok(set) => public_document(Json(set).into_response(), 60),
        Err(e) => {
            tracing::error!(error = %e, "jwks unavailable");
            crate::oauth::userinfo::server_error()
        }
    }
}
