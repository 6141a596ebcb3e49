//! Clients known by a Client ID Metadata Document: fetched when first named, kept while the
//! document's cache lifetime lasts, checked against the operator's switches and host lists,
//! never trusted, limited to what self-registered clients may have, and blockable.

use crate::world::{IP, World};
use keyward_core::clock::Clock as _;
use keyward_core::model::{AuthMethod, ClientKind, ClientStatus, GrantType};
use keyward_core::oauth::TokenError;
use keyward_core::oauth::apps::Review;
use keyward_core::oauth::authorize::{AuthorizeError, AuthorizeParams, Rejection, ValidRequest};
use keyward_core::oauth::metadata_document::DocumentError;
use keyward_core::oauth::pkce;
use keyward_core::oauth::scope::ScopeSet;
use keyward_core::oauth::tokens::{ClientAuth, ClientCredentials, Grant, TokenRequest};
use keyward_core::settings::{Settings, Switch};
use serde_json::{Value, json};
use std::time::Duration;

const URL: &str = "https://agent.example.test/oauth/client.json";
const VERIFIER: &str = "a-verifier-of-enough-length-for-pkce-0123456789";

fn document() -> Value {
    json!({
        "client_id": URL,
        "client_name": "Example Agent",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "scope": "openid profile email balance offline_access",
    })
}

fn params(redirect_uri: &str) -> AuthorizeParams {
    AuthorizeParams {
        client_id: Some(URL.into()),
        redirect_uri: Some(redirect_uri.into()),
        response_type: Some("code".into()),
        scope: Some("openid profile offline_access".into()),
        state: Some("s".into()),
        code_challenge: Some(pkce::s256_challenge(VERIFIER)),
        code_challenge_method: Some("S256".into()),
        ..AuthorizeParams::default()
    }
}

async fn settings(w: &World, change: impl FnOnce(&mut Settings)) {
    let mut settings = (*w.settings.get().await.expect("settings")).clone();
    change(&mut settings);
    w.settings.seed(&settings, 0).await.expect("save");
}

async fn load(w: &World, redirect_uri: &str) -> Result<ValidRequest, Rejection> {
    w.codes
        .load(&params(redirect_uri))
        .await
        .expect("no store failure")
}

