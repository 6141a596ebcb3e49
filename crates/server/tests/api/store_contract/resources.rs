//! `ResourceStore` (RFC 8707 resource servers) and the grant columns codes, tokens, consents and
//! apps carry for them.

use super::oauth::{code, family, token};
use super::{conflict, new_client, new_user, store};
use crate::helpers::Backend;
use crate::on_both_backends;
use keyward_core::model::{
    ClientPatch, ClientStatus, NewResource, ResourcePatch, ResourceScope, TokenFormat, TokenKind,
};
use keyward_core::oauth::audience::ResourceGrants;
use keyward_core::oauth::scope::ScopeSet;
use keyward_core::oidc::SigningAlg;
use keyward_core::secret::SecretHash;
use keyward_core::store::Conflict;

on_both_backends!(
    resources_are_stored_found_patched_and_their_identifier_is_unique,
    codes_tokens_consents_and_apps_keep_their_resource_grants,
);

fn new_resource(identifier: &str) -> NewResource {
    NewResource {
        identifier: identifier.into(),
        name_zh: "文件".into(),
        name_en: "Files".into(),
        scopes: vec![ResourceScope {
            name: "files:read".into(),
            description_zh: "读取".into(),
            description_en: "Read".into(),
        }],
        token_format: TokenFormat::Jwt,
        signing_alg: SigningAlg::Es256,
        access_token_ttl_secs: 300,
        introspection_client_id: Some("client_api".into()),
        created_at: 1_000,
    }
}

