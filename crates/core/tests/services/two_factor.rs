//! TOTP enrolment, login codes (each time step once), recovery codes and the guessing budget.

use crate::world::*;
use keyward_core::accounts::two_factor::{TwoFactor, TwoFactorError};
use keyward_core::accounts::{Change, ClientInfo};
use keyward_core::settings::Settings;

fn browser() -> ClientInfo {
    ClientInfo {
        ip: IP.into(),
        user_agent: "test".into(),
        device: None,
    }
}

fn code_now(w: &World, url: &str) -> String {
    let now = u64::try_from(w.clock.now()).expect("time");
    TwoFactor::code_for(url, now).expect("a code")
}

#[tokio::test]
async fn a_code_works_once_per_time_step_and_recovery_codes_once() {
    let w = World::new().await;
    let user = w.user("leo").await;
    let settings = Settings::default();
    let enrolment = w.two_factor.begin(&user).await.expect("begin");
    let wrong = w.two_factor.enable(&user, "000000", &settings, IP).await;
    assert!(matches!(wrong, Err(TwoFactorError::WrongCode)), "{wrong:?}");
    w.two_factor
        .enable(&user, &code_now(&w, &enrolment.otpauth_url), &settings, IP)
        .await
        .expect("enable");
    assert!(matches!(
        w.two_factor.begin(&user).await,
        Err(TwoFactorError::AlreadyEnabled)
    ));

    // The step that enabled it is spent; the next one logs in, once.
    w.clock.advance(30);
    let code = code_now(&w, &enrolment.otpauth_url);
    w.two_factor
        .complete_login(&user, &code, &settings, &browser())
        .await
        .expect("login");
    let replay = w
        .two_factor
        .complete_login(&user, &code, &settings, &browser())
        .await;
    assert!(
        matches!(replay, Err(TwoFactorError::WrongCode)),
        "{replay:?}"
    );
    // The refused code is a failed sign-in of the account, recorded without the code.
    let failed = w
        .store
        .list_audit(
            &keyward_core::store::AuditFilter::action(Some("user.sign_in_failed")),
            keyward_core::store::Page {
                offset: 0,
                limit: 10,
            },
        )
        .await
        .expect("audit");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].target, user.id.to_string());
    assert!(
        failed[0].detail.contains("wrong_second_factor"),
        "{}",
        failed[0].detail
    );
    assert!(!failed[0].detail.contains(&code), "never the code");

    let recovery = &enrolment.backup_codes[0];
    w.two_factor
        .complete_login(&user, &recovery.to_uppercase(), &settings, &browser())
        .await
        .expect("a recovery code, in any case");
    let again = w
        .two_factor
        .complete_login(&user, recovery, &settings, &browser())
        .await;
    assert!(matches!(again, Err(TwoFactorError::WrongCode)), "{again:?}");
}

#[tokio::test]
async fn wrong_login_codes_are_throttled_without_locking_out_management() {
    let w = World::new().await;
    let user = w.user("mia").await;
    let settings = Settings::default();
    let enrolment = w.two_factor.begin(&user).await.expect("begin");
    w.two_factor
        .enable(&user, &code_now(&w, &enrolment.otpauth_url), &settings, IP)
        .await
        .expect("enable");
    let mut throttled = false;
    for _ in 0..20 {
        match w
            .two_factor
            .complete_login(&user, "123456", &settings, &browser())
            .await
        {
            Err(TwoFactorError::WrongCode) => {}
            Err(TwoFactorError::Throttled { .. }) => throttled = true,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(throttled, "guessing at the login step is throttled");
    w.clock.advance(30);
    let right = code_now(&w, &enrolment.otpauth_url);
    let still = w
        .two_factor
        .complete_login(&user, &right, &settings, &browser())
        .await;
    assert!(
        matches!(still, Err(TwoFactorError::Throttled { .. })),
        "{still:?}"
    );
    // The owner's settings page has its own budget.
    w.two_factor
        .disable(
            &user,
            &right,
            &settings,
            &Change {
                ip: IP,
                mail: &w.mail(),
            },
        )
        .await
        .expect("disable");
}
