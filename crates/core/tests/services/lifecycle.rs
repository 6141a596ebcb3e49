//! The life of an account (#16): the security activity, the notices, the e-mail change and the
//! export, as the web layer calls them.

use crate::world::*;
use keyward_core::accounts::email::{EmailError, Mail};
use keyward_core::accounts::{Change, ClientInfo, SignInMethod};
use keyward_core::audit::action;
use keyward_core::model::{Role, User};
use keyward_core::settings::Settings;
use keyward_core::store::Page;

const PAGE: Page = Page {
    offset: 0,
    limit: 50,
};

async fn smtp_on(w: &World) {
    let settings = Settings {
        smtp_host: "mail.example.test".into(),
        ..Settings::default()
    };
    w.settings.seed(&settings, START).await.expect("settings");
}

fn code_in(mail: &Mail) -> String {
    mail.body
        .split(|c: char| !c.is_ascii_digit())
        .find(|part| part.len() == 6)
        .expect("a code in the mail")
        .to_owned()
}

/// A user whose address `email` is verified (bound with a mailed code).
async fn verified(w: &World, name: &str, email: &str) -> User {
    let user = w.user(name).await;
    w.accounts
        .send_verification(&w.mail(), email, IP, Some(user.id))
        .await
        .expect("code");
    let code = code_in(w.mailer.sent().last().expect("mail"));
    w.accounts
        .bind_email(&user, email, &code, IP)
        .await
        .expect("bound");
    w.store
        .user_by_id(user.id)
        .await
        .expect("read")
        .expect("user")
}

async fn actions(w: &World, user: &User) -> Vec<String> {
    w.accounts
        .security_activity(user, PAGE)
        .await
        .expect("activity")
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn sign_ins_and_security_changes_are_listed_newest_first_for_their_user_only() {
    let w = World::new().await;
    smtp_on(&w).await;
    let user = w.user("ada").await;
    let other = w.user("bob").await;
    let browser = ClientInfo {
        ip: "198.51.100.7".into(),
        user_agent: "Firefox/140".into(),
        device: None,
    };
    w.accounts
        .record_sign_in(&user, SignInMethod::Password, None, &browser)
        .await;
    w.accounts
        .record_sign_in(&other, SignInMethod::Upstream, Some("github"), &browser)
        .await;
    let mail = w.mail();
    let change = Change {
        ip: IP,
        mail: &mail,
    };
    w.accounts
        .change_password(
            &user,
            "correct horse battery",
            "another passphrase",
            &change,
        )
        .await
        .expect("changed");

    let listed = w
        .accounts
        .security_activity(&user, PAGE)
        .await
        .expect("activity");
    let seen: Vec<_> = listed.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(seen, [action::PASSWORD_CHANGED, action::SIGNED_IN]);
    let sign_in = &listed[1];
    assert_eq!(sign_in.method.as_deref(), Some("password"));
    assert_eq!(sign_in.ip, "198.51.100.7");
    assert_eq!(sign_in.user_agent.as_deref(), Some("Firefox/140"));
    assert!(!sign_in.by_other);

    let theirs = w
        .accounts
        .security_activity(&other, PAGE)
        .await
        .expect("activity");
    assert_eq!(theirs.len(), 1, "only bob's own sign-in");
    assert_eq!(theirs[0].method.as_deref(), Some("upstream:github"));
}

#[tokio::test]
async fn a_password_change_mails_a_verified_address_only_when_smtp_is_set() {
    let w = World::new().await;
    let user = verified_without_smtp(&w).await;
    let mail = w.mail();
    let change = Change {
        ip: IP,
        mail: &mail,
    };
    w.accounts
        .change_password(
            &user,
            "correct horse battery",
            "a first new passphrase",
            &change,
        )
        .await
        .expect("changed");
    assert!(w.mailer.sent().is_empty(), "no SMTP, no mail");

    smtp_on(&w).await;
    let user = w
        .store
        .user_by_id(user.id)
        .await
        .expect("read")
        .expect("user");
    w.accounts
        .change_password(
            &user,
            "a first new passphrase",
            "a second new passphrase",
            &change,
        )
        .await
        .expect("changed");
    let sent = w.mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "ada@example.com");
    assert!(sent[0].body.contains("Your password was changed."));

    // An unverified claim gets nothing: the address may not even be theirs.
    let plain = w.user("carl").await;
    w.accounts
        .change_password(
            &plain,
            "correct horse battery",
            "carl's new passphrase",
            &change,
        )
        .await
        .expect("changed");
    assert_eq!(w.mailer.sent().len(), 1);
}

/// A user with a verified address, while SMTP is off (set directly in the store).
async fn verified_without_smtp(w: &World) -> User {
    let user = w.user("ada").await;
    w.store
        .set_verified_email(user.id, "ada@example.com", START)
        .await
        .expect("verified");
    w.store
        .user_by_id(user.id)
        .await
        .expect("read")
        .expect("user")
}

