//! Session cookies against a real store: no hostile or mangled value authenticates
//! (SECURITY.md, "Fuzzing"). One SQLite database for all cases, so it stays fast.

use crate::helpers::{Backend, TestDatabase};
use keyward_core::accounts::{Accounts, ClientInfo, LoginPolicy, PasswordHasher};
use keyward_core::model::Role;
use keyward_core::{Clock, SystemClock};
use proptest::collection::vec;
use proptest::prelude::*;
use std::sync::Arc;

/// A value near the real one: cut, extended, one character changed, or re-cased.
fn near(real: String) -> impl Strategy<Value = String> {
    (any::<prop::sample::Index>(), any::<char>(), 0u8..5).prop_map(move |(at, ch, how)| {
        let mut chars: Vec<char> = real.chars().collect();
        let i = at.index(chars.len());
        match how {
            0 => chars.truncate(i),
            1 => chars.push(ch),
            2 => chars[i] = ch,
            3 => chars[i] = chars[i].to_ascii_uppercase(),
            _ => chars.insert(i, ch),
        }
        chars.into_iter().collect()
    })
}

#[test]
fn hostile_session_cookies_never_authenticate() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (_db, accounts, real) = runtime.block_on(async {
        let db = TestDatabase::new(Backend::Sqlite).await;
        let store = keyward::app::open_store(&db.url, 2).await.expect("store");
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let hasher = PasswordHasher::new().expect("hasher");
        let accounts = Accounts::new(store, clock, hasher, LoginPolicy::default());
        let user = accounts
            .create_user("cookie-owner", "password-123", Role::User)
            .await
            .expect("user");
        let (secret, _) = accounts
            .start_session(&user, &ClientInfo::default())
            .await
            .expect("session");
        (db, accounts, secret.into_exposed())
    });
    // The test can fail: the real value does open the session.
    let found = runtime.block_on(accounts.session(&real)).expect("lookup");
    assert!(found.is_some());

    let hostile = prop_oneof![
        any::<String>(),
        vec(any::<char>(), 0..3000).prop_map(String::from_iter),
        "ses_[A-Za-z0-9_-]{0,60}",
        near(real.clone()),
    ];
    proptest!(|(value in hostile)| {
        prop_assume!(value != real);
        let found = runtime.block_on(accounts.session(&value));
        prop_assert!(matches!(found, Ok(None)), "{:?}", found.map(|f| f.is_some()));
        let pending = runtime.block_on(accounts.pending_session(&value));
        prop_assert!(matches!(pending, Ok(None)));
    });
}
