//! `OAuthStore`: apps, consents, authorization codes and token families.

use super::{PAGE, new_client, new_user, store};
use crate::helpers::Backend;
use crate::on_both_backends;
use keyward_core::Store;
use keyward_core::model::{
    AuthCode, ClientPatch, ClientStatus, NewFamily, NewToken, TokenKind, UserStatus,
};
use keyward_core::oauth::scope::ScopeSet;
use keyward_core::secret::SecretHash;
use keyward_core::store::UserPatch;

on_both_backends!(
    apps_are_found_listed_patched_and_deleted_with_what_they_issued,
    app_secrets_are_revealed_once_and_rotated_with_a_grace_period,
    an_app_edit_replaces_its_details_and_keeps_a_pending_change,
    consents_add_up_and_their_revocation_kills_codes_and_tokens,
    a_code_is_redeemed_once_and_its_replay_revokes_what_it_issued,
    refresh_tokens_rotate_once_and_revoked_tokens_give_no_access,
);

fn scopes(text: &str) -> ScopeSet {
    ScopeSet::parse(text).expect("scopes")
}

pub(super) fn code(secret: &str, client: i64, user_id: i64, expires_at: i64) -> AuthCode {
    AuthCode {
        hash: SecretHash::of(secret),
        client,
        user_id,
        redirect_uri: "https://app.example/cb".into(),
        scopes: scopes("profile"),
        resources: Default::default(),
        code_challenge: Some("challenge".into()),
        nonce: Some("nonce".into()),
        auth_time: 1_000,
        created_at: 1_000,
        expires_at,
        used_at: None,
    }
}

pub(super) fn family(client: i64, user_id: Option<i64>, code: Option<&str>) -> NewFamily {
    NewFamily {
        client,
        user_id,
        code_hash: code.map(SecretHash::of),
        auth_time: 1_000,
        created_at: 1_000,
    }
}

pub(super) fn token(secret: &str, kind: TokenKind) -> NewToken {
    NewToken {
        hash: SecretHash::of(secret),
        kind,
        scopes: scopes("profile"),
        resources: Default::default(),
        expires_at: 9_000,
    }
}

/// An approved app of a new user `owner`; returns the user's and the app's ids.
async fn user_and_app(store: &dyn Store, owner: &str) -> (i64, i64) {
    let user = store.create_user(new_user(owner)).await.expect("user");
    let app = store
        .create_client(new_client(
            &format!("client_{owner}"),
            user.id,
            ClientStatus::Approved,
        ))
        .await
        .expect("app");
    (user.id, app.id)
}

async fn live(store: &dyn Store, secret: &str, now: i64) -> bool {
    let context = store
        .access_context(&SecretHash::of(secret), now)
        .await
        .expect("read");
    context.is_some()
}

async fn apps_are_found_listed_patched_and_deleted_with_what_they_issued(backend: Backend) {
    let (_db, store) = store(backend).await;
    let (alice, approved) = user_and_app(&*store, "alice").await;
    let pending = store
        .create_client(new_client("client_pending", alice, ClientStatus::Pending))
        .await
        .expect("pending app");
    assert_eq!(pending.status, ClientStatus::Pending);
    assert_eq!(pending.allowed_scopes, scopes("profile balance"));

    let by_pk = store.client_by_pk(pending.id).await.expect("read");
    assert_eq!(
        by_pk.map(|c| c.client_id),
        Some("client_pending".to_owned())
    );
    let by_id = store
        .client_by_client_id("client_pending")
        .await
        .expect("read");
    assert_eq!(by_id.map(|c| c.id), Some(pending.id));
    assert!(store.client_by_pk(999_999).await.expect("read").is_none());
    assert!(
        store
            .client_by_client_id("client_nope")
            .await
            .expect("read")
            .is_none()
    );
    let owned: Vec<_> = store.clients_of_owner(alice).await.expect("owned");
    let mut owned: Vec<_> = owned.into_iter().map(|c| c.id).collect();
    owned.sort();
    assert_eq!(owned, vec![approved, pending.id]);
    let listed = store
        .list_clients(Some(ClientStatus::Pending), PAGE)
        .await
        .expect("list");
    assert_eq!(
        listed.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![pending.id]
    );
    assert_eq!(store.list_clients(None, PAGE).await.expect("list").len(), 2);

    let patch = ClientPatch {
        status: Some(ClientStatus::Rejected),
        review_note: Some("no".into()),
        trusted: Some(true),
        allowed_scopes: Some(scopes("profile")),
        allowed_resources: None,
        may_spend: Some(true),
        billing_service: None,
    };
    assert!(
        store
            .patch_client(pending.id, &patch, 2_000)
            .await
            .expect("patch")
    );
    assert!(
        !store
            .patch_client(999_999, &patch, 2_000)
            .await
            .expect("patch")
    );
    let read = store
        .client_by_pk(pending.id)
        .await
        .expect("read")
        .expect("app");
    assert_eq!(
        (
            read.status,
            read.review_note.as_str(),
            read.trusted,
            read.allowed_scopes,
            read.may_spend,
            read.billing_service,
        ),
        (
            ClientStatus::Rejected,
            "no",
            true,
            scopes("profile"),
            true,
            false
        )
    );

    // Deleting an app takes its consents, codes and tokens along.
    store
        .save_consent(
            alice,
            approved,
            scopes("profile"),
            &Default::default(),
            None,
            1_000,
        )
        .await
        .expect("consent");
    store
        .create_code(code("c", approved, alice, 9_000))
        .await
        .expect("code");
    store
        .issue_family(
            family(approved, Some(alice), None),
            &[token("t", TokenKind::Access)],
        )
        .await
        .expect("token");
    assert!(store.delete_client(approved).await.expect("delete"));
    assert!(!store.delete_client(approved).await.expect("delete again"));
    assert!(store.client_by_pk(approved).await.expect("read").is_none());
    assert!(
        store
            .consent(alice, approved)
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        store
            .code_by_hash(&SecretHash::of("c"))
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        store
            .token_by_hash(&SecretHash::of("t"))
            .await
            .expect("read")
            .is_none()
    );
}

