//! The signed-in user's own pages (home, authorizations, security, top-up) and the anonymous
//! account pages (register, password reset). Handlers stay thin: the domain services in
//! `keyward-core` hold the rules, and the JSON API calls the same ones.

pub mod activity;
pub mod authorizations;
pub mod deletion;
pub mod email_change;
pub mod home;
pub mod ledger;
pub mod passkeys;
pub mod register;
pub mod reset;
pub mod security;
pub mod spend_limit;
pub mod texts;
pub mod topup;

pub use texts::{AccountTexts, account_texts};

pub use crate::pages::unavailable;

use crate::state::AppState;
use axum::response::Response;
use keyward_core::clock::UnixTime;
use keyward_core::oauth::scope::ScopeSet;
use keyward_core::settings::Settings;
use std::sync::Arc;

/// A "continue with ..." button: a plain link that starts the upstream flow server-side.
pub struct ProviderLink {
    pub label: &'static str,
    pub href: String,
}

/// One link per enabled provider that a link can start (GitHub, OIDC, LinuxDO). WeChat needs a
/// code typed from the official account and Telegram its script widget, so neither is a link.
pub fn provider_links(settings: &Settings, intent: &str, return_to: &str) -> Vec<ProviderLink> {
    ["github", "oidc", "linuxdo"]
        .into_iter()
        .filter(|p| crate::federation::enabled(settings, p))
        .filter_map(|p| {
            Some(ProviderLink {
                label: crate::federation::provider_label(p)?,
                href: format!(
                    "/api/oauth/{p}/start?intent={intent}&return_to={}",
                    super::encode_return_to(return_to)
                ),
            })
        })
        .collect()
}

/// A time for people: `2025-01-02 03:04 UTC`; the bare number if it is out of range.
pub fn when(at: UnixTime) -> String {
    crate::pages::utc_minutes(at).unwrap_or_else(|| at.to_string())
}

/// What a grant lets an app do, in words.
pub fn scope_words(t: &crate::pages::Texts, scopes: ScopeSet) -> Vec<&'static str> {
    t.access_words(scopes)
}

/// Lower-case hex, for public handles of stored hashes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Mails a code that proves the owner of `email`, bound to `user` when one is signed in.
pub async fn send_verification_code(
    state: &AppState,
    email: &str,
    ip: &str,
    user: Option<keyward_core::model::UserId>,
) -> Result<(), keyward_core::accounts::email::EmailError> {
    let mail = crate::federation::email::mail_context(state);
    state
        .accounts
        .send_verification(&mail, email, ip, user)
        .await
}

/// The settings, or the unavailable page (boxed: a `Response` is large).
pub async fn settings(
    state: &AppState,
    t: &'static crate::pages::Texts,
) -> Result<Arc<Settings>, Box<Response>> {
    state
        .settings
        .get()
        .await
        .map_err(|e| Box::new(unavailable(t, &e)))
}

/// Messages a page may show after a redirect (`?done=<key>`): only known keys, so a link cannot
/// make the page say anything else.
pub fn notice(a: &'static AccountTexts, key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "revoked" => a.revoked,
        "password" => a.password_changed,
        "totp_on" => a.totp_enabled,
        "totp_off" => a.totp_disabled,
        "unbound" => a.unbound,
        "email" => a.email_bound,
        "ended" => a.session_ended,
        "others" => a.others_ended,
        "code_sent" => a.code_sent,
        "email_changed" => a.email_changed,
        "limit_lowered" => a.limit_lowered,
        "limit_raised" => a.limit_raised,
        "limit_same" => a.limit_same,
        _ => return None,
    })
}

/// The query every account page reads after a redirect.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    pub done: Option<String>,
    /// An upstream flow's failure code, passed back by the callback.
    pub error: Option<String>,
}

impl DoneQuery {
    /// The fixed words for the failure code, never the query's text.
    pub fn error(&self, t: &crate::pages::Texts) -> Option<String> {
        crate::pages::flow_failure(t, self.error.as_deref()).map(str::to_owned)
    }
}

/// The frame of a signed-in admin's page, for the samples.
#[cfg(test)]
pub(crate) fn sample_chrome(t: &crate::pages::Texts, path: &str) -> crate::pages::Chrome {
    let mut chrome = crate::pages::Chrome::bare(t, path);
    chrome.nav = Some(crate::pages::chrome::Nav {
        username: "alice".into(),
        is_admin: true,
        current: path.to_owned(),
    });
    chrome
}
