//! `change_spend_limit`: the consent's limit changes only while it is the one the change was
//! judged against, and nothing else of the consent moves.

use super::{new_client, new_user, store};
use crate::helpers::Backend;
use crate::on_both_backends;
use keyward_core::billing::limit::SpendLimit;
use keyward_core::model::ClientStatus;
use keyward_core::oauth::scope::ScopeSet;

on_both_backends!(a_limit_changes_only_from_the_one_expected_and_alone);

fn limit(text: &str) -> SpendLimit {
    SpendLimit::parse(text).expect(text)
}

async fn a_limit_changes_only_from_the_one_expected_and_alone(backend: Backend) {
    let (_db, store) = store(backend).await;
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    let bob = store.create_user(new_user("bob")).await.expect("bob");
    let app = store
        .create_client(new_client("client_a", alice.id, ClientStatus::Approved))
        .await
        .expect("app");
    let other = store
        .create_client(new_client("client_b", alice.id, ClientStatus::Approved))
        .await
        .expect("other app");
    let spend = ScopeSet::parse("balance balance:spend").expect("scopes");
    for client in [app.id, other.id] {
        store
            .save_consent(
                alice.id,
                client,
                spend,
                &Default::default(),
                Some(limit("5000/month")),
                1_000,
            )
            .await
            .expect("consent");
    }
    let before = store
        .consent(alice.id, app.id)
        .await
        .expect("read")
        .expect("consent");

    // Judged against another limit than the stored one: nothing changes.
    let stale = store
        .change_spend_limit(alice.id, app.id, limit("9000/month"), limit("1/day"))
        .await
        .expect("stale");
    assert!(!stale);
    let changed = store
        .change_spend_limit(alice.id, app.id, limit("5000/month"), limit("200/day"))
        .await
        .expect("change");
    assert!(changed);
    let after = store
        .consent(alice.id, app.id)
        .await
        .expect("read")
        .expect("consent");
    assert_eq!(after.spend_limit, Some(limit("200/day")));
    // Only the limit: scopes, APIs and times are as they were.
    assert_eq!(
        (after.scopes, after.created_at, after.updated_at),
        (before.scopes, before.created_at, before.updated_at)
    );
    // The user's other consent, and users without a consent, are untouched.
    let untouched = store.consent(alice.id, other.id).await.expect("read");
    assert_eq!(
        untouched.and_then(|c| c.spend_limit),
        Some(limit("5000/month"))
    );
    let none = store
        .change_spend_limit(bob.id, app.id, limit("5000/month"), limit("1/day"))
        .await
        .expect("no consent");
    assert!(!none);
    assert!(store.consent(bob.id, app.id).await.expect("read").is_none());
}