async fn an_app_edit_replaces_its_details_and_keeps_a_pending_change(backend: Backend) {
    let (_db, store) = store(backend).await;
    let owner = store.create_user(new_user("dev")).await.expect("user");
    let mut new = new_client("client_edit", owner.id, ClientStatus::Pending);
    new.logo_uri = Some("https://app.example/logo.png".into());
    new.client_uri = Some("https://app.example/".into());
    new.policy_uri = Some("https://app.example/privacy".into());
    let app = store.create_client(new).await.expect("app");
    assert_eq!(
        app.logo_uri.as_deref(),
        Some("https://app.example/logo.png")
    );
    assert_eq!(app.client_uri.as_deref(), Some("https://app.example/"));
    assert_eq!(
        app.policy_uri.as_deref(),
        Some("https://app.example/privacy")
    );
    assert_eq!((app.pending_change.clone(), app.reviewed_at), (None, None));

    // An admin's approval marks the app reviewed.
    let approve = ClientPatch {
        status: Some(ClientStatus::Approved),
        ..ClientPatch::default()
    };
    assert!(
        store
            .patch_client(app.id, &approve, 1_500)
            .await
            .expect("approve")
    );
    let read = store
        .client_by_pk(app.id)
        .await
        .expect("read")
        .expect("app");
    assert_eq!(read.reviewed_at, Some(1_500));

    let mut now = read.details();
    now.description = "narrower".into();
    now.scopes = "profile".into();
    now.policy_uri = None;
    let mut wanted = now.clone();
    wanted.redirect_uris.push("https://other.example/cb".into());
    assert!(
        store
            .edit_client(app.id, &now, Some((&wanted, 2_000)), None, 2_000)
            .await
            .expect("edit")
    );
    // Read by client_id too: a cached read must see the edit.
    let read = store
        .client_by_client_id("client_edit")
        .await
        .expect("read")
        .expect("app");
    assert_eq!(read.details(), now);
    assert_eq!(read.allowed_scopes, scopes("profile"));
    assert_eq!(read.pending_change, Some(wanted.clone()));
    assert_eq!(read.pending_since, Some(2_000));
    assert_eq!(read.reviewed_at, Some(1_500));
    assert_eq!(read.updated_at, 2_000);
    let waiting = store
        .clients_with_pending_change(PAGE)
        .await
        .expect("waiting");
    assert_eq!(
        waiting.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![app.id]
    );

    // Settling the change clears it and may set or clear the review mark.
    assert!(
        store
            .edit_client(app.id, &wanted, None, Some(Some(3_000)), 3_000)
            .await
            .expect("approve change")
    );
    let read = store
        .client_by_pk(app.id)
        .await
        .expect("read")
        .expect("app");
    assert_eq!(read.details(), wanted);
    assert_eq!((read.pending_change, read.pending_since), (None, None));
    assert_eq!(read.reviewed_at, Some(3_000));
    assert!(
        store
            .clients_with_pending_change(PAGE)
            .await
            .expect("none waiting")
            .is_empty()
    );
    assert!(
        store
            .edit_client(app.id, &wanted, None, Some(None), 3_100)
            .await
            .expect("unreviewed edit")
    );
    let read = store
        .client_by_pk(app.id)
        .await
        .expect("read")
        .expect("app");
    assert_eq!(read.reviewed_at, None);
    assert!(
        !store
            .edit_client(999_999, &wanted, None, None, 3_200)
            .await
            .expect("no such app")
    );
}

