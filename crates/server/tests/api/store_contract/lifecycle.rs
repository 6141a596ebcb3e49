//! `LifecycleStore`: the audit records about one user.

use super::{new_user, store};
use crate::helpers::Backend;
use crate::on_both_backends;
use keyward_core::model::NewAuditEntry;
use keyward_core::store::{Page, UserAuditQuery};

on_both_backends!(audit_about_a_user_is_theirs_only_newest_first_and_paged);

async fn audit_about_a_user_is_theirs_only_newest_first_and_paged(backend: Backend) {
    let (_db, store) = store(backend).await;
    let ada = store.create_user(new_user("ada")).await.expect("ada");
    let bob = store.create_user(new_user("bob")).await.expect("bob");
    let entry = |at: i64, actor: Option<i64>, action: &'static str, target: String| NewAuditEntry {
        at,
        actor_id: actor,
        action,
        target,
        detail: "{}".into(),
        ip: "192.0.2.1".into(),
    };
    let rows = [
        entry(1, Some(ada.id), "user.signed_in", ada.id.to_string()),
        entry(2, Some(bob.id), "user.signed_in", bob.id.to_string()),
        // Bob (an admin) acted on Ada.
        entry(3, Some(bob.id), "two_factor.reset", ada.id.to_string()),
        // Ada did something to an app whose client id happens to be Bob's id.
        entry(4, Some(ada.id), "app.created", bob.id.to_string()),
        // An app action whose target is Ada's digits: not about Ada.
        entry(5, None, "app.updated", ada.id.to_string()),
    ];
    for row in rows {
        store.audit(row).await.expect("audit");
    }
    let actions = ["user.signed_in", "two_factor.reset"];
    let page = Page {
        offset: 0,
        limit: 10,
    };
    let about = |user, include_acted, page| UserAuditQuery {
        user,
        actions: &actions,
        include_acted,
        page,
    };
    let at = |entries: Vec<keyward_core::model::AuditEntry>| -> Vec<i64> {
        entries.into_iter().map(|e| e.at).collect()
    };

    let targeted = store
        .audit_about_user(&about(ada.id, false, page))
        .await
        .expect("read");
    assert_eq!(at(targeted), [3, 1]);
    let with_acted = store
        .audit_about_user(&about(ada.id, true, page))
        .await
        .expect("read");
    assert_eq!(at(with_acted), [4, 3, 1]);
    let bobs = store
        .audit_about_user(&about(bob.id, false, page))
        .await
        .expect("read");
    assert_eq!(at(bobs), [2], "Ada's app record is not about Bob");
    let paged = store
        .audit_about_user(&about(
            ada.id,
            true,
            Page {
                offset: 1,
                limit: 1,
            },
        ))
        .await
        .expect("read");
    assert_eq!(at(paged), [3]);
    let none = store
        .audit_about_user(&UserAuditQuery {
            user: ada.id,
            actions: &[],
            include_acted: false,
            page,
        })
        .await
        .expect("read");
    assert!(none.is_empty());
}
