//! Editing an app: which part of an owner's change applies at once and which waits for an
//! admin's review.
//!
//! The rule, when the operator requires review and the app is approved:
//! - **Widening waits**: a redirect URI or post-logout URI on a destination (host, or private-use
//!   scheme) that the app has not registered, and a scope it is not allowed yet.
//! - **What users trust waits**: a new name or logo, the two things the consent page shows as
//!   the app's identity; users trust the reviewed ones.
//! - **The rest applies at once**: the description, the homepage and the privacy policy (the
//!   developer's own statements, shown as links with their host), and every narrowing: removed
//!   URIs, removed scopes, new URIs on destinations already registered.
//!
//! Meanwhile the approved configuration keeps working; the pending change is the whole
//! requested configuration, and approving it puts it in force as it is. A new edit replaces an
//! earlier pending one. Without review, or for an app that is not approved (its review is still
//! to come, or it was refused), everything applies at once.

use super::apps::{AppError, DESCRIPTION_MAX, NAME_MAX, REDIRECT_URIS_MAX};
use super::redirect_uri::{self, destination};
use super::scope::ScopeSet;
use crate::model::{Client, ClientDetails, ClientStatus};

/// What an owner asks to change; `None` keeps a field. An empty link removes it.
#[derive(Debug, Default, Clone)]
pub struct AppEdit {
    pub name: Option<String>,
    pub description: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Space-separated.
    pub scopes: Option<String>,
    pub logo_uri: Option<String>,
    pub client_uri: Option<String>,
    pub policy_uri: Option<String>,
}

/// What an edit does: the configuration in force from now on, and the one that waits for review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditPlan {
    pub now: ClientDetails,
    pub pending: Option<ClientDetails>,
}

/// The requested configuration: `edit` over the app's current one, every field checked as at
/// registration. `allow_http` is the operator's `allow_http_redirect_uris`.
pub fn requested(
    current: &Client,
    edit: AppEdit,
    allow_http: bool,
) -> Result<ClientDetails, AppError> {
    let base = current.details();
    let name = edit.name.map_or(base.name, |n| n.trim().to_owned());
    if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(AppError::Name);
    }
    let description = edit
        .description
        .map_or(base.description, |d| d.trim().to_owned());
    if description.chars().count() > DESCRIPTION_MAX {
        return Err(AppError::Description);
    }
    let redirect_uris = match edit.redirect_uris {
        None => base.redirect_uris,
        Some(list) => uris(&list, |uri| {
            redirect_uri::validate_redirect(uri, allow_http, current.public)
        })?,
    };
    if redirect_uris.is_empty() && current.allows_grant(crate::model::GrantType::AuthorizationCode)
    {
        return Err(AppError::RedirectUriCount);
    }
    let post_logout_redirect_uris = match edit.post_logout_redirect_uris {
        None => base.post_logout_redirect_uris,
        Some(list) => {
            uris(&list, |uri| redirect_uri::validate(uri, allow_http)).map_err(|e| match e {
                AppError::RedirectUri(e) => AppError::PostLogoutUri(e),
                other => other,
            })?
        }
    };
    let scopes = match edit.scopes {
        None => base.scopes,
        Some(text) => {
            let set = ScopeSet::parse(&text).map_err(|_| AppError::Scope)?;
            if set.is_empty() {
                return Err(AppError::Scope);
            }
            set.to_string()
        }
    };
    Ok(ClientDetails {
        name,
        description,
        redirect_uris,
        post_logout_redirect_uris,
        scopes,
        logo_uri: link(edit.logo_uri, base.logo_uri, AppError::LogoUri)?,
        client_uri: link(edit.client_uri, base.client_uri, AppError::HomepageUri)?,
        policy_uri: link(edit.policy_uri, base.policy_uri, AppError::PolicyUri)?,
    })
}

/// Checks a link given at registration: empty or absent is none.
pub fn new_link(value: Option<String>, error: AppError) -> Result<Option<String>, AppError> {
    link(value, None, error)
}

fn link(
    value: Option<String>,
    current: Option<String>,
    error: AppError,
) -> Result<Option<String>, AppError> {
    match value.map(|v| v.trim().to_owned()) {
        None => Ok(current),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) if redirect_uri::is_https_link(&v) => Ok(Some(v)),
        Some(_) => Err(error),
    }
}

