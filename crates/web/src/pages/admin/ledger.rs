//! `/admin/users/{id}/ledger`: any account's statement, rendered as the user's own
//! (`_ledger_table.html`), for the admin looking into a balance question.

use super::AdminFrame;
use crate::pages::account::ledger::{PageNumber, Statement, statement};
use crate::pages::account::{AccountTexts, account_texts};
use crate::pages::{PageAdmin, error_page, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

#[derive(Template)]
#[template(path = "admin_ledger.html")]
pub struct LedgerPage {
    pub frame: AdminFrame,
    pub la: &'static AccountTexts,
    pub id: i64,
    pub username: String,
    pub statement: Statement,
}

crate::pages::framed!(AdminFrame => LedgerPage);

/// `GET /admin/users/{id}/ledger?p=`.
pub async fn get(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Path(id): Path<String>,
    Query(number): Query<PageNumber>,
) -> Response {
    let not_found = || {
        error_page(
            StatusCode::NOT_FOUND,
            page.t,
            account_texts(page.t).not_found,
        )
    };
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    let user = match state.store.user_by_id(id).await {
        Ok(Some(user)) => user,
        Ok(None) => return not_found(),
        Err(e) => return crate::pages::unavailable(page.t, &e),
    };
    let base = format!("/admin/users/{id}/ledger");
    let statement = match statement(&state, page.t, id, number.number(), &base).await {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    render(
        StatusCode::OK,
        &LedgerPage {
            frame: AdminFrame::of(&page, "users"),
            la: account_texts(page.t),
            id,
            username: user.username,
            statement,
        },
    )
}

#[cfg(test)]
pub(crate) fn samples(
    t: &'static crate::pages::Texts,
    user: &keyward_core::model::User,
) -> crate::pages::Gallery {
    use askama::Template as _;
    let page = LedgerPage {
        frame: AdminFrame::sample(t, user, "/admin/users/1/ledger", "users"),
        la: account_texts(t),
        id: 1,
        username: "alice <a>".into(),
        statement: crate::pages::account::ledger::sample_statement(t),
    };
    vec![("admin_ledger.html", page.render().unwrap_or_default())]
}