fn refused(result: Result<ValidRequest, Rejection>) -> AuthorizeError {
    match result {
        Err(Rejection::Page(e)) => e,
        other => panic!("expected a page refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_document_client_is_fetched_once_stored_without_owner_and_never_trusted() {
    let w = World::new().await;
    w.documents.serve(URL, document(), Duration::from_secs(300));

    // Any loopback port matches a loopback redirect URI (RFC 8252 §7.3).
    let request = load(&w, "http://127.0.0.1:49152/callback")
        .await
        .expect("a valid request");
    let client = &request.client;
    assert_eq!(client.client_id, URL);
    assert_eq!(client.kind, ClientKind::MetadataDocument);
    assert_eq!(client.owner_id, None);
    assert_eq!(client.name, "Example Agent");
    assert!(client.public && client.auth_method == AuthMethod::None);
    assert_eq!(
        client.grant_types,
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
    );
    // `email` and `balance` are beyond what self-registered clients may have by default.
    assert_eq!(
        client.allowed_scopes,
        ScopeSet::parse("openid profile offline_access").expect("scopes")
    );
    assert_eq!(client.allowed_resources, Some(Vec::new()));
    assert!(!client.is_trusted());
    assert_eq!(w.documents.fetches(), 1);
    assert!(
        !w.documents
            .last_allow_loopback
            .load(std::sync::atomic::Ordering::SeqCst),
        "loopback documents are refused unless the operator allows them"
    );

    // Within its cache lifetime the stored copy serves; even an admin's trusted flag does not
    // make such a client skip consent.
    w.store
        .patch_client(
            client.id,
            &keyward_core::model::ClientPatch {
                trusted: Some(true),
                ..Default::default()
            },
            0,
        )
        .await
        .expect("patch");
    let again = load(&w, "http://127.0.0.1:50000/callback")
        .await
        .expect("valid");
    assert_eq!(w.documents.fetches(), 1, "served from the stored copy");
    assert!(!again.client.is_trusted());
    assert!(!again.covered_by(None));
}

#[tokio::test]
async fn the_document_is_fetched_again_when_its_cache_lifetime_ends() {
    let w = World::new().await;
    w.documents.serve(URL, document(), Duration::from_secs(120));
    load(&w, "http://127.0.0.1/callback").await.expect("valid");
    let mut renamed = document();
    renamed["client_name"] = json!("Renamed Agent");
    w.documents.serve(URL, renamed, Duration::from_secs(120));

    w.clock.advance(119);
    let cached = load(&w, "http://127.0.0.1/callback").await.expect("valid");
    assert_eq!(cached.client.name, "Example Agent");
    w.clock.advance(2);
    let fresh = load(&w, "http://127.0.0.1/callback").await.expect("valid");
    assert_eq!(fresh.client.name, "Renamed Agent");
    assert_eq!(w.documents.fetches(), 2);

    // Gone from its URL: the client cannot be used once its copy expires.
    w.documents.remove(URL);
    w.clock.advance(121);
    assert!(matches!(
        refused(load(&w, "http://127.0.0.1/callback").await),
        AuthorizeError::ClientDocument(DocumentError::Unreachable(_))
    ));
}

#[tokio::test]
async fn a_document_must_name_itself_and_list_the_redirect_uri() {
    let w = World::new().await;
    let mut other = document();
    other["client_id"] = json!("https://agent.example.test/other.json");
    w.documents.serve(URL, other, Duration::from_secs(300));
    assert_eq!(
        refused(load(&w, "http://127.0.0.1/callback").await),
        AuthorizeError::ClientDocument(DocumentError::ClientIdMismatch)
    );

    w.documents.serve(URL, document(), Duration::from_secs(300));
    assert_eq!(
        refused(load(&w, "https://evil.example/callback").await),
        AuthorizeError::UnregisteredRedirectUri
    );
}

#[tokio::test]
async fn the_operator_switches_documents_off_and_lists_hosts() {
    let w = World::new().await;
    w.documents.serve(URL, document(), Duration::from_secs(300));

    settings(&w, |s| s.client_metadata_documents = Switch::Off).await;
    assert_eq!(
        refused(load(&w, "http://127.0.0.1/callback").await),
        AuthorizeError::ClientDocument(DocumentError::Disabled)
    );
    assert_eq!(w.documents.fetches(), 0, "nothing fetched while off");

    settings(&w, |s| {
        s.client_metadata_documents = Switch::On;
        s.client_metadata_denied_hosts = vec!["*.example.test".into()];
    })
    .await;
    assert_eq!(
        refused(load(&w, "http://127.0.0.1/callback").await),
        AuthorizeError::ClientDocument(DocumentError::HostNotAllowed)
    );

    settings(&w, |s| {
        s.client_metadata_denied_hosts = Vec::new();
        s.client_metadata_allowed_hosts = vec!["agents.example.org".into()];
    })
    .await;
    assert_eq!(
        refused(load(&w, "http://127.0.0.1/callback").await),
        AuthorizeError::ClientDocument(DocumentError::HostNotAllowed)
    );
    assert_eq!(
        w.documents.fetches(),
        0,
        "nothing fetched from a host not allowed"
    );

    settings(&w, |s| {
        s.client_metadata_allowed_hosts = vec!["agent.example.test".into()];
        s.client_metadata_allow_loopback = true;
    })
    .await;
    load(&w, "http://127.0.0.1/callback")
        .await
        .expect("allowed");
    assert!(
        w.documents
            .last_allow_loopback
            .load(std::sync::atomic::Ordering::SeqCst)
    );
}

#[tokio::test]
async fn a_document_client_signs_a_user_in_and_a_block_kills_its_tokens() {
    let w = World::new().await;
    w.documents.serve(URL, document(), Duration::from_secs(300));
    let user = w.user("nora").await;
    let request = load(&w, "http://127.0.0.1:7777/callback")
        .await
        .expect("valid");
    let location = w
        .codes
        .issue(&request, &user, w.clock.now())
        .await
        .expect("code");
    let code = url::Url::parse(&location)
        .expect("redirect")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let public = || ClientCredentials {
        client_id: URL.into(),
        auth: ClientAuth::None,
    };
    let issued = w
        .tokens
        .token(
            &TokenRequest {
                client: public(),
                grant: Grant::AuthorizationCode {
                    code,
                    redirect_uri: Some("http://127.0.0.1:7777/callback".into()),
                    code_verifier: Some(VERIFIER.into()),
                    resources: Vec::new(),
                },
            },
            IP,
        )
        .await
        .expect("tokens");
    let access = issued.access_token.expose().to_owned();
    assert!(w.tokens.access(&access).await.expect("read").is_some());
    let seen = w
        .store
        .client_by_client_id(URL)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(seen.last_used_at, Some(w.clock.now()));

    let admin = w.user("admin").await;
    w.apps
        .review(Some(&admin), seen.id, Review::Disable, "abuse", IP)
        .await
        .expect("block");
    assert!(
        w.tokens.access(&access).await.expect("read").is_none(),
        "its tokens die at once"
    );
    assert_eq!(
        refused(load(&w, "http://127.0.0.1/callback").await),
        AuthorizeError::ClientDocument(DocumentError::Blocked)
    );
    let refresh = issued.refresh_token.expect("refresh token");
    let refused_refresh = w
        .tokens
        .token(
            &TokenRequest {
                client: public(),
                grant: Grant::RefreshToken {
                    refresh_token: refresh.expose().to_owned(),
                    scope: None,
                    resources: Vec::new(),
                },
            },
            IP,
        )
        .await;
    assert!(matches!(refused_refresh, Err(TokenError::UnknownClient)));
    let blocked = w.store.client_by_pk(seen.id).await.expect("read");
    assert_eq!(blocked.map(|c| c.status), Some(ClientStatus::Disabled));
}

/// Made-up client_ids on one host do not turn into a flood of fetches to it.
#[tokio::test]
async fn fetches_from_one_host_are_bounded_per_minute() {
    use keyward_core::oauth::directory::FETCHES_PER_HOST_PER_MINUTE;
    let w = World::new().await;
    let limit = usize::try_from(FETCHES_PER_HOST_PER_MINUTE).expect("small");
    let mut last = None;
    for n in 0..=limit {
        let params = AuthorizeParams {
            client_id: Some(format!("https://victim.example.test/c{n}.json")),
            ..params("http://127.0.0.1/callback")
        };
        last = Some(w.codes.load(&params).await.expect("no store failure"));
    }
    assert_eq!(w.documents.fetches(), limit, "the last one was not fetched");
    assert!(matches!(
        last.map(refused),
        Some(AuthorizeError::ClientDocument(DocumentError::Unreachable(
            _
        )))
    ));
    // Another host is not held back, nor this one a minute later.
    w.documents.serve(URL, document(), Duration::from_secs(300));
    load(&w, "http://127.0.0.1/callback")
        .await
        .expect("another host");
    w.clock.advance(60);
    let params = AuthorizeParams {
        client_id: Some("https://victim.example.test/again.json".into()),
        ..params("http://127.0.0.1/callback")
    };
    let _ = w.codes.load(&params).await.expect("no store failure");
    assert_eq!(w.documents.fetches(), limit + 2);
}
