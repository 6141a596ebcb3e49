//! `POST /api/user/topup` `{key}`: redeem a top-up code (new-api's shape: `data` is the quota
//! added).

use crate::envelope::{ApiError, ApiJson, Success};
use crate::extract::{Client, CurrentUser};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::billing::topup::TopUpError;
use serde::Deserialize;

impl From<TopUpError> for ApiError {
    fn from(e: TopUpError) -> Self {
        match e {
            TopUpError::Store(e) => e.into(),
            TopUpError::Throttled { retry_after } => ApiError::TooManyRequests(retry_after),
            other => ApiError::Refused(other.to_string()),
        }
    }
}

#[derive(Deserialize)]
pub struct TopUpBody {
    #[serde(default)]
    key: String,
}

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
    Ok(Success {
        message: "兑换成功",
        data: amount,
    })
}