async fn app_secrets_are_revealed_once_and_rotated_with_a_grace_period(backend: Backend) {
    let (_db, store) = store(backend).await;
    let (_, app) = user_and_app(&*store, "alice").await;
    let (first, second) = (SecretHash::of("first"), SecretHash::of("second"));
    assert!(
        store
            .reveal_secret(app, &first, 2_000)
            .await
            .expect("reveal")
    );
    assert!(
        !store
            .reveal_secret(app, &second, 2_001)
            .await
            .expect("reveal again")
    );
    let read = store.client_by_pk(app).await.expect("read").expect("app");
    assert!(read.secret_hash == Some(first));
    assert_eq!(read.secret_revealed_at, Some(2_000));

    // Rotated with a grace period, the old secret stays until it ends; without one, it goes.
    assert!(
        store
            .rotate_secret(app, &second, Some(5_000), 3_000)
            .await
            .expect("rotate")
    );
    let read = store.client_by_pk(app).await.expect("read").expect("app");
    assert!(read.secret_hash == Some(second) && read.previous_secret_hash == Some(first));
    assert_eq!(read.previous_secret_expires_at, Some(5_000));
    assert!(
        store
            .rotate_secret(app, &first, None, 4_000)
            .await
            .expect("rotate")
    );
    let read = store.client_by_pk(app).await.expect("read").expect("app");
    assert!(read.secret_hash == Some(first) && read.previous_secret_hash.is_none());
    assert!(
        !store
            .rotate_secret(999_999, &first, None, 4_000)
            .await
            .expect("missing")
    );
}

async fn consents_add_up_and_their_revocation_kills_codes_and_tokens(backend: Backend) {
    let (_db, store) = store(backend).await;
    let (alice, app) = user_and_app(&*store, "alice").await;
    assert!(store.consent(alice, app).await.expect("read").is_none());
    store
        .save_consent(
            alice,
            app,
            scopes("profile"),
            &Default::default(),
            None,
            1_000,
        )
        .await
        .expect("consent");
    store
        .save_consent(
            alice,
            app,
            scopes("balance"),
            &Default::default(),
            None,
            2_000,
        )
        .await
        .expect("more");
    let consent = store
        .consent(alice, app)
        .await
        .expect("read")
        .expect("consent");
    assert_eq!(consent.scopes, scopes("profile balance"));
    assert_eq!((consent.created_at, consent.updated_at), (1_000, 2_000));
    let listed = store.consents_of_user(alice).await.expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|(g, c)| (g.client, c.id))
            .collect::<Vec<_>>(),
        vec![(app, app)]
    );

    store
        .create_code(code("c", app, alice, 9_000))
        .await
        .expect("code");
    store
        .issue_family(
            family(app, Some(alice), None),
            &[token("t", TokenKind::Access)],
        )
        .await
        .expect("token");
    assert!(live(&*store, "t", 2_000).await);
    assert!(
        store
            .revoke_consent(alice, app, 3_000)
            .await
            .expect("revoke")
    );
    assert!(store.consent(alice, app).await.expect("read").is_none());
    assert!(
        store
            .code_by_hash(&SecretHash::of("c"))
            .await
            .expect("read")
            .is_none()
    );
    assert!(!live(&*store, "t", 3_000).await);
    assert!(
        !store
            .revoke_consent(alice, app, 3_000)
            .await
            .expect("nothing left")
    );
}

