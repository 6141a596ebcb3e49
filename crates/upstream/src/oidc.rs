//! Any OpenID Connect provider, through the `openidconnect` crate: discovery (or explicit
//! endpoints), code flow with PKCE and a nonce, id_token validated against the provider's JWKS.
//! The identity is keyed on issuer and `sub`; an e-mail counts only if `email_verified` is true.

use crate::{ExternalIdentity, Http, UpstreamError, clean};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreResponseType, CoreSubjectIdentifierType, CoreUserInfoClaims,
};
use openidconnect::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EmptyAdditionalProviderMetadata,
    IssuerUrl, JsonWebKeySetUrl, LocalizedClaim, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, ResponseTypes, Scope, TokenResponse, TokenUrl, UserInfoUrl,
};
use std::ops::Deref;

#[derive(Debug, Clone, Default)]
pub struct OidcConfig {
    pub client_id: String,
    pub client_secret: String,
    /// The issuer; its `/.well-known/openid-configuration` is read unless every endpoint
    /// below is set.
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub scopes: String,
}

impl OidcConfig {
    fn explicit(&self) -> bool {
        [
            &self.authorization_endpoint,
            &self.token_endpoint,
            &self.jwks_uri,
        ]
        .iter()
        .all(|e| !e.is_empty())
    }
}

fn config_error(e: impl std::fmt::Display) -> UpstreamError {
    UpstreamError::Config(e.to_string())
}

async fn metadata(http: &Http, config: &OidcConfig) -> Result<CoreProviderMetadata, UpstreamError> {
    Http::endpoint(&config.issuer)?;
    let issuer = IssuerUrl::new(config.issuer.clone()).map_err(config_error)?;
    if !config.explicit() {
        return CoreProviderMetadata::discover_async(issuer, http)
            .await
            .map_err(|e| UpstreamError::Connect(e.to_string()));
    }
    for url in [
        &config.authorization_endpoint,
        &config.token_endpoint,
        &config.jwks_uri,
    ] {
        Http::endpoint(url)?;
    }
    let jwks_url = JsonWebKeySetUrl::new(config.jwks_uri.clone()).map_err(config_error)?;
    let jwks = CoreJsonWebKeySet::fetch_async(&jwks_url, http)
        .await
        .map_err(|e| UpstreamError::Connect(e.to_string()))?;
    let mut metadata = CoreProviderMetadata::new(
        issuer,
        AuthUrl::new(config.authorization_endpoint.clone()).map_err(config_error)?,
        jwks_url,
        vec![ResponseTypes::new(vec![CoreResponseType::Code])],
        vec![CoreSubjectIdentifierType::Public],
        vec![
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            CoreJwsSigningAlgorithm::EdDsa,
        ],
        EmptyAdditionalProviderMetadata {},
    )
    .set_token_endpoint(Some(
        TokenUrl::new(config.token_endpoint.clone()).map_err(config_error)?,
    ))
    .set_jwks(jwks);
    if !config.userinfo_endpoint.is_empty() {
        Http::endpoint(&config.userinfo_endpoint)?;
        metadata = metadata.set_userinfo_endpoint(Some(
            UserInfoUrl::new(config.userinfo_endpoint.clone()).map_err(config_error)?,
        ));
    }
    Ok(metadata)
}

fn scopes(config: &OidcConfig) -> Vec<Scope> {
    let text = if config.scopes.trim().is_empty() {
        "openid profile email"
    } else {
        config.scopes.as_str()
    };
    text.split_whitespace()
        .filter(|s| *s != "openid")
        .map(|s| Scope::new(s.to_owned()))
        .collect()
}

