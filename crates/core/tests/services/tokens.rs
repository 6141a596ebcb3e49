//! The token pipeline: grants, rotation, replay, the user check, sign-before-commit, the
//! client-authentication budget, revocation and introspection.

use crate::world::*;
use jsonwebtoken::{Validation, decode, decode_header};
use keyward_core::model::UserStatus;
use keyward_core::oauth::TokenError;
use keyward_core::oauth::tokens::{ClientCredentials, Grant, TokenRequest};
use keyward_core::secret::Secret;
use keyward_core::store::UserPatch;

const CODE_GRANTS: &[&str] = &["authorization_code", "refresh_token"];

#[tokio::test]
async fn a_code_is_exchanged_once_and_its_replay_revokes_what_it_gave() {
    let w = World::new().await;
    let (client, secret) = w.app("profile balance", CODE_GRANTS).await;
    let user = w.user("alice").await;
    let code = w.code(&client, &user, "profile balance", None).await;

    let issued = w
        .tokens
        .token(&code_grant(&client, &secret, &code), IP)
        .await
        .expect("first exchange");
    assert!(
        issued.refresh_token.is_some(),
        "new-api style apps get a refresh token"
    );
    assert!(issued.id_token.is_none(), "no openid, no id_token");
    let access = issued.access_token.expose().to_owned();
    let context = w
        .tokens
        .access(&access)
        .await
        .expect("check")
        .expect("live");
    assert_eq!(context.user.map(|u| u.id), Some(user.id));

    let replay = w
        .tokens
        .token(&code_grant(&client, &secret, &code), IP)
        .await;
    assert!(
        matches!(replay, Err(TokenError::InvalidGrant(_))),
        "{replay:?}"
    );
    assert!(
        w.tokens.access(&access).await.expect("check").is_none(),
        "a replayed code revokes the tokens it was exchanged for"
    );
}

#[tokio::test]
async fn a_code_of_a_user_disabled_after_it_was_issued_is_refused_and_not_spent() {
    let w = World::new().await;
    let (client, secret) = w.app("profile balance", CODE_GRANTS).await;
    let user = w.user("bob").await;
    let code = w.code(&client, &user, "profile", None).await;
    let disable = UserPatch {
        status: Some(UserStatus::Disabled),
        ..UserPatch::default()
    };
    w.store
        .patch_user(user.id, &disable, w.clock.now())
        .await
        .expect("disable");

    let refused = w
        .tokens
        .token(&code_grant(&client, &secret, &code), IP)
        .await;
    assert!(
        matches!(refused, Err(TokenError::InvalidGrant(_))),
        "{refused:?}"
    );

    // Not spent: once the user is back, the same code still works exactly once.
    let enable = UserPatch {
        status: Some(UserStatus::Enabled),
        ..UserPatch::default()
    };
    w.store
        .patch_user(user.id, &enable, w.clock.now())
        .await
        .expect("enable");
    w.tokens
        .token(&code_grant(&client, &secret, &code), IP)
        .await
        .expect("the code was left unspent");
}

#[tokio::test]
async fn nothing_is_spent_when_the_id_token_cannot_be_signed() {
    let w = World::with_keys(false).await;
    let (client, secret) = w.app("openid profile offline_access", CODE_GRANTS).await;
    let user = w.user("carol").await;
    let code = w
        .code(
            &client,
            &user,
            "openid profile offline_access",
            Some("n-0S6"),
        )
        .await;

    let failed = w
        .tokens
        .token(&code_grant(&client, &secret, &code), IP)
        .await;
    assert!(matches!(failed, Err(TokenError::Signing(_))), "{failed:?}");

    w.keys.ensure_keys().await.expect("keys");
    let issued = w
        .tokens
        .token(&code_grant(&client, &secret, &code), IP)
        .await
        .expect("the code survived the failed signature");
    let refresh = issued
        .refresh_token
        .expect("offline_access gives a refresh token");

    // Same for a refresh: a failed signature does not rotate (so the retry is not "reuse").
    let w_keys = &w.keys;
    for kid in kids(&w).await {
        w.store.delete_signing_key(&kid).await.expect("delete key");
    }
    let failed = w
        .tokens
        .token(&refresh_grant(&client, &secret, refresh.expose()), IP)
        .await;
    assert!(matches!(failed, Err(TokenError::Signing(_))), "{failed:?}");
    w_keys.ensure_keys().await.expect("keys again");
    w.tokens
        .token(&refresh_grant(&client, &secret, refresh.expose()), IP)
        .await
        .expect("the refresh token survived the failed signature");
}

async fn kids(w: &World) -> Vec<String> {
    w.store
        .signing_keys()
        .await
        .expect("keys")
        .into_iter()
        .map(|k| k.kid)
        .collect()
}

#[tokio::test]
async fn the_id_token_verifies_against_the_published_keys_and_carries_the_nonce() {
    let w = World::new().await;
    let (client, secret) = w.app("openid profile", CODE_GRANTS).await;
    let user = w.user("dave").await;
    let code = w.code(&client, &user, "openid profile", Some("n-42")).await;
    let issued = w
        .tokens
        .token(&code_grant(&client, &secret, &code), IP)
        .await
        .expect("exchange");
    assert!(
        issued.refresh_token.is_none(),
        "openid without offline_access: no refresh token"
    );
    let id_token = issued.id_token.expect("openid gives an id_token");

    let header = decode_header(&id_token).expect("header");
    let kid = header.kid.expect("kid");
    let (alg, key) = w
        .keys
        .decoding_key(&kid)
        .await
        .expect("keys")
        .expect("published kid");
    let mut validation = Validation::new(alg.jwt());
    validation.set_audience(&[client.client_id.as_str()]);
    validation.set_issuer(&[ISSUER]);
    // The mock clock is not the wall clock that jsonwebtoken checks `exp` against.
    validation.validate_exp = false;
    let claims = decode::<serde_json::Value>(&id_token, &key, &validation)
        .expect("a valid signature")
        .claims;
    assert_eq!(claims["sub"], user.uuid.to_string());
    assert_eq!(claims["nonce"], "n-42");
    assert_eq!(claims["exp"], START + 3600);
}

