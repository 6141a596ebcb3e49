//! Passwords, the guessing budget, sessions and developer tokens.

use crate::world::*;
use keyward_core::accounts::Change;
use keyward_core::accounts::{AccountError, ClientInfo};
use keyward_core::model::{Role, UserStatus};
use keyward_core::secret::Secret;
use keyward_core::settings::Settings;
use keyward_core::store::UserPatch;

/// The browser that holds `device` (a device token), at `ip`.
fn browser(ip: &str, device: Option<&Secret>) -> ClientInfo {
    ClientInfo {
        device: device.cloned(),
        ..from(ip)
    }
}

fn from(ip: &str) -> ClientInfo {
    ClientInfo {
        ip: ip.into(),
        user_agent: "test".into(),
        device: None,
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

#[tokio::test]
async fn guessing_is_slowed_down_and_bounded_never_locked() {
    let w = World::new().await;
    w.user("judy").await;
    let settings = Settings::default();
    // An attacker from ever new addresses (no address budget helps) tries every second for
    // one window: only the free failures and the delayed ones get tested.
    let mut tested = 0;
    let mut waits = Vec::new();
    for second in 0..900 {
        let ip = format!("198.51.{}.{}", second / 250, second % 250);
        match w
            .accounts
            .login("judy", "guess", &from(&ip), &settings)
            .await
        {
            Err(AccountError::InvalidCredentials) => tested += 1,
            Err(AccountError::Throttled { retry_after }) => {
                if waits.last() != Some(&retry_after) {
                    waits.push(retry_after);
                }
            }
            other => panic!("{other:?}"),
        }
        w.clock.advance(1);
    }
    // 5 free, then at 30, 90, 210 and 450 s from the window's start.
    assert_eq!(tested, 5 + 4, "{waits:?}");
    assert!(waits.iter().all(|&s| (1..=900).contains(&s)), "{waits:?}");
    // Never a lock: the owner, with the right password, gets in at the next opening.
    let mut owner = None;
    for _ in 0..900 {
        match w
            .accounts
            .login(
                "judy",
                "correct horse battery",
                &from("192.0.2.9"),
                &settings,
            )
            .await
        {
            Ok(user) => {
                owner = Some(user);
                break;
            }
            Err(AccountError::Throttled { .. }) => w.clock.advance(1),
            other => panic!("{other:?}"),
        }
    }
    assert!(owner.is_some());
}

#[tokio::test]
async fn the_owners_browser_keeps_its_own_budget() {
    let w = World::new().await;
    let user = w.user("kim").await;
    let other = w.user("lee").await;
    let settings = Settings::default();
    let token = w
        .accounts
        .device_token(&user)
        .expect("device tokens are on");
    let foreign = w
        .accounts
        .device_token(&other)
        .expect("device tokens are on");
    for i in 0..50 {
        let ip = format!("203.0.113.{i}");
        let _ = w
            .accounts
            .login("kim", "guess", &from(&ip), &settings)
            .await;
    }
    let stranger = w
        .accounts
        .login(
            "kim",
            "correct horse battery",
            &from("192.0.2.7"),
            &settings,
        )
        .await;
    assert!(
        matches!(stranger, Err(AccountError::Throttled { .. })),
        "{stranger:?}"
    );
    // Another account's token, or a made-up one, is no way around the budget.
    for token in [&foreign, &Secret::from_string("d1.1.abc.def".into())] {
        let with = w
            .accounts
            .login(
                "kim",
                "correct horse battery",
                &browser("192.0.2.7", Some(token)),
                &settings,
            )
            .await;
        assert!(
            matches!(with, Err(AccountError::Throttled { .. })),
            "{with:?}"
        );
    }
    let owner = w
        .accounts
        .login(
            "kim",
            "correct horse battery",
            &browser("192.0.2.7", Some(&token)),
            &settings,
        )
        .await
        .expect("the owner's browser gets in at once");
    assert_eq!(owner.id, user.id);
    // The browser's own budget is bounded too: five typos, then it waits like anyone.
    for _ in 0..5 {
        let typo = w
            .accounts
            .login(
                "kim",
                "typo",
                &browser("192.0.2.7", Some(&token)),
                &settings,
            )
            .await;
        assert!(
            matches!(typo, Err(AccountError::InvalidCredentials)),
            "{typo:?}"
        );
    }
    let sixth = w
        .accounts
        .login(
            "kim",
            "correct horse battery",
            &browser("192.0.2.7", Some(&token)),
            &settings,
        )
        .await;
    assert!(
        matches!(sixth, Err(AccountError::Throttled { .. })),
        "{sixth:?}"
    );
}

#[tokio::test]
async fn unlocking_clears_the_accounts_counters() {
    let w = World::new().await;
    let user = w.user("mia").await;
    let settings = Settings::default();
    for i in 0..5 {
        let ip = format!("203.0.113.{i}");
        let _ = w
            .accounts
            .login("mia", "guess", &from(&ip), &settings)
            .await;
    }
    let before = w
        .accounts
        .login("mia", "correct horse battery", &from(IP), &settings)
        .await;
    assert!(
        matches!(before, Err(AccountError::Throttled { .. })),
        "{before:?}"
    );
    w.accounts.unlock(&user, None, "").await.expect("unlock");
    w.accounts
        .login("mia", "correct horse battery", &from(IP), &settings)
        .await
        .expect("unlocked");
}