fn uris(
    raw: &[String],
    check: impl Fn(&str) -> Result<(), redirect_uri::RedirectUriError>,
) -> Result<Vec<String>, AppError> {
    let mut list: Vec<String> = Vec::new();
    for uri in raw.iter().map(|u| u.trim()).filter(|u| !u.is_empty()) {
        check(uri)?;
        if !list.iter().any(|u| u == uri) {
            list.push(uri.to_owned());
        }
    }
    if list.len() > REDIRECT_URIS_MAX {
        return Err(AppError::RedirectUriCount);
    }
    Ok(list)
}

/// Splits a requested configuration into what applies now and what waits (see the module's
/// rule).
pub fn plan(current: &Client, wanted: ClientDetails, review_required: bool) -> EditPlan {
    if !review_required || current.status != ClientStatus::Approved {
        return EditPlan {
            now: wanted,
            pending: None,
        };
    }
    split(current, wanted)
}

/// Whether putting `wanted` in force widens `current` or changes what users trust it by: what
/// would wait for review.
pub fn needs_review(current: &Client, wanted: &ClientDetails) -> bool {
    split(current, wanted.clone()).pending.is_some()
}

fn split(current: &Client, wanted: ClientDetails) -> EditPlan {
    let base = current.details();
    let known = |list: &[String]| -> Vec<String> { list.iter().map(|u| destination(u)).collect() };
    let keep_known = |wanted: &[String], registered: &[String]| -> Vec<String> {
        let destinations = known(registered);
        wanted
            .iter()
            .filter(|u| destinations.contains(&destination(u)))
            .cloned()
            .collect()
    };
    let mut redirect_uris = keep_known(&wanted.redirect_uris, &base.redirect_uris);
    // Never leave an app without a way back while its new one waits.
    if redirect_uris.is_empty() {
        redirect_uris.clone_from(&base.redirect_uris);
    }
    let post_logout_redirect_uris = keep_known(
        &wanted.post_logout_redirect_uris,
        &base.post_logout_redirect_uris,
    );
    let narrowed = wanted.scope_set().intersection(base.scope_set());
    let scopes = if narrowed.is_empty() {
        base.scopes.clone()
    } else {
        narrowed.to_string()
    };
    let now = ClientDetails {
        name: base.name,
        logo_uri: base.logo_uri,
        description: wanted.description.clone(),
        client_uri: wanted.client_uri.clone(),
        policy_uri: wanted.policy_uri.clone(),
        redirect_uris,
        post_logout_redirect_uris,
        scopes,
    };
    let pending = (now != wanted).then_some(wanted);
    EditPlan { now, pending }
}

