use super::*;
use crate::model::UserStatus;

fn user(id: UserId, name: &str, role: Role) -> User {
    User {
        id,
        uuid: uuid::Uuid::nil(),
        username: name.into(),
        display_name: format!("{name} Display"),
        email: Some(format!("{name}@example.com")),
        email_verified: true,
        password_hash: None,
        avatar_url: String::new(),
        level: 0,
        role,
        status: UserStatus::Enabled,
        quota: 0,
        used_quota: 0,
        aff_code: String::new(),
        inviter_id: None,
        created_at: 0,
        last_login_at: None,
        totp_enabled: false,
    }
}

fn entry(actor: Option<UserId>, action: &str, target: &str, detail: &str) -> AuditEntry {
    AuditEntry {
        id: 1,
        at: 0,
        actor_id: actor,
        actor_pseudonym: None,
        action: action.into(),
        target: target.into(),
        detail: detail.into(),
        ip: "192.0.2.7".into(),
    }
}

fn alice_plan() -> AccountDeletion {
    let alice = user(7, "Alice", Role::User);
    let github = crate::model::Identity {
        provider: "github".into(),
        subject: "9001".into(),
        user_id: 7,
        display: "alice-gh".into(),
        created_at: 0,
    };
    plan(
        &alice,
        &[github],
        None,
        &Settings::default(),
        1_000,
        "198.51.100.1",
    )
}

#[test]
fn the_confirmation_is_the_user_name_without_case() {
    let alice = user(7, "Alice", Role::User);
    assert!(confirms(&alice, "alice"));
    assert!(confirms(&alice, " ALICE "));
    assert!(!confirms(&alice, ""));
    assert!(!confirms(&alice, "alice2"));
    assert!(!confirms(&alice, "alice@example.com"));
}

#[test]
fn admins_delete_only_below_their_rank_and_root_anyone() {
    let root = user(1, "root", Role::Root);
    let other_root = user(2, "root2", Role::Root);
    let admin = user(3, "admin", Role::Admin);
    let other_admin = user(4, "admin2", Role::Admin);
    let plain = user(5, "plain", Role::User);
    assert!(check_admin(&admin, &plain).is_ok());
    assert!(matches!(
        check_admin(&admin, &other_admin),
        Err(DeletionError::Rank)
    ));
    assert!(matches!(
        check_admin(&admin, &root),
        Err(DeletionError::Rank)
    ));
    assert!(check_admin(&plain, &plain.clone()).is_ok());
    assert!(matches!(
        check_admin(&plain, &user(6, "x", Role::User)),
        Err(DeletionError::Rank)
    ));
    assert!(check_admin(&root, &other_root).is_ok());
    assert!(check_admin(&root, &admin).is_ok());
}

#[test]
fn the_plan_holds_the_folded_name_and_keeps_no_ip_of_a_self_deletion() {
    let plan = alice_plan();
    assert!(plan.pseudonym.starts_with(PSEUDONYM_PREFIX));
    assert!(plan.pseudonym.len() > PSEUDONYM_PREFIX.len() + 10);
    assert_eq!(plan.hold_name, "alice");
    assert_eq!(plan.hold_until, 1_000 + 90 * 24 * 3600);
    assert_eq!(plan.record.actor_id, None);
    assert_eq!(plan.record.target, plan.pseudonym);
    assert_eq!(plan.record.ip, "");
    for p in [
        "alice",
        "alice display",
        "alice@example.com",
        "9001",
        "alice-gh",
    ] {
        assert!(plan.personal.contains(&p.to_owned()), "{p}");
    }
    // Two deletions never share a pseudonym.
    assert_ne!(plan.pseudonym, alice_plan().pseudonym);
}

#[test]
fn records_by_the_account_lose_the_actor_and_the_ip() {
    let plan = alice_plan();
    let rewrite = plan
        .rewrite(&entry(
            Some(7),
            "consent.granted",
            "app-1",
            r#"{"scopes":"openid"}"#,
        ))
        .expect("rewritten");
    assert_eq!(rewrite.actor_id, None);
    assert_eq!(
        rewrite.actor_pseudonym.as_deref(),
        Some(plan.pseudonym.as_str())
    );
    assert_eq!(rewrite.ip, "");
    assert_eq!(rewrite.target, "app-1");
    assert_eq!(rewrite.detail, r#"{"scopes":"openid"}"#);
}

#[test]
fn records_about_the_account_keep_the_admin_but_name_the_pseudonym() {
    let plan = alice_plan();
    let rewrite = plan
        .rewrite(&entry(
            Some(1),
            "email.bound",
            "7",
            r#"{"email":"ALICE@example.com","nested":[{"user_id":7},"see alice@example.com"]}"#,
        ))
        .expect("rewritten");
    assert_eq!(rewrite.actor_id, Some(1));
    assert_eq!(rewrite.ip, "192.0.2.7");
    assert_eq!(rewrite.target, plan.pseudonym);
    assert!(
        !rewrite.detail.to_lowercase().contains("alice"),
        "{}",
        rewrite.detail
    );
    assert!(!rewrite.detail.contains(":7"), "{}", rewrite.detail);
    assert!(rewrite.detail.contains(&plan.pseudonym));
}

#[test]
fn other_records_stay_as_they_are() {
    let plan = alice_plan();
    // A top-up code numbered like the user is not the user.
    assert_eq!(
        plan.rewrite(&entry(Some(1), "topup.redeemed", "7", "{}")),
        None
    );
    assert_eq!(
        plan.rewrite(&entry(Some(2), "user.updated", "8", r#"{"quota":7}"#)),
        None
    );
    // A name that only contains the user name is someone else's.
    assert_eq!(
        plan.rewrite(&entry(
            Some(2),
            "app.created",
            "c",
            r#"{"name":"alice's app"}"#
        )),
        None
    );
}

#[test]
fn a_detail_that_is_not_json_but_names_the_person_is_emptied() {
    let plan = alice_plan();
    let rewrite = plan
        .rewrite(&entry(Some(7), "app.created", "c", "made by alice-gh"))
        .expect("rewritten");
    assert_eq!(rewrite.detail, "{}");
    // In someone else's record, only the address counts.
    let rewrite = plan
        .rewrite(&entry(
            Some(2),
            "app.created",
            "c",
            "mail alice@example.com",
        ))
        .expect("rewritten");
    assert_eq!(rewrite.detail, "{}");
    assert_eq!(
        plan.rewrite(&entry(Some(2), "app.created", "c", "made for alice-gh")),
        None
    );
}

#[test]
fn a_common_word_as_a_name_leaves_other_records_alone() {
    let mut openid = user(7, "openid", Role::User);
    openid.display_name = "profile".into();
    let plan = plan(&openid, &[], None, &Settings::default(), 1_000, "");
    let other = entry(
        Some(2),
        "consent.granted",
        "c",
        r#"{"scopes":"openid","x":"profile"}"#,
    );
    assert_eq!(plan.rewrite(&other), None);
    let theirs = plan
        .rewrite(&entry(
            Some(7),
            "consent.granted",
            "c",
            r#"{"scopes":"openid"}"#,
        ))
        .expect("rewritten");
    assert_eq!(
        theirs.detail,
        format!(r#"{{"scopes":"{}"}}"#, plan.pseudonym)
    );
}
