//! Apps: what a registration may ask for, review, the secret shown once, rotation with grace,
//! and a user's revocation ending every token of the grant.

use crate::world::*;
use keyward_core::model::ClientStatus;
use keyward_core::oauth::TokenError;
use keyward_core::oauth::apps::{AppError, AppForm, AppPolicy, Review};
use keyward_core::oauth::tokens::{Grant, TokenRequest};

fn form(redirect: &str) -> AppForm {
    AppForm {
        name: "Reviewed app".into(),
        redirect_uris: vec![redirect.into()],
        ..AppForm::default()
    }
}

const REVIEWED: AppPolicy = AppPolicy {
    review_required: true,
    allow_http_redirect_uris: false,
};

#[tokio::test]
async fn registrations_are_checked_before_anything_is_stored() {
    let w = World::new().await;
    let owner = w.user("nina").await;
    let http = w
        .apps
        .register(&owner, form("http://app.example.test/cb"), REVIEWED, IP)
        .await;
    assert!(matches!(http, Err(AppError::RedirectUri(_))), "{http:?}");
    let public_machine = AppForm {
        public: true,
        grant_types: Some(vec!["client_credentials".into()]),
        ..form(REDIRECT)
    };
    let refused = w.apps.register(&owner, public_machine, REVIEWED, IP).await;
    assert!(
        matches!(refused, Err(AppError::PublicClientCredentials)),
        "{refused:?}"
    );
    let unnamed = AppForm {
        name: "  ".into(),
        ..form(REDIRECT)
    };
    assert!(matches!(
        w.apps.register(&owner, unnamed, REVIEWED, IP).await,
        Err(AppError::Name)
    ));
    assert!(
        w.store
            .clients_of_owner(owner.id)
            .await
            .expect("list")
            .is_empty()
    );
}

#[tokio::test]
async fn a_reviewed_app_gets_its_secret_once_after_approval() {
    let w = World::new().await;
    let owner = w.user("oscar").await;
    let (pending, secret) = w
        .apps
        .register(&owner, form(REDIRECT), REVIEWED, IP)
        .await
        .expect("app");
    assert_eq!(pending.status, ClientStatus::Pending);
    assert!(secret.is_none(), "no secret before approval");
    let (_, before) = w.apps.view(&owner, pending.id, IP).await.expect("view");
    assert!(before.is_none());

    w.apps
        .review(None, pending.id, Review::Approve, "", IP)
        .await
        .expect("approve");
    let (_, shown) = w.apps.view(&owner, pending.id, IP).await.expect("view");
    let shown = shown.expect("the first view after approval shows the secret");
    let (_, again) = w.apps.view(&owner, pending.id, IP).await.expect("view");
    assert!(again.is_none(), "and never again");

    let stranger = w.user("peggy").await;
    assert!(matches!(
        w.apps.view(&stranger, pending.id, IP).await,
        Err(AppError::NotFound)
    ));
    let request = |secret: &keyward_core::secret::Secret| TokenRequest {
        client: credentials(&pending, secret),
        grant: Grant::ClientCredentials {
            scope: None,
            resources: Vec::new(),
        },
    };
    // The default grants do not include client_credentials, but the secret authenticates.
    assert!(matches!(
        w.tokens.token(&request(&shown), IP).await,
        Err(TokenError::UnauthorizedClient(_))
    ));
}

#[tokio::test]
async fn a_rotated_secret_keeps_the_old_one_only_for_its_grace() {
    let w = World::new().await;
    let (client, old) = w.app("balance", &["client_credentials"]).await;
    let owner = w
        .store
        .client_by_pk(client.id)
        .await
        .expect("client")
        .expect("exists")
        .owner_id
        .expect("a console app has an owner");
    let owner = w
        .store
        .user_by_id(owner)
        .await
        .expect("owner")
        .expect("exists");
    let (_, new) = w
        .apps
        .rotate_secret(&owner, client.id, 60, IP)
        .await
        .expect("rotate");
    let grant = |secret: &keyward_core::secret::Secret| TokenRequest {
        client: credentials(&client, secret),
        grant: Grant::ClientCredentials {
            scope: None,
            resources: Vec::new(),
        },
    };
    w.tokens
        .token(&grant(&new), IP)
        .await
        .expect("the new secret");
    w.tokens
        .token(&grant(&old), IP)
        .await
        .expect("the old one, within its grace");
    w.clock.advance(60);
    assert!(matches!(
        w.tokens.token(&grant(&old), IP).await,
        Err(TokenError::BadClientSecret)
    ));
    w.tokens
        .token(&grant(&new), IP)
        .await
        .expect("the new secret still");
}

#[tokio::test]
async fn revoking_a_consent_ends_every_token_of_the_grant() {
    let w = World::new().await;
    let (client, secret) = w
        .app("profile balance", &["authorization_code", "refresh_token"])
        .await;
    let user = w.user("quinn").await;
    w.apps
        .grant_consent(
            &user,
            &client,
            keyward_core::oauth::scope::ScopeSet::parse("profile balance").expect("scopes"),
            &Default::default(),
            None,
            IP,
        )
        .await
        .expect("consent");
    let code = w.code(&client, &user, "profile balance", None).await;
    let issued = w
        .tokens
        .token(&code_grant(&client, &secret, &code), IP)
        .await
        .expect("tokens");
    let refresh = issued.refresh_token.expect("refresh");

    assert!(
        w.apps
            .revoke_consent(&user, &client.client_id, IP)
            .await
            .expect("revoke")
    );
    assert!(
        w.store
            .consent(user.id, client.id)
            .await
            .expect("consent")
            .is_none()
    );
    assert!(
        w.tokens
            .access(issued.access_token.expose())
            .await
            .expect("check")
            .is_none()
    );
    let refreshed = w
        .tokens
        .token(&refresh_grant(&client, &secret, refresh.expose()), IP)
        .await;
    assert!(
        matches!(refreshed, Err(TokenError::InvalidGrant(_))),
        "{refreshed:?}"
    );
    assert!(
        !w.apps
            .revoke_consent(&user, &client.client_id, IP)
            .await
            .expect("again")
    );
}
