use crate::account::view::UserView;
use crate::envelope::{ApiError, ApiJson, Success};
use crate::extract::Client;
use crate::openapi::{Answer, Failure};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::accounts::Registration;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct RegisterBody {
    username: String,
    password: String,
    #[serde(default)]
    display_name: Option<String>,
    /// The inviter's referral code.
    #[serde(default)]
    aff_code: Option<String>,
    /// Needed, with the code from `/api/verification`, when e-mail verification is on.
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    verification_code: Option<String>,
}

/// `POST /api/user/register`. As in new-api, the new user is not logged in by it. Every attempt
/// counts against the caller's IP, so mass sign-ups (and probing for taken names) stay slow.
#[utoipa::path(post, path = "/api/user/register", tag = "account",
    request_body = RegisterBody,
    responses(
        (status = 200, description = "The new account (not logged in), or a refusal.", body = Answer<UserView>),
        (status = 429, description = "Too many registrations from this client; see `Retry-After`.", body = Failure)))]
pub async fn post(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<impl IntoResponse, ApiError> {
    let settings = state.settings.get().await?;
    let form = Registration {
        username: &body.username,
        password: &body.password,
        display_name: body.display_name.as_deref(),
        aff_code: body.aff_code.as_deref(),
        email: body.email.as_deref(),
        verification_code: body.verification_code.as_deref(),
        ip: &client.ip,
    };
    let user = state.accounts.register(form, &settings).await?;
    tracing::info!(user.id = user.id, "user registered");
    Ok(Success::new(UserView::from(&user)))
}