/// The parts of `change` that differ from `current`, by field name, for the audit record and
/// the review card.
pub fn changed_fields(current: &ClientDetails, change: &ClientDetails) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let mut check = |differs: bool, name| {
        if differs {
            fields.push(name);
        }
    };
    check(current.name != change.name, "name");
    check(current.description != change.description, "description");
    check(
        current.redirect_uris != change.redirect_uris,
        "redirect_uris",
    );
    check(
        current.post_logout_redirect_uris != change.post_logout_redirect_uris,
        "post_logout_redirect_uris",
    );
    check(current.scope_set() != change.scope_set(), "scopes");
    check(current.logo_uri != change.logo_uri, "logo_uri");
    check(current.client_uri != change.client_uri, "client_uri");
    check(current.policy_uri != change.policy_uri, "policy_uri");
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::approved_client;

    fn approved() -> Client {
        let mut app = approved_client();
        app.redirect_uris = vec!["https://app.example.com/cb".into()];
        app.post_logout_redirect_uris = vec!["https://app.example.com/bye".into()];
        app.allowed_scopes = ScopeSet::parse("profile balance").unwrap_or_default();
        app
    }

    fn edit(app: &Client, e: AppEdit) -> ClientDetails {
        requested(app, e, false).expect("valid edit")
    }

    #[test]
    fn a_new_redirect_host_waits_and_the_old_configuration_stays() {
        let app = approved();
        let wanted = edit(
            &app,
            AppEdit {
                redirect_uris: Some(vec![
                    "https://app.example.com/cb".into(),
                    "https://other.example.net/cb".into(),
                ]),
                ..AppEdit::default()
            },
        );
        let p = plan(&app, wanted.clone(), true);
        assert_eq!(p.now.redirect_uris, vec!["https://app.example.com/cb"]);
        assert_eq!(p.pending, Some(wanted.clone()));
        // Without review, or before approval, it applies at once.
        assert_eq!(plan(&app, wanted.clone(), false).pending, None);
        let pending_app = Client {
            status: ClientStatus::Pending,
            ..app
        };
        assert_eq!(plan(&pending_app, wanted.clone(), true).now, wanted);
    }

    #[test]
    fn a_new_path_on_a_registered_host_and_narrowing_apply_at_once() {
        let app = approved();
        let wanted = edit(
            &app,
            AppEdit {
                redirect_uris: Some(vec!["https://app.example.com:8443/second".into()]),
                scopes: Some("profile".into()),
                post_logout_redirect_uris: Some(vec![]),
                description: Some("new words".into()),
                client_uri: Some("https://app.example.com/".into()),
                policy_uri: Some("https://app.example.com/privacy".into()),
                ..AppEdit::default()
            },
        );
        let p = plan(&app, wanted.clone(), true);
        assert_eq!(p.pending, None);
        assert_eq!(p.now, wanted);
    }

    #[test]
    fn new_scopes_name_logo_and_logout_hosts_wait() {
        let app = approved();
        for e in [
            AppEdit {
                scopes: Some("profile balance email".into()),
                ..AppEdit::default()
            },
            AppEdit {
                name: Some("Another name".into()),
                ..AppEdit::default()
            },
            AppEdit {
                logo_uri: Some("https://cdn.example.com/logo.png".into()),
                ..AppEdit::default()
            },
            AppEdit {
                post_logout_redirect_uris: Some(vec![
                    "https://app.example.com/bye".into(),
                    "https://evil.example/bye".into(),
                ]),
                ..AppEdit::default()
            },
        ] {
            let wanted = edit(&app, e);
            let p = plan(&app, wanted.clone(), true);
            assert_eq!(p.now, app.details(), "{wanted:?}");
            assert_eq!(p.pending, Some(wanted));
        }
    }

    #[test]
    fn mixed_changes_split_and_the_app_keeps_a_redirect_uri() {
        let app = approved();
        let wanted = edit(
            &app,
            AppEdit {
                redirect_uris: Some(vec!["https://moved.example.org/cb".into()]),
                scopes: Some("profile email".into()),
                ..AppEdit::default()
            },
        );
        let p = plan(&app, wanted.clone(), true);
        assert_eq!(p.now.redirect_uris, app.redirect_uris);
        assert_eq!(p.now.scopes, "profile");
        assert_eq!(p.pending, Some(wanted));
    }

    #[test]
    fn fields_are_checked() {
        let app = approved();
        let bad = |e: AppEdit| requested(&app, e, false).err();
        assert!(matches!(
            bad(AppEdit {
                logo_uri: Some("http://cdn.example.com/logo.png".into()),
                ..AppEdit::default()
            }),
            Some(AppError::LogoUri)
        ));
        assert!(matches!(
            bad(AppEdit {
                policy_uri: Some("javascript:alert(1)".into()),
                ..AppEdit::default()
            }),
            Some(AppError::PolicyUri)
        ));
        assert!(matches!(
            bad(AppEdit {
                client_uri: Some("ftp://x.example/".into()),
                ..AppEdit::default()
            }),
            Some(AppError::HomepageUri)
        ));
        assert!(matches!(
            bad(AppEdit {
                redirect_uris: Some(vec![]),
                ..AppEdit::default()
            }),
            Some(AppError::RedirectUriCount)
        ));
        assert!(matches!(
            bad(AppEdit {
                scopes: Some("admin".into()),
                ..AppEdit::default()
            }),
            Some(AppError::Scope)
        ));
        assert!(matches!(
            bad(AppEdit {
                name: Some(" ".into()),
                ..AppEdit::default()
            }),
            Some(AppError::Name)
        ));
        // An empty link removes it.
        let mut with_logo = approved();
        with_logo.logo_uri = Some("https://cdn.example.com/a.png".into());
        let wanted = requested(
            &with_logo,
            AppEdit {
                logo_uri: Some(String::new()),
                ..AppEdit::default()
            },
            false,
        )
        .expect("valid");
        assert_eq!(wanted.logo_uri, None);
        assert_eq!(
            changed_fields(&with_logo.details(), &wanted),
            vec!["logo_uri"]
        );
    }
}
