//! `/admin/users/{id}/ways_in`: how a user signs in (password, linked accounts, two-factor), and
//! the form that turns their two-factor off. The rank rules are the domain's.

use super::AdminFrame;
use crate::pages::console::format_time;
use crate::pages::{PageAdmin, PagePost, TokenOnly, error_page, login::redirect, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::accounts::Change;
use keyward_core::accounts::admin::{UserEditError, WaysIn};
use keyward_core::accounts::passkeys::PasskeyError;

pub struct IdentityRow {
    pub provider: String,
    pub display: String,
    pub linked: String,
}

#[derive(Template)]
#[template(path = "admin_ways_in.html")]
pub struct WaysInPage {
    pub frame: AdminFrame,
    pub id: i64,
    pub has_password: bool,
    pub two_factor: bool,
    pub identities: Vec<IdentityRow>,
    pub p: &'static crate::pages::account::passkeys::PasskeyTexts,
    pub passkeys: Vec<crate::pages::account::passkeys::PasskeyRow>,
}

crate::pages::framed!(AdminFrame => WaysInPage);

fn page_of(frame: AdminFrame, id: i64, ways: WaysIn) -> WaysInPage {
    WaysInPage {
        p: crate::pages::account::passkeys::passkey_texts(frame.t),
        passkeys: ways
            .passkeys
            .into_iter()
            .map(|p| crate::pages::account::passkeys::PasskeyRow {
                id: p.id,
                name: p.name,
                created: format_time(p.created_at),
                last_used: p.last_used_at.map(format_time),
            })
            .collect(),
        frame,
        id,
        has_password: ways.has_password,
        two_factor: ways.two_factor,
        identities: ways
            .identities
            .into_iter()
            .map(|i| IdentityRow {
                display: i.display,
                linked: format_time(i.linked_at),
                provider: crate::federation::provider_label(&i.provider)
                    .map_or(i.provider, str::to_owned),
            })
            .collect(),
    }
}

fn failure(t: &'static crate::pages::Texts, e: &UserEditError) -> Response {
    let status = match e {
        UserEditError::NotFound => StatusCode::NOT_FOUND,
        UserEditError::Store(_) => return crate::pages::unavailable(t, e),
        UserEditError::TwoFactorOff => StatusCode::CONFLICT,
        _ => StatusCode::FORBIDDEN,
    };
    error_page(status, t, &t.error(e))
}

/// `GET /admin/users/{id}/ways_in`.
pub async fn get(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return failure(page.t, &UserEditError::NotFound);
    };
    match state.accounts.ways_in(&page.user, id).await {
        Ok(ways) => render(
            StatusCode::OK,
            &page_of(AdminFrame::of(&page, "users"), id, ways),
        ),
        Err(e) => failure(page.t, &e),
    }
}

/// `POST /admin/users/{id}/2fa/reset`: the user's two-factor off; they are mailed.
pub async fn reset_two_factor(
    Path(id): Path<String>,
    PagePost {
        state,
        page: PageAdmin(page),
        client,
        ..
    }: PagePost<TokenOnly, PageAdmin>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return failure(page.t, &UserEditError::NotFound);
    };
    let mail = crate::federation::email::mail_context(&state);
    let change = Change {
        ip: &client.ip,
        mail: &mail,
    };
    match state
        .two_factor
        .reset_by_admin(&page.user, id, &change)
        .await
    {
        Ok(_) => redirect(&format!("/admin/users/{id}/ways_in")),
        Err(e) => failure(page.t, &e),
    }
}

/// `POST /admin/users/{id}/unlock`: the user's failed sign-in counters cleared (audited); back
/// to the user's page.
pub async fn unlock_user(
    Path(id): Path<String>,
    PagePost {
        state,
        page: PageAdmin(page),
        client,
        ..
    }: PagePost<TokenOnly, PageAdmin>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return failure(page.t, &UserEditError::NotFound);
    };
    match state
        .accounts
        .unlock_by_admin(&page.user, id, &client.ip)
        .await
    {
        Ok(_) => redirect(&format!("/admin/users/{id}")),
        Err(e) => failure(page.t, &e),
    }
}

/// `POST /admin/users/{id}/passkeys/{passkey_id}/remove`: a lost or stolen device's passkey
/// goes; the user is mailed.
pub async fn remove_passkey(
    Path((id, passkey_id)): Path<(String, String)>,
    PagePost {
        state,
        page: PageAdmin(page),
        client,
        ..
    }: PagePost<TokenOnly, PageAdmin>,
) -> Response {
    let (Ok(id), Ok(passkey_id)) = (id.parse::<i64>(), passkey_id.parse::<i64>()) else {
        return failure(page.t, &UserEditError::NotFound);
    };
    let mail = crate::federation::email::mail_context(&state);
    let change = Change {
        ip: &client.ip,
        mail: &mail,
    };
    match state
        .passkeys
        .remove_for_user(&page.user, &change, id, passkey_id)
        .await
    {
        Ok(()) => redirect(&format!("/admin/users/{id}/ways_in")),
        Err(e @ (PasskeyError::Store(_) | PasskeyError::State(_))) => {
            crate::pages::unavailable(page.t, &e)
        }
        Err(e) => {
            let status = match e {
                PasskeyError::NotFound => StatusCode::NOT_FOUND,
                _ => StatusCode::FORBIDDEN,
            };
            error_page(status, page.t, &page.t.error(&e))
        }
    }
}

#[cfg(test)]
pub(crate) fn samples(
    t: &'static crate::pages::Texts,
    user: &keyward_core::model::User,
) -> crate::pages::Gallery {
    let ways = |on: bool| WaysIn {
        has_password: on,
        identities: if on {
            vec![keyward_core::accounts::admin::WayInIdentity {
                provider: "github".into(),
                display: "octo <gh>".into(),
                linked_at: 1_767_225_600,
            }]
        } else {
            Vec::new()
        },
        two_factor: on,
        passkeys: if on {
            vec![keyward_core::accounts::passkeys::PasskeyInfo {
                id: 3,
                name: "Phone <b>".into(),
                created_at: 1_767_225_600,
                last_used_at: None,
            }]
        } else {
            Vec::new()
        },
    };
    [true, false]
        .into_iter()
        .map(|on| {
            let frame = AdminFrame::sample(t, user, "/admin/users/4/ways_in", "users");
            (
                "admin_ways_in.html",
                page_of(frame, 4, ways(on)).render().unwrap_or_default(),
            )
        })
        .collect()
}