/// The URL to send the browser to, with our state, nonce and PKCE challenge.
pub async fn authorize_url(
    http: &Http,
    config: &OidcConfig,
    redirect_uri: &str,
    state: &str,
    nonce: &str,
    verifier: &str,
) -> Result<String, UpstreamError> {
    let metadata = metadata(http, config).await?;
    let client =
        CoreClient::from_provider_metadata(metadata, ClientId::new(config.client_id.clone()), None)
            .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).map_err(config_error)?);
    let (state, nonce) = (state.to_owned(), nonce.to_owned());
    let challenge =
        PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.to_owned()));
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            move || Nonce::new(nonce),
        )
        .set_pkce_challenge(challenge);
    for scope in scopes(config) {
        request = request.add_scope(scope);
    }
    Ok(request.url().0.into())
}

/// A claim's text, or "" when the provider left it out.
fn claim_text<T: Deref<Target = String>>(claim: Option<&T>) -> String {
    claim.map(|value| String::clone(value)).unwrap_or_default()
}

/// A localized claim's text in its default language, or "" when there is none.
fn default_language<T: Deref<Target = String>>(claim: Option<&LocalizedClaim<T>>) -> String {
    claim_text(claim.and_then(|localized| localized.get(None)))
}

/// Redeems the code and proves who the user is. `nonce` and `verifier` are those of the flow
/// this server started; without them (a flow started by another front end) the id_token must
/// still be valid, but its nonce cannot be checked.
pub async fn identify(
    http: &Http,
    config: &OidcConfig,
    code: &str,
    redirect_uri: &str,
    nonce: Option<&str>,
    verifier: Option<&str>,
) -> Result<ExternalIdentity, UpstreamError> {
    if code.is_empty() || code.len() > 2048 {
        return Err(UpstreamError::InvalidCode);
    }
    let metadata = metadata(http, config).await?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(config.client_id.clone()),
        Some(ClientSecret::new(config.client_secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).map_err(config_error)?);
    let mut exchange = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(config_error)?;
    if let Some(verifier) = verifier {
        exchange = exchange.set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()));
    }
    let tokens = exchange
        .request_async(http)
        .await
        .map_err(|e| UpstreamError::Token(clean(&e.to_string(), 200)))?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| UpstreamError::IdToken("no id_token".into()))?;
    let verifier = client.id_token_verifier();
    let claims = match nonce {
        Some(nonce) => id_token.claims(&verifier, &Nonce::new(nonce.to_owned())),
        None => id_token.claims(&verifier, |_: Option<&Nonce>| Ok(())),
    }
    .map_err(|e| UpstreamError::IdToken(e.to_string()))?;
    let issuer = claims.issuer().as_str().to_owned();
    let sub = claims.subject().as_str().to_owned();
    if sub.is_empty() {
        return Err(UpstreamError::EmptyIdentity);
    }
    let mut handle = claim_text(claims.preferred_username());
    let mut name = default_language(claims.name());
    let mut email = claims
        .email()
        .filter(|_| claims.email_verified() == Some(true))
        .map(|e| e.as_str().to_lowercase());
    let mut avatar = default_language(claims.picture());

    if let Ok(request) = client.user_info(tokens.access_token().clone(), None) {
        let info: CoreUserInfoClaims = request
            .request_async(http)
            .await
            .map_err(|e| UpstreamError::UserInfo(clean(&e.to_string(), 200)))?;
        if info.subject().as_str() != sub {
            return Err(UpstreamError::UserInfo(
                "userinfo is about another subject".into(),
            ));
        }
        if handle.is_empty() {
            handle = claim_text(info.preferred_username());
        }
        if name.is_empty() {
            name = default_language(info.name());
        }
        if email.is_none() && info.email_verified() == Some(true) {
            email = info.email().map(|e| e.as_str().to_lowercase());
        }
        if avatar.is_empty() {
            avatar = default_language(info.picture());
        }
    }
    let display = if name.is_empty() {
        handle.clone()
    } else {
        name
    };
    Ok(ExternalIdentity {
        provider: "oidc",
        subject: format!("{issuer} {sub}"),
        display_name: clean(
            if display.is_empty() {
                "OIDC User"
            } else {
                &display
            },
            20,
        ),
        handle: clean(&handle, 60),
        verified_email: email,
        avatar_url: clean(&avatar, 500),
    })
}
