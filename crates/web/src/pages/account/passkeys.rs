//! The passkeys on the pages: the section of `/user/security` (list, rename and remove as plain
//! forms; adding one through the script, which WebAuthn needs), the sign-in button and autofill
//! prompt of `/login`, and the passkey choice of the second-factor step. The script drives the
//! JSON API (`crate::account::passkeys`); everything here works without it but the ceremonies.

use super::{DoneQuery, unavailable, when};
use crate::pages::login::redirect;
use crate::pages::{PagePost, PageUser, Texts};
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::accounts::passkeys::{Actor, PasskeyError};
use serde::Deserialize;

mod words {
    crate::pages::page_words! {
        PasskeyTexts {
            section: "通行密钥", "Passkeys";
            intro:
                "通行密钥用设备的指纹、面容或 PIN 登录，无需密码，也无法被钓鱼网站使用。",
                "A passkey signs you in with your device's fingerprint, face or PIN: no password, and useless to a phishing site.";
            unavailable:
                "本站地址是 IP 地址，浏览器不支持在此使用通行密钥。",
                "This site is reached by an IP address, where browsers do not offer passkeys.";
            none: "还没有通行密钥。", "No passkeys yet.";
            created: "添加于", "Added";
            last_used: "最近使用", "Last used";
            never: "从未", "never";
            name: "名称", "Name";
            rename: "重命名", "Rename";
            remove: "删除", "Remove";
            add: "添加通行密钥", "Add a passkey";
            default_name: "我的通行密钥", "My passkey";
            needs_script: "添加通行密钥需要启用 JavaScript。", "Adding a passkey needs JavaScript.";
            sign_in_again:
                "为保护账户，添加通行密钥前请重新登录",
                "To add a passkey, sign in again first";
            failed: "操作未完成：", "That did not work: ";
            cancelled: "已取消或超时。", "Cancelled or timed out.";
            added: "已添加通行密钥。", "Passkey added.";
            renamed: "已重命名通行密钥。", "Passkey renamed.";
            removed: "已删除通行密钥。", "Passkey removed.";
            sign_in: "使用通行密钥登录", "Sign in with a passkey";
            second_factor: "使用通行密钥验证", "Use a passkey instead";
        }
    }
}

pub use words::PasskeyTexts;

/// The passkey words in the language of `t`.
pub fn passkey_texts(t: &Texts) -> &'static PasskeyTexts {
    if t.lang == "en" {
        &words::EN
    } else {
        &words::ZH
    }
}

/// The notice after a redirect back to `/user/security?done=…`, for the passkey actions.
pub fn notice(t: &Texts, query: &DoneQuery) -> Option<&'static str> {
    let p = passkey_texts(t);
    Some(match query.done.as_deref()? {
        "passkey_added" => p.added,
        "passkey_renamed" => p.renamed,
        "passkey_removed" => p.removed,
        _ => return None,
    })
}

pub struct PasskeyRow {
    pub id: i64,
    pub name: String,
    pub created: String,
    pub last_used: Option<String>,
}

/// The passkey section of `/user/security`.
pub struct PasskeySection {
    pub p: &'static PasskeyTexts,
    /// This node's `public_url` has a host name (WebAuthn refuses IP addresses).
    pub available: bool,
    /// The session's login is recent enough to add a passkey.
    pub recent: bool,
    pub rows: Vec<PasskeyRow>,
}

impl PasskeySection {
    pub async fn of(state: &AppState, page: &PageUser) -> Result<Self, Response> {
        let rows = state
            .passkeys
            .list(page.user.id)
            .await
            .map_err(|e| unavailable(page.t, &e))?
            .into_iter()
            .map(|p| PasskeyRow {
                id: p.id,
                name: p.name,
                created: when(p.created_at),
                last_used: p.last_used_at.map(when),
            })
            .collect();
        Ok(Self {
            p: passkey_texts(page.t),
            available: state.passkeys.available(),
            recent: page.session.is_recent_sign_in(state.accounts.now()),
            rows,
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RenameForm {
    id: i64,
    name: String,
}

/// `POST /user/security/passkeys/rename`.
pub async fn rename(
    PagePost {
        state, page, form, ..
    }: PagePost<RenameForm>,
) -> Response {
    let renamed = state
        .passkeys
        .rename(page.user.id, form.id, &form.name)
        .await;
    back(&state, &page, renamed, "passkey_renamed").await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RemoveForm {
    id: i64,
}

/// `POST /user/security/passkeys/remove`: refused for the account's last way in.
pub async fn remove(
    PagePost {
        state,
        page,
        client,
        form,
    }: PagePost<RemoveForm>,
) -> Response {
    let actor = Actor {
        user: &page.user,
        ip: &client.ip,
    };
    let removed = state.passkeys.remove(actor, form.id).await;
    back(&state, &page, removed, "passkey_removed").await
}

async fn back(
    state: &AppState,
    page: &PageUser,
    outcome: Result<(), PasskeyError>,
    done: &str,
) -> Response {
    match outcome {
        Ok(()) => redirect(&format!("/user/security?done={done}#passkeys")),
        Err(e @ (PasskeyError::Store(_) | PasskeyError::State(_))) => unavailable(page.t, &e),
        Err(e) => {
            let status = match e {
                PasskeyError::NotFound => StatusCode::NOT_FOUND,
                _ => StatusCode::OK,
            };
            super::security::show_error(state, page, status, page.t.error(&e)).await
        }
    }
}