async fn resources_are_stored_found_patched_and_their_identifier_is_unique(backend: Backend) {
    let (_db, store) = store(backend).await;
    let created = store
        .create_resource(new_resource("https://files.example"))
        .await
        .expect("create");
    assert_eq!(created.identifier, "https://files.example");
    assert_eq!(created.scopes[0].description_en, "Read");
    assert_eq!(
        (created.token_format, created.signing_alg, created.enabled),
        (TokenFormat::Jwt, SigningAlg::Es256, true)
    );
    assert_eq!(
        created.introspection_client_id.as_deref(),
        Some("client_api")
    );
    assert_eq!(
        conflict(
            store
                .create_resource(new_resource("https://files.example"))
                .await
        ),
        Conflict::ResourceIdentifier
    );
    let by_identifier = store
        .resource_by_identifier("https://files.example")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(by_identifier.id, created.id);
    assert!(
        store
            .resource_by_identifier("https://files.example/")
            .await
            .expect("read")
            .is_none(),
        "identifiers match exactly"
    );
    assert!(
        store
            .resource_by_id(created.id + 1)
            .await
            .expect("read")
            .is_none()
    );

    let patch = ResourcePatch {
        name_en: Some("File store".into()),
        token_format: Some(TokenFormat::Opaque),
        access_token_ttl_secs: Some(3_600),
        introspection_client_id: Some(None),
        enabled: Some(false),
        ..ResourcePatch::default()
    };
    assert!(
        store
            .patch_resource(created.id, &patch, 2_000)
            .await
            .expect("patch")
    );
    assert!(
        !store
            .patch_resource(created.id + 1, &patch, 2_000)
            .await
            .expect("patch")
    );
    let patched = store
        .resource_by_id(created.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(patched.name_en, "File store");
    assert_eq!(patched.name_zh, "文件", "untouched");
    assert_eq!(patched.scopes, created.scopes, "untouched");
    assert_eq!(
        (
            patched.token_format,
            patched.access_token_ttl_secs,
            patched.enabled
        ),
        (TokenFormat::Opaque, 3_600, false)
    );
    assert_eq!(patched.introspection_client_id, None, "removed");
    assert_eq!(patched.updated_at, 2_000);
    // `None` leaves the introspection app alone.
    let keep = ResourcePatch {
        introspection_client_id: Some(Some("client_x".into())),
        ..ResourcePatch::default()
    };
    store
        .patch_resource(created.id, &keep, 3_000)
        .await
        .expect("patch");
    store
        .patch_resource(created.id, &ResourcePatch::default(), 4_000)
        .await
        .expect("patch");
    let kept = store
        .resource_by_id(created.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(kept.introspection_client_id.as_deref(), Some("client_x"));

    store
        .create_resource(new_resource("https://mcp.example/mcp"))
        .await
        .expect("second");
    let all = store.list_resources().await.expect("list");
    assert_eq!(
        all.iter()
            .map(|r| r.identifier.as_str())
            .collect::<Vec<_>>(),
        ["https://files.example", "https://mcp.example/mcp"]
    );
}

async fn codes_tokens_consents_and_apps_keep_their_resource_grants(backend: Backend) {
    let (_db, store) = store(backend).await;
    let user = store.create_user(new_user("alice")).await.expect("user");
    let app = store
        .create_client(new_client("client_alice", user.id, ClientStatus::Approved))
        .await
        .expect("app");
    assert_eq!(app.allowed_resources, None, "any API by default");
    let mut grants = ResourceGrants::none();
    grants.insert("https://files.example", Some("files:read"));
    grants.insert("https://mcp.example/mcp", None);

    let mut stored_code = code("kwac_r", app.id, user.id, 9_000);
    stored_code.resources = grants.clone();
    store.create_code(stored_code).await.expect("code");
    let read = store
        .code_by_hash(&SecretHash::of("kwac_r"))
        .await
        .expect("read")
        .expect("found");
    assert_eq!(read.resources, grants);

    let mut refresh = token("kwrt_r", TokenKind::Refresh);
    refresh.resources = grants.clone();
    let mut access = token("kwat_r", TokenKind::Access);
    access.resources = grants.only("https://files.example").expect("one");
    store
        .issue_family(family(app.id, Some(user.id), None), &[access, refresh])
        .await
        .expect("family");
    let read = store
        .token_by_hash(&SecretHash::of("kwrt_r"))
        .await
        .expect("read")
        .expect("found");
    assert_eq!(read.resources, grants);
    let context = store
        .access_context(&SecretHash::of("kwat_r"), 1_000)
        .await
        .expect("read")
        .expect("live");
    assert_eq!(
        context.token.resources.audience(),
        Some("https://files.example")
    );

    let scopes = ScopeSet::parse("profile").expect("scopes");
    store
        .save_consent(user.id, app.id, scopes, &grants, None, 1_000)
        .await
        .expect("consent");
    let consent = store
        .consent(user.id, app.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(consent.resources, grants);
    let listed = store.consents_of_user(user.id).await.expect("list");
    assert_eq!(listed[0].0.resources, grants);
    // The caller merges; the store keeps what it is given.
    store
        .save_consent(
            user.id,
            app.id,
            scopes,
            &ResourceGrants::none(),
            None,
            2_000,
        )
        .await
        .expect("consent");
    let consent = store
        .consent(user.id, app.id)
        .await
        .expect("read")
        .expect("found");
    assert!(consent.resources.is_empty());

    let limit = ClientPatch {
        allowed_resources: Some(Some(vec!["https://files.example".into()])),
        ..ClientPatch::default()
    };
    assert!(
        store
            .patch_client(app.id, &limit, 3_000)
            .await
            .expect("patch")
    );
    let limited = store
        .client_by_pk(app.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(
        limited.allowed_resources,
        Some(vec!["https://files.example".to_owned()])
    );
    let untouched = ClientPatch {
        trusted: Some(true),
        ..ClientPatch::default()
    };
    store
        .patch_client(app.id, &untouched, 4_000)
        .await
        .expect("patch");
    let still = store
        .client_by_pk(app.id)
        .await
        .expect("read")
        .expect("found");
    assert!(still.allowed_resources.is_some(), "absent keeps the limit");
    let lift = ClientPatch {
        allowed_resources: Some(None),
        ..ClientPatch::default()
    };
    store
        .patch_client(app.id, &lift, 5_000)
        .await
        .expect("patch");
    let lifted = store
        .client_by_pk(app.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(lifted.allowed_resources, None);
}