#[tokio::test]
async fn rotation_kills_the_old_refresh_token_and_its_reuse_revokes_the_family() {
    let w = World::new().await;
    let (client, secret) = w.app("profile balance", CODE_GRANTS).await;
    let user = w.user("erin").await;
    let code = w.code(&client, &user, "profile balance", None).await;
    let first = w
        .tokens
        .token(&code_grant(&client, &secret, &code), IP)
        .await
        .expect("code");
    let old = first.refresh_token.expect("refresh token");

    let second = w
        .tokens
        .token(&refresh_grant(&client, &secret, old.expose()), IP)
        .await
        .expect("rotation");
    let new_refresh = second.refresh_token.expect("a new refresh token");
    assert_ne!(new_refresh.expose(), old.expose());
    let new_access = second.access_token.expose().to_owned();
    assert!(w.tokens.access(&new_access).await.expect("check").is_some());

    // No grace window by default: presenting the rotated token again is reuse.
    let reuse = w
        .tokens
        .token(&refresh_grant(&client, &secret, old.expose()), IP)
        .await;
    assert!(
        matches!(reuse, Err(TokenError::InvalidGrant(_))),
        "{reuse:?}"
    );
    assert!(w.tokens.access(&new_access).await.expect("check").is_none());
    let after = w
        .tokens
        .token(&refresh_grant(&client, &secret, new_refresh.expose()), IP)
        .await;
    assert!(
        matches!(after, Err(TokenError::InvalidGrant(_))),
        "the family is gone: {after:?}"
    );
}

#[tokio::test]
async fn expired_access_tokens_are_not_live() {
    let w = World::new().await;
    let (client, secret) = w.app("balance", &["client_credentials"]).await;
    let request = TokenRequest {
        client: credentials(&client, &secret),
        grant: Grant::ClientCredentials {
            scope: None,
            resources: Vec::new(),
        },
    };
    let issued = w
        .tokens
        .token(&request, IP)
        .await
        .expect("client_credentials");
    assert!(issued.refresh_token.is_none());
    let access = issued.access_token.expose().to_owned();
    assert!(w.tokens.access(&access).await.expect("check").is_some());
    w.clock.advance(issued.expires_in);
    assert!(w.tokens.access(&access).await.expect("check").is_none());
}

#[tokio::test]
async fn others_guessing_a_client_id_never_lock_the_app_out() {
    let w = World::new().await;
    let (client, secret) = w.app("balance", &["client_credentials"]).await;
    let wrong = |c: &keyward_core::model::Client| TokenRequest {
        client: ClientCredentials {
            client_id: c.client_id.clone(),
            auth: keyward_core::oauth::tokens::ClientAuth::from_secret(Some(Secret::from_string(
                "kws_wrong".into(),
            ))),
        },
        grant: Grant::ClientCredentials {
            scope: None,
            resources: Vec::new(),
        },
    };
    let mut throttled = false;
    for _ in 0..120 {
        match w.tokens.token(&wrong(&client), "198.51.100.7").await {
            Err(TokenError::BadClientSecret) => {}
            Err(TokenError::RateLimited { .. }) => throttled = true,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(throttled, "the guessing address is throttled");
    let right = TokenRequest {
        client: credentials(&client, &secret),
        grant: Grant::ClientCredentials {
            scope: None,
            resources: Vec::new(),
        },
    };
    w.tokens
        .token(&right, "203.0.113.9")
        .await
        .expect("the app's own credentials from elsewhere still work");
}

#[tokio::test]
async fn revocation_and_introspection_see_only_the_callers_own_tokens() {
    let w = World::new().await;
    let (client, secret) = w.app("profile balance", CODE_GRANTS).await;
    let (other, other_secret) = w.app("profile balance", CODE_GRANTS).await;
    let user = w.user("frank").await;
    let code = w.code(&client, &user, "profile balance", None).await;
    let issued = w
        .tokens
        .token(&code_grant(&client, &secret, &code), IP)
        .await
        .expect("code");
    let access = issued.access_token.expose().to_owned();
    let refresh = issued.refresh_token.expect("refresh").expose().to_owned();
    let creds = credentials(&client, &secret);
    let foreign = credentials(&other, &other_secret);

    let active = w
        .tokens
        .introspect(&creds, &access, IP)
        .await
        .expect("introspect");
    let active = active.expect("own live token");
    assert_eq!(active.subject, Some(user.uuid.to_string()));
    assert_eq!(
        active.username.as_deref(),
        Some("frank"),
        "profile shows the username"
    );
    assert_eq!(
        w.tokens
            .introspect(&foreign, &access, IP)
            .await
            .expect("introspect"),
        None
    );

    // Another app revoking it changes nothing.
    w.tokens
        .revoke(&foreign, &refresh, IP)
        .await
        .expect("revoke answers");
    assert!(w.tokens.access(&access).await.expect("check").is_some());
    // Its own app revoking the refresh token takes the family with it.
    w.tokens.revoke(&creds, &refresh, IP).await.expect("revoke");
    assert!(w.tokens.access(&access).await.expect("check").is_none());
    assert_eq!(
        w.tokens
            .introspect(&creds, &refresh, IP)
            .await
            .expect("introspect"),
        None
    );
}
