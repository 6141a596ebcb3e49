//! Scopes: what an app may read. A small closed set, kept as a bit set so that checks on the hot
//! path are one AND.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// OpenID Connect: an id_token and `sub`.
    OpenId,
    /// User name, display name, avatar, level; without `openid` also the e-mail ([`Access`]).
    Profile,
    /// The e-mail address and whether it is verified.
    Email,
    /// Quota, used quota and formatted balance.
    Balance,
    /// Refresh tokens for OIDC clients.
    OfflineAccess,
    /// Spending the balance within the limit the user set at consent (issue #19); only for
    /// apps an admin allowed to spend.
    BalanceSpend,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::OpenId,
        Scope::Profile,
        Scope::Email,
        Scope::Balance,
        Scope::OfflineAccess,
        Scope::BalanceSpend,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenId => "openid",
            Self::Profile => "profile",
            Self::Email => "email",
            Self::Balance => "balance",
            Self::OfflineAccess => "offline_access",
            Self::BalanceSpend => "balance:spend",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScopeSet(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope")]
pub struct UnknownScope;

impl ScopeSet {
    pub const EMPTY: ScopeSet = ScopeSet(0);

    /// Parses a space-separated list (RFC 6749 §3.3). Repeats are harmless; an unknown name is
    /// an error, not silently dropped, so an app learns that it asked for something it cannot get.
    pub fn parse(text: &str) -> Result<Self, UnknownScope> {
        text.split([' ', '+'])
            .filter(|s| !s.is_empty())
            .try_fold(Self::EMPTY, |set, name| {
                Scope::parse(name).map(|s| set.with(s)).ok_or(UnknownScope)
            })
    }

    pub fn of(scopes: &[Scope]) -> Self {
        scopes.iter().fold(Self::EMPTY, |set, s| set.with(*s))
    }

    pub fn with(self, scope: Scope) -> Self {
        Self(self.0 | scope.bit())
    }

    pub fn without(self, scope: Scope) -> Self {
        Self(self.0 & !scope.bit())
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn is_subset_of(self, other: ScopeSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn union(self, other: ScopeSet) -> Self {
        Self(self.0 | other.0)
    }

    pub fn intersection(self, other: ScopeSet) -> Self {
        Self(self.0 & other.0)
    }

    /// The set as a bit mask, for storage where sets are merged with a bitwise OR in SQL.
    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }

    /// Rebuilds a set from `bits`, ignoring bits no scope uses.
    pub fn from_bits(bits: i64) -> Self {
        let all = Scope::ALL.iter().fold(0u8, |acc, s| acc | s.bit());
        Self(u8::try_from(bits & i64::from(all)).unwrap_or_default())
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

/// What a grant lets an app read or do, whichever endpoint it asks: the two userinfo endpoints,
/// the id_token and 2libra's `me`. The consent page lists exactly these, so what the user is
/// told and what the app gets are decided here, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Who the user is: `sub` (OIDC).
    Identity,
    /// User name, display name, avatar and level.
    Profile,
    /// The e-mail address and whether it is verified.
    Email,
    /// Quota, used quota and formatted balance.
    Balance,
    /// Refresh tokens: access goes on while the user is away.
    Offline,
    /// Spending the balance, within the limit the user sets.
    Spend,
}

impl Access {
    pub const ALL: [Access; 6] = [
        Access::Identity,
        Access::Profile,
        Access::Email,
        Access::Balance,
        Access::Offline,
        Access::Spend,
    ];
}

impl ScopeSet {
    /// Whether this grant gives `access`. The e-mail rule: new-api style grants (no `openid`)
    /// read it with `profile`, as seed 001 documents ("profile: 用户名、邮箱"); an OIDC grant
    /// (with `openid`) reads it only with `email` (OIDC Core §5.4), so an OIDC app refused
    /// `email` does not get it through the new-api userinfo either.
    pub fn gives(self, access: Access) -> bool {
        match access {
            Access::Identity => self.contains(Scope::OpenId),
            Access::Profile => self.contains(Scope::Profile),
            Access::Email => {
                self.contains(Scope::Email)
                    || (self.contains(Scope::Profile) && !self.contains(Scope::OpenId))
            }
            Access::Balance => self.contains(Scope::Balance),
            Access::Offline => self.contains(Scope::OfflineAccess),
            Access::Spend => self.contains(Scope::BalanceSpend),
        }
    }

    /// Everything this grant gives, in a fixed order (the consent page's list).
    pub fn access(self) -> impl Iterator<Item = Access> {
        Access::ALL.into_iter().filter(move |a| self.gives(*a))
    }

    /// Whether a token of this grant may be narrowed to `asked` (a refresh with `scope`): a
    /// subset that gives nothing the grant does not. Dropping `openid` alone would turn an
    /// OIDC `profile` into a new-api one and reveal the e-mail.
    pub fn may_narrow_to(self, asked: ScopeSet) -> bool {
        asked.is_subset_of(self) && asked.access().all(|a| self.gives(a))
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for scope in self.iter() {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_space_separated_names_and_prints_them_in_canonical_order() {
        let set = ScopeSet::parse("balance  profile profile").expect("valid");
        assert_eq!(set.to_string(), "profile balance");
        assert!(set.contains(Scope::Balance) && !set.contains(Scope::OpenId));
        assert_eq!(ScopeSet::parse("").expect("empty"), ScopeSet::EMPTY);
        assert_eq!(ScopeSet::parse("profile admin"), Err(UnknownScope));
        assert_eq!(ScopeSet::parse("PROFILE"), Err(UnknownScope));
    }

    #[test]
    fn profile_gives_the_email_only_without_openid() {
        let new_api = ScopeSet::of(&[Scope::Profile, Scope::Balance]);
        assert!(new_api.gives(Access::Email) && new_api.gives(Access::Profile));
        let oidc = ScopeSet::of(&[Scope::OpenId, Scope::Profile]);
        assert!(!oidc.gives(Access::Email) && oidc.gives(Access::Profile));
        assert!(oidc.with(Scope::Email).gives(Access::Email));
        assert!(ScopeSet::of(&[Scope::Email]).gives(Access::Email));
        assert_eq!(
            new_api.access().collect::<Vec<_>>(),
            [Access::Profile, Access::Email, Access::Balance]
        );
        assert_eq!(
            oidc.with(Scope::OfflineAccess).access().collect::<Vec<_>>(),
            [Access::Identity, Access::Profile, Access::Offline]
        );
    }

    #[test]
    fn narrowing_never_reveals_more() {
        let oidc = ScopeSet::of(&[Scope::OpenId, Scope::Profile, Scope::Balance]);
        assert!(oidc.may_narrow_to(ScopeSet::of(&[Scope::OpenId, Scope::Profile])));
        assert!(oidc.may_narrow_to(ScopeSet::of(&[Scope::Balance])));
        assert!(
            !oidc.may_narrow_to(ScopeSet::of(&[Scope::Profile])),
            "e-mail"
        );
        assert!(
            !oidc.may_narrow_to(ScopeSet::of(&[Scope::Email])),
            "not a subset"
        );
        let new_api = ScopeSet::of(&[Scope::Profile, Scope::Balance]);
        assert!(new_api.may_narrow_to(ScopeSet::of(&[Scope::Profile])));
    }

    #[test]
    fn subsets_and_unions() {
        let all = ScopeSet::of(&Scope::ALL);
        let some = ScopeSet::of(&[Scope::Profile]);
        assert!(some.is_subset_of(all) && !all.is_subset_of(some));
        assert_eq!(
            some.union(ScopeSet::of(&[Scope::Email])).to_string(),
            "profile email"
        );
        assert_eq!(all.without(Scope::OpenId).iter().count(), 5);
    }
}

/// Properties over arbitrary input (SECURITY.md, "Fuzzing").
#[cfg(test)]
mod props {
    use super::*;
    use crate::test_support::hostile_text;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        hostile_text("[a-z_ +]{0,60}")
    }

    fn names(text: &str) -> impl Iterator<Item = &str> {
        text.split([' ', '+']).filter(|s| !s.is_empty())
    }

    proptest! {
        #[test]
        fn parsing_yields_exactly_the_known_names_or_an_error(text in text()) {
            match ScopeSet::parse(&text) {
                Ok(set) => {
                    for name in names(&text) {
                        prop_assert!(Scope::parse(name).is_some_and(|s| set.contains(s)));
                    }
                    for scope in set.iter() {
                        prop_assert!(names(&text).any(|n| n == scope.as_str()));
                    }
                }
                Err(UnknownScope) => {
                    prop_assert!(names(&text).any(|n| Scope::parse(n).is_none()));
                }
            }
        }

        #[test]
        fn format_and_parse_round_trip(bits in any::<i64>()) {
            let set = ScopeSet::from_bits(bits);
            let text = set.to_string();
            prop_assert_eq!(ScopeSet::parse(&text), Ok(set));
            prop_assert_eq!(ScopeSet::from_bits(set.bits()), set);
            // Canonical: one space between names, in the fixed order, no repeats.
            let expected: Vec<&str> = Scope::ALL
                .iter()
                .filter(|s| set.contains(**s))
                .map(|s| s.as_str())
                .collect();
            prop_assert_eq!(text, expected.join(" "));
        }

        #[test]
        fn known_names_in_any_order_and_spacing_parse_to_their_set(
            picked in vec(prop::sample::select(Scope::ALL.to_vec()), 0..10),
            seps in vec(prop::sample::select(vec![" ", "  ", "+", " + "]), 10),
        ) {
            let mut text = String::new();
            for (scope, sep) in picked.iter().zip(&seps) {
                text.push_str(scope.as_str());
                text.push_str(sep);
            }
            prop_assert_eq!(ScopeSet::parse(&text), Ok(ScopeSet::of(&picked)));
        }

        #[test]
        fn one_unknown_name_spoils_the_list(
            picked in vec(prop::sample::select(Scope::ALL.to_vec()), 0..5),
            unknown in "[a-zA-Z_:./]{1,20}",
        ) {
            prop_assume!(Scope::parse(&unknown).is_none());
            let mut parts: Vec<&str> = picked.iter().map(|s| s.as_str()).collect();
            parts.push(&unknown);
            prop_assert_eq!(ScopeSet::parse(&parts.join(" ")), Err(UnknownScope));
        }
    }
}
