//! RFC 8707 resource indicators: which APIs a grant covers, the scopes granted on each, and the
//! one audience each access token is bound to.
//!
//! A grant has two parts: Keyward's own built-in scopes ([`ScopeSet`], for its userinfo APIs and
//! the id_token) and [`ResourceGrants`], the scopes granted on each registered API. A code, a
//! refresh token and a consent carry the whole grant; an access token is bound to one audience:
//! Keyward itself (no resource) or exactly one API.

use super::scope::{Scope, ScopeSet};
use crate::model::Resource;

/// The scopes granted on one API.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResourceGrant {
    #[serde(rename = "r")]
    pub resource: String,
    /// Sorted, without repeats.
    #[serde(rename = "s")]
    pub scopes: Vec<String>,
}

impl ResourceGrant {
    pub fn has(&self, scope: &str) -> bool {
        self.scopes
            .binary_search_by(|s| s.as_str().cmp(scope))
            .is_ok()
    }
}

/// The APIs a grant covers, sorted by identifier, each once. An access token's has at most one
/// entry: its audience.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceGrants(Vec<ResourceGrant>);

impl ResourceGrants {
    pub const fn none() -> Self {
        Self(Vec::new())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &ResourceGrant> {
        self.0.iter()
    }

    pub fn get(&self, resource: &str) -> Option<&ResourceGrant> {
        self.0
            .binary_search_by(|g| g.resource.as_str().cmp(resource))
            .ok()
            .map(|i| &self.0[i])
    }

    /// The API an access token is bound to; `None` for Keyward's own.
    pub fn audience(&self) -> Option<&str> {
        self.0.first().map(|g| g.resource.as_str())
    }

    /// The grant on `resource` alone (an access token's).
    pub fn only(&self, resource: &str) -> Option<Self> {
        self.get(resource).map(|g| Self(vec![g.clone()]))
    }

    /// Adds `resource`, and `scope` on it when given.
    pub fn insert(&mut self, resource: &str, scope: Option<&str>) {
        let index = match self
            .0
            .binary_search_by(|g| g.resource.as_str().cmp(resource))
        {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(
                    i,
                    ResourceGrant {
                        resource: resource.to_owned(),
                        scopes: Vec::new(),
                    },
                );
                i
            }
        };
        if let Some(scope) = scope {
            let scopes = &mut self.0[index].scopes;
            if let Err(at) = scopes.binary_search_by(|s| s.as_str().cmp(scope)) {
                scopes.insert(at, scope.to_owned());
            }
        }
    }

    /// Whether everything in `asked` is granted here: each API, with each of its scopes.
    pub fn covers(&self, asked: &ResourceGrants) -> bool {
        asked.iter().all(|a| {
            self.get(&a.resource)
                .is_some_and(|g| a.scopes.iter().all(|s| g.has(s)))
        })
    }

    /// Both grants together (a consent widened by a new approval).
    pub fn union(&self, other: &ResourceGrants) -> Self {
        let mut all = self.clone();
        for grant in other.iter() {
            all.insert(&grant.resource, None);
            for scope in &grant.scopes {
                all.insert(&grant.resource, Some(scope));
            }
        }
        all
    }