#[tokio::test]
async fn an_email_change_needs_the_code_mailed_to_the_new_address_and_tells_the_old_one() {
    let w = World::new().await;
    smtp_on(&w).await;
    let user = verified(&w, "ada", "old@example.com").await;
    let mail = w.mail();

    w.accounts
        .send_change_code(&mail, &user, "new@example.com", IP)
        .await
        .expect("sent");
    let sent = w.mailer.sent();
    let to_new = sent.last().expect("mail");
    assert_eq!(to_new.to, "new@example.com");
    let code = code_in(to_new);

    // Until the code is entered the old address stays.
    let before = w
        .store
        .user_by_id(user.id)
        .await
        .expect("read")
        .expect("user");
    assert_eq!(before.email.as_deref(), Some("old@example.com"));

    let wrong = w
        .accounts
        .change_email(&mail, &user, "new@example.com", "000000", IP)
        .await;
    assert!(matches!(wrong, Err(EmailError::BadCode)), "{wrong:?}");
    w.accounts
        .change_email(&mail, &user, "new@example.com", &code, IP)
        .await
        .expect("changed");
    let after = w
        .store
        .user_by_id(user.id)
        .await
        .expect("read")
        .expect("user");
    assert_eq!(after.email.as_deref(), Some("new@example.com"));
    assert!(after.email_verified);
    let notice = w.mailer.sent().last().cloned().expect("notice");
    assert_eq!(notice.to, "old@example.com");
    assert!(notice.body.contains("e-mail address was changed"));
    assert_eq!(actions(&w, &after).await[0], action::EMAIL_CHANGED);

    // Replayed: the code was used up.
    let replay = w
        .accounts
        .change_email(&mail, &after, "new@example.com", &code, IP)
        .await;
    assert!(matches!(replay, Err(EmailError::BadCode)), "{replay:?}");
}

#[tokio::test]
async fn an_email_change_refuses_codes_for_another_purpose_or_account_and_hides_taken_addresses() {
    let w = World::new().await;
    smtp_on(&w).await;
    let user = verified(&w, "ada", "ada@example.com").await;
    let eve = verified(&w, "eve", "eve@example.com").await;
    let mail = w.mail();

    // A binding code (another purpose) for the new address does not change it.
    w.accounts
        .send_verification(&mail, "fresh@example.com", IP, Some(user.id))
        .await
        .expect("code");
    let verify_code = code_in(w.mailer.sent().last().expect("mail"));
    let other_purpose = w
        .accounts
        .change_email(&mail, &user, "fresh@example.com", &verify_code, IP)
        .await;
    assert!(matches!(other_purpose, Err(EmailError::BadCode)));

    // Eve's change code is hers alone.
    w.accounts
        .send_change_code(&mail, &eve, "eve2@example.com", IP)
        .await
        .expect("sent");
    let eves = code_in(w.mailer.sent().last().expect("mail"));
    let stolen = w
        .accounts
        .change_email(&mail, &user, "eve2@example.com", &eves, IP)
        .await;
    assert!(matches!(stolen, Err(EmailError::BadCode)));

    // Eve's address: the same answer as any, and no mail goes out.
    let mails = w.mailer.sent().len();
    w.accounts
        .send_change_code(&mail, &user, "eve@example.com", IP)
        .await
        .expect("same answer");
    assert_eq!(w.mailer.sent().len(), mails);

    // Binding over a verified address is a change, refused on the binding path.
    let rebind = w
        .accounts
        .bind_email(&user, "fresh@example.com", &verify_code, IP)
        .await;
    assert!(matches!(rebind, Err(EmailError::ChangeNeeded)));

    let ada = w
        .store
        .user_by_id(user.id)
        .await
        .expect("read")
        .expect("user");
    assert_eq!(ada.email.as_deref(), Some("ada@example.com"));
}

#[tokio::test]
async fn an_admin_resets_two_factor_only_below_their_rank_and_the_user_is_told() {
    let w = World::new().await;
    smtp_on(&w).await;
    let admin = w
        .accounts
        .create_user("boss", "correct horse battery", Role::Admin)
        .await
        .expect("admin");
    let peer = w
        .accounts
        .create_user("peer", "correct horse battery", Role::Admin)
        .await
        .expect("admin");
    let user = verified(&w, "ada", "ada@example.com").await;
    let settings = Settings::default();
    for who in [&user, &peer] {
        let enrolment = w.two_factor.begin(who).await.expect("begin");
        let now = u64::try_from(w.clock.now()).expect("time");
        let code =
            keyward_core::accounts::two_factor::TwoFactor::code_for(&enrolment.otpauth_url, now)
                .expect("code");
        w.two_factor
            .enable(who, &code, &settings, IP)
            .await
            .expect("on");
    }
    let mail = w.mail();
    let change = Change {
        ip: IP,
        mail: &mail,
    };

    let refused = w.two_factor.reset_by_admin(&admin, peer.id, &change).await;
    assert!(refused.is_err(), "a peer admin is not below");
    let peer_now = w
        .store
        .user_by_id(peer.id)
        .await
        .expect("read")
        .expect("peer");
    assert!(peer_now.totp_enabled, "nothing changed");

    let reset = w
        .two_factor
        .reset_by_admin(&admin, user.id, &change)
        .await
        .expect("reset");
    assert!(!reset.totp_enabled);
    assert!(
        w.mailer
            .sent()
            .last()
            .expect("notice")
            .body
            .contains("administrator turned off")
    );
    let listed = w
        .accounts
        .security_activity(&reset, PAGE)
        .await
        .expect("activity");
    assert_eq!(listed[0].action, action::TWO_FACTOR_RESET);
    assert!(listed[0].by_other);
    assert_eq!(listed[1].action, action::TWO_FACTOR_ENABLED);
}
