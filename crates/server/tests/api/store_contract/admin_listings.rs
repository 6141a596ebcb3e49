//! The admin listings: the user list's search, orders and paging, and the audit log's filters.

use super::{PAGE, new_user, store};
use crate::helpers::Backend;
use crate::on_both_backends;
use keyward_core::model::{NewAuditEntry, Role};
use keyward_core::store::{AuditFilter, Page, UserListQuery, UserSort};

on_both_backends!(
    users_are_searched_sorted_and_paged,
    audit_is_filtered_by_action_actor_and_time,
);

async fn users_are_searched_sorted_and_paged(backend: Backend) {
    let (_db, store) = store(backend).await;
    let mut carol = new_user("carol");
    carol.role = Role::Admin;
    carol.email = Some("Carol@Example.com".into());
    let carol = store.create_user(carol).await.expect("carol");
    let mut alice = new_user("Alice");
    alice.display_name = "Wonderland".into();
    let alice = store.create_user(alice).await.expect("alice");
    let bob = store.create_user(new_user("bob")).await.expect("bob");
    store.record_login(alice.id, 5_000).await.expect("login");
    store.record_login(carol.id, 4_000).await.expect("login");

    let ids =
        |users: Vec<keyward_core::model::User>| users.iter().map(|u| u.id).collect::<Vec<_>>();
    let list = |sort, descending| UserListQuery {
        search: None,
        sort,
        descending,
    };
    let by = |sort, descending| {
        let store = store.clone();
        async move {
            ids(store
                .list_users(&list(sort, descending), PAGE)
                .await
                .expect("list"))
        }
    };
    assert_eq!(
        by(UserSort::Id, true).await,
        vec![bob.id, alice.id, carol.id]
    );
    assert_eq!(
        by(UserSort::Id, false).await,
        vec![carol.id, alice.id, bob.id]
    );
    assert_eq!(
        by(UserSort::Username, false).await,
        vec![alice.id, bob.id, carol.id],
        "case-insensitive"
    );
    assert_eq!(
        by(UserSort::Username, true).await,
        vec![carol.id, bob.id, alice.id]
    );
    assert_eq!(
        by(UserSort::LastLogin, true).await,
        vec![alice.id, carol.id, bob.id],
        "never signed in comes last"
    );
    assert_eq!(
        by(UserSort::Role, true).await,
        vec![carol.id, bob.id, alice.id],
        "admins first, ties newest first"
    );

    // Searched by name, display name or e-mail, whatever the case.
    for (search, expected) in [
        ("ALI", vec![alice.id]),
        ("wonder", vec![alice.id]),
        ("example.COM", vec![carol.id]),
        ("nobody", vec![]),
    ] {
        let query = UserListQuery {
            search: Some(search),
            sort: UserSort::Username,
            descending: false,
        };
        let found = store.list_users(&query, PAGE).await.expect("search");
        assert_eq!(ids(found), expected, "{search}");
    }

    // Paged in the chosen order.
    let second = Page {
        offset: 1,
        limit: 1,
    };
    let paged = store
        .list_users(&list(UserSort::Username, false), second)
        .await
        .expect("page");
    assert_eq!(ids(paged), vec![bob.id]);
}

async fn audit_is_filtered_by_action_actor_and_time(backend: Backend) {
    let (_db, store) = store(backend).await;
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    let bob = store.create_user(new_user("bob")).await.expect("bob");
    for (at, actor, action) in [
        (1_000, Some(alice.id), "user.signed_in"),
        (2_000, Some(bob.id), "user.signed_in"),
        (3_000, Some(alice.id), "app.created"),
        (4_000, None, "user.sign_in_failed"),
    ] {
        store
            .audit(NewAuditEntry {
                at,
                actor_id: actor,
                action,
                target: String::new(),
                detail: "{}".into(),
                ip: "127.0.0.1".into(),
            })
            .await
            .expect("audit");
    }
    let ats = |filter: AuditFilter<'static>| {
        let store = store.clone();
        async move {
            store
                .list_audit(&filter, PAGE)
                .await
                .expect("list")
                .iter()
                .map(|e| e.at)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ats(AuditFilter::default()).await,
        vec![4_000, 3_000, 2_000, 1_000]
    );
    assert_eq!(
        ats(AuditFilter::action(Some("user.signed_in"))).await,
        vec![2_000, 1_000]
    );
    assert_eq!(
        ats(AuditFilter {
            actor: Some(alice.id),
            ..AuditFilter::default()
        })
        .await,
        vec![3_000, 1_000]
    );
    assert_eq!(
        ats(AuditFilter {
            since: Some(2_000),
            until: Some(4_000),
            ..AuditFilter::default()
        })
        .await,
        vec![3_000, 2_000],
        "from inclusive, until exclusive"
    );
    assert_eq!(
        ats(AuditFilter {
            action: Some("user.signed_in"),
            actor: Some(alice.id),
            since: Some(500),
            until: None,
        })
        .await,
        vec![1_000]
    );
}
