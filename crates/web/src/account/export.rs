//! `GET /api/user/export`: everything Keyward holds about the signed-in user, as JSON.

use crate::envelope::{ApiError, Success};
use crate::extract::{Client, SessionUser};
use crate::openapi::{Answer, Failure};
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

/// The export (see `keyward_core::accounts::export::AccountExport`): `exported_at`, `profile`,
/// `identities`, `consents`, `sessions`, `apps`, `two_factor` and `audit`. Never a hash, secret,
/// token or key.
#[derive(Serialize, ToSchema)]
#[schema(value_type = Object)]
pub struct ExportDocument(keyward_core::accounts::export::AccountExport);

/// `GET /api/user/export`: the account's data in the envelope, sent as a download
/// (`Content-Disposition: attachment`). A browser session only: a developer token is a
/// standing credential for automation, and one that leaks must not hand over the whole
/// account (addresses, sessions' IPs, the audit trail).
#[utoipa::path(get, path = "/api/user/export", tag = "account",
    responses(
        (status = 200, description = "The export, as `data`.", body = Answer<ExportDocument>),
        (status = 403, description = "A developer token (a browser session is needed).", body = Failure)),
    security(("session" = [])))]
pub async fn get(
    State(state): State<AppState>,
    current: SessionUser,
    Client(client): Client,
) -> Result<impl IntoResponse, ApiError> {
    let export = state.accounts.export(&current.user, &client.ip).await?;
    tracing::info!(user.id = current.user.id, "account data exported");
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            attachment(&current.user.username),
        )],
        Success::new(ExportDocument(export)),
    ))
}

/// `attachment; filename="keyward-export-<name>.json"`; user names are letters, digits, `_`,
/// `.` and `-`, nothing a header or a file name would misread.
pub fn attachment(username: &str) -> String {
    let safe: String = username
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .collect();
    format!("attachment; filename=\"keyward-export-{safe}.json\"")
}
