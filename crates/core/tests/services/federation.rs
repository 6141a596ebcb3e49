//! Upstream identities: registration with a generated name, binding that never moves an
//! identity between accounts, and the last way in.

use crate::world::*;
use keyward_core::accounts::Change;
use keyward_core::accounts::federation::{
    FederatedIdentity, FederationError, Intent, Outcome, RegistrationPolicy,
};

fn github(subject: &str, display: &str) -> FederatedIdentity {
    FederatedIdentity {
        provider: "github".into(),
        provider_label: "GitHub",
        subject: subject.into(),
        display_name: display.into(),
        verified_email: None,
        avatar_url: String::new(),
    }
}

const OPEN: RegistrationPolicy = RegistrationPolicy {
    allowed: true,
    quota_for_new_user: 0,
};

#[tokio::test]
async fn an_unknown_identity_registers_under_a_generated_name_then_logs_in() {
    let w = World::new().await;
    let identity = github("1001", "admin");
    let Outcome::Registered(user) = w
        .accounts
        .federate(Intent::Login, &identity, OPEN, None, IP)
        .await
        .expect("register")
    else {
        panic!("an unknown identity registers");
    };
    assert_ne!(
        user.username, "admin",
        "provider handles never become user names"
    );
    let again = w
        .accounts
        .federate(Intent::Login, &identity, OPEN, None, IP)
        .await;
    assert!(matches!(again, Ok(Outcome::LoggedIn(u)) if u.id == user.id));

    let closed = RegistrationPolicy {
        allowed: false,
        ..OPEN
    };
    let refused = w
        .accounts
        .federate(Intent::Login, &github("1002", "x"), closed, None, IP)
        .await;
    assert!(
        matches!(refused, Err(FederationError::RegistrationClosed)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_identity_bound_to_one_account_is_never_moved_to_another() {
    let w = World::new().await;
    let alice = w.user("rita").await;
    let bob = w.user("sam").await;
    let identity = github("2001", "rita-gh");
    let bound = w
        .accounts
        .federate(Intent::Bind(alice.id), &identity, OPEN, None, IP)
        .await;
    assert!(matches!(bound, Ok(Outcome::Bound(u)) if u.id == alice.id));
    let stolen = w
        .accounts
        .federate(Intent::Bind(bob.id), &identity, OPEN, None, IP)
        .await;
    assert!(
        matches!(stolen, Err(FederationError::AlreadyBound(_))),
        "{stolen:?}"
    );
    let second = w
        .accounts
        .federate(Intent::Bind(alice.id), &github("2002", "x"), OPEN, None, IP)
        .await;
    assert!(
        matches!(second, Err(FederationError::ProviderTaken(_))),
        "{second:?}"
    );
}

#[tokio::test]
async fn the_last_way_in_cannot_be_unlinked() {
    let w = World::new().await;
    let Outcome::Registered(user) = w
        .accounts
        .federate(Intent::Login, &github("3001", "tom"), OPEN, None, IP)
        .await
        .expect("register")
    else {
        panic!("registered");
    };
    let last = w.accounts.unlink_identity(&user, "github", IP).await;
    assert!(matches!(last, Err(FederationError::LastWayIn)), "{last:?}");
    assert_eq!(
        w.store
            .identities_of_user(user.id)
            .await
            .expect("list")
            .len(),
        1
    );

    // With a password it may go, once.
    let user = w
        .store
        .user_by_id(user.id)
        .await
        .expect("user")
        .expect("exists");
    w.accounts
        .change_password(
            &user,
            "",
            "a brand new passphrase",
            &Change {
                ip: IP,
                mail: &w.mail(),
            },
        )
        .await
        .expect("set a first password");
    w.accounts
        .unlink_identity(&user, "github", IP)
        .await
        .expect("unlink");
    let again = w.accounts.unlink_identity(&user, "github", IP).await;
    assert!(
        matches!(again, Err(FederationError::NotLinked)),
        "{again:?}"
    );
}

#[tokio::test]
async fn linking_and_unlinking_an_identity_are_in_the_users_security_activity() {
    let w = World::new().await;
    let user = w.user("ivy").await;
    let bound = w
        .accounts
        .federate(
            Intent::Bind(user.id),
            &github("4001", "ivy"),
            OPEN,
            None,
            IP,
        )
        .await
        .expect("bind");
    assert!(matches!(bound, Outcome::Bound(_)));
    w.accounts
        .unlink_identity(&user, "github", IP)
        .await
        .expect("unlink");
    let page = keyward_core::store::Page {
        offset: 0,
        limit: 10,
    };
    let seen: Vec<(String, String)> = w
        .accounts
        .security_activity(&user, page)
        .await
        .expect("activity")
        .into_iter()
        .map(|e| (e.action, e.ip))
        .collect();
    assert_eq!(
        seen,
        [
            ("identity.unlinked".to_owned(), IP.to_owned()),
            ("identity.linked".to_owned(), IP.to_owned())
        ]
    );
}
