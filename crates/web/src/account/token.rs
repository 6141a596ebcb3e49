use crate::envelope::{ApiError, Success};
use crate::extract::{AuthVia, CurrentUser};
use crate::openapi::Answer;
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;

/// `GET /api/user/token`: issues a new developer token, replacing the old one, and shows it this
/// once (new-api answers with the bare token in `data`). Needs a browser session: a developer
/// token cannot mint its own successor.
#[utoipa::path(get, path = "/api/user/token", tag = "account",
    responses((status = 200, description = "A new developer token (the old one stops working), shown this once.", body = Answer<String>)),
    security(("session" = [])))]
pub async fn get(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<impl IntoResponse, ApiError> {
    if !matches!(current.via, AuthVia::Session(_)) {
        return Err(ApiError::Forbidden("请登录后再生成访问令牌"));
    }
    let token = state.accounts.issue_developer_token(&current.user).await?;
    tracing::info!(user.id = current.user.id, "developer token issued");
    Ok(Success::new(token.into_exposed()))
}