    /// The same grants without the APIs `keep` refuses (disabled or deleted ones).
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.0.retain(|g| keep(&g.resource));
    }

    /// The stored form: empty for none, else compact JSON.
    pub fn to_storage(&self) -> String {
        if self.0.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&self.0).unwrap_or_default()
        }
    }

    /// Reads the stored form back, putting it in canonical order. Text that is not a grant list
    /// (never written by Keyward) grants nothing.
    pub fn from_storage(text: &str) -> Self {
        if text.is_empty() {
            return Self::none();
        }
        let grants: Vec<ResourceGrant> = serde_json::from_str(text).unwrap_or_default();
        let mut all = Self::none();
        for grant in &grants {
            all.insert(&grant.resource, None);
            for scope in &grant.scopes {
                all.insert(&grant.resource, Some(scope));
            }
        }
        all
    }

    /// Every scope name granted on any API, in order, without repeats.
    pub fn scope_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .0
            .iter()
            .flat_map(|g| g.scopes.iter().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// A token's `scope` (RFC 6749 §3.3): the built-in scopes, then the API scopes.
pub fn scope_string(builtin: ScopeSet, resources: &ResourceGrants) -> String {
    let mut text = builtin.to_string();
    for name in resources.scope_names() {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(name);
    }
    text
}

/// Why a request's `resource` or `scope` cannot be granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// RFC 8707 §2: `invalid_target`.
    #[error("{0}")]
    InvalidTarget(&'static str),
    #[error("{0}")]
    InvalidScope(&'static str),
}

/// How many `resource` values one request may carry.
pub const MAX_RESOURCES_PER_REQUEST: usize = 10;

/// The RFC 8707 §2 syntax of a `resource` value: an absolute URI without a fragment. Whether it
/// names an API is the registry's question.
pub fn is_well_formed(resource: &str) -> bool {
    resource.len() <= 512
        && url::Url::parse(resource).is_ok_and(|u| u.fragment().is_none() && !u.cannot_be_a_base())
}

/// What a request asks for, split into Keyward's built-in scopes and the scopes on each named API
/// (`resources`, already resolved and checked as enabled and allowed for the app). A built-in
/// name is taken as such; any other must be defined by at least one named API and is granted on
/// each that defines it. Every named API is in the grant, even with no scope on it.
pub fn split_scopes(
    scope_text: &str,
    resources: &[Resource],
) -> Result<(ScopeSet, ResourceGrants), TargetError> {
    let mut builtin = ScopeSet::EMPTY;
    let mut grants = ResourceGrants::none();
    for resource in resources {
        grants.insert(&resource.identifier, None);
    }
    for name in scope_text.split([' ', '+']).filter(|s| !s.is_empty()) {
        if let Some(scope) = Scope::parse(name) {
            builtin = builtin.with(scope);
            continue;
        }
        let mut defined = false;
        for resource in resources.iter().filter(|r| r.scope(name).is_some()) {
            grants.insert(&resource.identifier, Some(name));
            defined = true;
        }
        if !defined {
            return Err(TargetError::InvalidScope(if resources.is_empty() {
                "unknown scope"
            } else {
                "a scope is defined by none of the requested resources"
            }));
        }
    }
    Ok((builtin, grants))
}

/// Which audience a token request's `resource` values pick from a grant (RFC 8707 §2.2): the one
/// API named, which must be in the grant; none named, the grant's only API, or Keyward when it
/// has none. Keyward itself may be named by its issuer URL. One access token has one audience,
/// so naming several, or none from a grant of several, is `invalid_target`.
pub fn pick_audience<'a>(
    grant: &'a ResourceGrants,
    requested: &[String],
    issuer: &str,
) -> Result<Option<&'a ResourceGrant>, TargetError> {
    match requested {
        [] => match grant.0.as_slice() {
            [] => Ok(None),
            [only] => Ok(Some(only)),
            _ => Err(TargetError::InvalidTarget(
                "the grant covers several resources: name one",
            )),
        },
        [one] if one == issuer => Ok(None),
        [one] => {
            grant
                .get(one)
                .map(Some)
                .ok_or(TargetError::InvalidTarget(if is_well_formed(one) {
                    "the resource is not part of the grant"
                } else {
                    "malformed resource"
                }))
        }
        _ => Err(TargetError::InvalidTarget(
            "one access token serves one resource",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ResourceScope, TokenFormat};
    use crate::oidc::SigningAlg;

    fn api(identifier: &str, scopes: &[&str]) -> Resource {
        Resource {
            id: 1,
            identifier: identifier.into(),
            name_zh: "接口".into(),
            name_en: "API".into(),
            scopes: scopes
                .iter()
                .map(|s| ResourceScope {
                    name: (*s).into(),
                    description_zh: String::new(),
                    description_en: String::new(),
                })
                .collect(),
            token_format: TokenFormat::Opaque,
            signing_alg: SigningAlg::Es256,
            access_token_ttl_secs: 600,
            introspection_client_id: None,
            enabled: true,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn rfc8707_s2_resource_values_are_absolute_uris_without_fragment() {
        assert!(is_well_formed("https://api.example.com"));
        assert!(is_well_formed("https://mcp.example.com/mcp?x=1"));
        assert!(is_well_formed("http://127.0.0.1:8080/api"));
        assert!(!is_well_formed("https://api.example.com/#frag"));
        assert!(!is_well_formed("/relative"));
        assert!(!is_well_formed("api.example.com"));
        assert!(!is_well_formed("mailto:a@example.com"));
        assert!(!is_well_formed(&format!(
            "https://a.example/{}",
            "x".repeat(600)
        )));
    }

    #[test]
    fn scopes_split_into_builtin_and_each_named_api() {
        let files = api("https://files.example", &["files:read", "files:write"]);
        let mcp = api("https://mcp.example", &["mcp:tools", "files:read"]);
        let (builtin, grants) =
            split_scopes("openid files:read mcp:tools", &[files.clone(), mcp.clone()])
                .expect("split");
        assert_eq!(builtin.to_string(), "openid");
        assert_eq!(
            grants.get("https://files.example").expect("files").scopes,
            ["files:read"]
        );
        assert_eq!(
            grants.get("https://mcp.example").expect("mcp").scopes,
            ["files:read", "mcp:tools"]
        );
        // A named API with none of its scopes asked is still in the grant.
        let (_, grants) = split_scopes("openid", std::slice::from_ref(&files)).expect("split");
        assert!(
            grants
                .get("https://files.example")
                .expect("files")
                .scopes
                .is_empty()
        );
        assert_eq!(
            split_scopes("mcp:tools", &[files]),
            Err(TargetError::InvalidScope(
                "a scope is defined by none of the requested resources"
            ))
        );
        assert_eq!(
            split_scopes("mcp:tools", &[]),
            Err(TargetError::InvalidScope("unknown scope"))
        );
    }

    #[test]
    fn rfc8707_s2_2_one_audience_per_access_token() {
        let mut grant = ResourceGrants::none();
        assert_eq!(pick_audience(&grant, &[], "https://id.example"), Ok(None));
        grant.insert("https://a.example", Some("read"));
        assert_eq!(
            pick_audience(&grant, &[], "https://id.example")
                .expect("one audience")
                .map(|g| g.resource.as_str()),
            Some("https://a.example")
        );
        assert_eq!(
            pick_audience(&grant, &["https://id.example".into()], "https://id.example"),
            Ok(None),
            "Keyward itself, by its issuer"
        );
        assert!(matches!(
            pick_audience(&grant, &["https://b.example".into()], "https://id.example"),
            Err(TargetError::InvalidTarget(
                "the resource is not part of the grant"
            ))
        ));
        assert!(matches!(
            pick_audience(&grant, &["not a uri".into()], "https://id.example"),
            Err(TargetError::InvalidTarget("malformed resource"))
        ));
        grant.insert("https://b.example", None);
        assert!(pick_audience(&grant, &[], "https://id.example").is_err());
        assert!(
            pick_audience(
                &grant,
                &["https://a.example".into(), "https://b.example".into()],
                "https://id.example"
            )
            .is_err()
        );
    }

    #[test]
    fn grants_cover_union_and_survive_storage() {
        let mut small = ResourceGrants::none();
        small.insert("https://b.example", Some("x"));
        let mut big = small.clone();
        big.insert("https://a.example", Some("y"));
        big.insert("https://b.example", Some("w"));
        assert!(big.covers(&small) && !small.covers(&big));
        assert!(big.covers(&ResourceGrants::none()));
        let mut other_scope = ResourceGrants::none();
        other_scope.insert("https://b.example", Some("z"));
        assert!(!big.covers(&other_scope));
        assert_eq!(small.union(&big), big);
        assert_eq!(ResourceGrants::from_storage(&big.to_storage()), big);
        assert_eq!(big.scope_names(), ["w", "x", "y"]);
        assert_eq!(ResourceGrants::from_storage(""), ResourceGrants::none());
        assert_eq!(
            ResourceGrants::from_storage("garbage"),
            ResourceGrants::none()
        );
        assert_eq!(
            scope_string(ScopeSet::of(&[Scope::OpenId]), &big),
            "openid w x y"
        );
    }
}
