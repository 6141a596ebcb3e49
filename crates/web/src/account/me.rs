use crate::account::view::UserView;
use crate::envelope::{ApiError, ApiJson, Success};
use crate::extract::{Client, CurrentUser};
use crate::openapi::{Answer, Failure};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use keyward_core::accounts::Change;
use serde::Deserialize;
use utoipa::ToSchema;

/// `GET /api/user/self`.
#[utoipa::path(get, path = "/api/user/self", tag = "account",
    responses((status = 200, description = "One's own account.", body = Answer<UserView>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn get(current: CurrentUser) -> impl IntoResponse {
    Success::new(UserView::from(&current.user))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateBody {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    original_password: Option<String>,
}

/// `PUT /api/user/self`: change the display name and/or the password. A password change needs
/// a browser session and the current password, ends every session and revokes the developer
/// token; this browser gets a fresh session.
#[utoipa::path(put, path = "/api/user/self", tag = "account",
    request_body = UpdateBody,
    responses(
        (status = 200, description = "The updated account (a password change sets a fresh session cookie), or a refusal.", body = Answer<UserView>),
        (status = 403, description = "A password change with a developer token (it needs a browser session), or a cross-site request.", body = Failure)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn put(
    State(state): State<AppState>,
    current: CurrentUser,
    Client(client): Client,
    jar: CookieJar,
    ApiJson(body): ApiJson<UpdateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let user = &current.user;
    // Checked before anything changes: a refused request changes nothing.
    if body.password.is_some() {
        current.browser_session()?;
    }
    let current_password = body.original_password.as_deref().unwrap_or_default();
    let password = body.password.as_deref().map(|new| (current_password, new));
    let mail = crate::federation::email::mail_context(&state);
    let change = Change {
        ip: &client.ip,
        mail: &mail,
    };
    state
        .accounts
        .update_self(user, body.display_name.as_deref(), password, &change)
        .await?;
    let mut jar = jar;
    if password.is_some() {
        jar = crate::account::login::open_session(&state, jar, user, &client).await?;
        tracing::info!(user.id = user.id, "password changed");
    }
    let updated = state
        .store
        .user_by_id(user.id)
        .await?
        .ok_or(ApiError::NotFound("用户不存在"))?;
    Ok((jar, Success::new(UserView::from(&updated))))
}
