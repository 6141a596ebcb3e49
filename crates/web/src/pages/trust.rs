//! What the pages of an authorization tell a user about the app that asks: who made it, whether
//! the platform reviewed it, its links, where the answer goes, which account answers (with a way
//! to switch), and that the grant can be revoked later. Also the login page's "to continue to
//! <app>", said only of a registered app, never in words taken from the request.

use super::login::redirect;
use crate::state::AppState;
use axum::response::Response;
use axum_extra::extract::cookie::Cookie;
use keyward_core::model::{Client, ClientKind};
use keyward_core::oauth::redirect_uri::{display_host, is_plain_http_remote};

crate::pages::page_words! {
    /// The words about an app's trust context, in one language.
    TrustTexts {
        by_open: "（开发者：", " by ";
        by_close: "）", "";
        wants: "请求访问你的账户：", " wants to:";
        reviewed: "已经平台审核", "Reviewed by the platform";
        console_unreviewed:
            "该应用的当前信息尚未经平台审核。",
            "The platform has not reviewed this app's current details.";
        homepage: "应用主页", "Homepage";
        privacy: "隐私政策", "Privacy policy";
        developer_says: "开发者的说明：", "The developer says:";
        switch_account: "不是你？切换账号", "Not you? Switch account";
        send_to: "你回答后将被带到：", "After you answer, you will be sent to:";
        http_warning:
            "注意：该地址使用未加密的 http，且不是本机地址。授权码可能在传输中被他人看到；除非你信任这个网络，请拒绝。",
            "Warning: this address uses unencrypted http and is not this computer. Others on the network may see the code; deny unless you trust this network.";
        revoke_line: "以后可以随时在这里撤销授权：", "You can revoke this at any time under";
        connected_apps: "已授权的应用", "Connected apps";
        sign_in_to: "登录", "Sign in to";
        to_continue_to: "以继续使用", "to continue to";
    }
}

pub fn trust_texts(t: &super::Texts) -> &'static TrustTexts {
    if t.lang == "en" { &EN } else { &ZH }
}

/// A link an app shows about itself, with its host (what the user can check).
pub struct AppLink {
    pub href: String,
    pub host: String,
}

impl AppLink {
    fn of(uri: Option<&String>) -> Option<Self> {
        let href = uri?.clone();
        let host = display_host(&href)?;
        Some(Self { href, host })
    }
}

/// Who an app is, as the consent pages show it (`templates/_client_identity.html`).
pub struct ClientIdentity {
    pub w: &'static TrustTexts,
    /// Self-registered (RFC 7591 or a metadata document): no one at the platform reviewed it.
    pub not_reviewed: bool,
    /// The host of a metadata-document client's id.
    pub host: Option<String>,
    /// An admin approved the app as it is now.
    pub reviewed: bool,
    /// The developer's user name; `None` for a self-registered client.
    pub owner: Option<String>,
    pub logo: Option<String>,
    pub homepage: Option<AppLink>,
    pub privacy: Option<AppLink>,
}

impl ClientIdentity {
    /// `owner` is the developer's user name, looked up by the caller.
    pub fn of(t: &super::Texts, client: &Client, owner: Option<String>) -> Self {
        let host = match client.kind {
            ClientKind::MetadataDocument => {
                keyward_core::oauth::metadata_document::check_url(&client.client_id).ok()
            }
            ClientKind::Console | ClientKind::Dynamic => None,
        };
        let self_registered = client.kind.self_registered();
        Self {
            w: trust_texts(t),
            not_reviewed: self_registered,
            host,
            reviewed: !self_registered && client.reviewed_at.is_some(),
            owner: owner.filter(|_| !self_registered),
            logo: client.logo_uri.clone().filter(|_| !self_registered),
            homepage: AppLink::of(client.client_uri.as_ref()),
            privacy: AppLink::of(client.policy_uri.as_ref()),
        }
    }

    /// With the owner's name read from the store (none when it cannot be read).
    pub async fn load(state: &AppState, t: &super::Texts, client: &Client) -> Self {
        let owner = match client.owner_id {
            Some(id) => state
                .store
                .user_by_id(id)
                .await
                .ok()
                .flatten()
                .map(|u| u.username),
            None => None,
        };
        Self::of(t, client, owner)
    }
}

/// Where an authorization sends the user back, shown in full, with a warning for plain http to
/// another machine.
pub struct RedirectTarget {
    pub uri: String,
    pub insecure: bool,
}

impl RedirectTarget {
    pub fn of(uri: &str) -> Self {
        Self {
            uri: uri.to_owned(),
            insecure: is_plain_http_remote(uri),
        }
    }
}

/// The name of the registered, active app an authorization request in `return_to` is for; `None`
/// for anything else (the login page then says nothing about an app). The device page's user
/// code is not looked up here: the login page must not become a way to test codes.
pub async fn continue_to(state: &AppState, return_to: &str) -> Option<String> {
    let query = ["/oauth/authorize?", "/api/oauth2/authorize?"]
        .iter()
        .find_map(|p| return_to.strip_prefix(p))?;
    let client_id = form_urlencoded_value(query, "client_id")?;
    if client_id.is_empty() || client_id.len() > 512 {
        return None;
    }
    let client = state
        .store
        .client_by_client_id(&client_id)
        .await
        .ok()
        .flatten()?;
    client.is_active().then_some(client.name)
}

/// The first value of `key` in a query string.
fn form_urlencoded_value(query: &str, key: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// A page's form token for a session cookie's value (what [`super::PageUser`] checks).
pub fn page_csrf(cookie: &str) -> String {
    super::session::page_csrf(cookie)
}

/// Ends the browser's session (on the server too) and opens the login page with `back` to
/// return to: "not you? switch account".
pub async fn sign_out_to_login(state: &AppState, cookie: &str, back: &str) -> Response {
    if let Err(e) = state.accounts.end_session(cookie).await {
        tracing::error!(error = %e, "ending the session failed");
    }
    let name = state.config.session_cookie_name();
    let mut response = redirect(&format!(
        "/login?return_to={}",
        super::encode_return_to(back)
    ));
    let removal = Cookie::build((name, ""))
        .path("/")
        .max_age(time::Duration::ZERO)
        .secure(state.config.https())
        .http_only(true)
        .build();
    if let Ok(value) = axum::http::HeaderValue::from_str(&removal.to_string()) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_and_redirect_targets() {
        assert_eq!(
            form_urlencoded_value("a=1&client_id=client_%3Cx%3E&client_id=y", "client_id"),
            Some("client_<x>".into())
        );
        assert!(RedirectTarget::of("http://app.example.com/cb").insecure);
        assert!(!RedirectTarget::of("http://127.0.0.1:9/cb").insecure);
    }
}
