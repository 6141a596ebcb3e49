//! Passwords, the guessing budget, sessions and developer tokens.

use crate::world::*;
use keyward_core::accounts::Change;
use keyward_core::accounts::{AccountError, ClientInfo};
use keyward_core::model::{Role, UserStatus};
use keyward_core::settings::Settings;
use keyward_core::store::UserPatch;

fn from(ip: &str) -> ClientInfo {
    ClientInfo {
        ip: ip.into(),
        user_agent: "test".into(),
    }
}

#[tokio::test]
async fn wrong_passwords_are_counted_per_account_and_a_success_clears_them() {
    let w = World::new().await;
    let user = w.user("grace").await;
    let settings = Settings::default();
    for _ in 0..4 {
        let wrong = w
            .accounts
            .login("grace", "nope", &from(IP), &settings)
            .await;
        assert!(
            matches!(wrong, Err(AccountError::InvalidCredentials)),
            "{wrong:?}"
        );
    }
    let ok = w
        .accounts
        .login("grace", "correct horse battery", &from(IP), &settings)
        .await
        .expect("the owner gets in within the budget");
    assert_eq!(ok.id, user.id);
    // Cleared: five more typos are allowed before the account is throttled.
    for _ in 0..5 {
        let wrong = w
            .accounts
            .login("GRACE", "nope", &from("192.0.2.2"), &settings)
            .await;
        assert!(
            matches!(wrong, Err(AccountError::InvalidCredentials)),
            "{wrong:?}"
        );
    }
    let throttled = w
        .accounts
        .login(
            "grace",
            "correct horse battery",
            &from("192.0.2.3"),
            &settings,
        )
        .await;
    assert!(
        matches!(throttled, Err(AccountError::Throttled { .. })),
        "{throttled:?}"
    );
    // The window passes and the owner is back.
    w.clock.advance(900);
    w.accounts
        .login("grace", "correct horse battery", &from(IP), &settings)
        .await
        .expect("after the window");
}

#[tokio::test]
async fn unknown_names_and_disabled_accounts_fail_like_a_wrong_password() {
    let w = World::new().await;
    let user = w.user("heidi").await;
    let settings = Settings::default();
    let unknown = w
        .accounts
        .login("nobody", "correct horse battery", &from(IP), &settings)
        .await;
    assert!(
        matches!(unknown, Err(AccountError::InvalidCredentials)),
        "{unknown:?}"
    );
    let patch = UserPatch {
        status: Some(UserStatus::Disabled),
        ..UserPatch::default()
    };
    w.store
        .patch_user(user.id, &patch, w.clock.now())
        .await
        .expect("disable");
    let disabled = w
        .accounts
        .login("heidi", "correct horse battery", &from(IP), &settings)
        .await;
    assert!(
        matches!(disabled, Err(AccountError::InvalidCredentials)),
        "{disabled:?}"
    );
}

#[tokio::test]
async fn sessions_expire_end_and_die_with_a_password_change() {
    let w = World::new().await;
    let user = w.user("ivan").await;
    let (cookie, _) = w
        .accounts
        .start_session(&user, &from(IP))
        .await
        .expect("session");
    let (other, _) = w
        .accounts
        .start_session(&user, &from(IP))
        .await
        .expect("second");
    let found = w.accounts.session(cookie.expose()).await.expect("lookup");
    assert_eq!(found.map(|(_, u)| u.id), Some(user.id));
    assert!(
        w.accounts
            .session("kws_not-a-session")
            .await
            .expect("lookup")
            .is_none()
    );

    w.accounts
        .end_session(cookie.expose())
        .await
        .expect("logout");
    assert!(
        w.accounts
            .session(cookie.expose())
            .await
            .expect("lookup")
            .is_none()
    );

    w.clock.advance(86_400);
    assert!(
        w.accounts
            .session(other.expose())
            .await
            .expect("lookup")
            .is_none(),
        "a session ends at its lifetime"
    );
}

#[tokio::test]
async fn a_developer_token_dies_with_a_password_change() {
    let w = World::new().await;
    let user = w.user("judy").await;
    let token = w
        .accounts
        .issue_developer_token(&user)
        .await
        .expect("token");
    let holder = w
        .accounts
        .developer_token_user(token.expose())
        .await
        .expect("lookup");
    assert_eq!(holder.map(|u| u.id), Some(user.id));
    w.accounts
        .change_password(
            &user,
            "correct horse battery",
            "a new long passphrase",
            &Change {
                ip: IP,
                mail: &w.mail(),
            },
        )
        .await
        .expect("change password");
    assert!(
        w.accounts
            .developer_token_user(token.expose())
            .await
            .expect("lookup")
            .is_none()
    );
}

#[tokio::test]
async fn admins_cannot_edit_their_equals_or_lock_themselves_out() {
    let w = World::new().await;
    let admin = w
        .accounts
        .create_user("admin1", "correct horse battery", Role::Admin)
        .await
        .expect("admin");
    let peer = w
        .accounts
        .create_user("admin2", "correct horse battery", Role::Admin)
        .await
        .expect("admin");
    let user = w.user("kim").await;
    let disable = UserPatch {
        status: Some(UserStatus::Disabled),
        ..UserPatch::default()
    };
    assert!(
        w.accounts
            .edit_user(&admin, peer.id, &disable, IP)
            .await
            .is_err()
    );
    assert!(
        w.accounts
            .edit_user(&admin, admin.id, &disable, IP)
            .await
            .is_err()
    );
    let edited = w
        .accounts
        .edit_user(&admin, user.id, &disable, IP)
        .await
        .expect("edit");
    assert_eq!(edited.status, UserStatus::Disabled);
    let audit = w
        .store
        .list_audit(
            &keyward_core::store::AuditFilter::action(Some("user.updated")),
            keyward_core::store::Page {
                offset: 0,
                limit: 50,
            },
        )
        .await;
    assert_eq!(
        audit.expect("audit").len(),
        1,
        "the edit is audited, the refusals are not"
    );
}