async fn a_code_is_redeemed_once_and_its_replay_revokes_what_it_issued(backend: Backend) {
    let (_db, store) = store(backend).await;
    let (alice, app) = user_and_app(&*store, "alice").await;
    store
        .create_code(code("c", app, alice, 1_600))
        .await
        .expect("code");
    let stored = store
        .code_by_hash(&SecretHash::of("c"))
        .await
        .expect("read")
        .expect("code");
    assert_eq!(
        (
            stored.client,
            stored.user_id,
            stored.used_at,
            stored.nonce.as_deref()
        ),
        (app, alice, None, Some("nonce"))
    );
    assert!(
        store
            .code_by_hash(&SecretHash::of("none"))
            .await
            .expect("read")
            .is_none()
    );

    let issued = [
        token("a1", TokenKind::Access),
        token("r1", TokenKind::Refresh),
    ];
    let redeem = |at| {
        let store = store.clone();
        let issued = issued.clone();
        async move {
            store
                .redeem_code(
                    &SecretHash::of("c"),
                    family(app, Some(alice), Some("c")),
                    &issued,
                    at,
                )
                .await
                .expect("redeem")
        }
    };
    let family_id = redeem(1_100).await.expect("first redemption wins");
    assert_eq!(redeem(1_101).await, None, "a code works once");
    let used = store
        .code_by_hash(&SecretHash::of("c"))
        .await
        .expect("read")
        .expect("code");
    assert_eq!(used.used_at, Some(1_100));
    let access = store
        .token_by_hash(&SecretHash::of("a1"))
        .await
        .expect("read")
        .expect("token");
    assert_eq!(
        (access.family_id, access.kind, access.client, access.user_id),
        (family_id, TokenKind::Access, app, Some(alice))
    );
    assert!(live(&*store, "a1", 1_200).await);

    // The replay: everything the code issued is revoked.
    assert_eq!(
        store
            .revoke_code_family(&SecretHash::of("c"), 1_300)
            .await
            .expect("revoke"),
        1
    );
    assert_eq!(
        store
            .revoke_code_family(&SecretHash::of("c"), 1_301)
            .await
            .expect("again"),
        0
    );
    assert!(!live(&*store, "a1", 1_400).await);

    // An expired code is not redeemed.
    store
        .create_code(code("late", app, alice, 1_600))
        .await
        .expect("code");
    let late = store
        .redeem_code(
            &SecretHash::of("late"),
            family(app, Some(alice), Some("late")),
            &[],
            1_600,
        )
        .await
        .expect("redeem");
    assert_eq!(late, None);
}

async fn refresh_tokens_rotate_once_and_revoked_tokens_give_no_access(backend: Backend) {
    let (_db, store) = store(backend).await;
    let (alice, app) = user_and_app(&*store, "alice").await;
    let family_id = store
        .issue_family(
            family(app, Some(alice), None),
            &[
                token("a1", TokenKind::Access),
                token("r1", TokenKind::Refresh),
            ],
        )
        .await
        .expect("family");
    let context = store
        .access_context(&SecretHash::of("a1"), 2_000)
        .await
        .expect("read")
        .expect("live");
    assert_eq!(context.client_id, "client_alice");
    assert_eq!(context.user.map(|u| u.id), Some(alice));
    // A refresh token gives no access; an expired access token neither.
    assert!(!live(&*store, "r1", 2_000).await);
    assert!(!live(&*store, "a1", 9_000).await);

    let next = [
        token("a2", TokenKind::Access),
        token("r2", TokenKind::Refresh),
    ];
    assert!(
        store
            .rotate_refresh(&SecretHash::of("r1"), &next, 2_000)
            .await
            .expect("rotate")
    );
    assert!(
        !store
            .rotate_refresh(&SecretHash::of("r1"), &next, 2_001)
            .await
            .expect("reuse")
    );
    let r1 = store
        .token_by_hash(&SecretHash::of("r1"))
        .await
        .expect("read")
        .expect("r1");
    assert_eq!(r1.used_at, Some(2_000));
    let r2 = store
        .token_by_hash(&SecretHash::of("r2"))
        .await
        .expect("read")
        .expect("r2");
    assert_eq!(r2.family_id, family_id);

    // One access token on its own, then the whole family.
    store
        .revoke_token(&SecretHash::of("a1"), 2_100)
        .await
        .expect("revoke one");
    assert!(!live(&*store, "a1", 2_200).await);
    assert!(live(&*store, "a2", 2_200).await);
    store
        .revoke_family(family_id, 2_300)
        .await
        .expect("revoke family");
    assert!(!live(&*store, "a2", 2_400).await);
    let empty: [NewToken; 0] = [];
    assert!(
        !store
            .rotate_refresh(&SecretHash::of("r2"), &empty, 2_400)
            .await
            .expect("revoked")
    );

    // A client-credentials family has no user; a disabled user's tokens give no access.
    store
        .issue_family(family(app, None, None), &[token("cc", TokenKind::Access)])
        .await
        .expect("client credentials");
    let context = store
        .access_context(&SecretHash::of("cc"), 2_500)
        .await
        .expect("read");
    assert!(context.is_some_and(|c| c.user.is_none()));
    store
        .issue_family(
            family(app, Some(alice), None),
            &[token("a3", TokenKind::Access)],
        )
        .await
        .expect("family");
    let disable = UserPatch {
        status: Some(UserStatus::Disabled),
        ..UserPatch::default()
    };
    assert!(
        store
            .patch_user(alice, &disable, 2_600)
            .await
            .expect("disable")
    );
    assert!(!live(&*store, "a3", 2_700).await);
}
