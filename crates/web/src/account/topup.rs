//! `POST /api/user/topup` `{key}`: redeem a top-up code (new-api's shape: `data` is the quota
//! added).

use crate::envelope::{ApiError, ApiJson, Success};
use crate::extract::{Client, CurrentUser};
use crate::openapi::{Answer, Failure};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::billing::topup::TopUpError;
use serde::Deserialize;
use utoipa::ToSchema;

impl From<TopUpError> for ApiError {
    fn from(e: TopUpError) -> Self {
        match e {
            TopUpError::Store(e) => e.into(),
            TopUpError::Throttled { retry_after } => ApiError::TooManyRequests(retry_after),
            other => ApiError::Refused(other.to_string()),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct TopUpBody {
    /// The top-up code (`kwtop_…`).
    #[serde(default)]
    key: String,
}

/// `POST /api/user/topup` `{key}`: `data` is the quota added.
#[utoipa::path(post, path = "/api/user/topup", tag = "account",
    request_body = TopUpBody,
    responses(
        (status = 200, description = "The quota added, or a refusal (unknown, used or expired code).", body = Answer<i64>),
        (status = 429, description = "Too many failures; see `Retry-After`.", body = Failure)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn post(
    State(state): State<AppState>,
    current: CurrentUser,
    Client(client): Client,
    ApiJson(body): ApiJson<TopUpBody>,
) -> Result<impl IntoResponse, ApiError> {
    let amount = state
        .topups
        .redeem(&current.user, &body.key, &client.ip)
        .await?;
    tracing::info!(user.id = current.user.id, amount, "top-up code redeemed");
    Ok(Success::with_message("兑换成功", amount))
}
