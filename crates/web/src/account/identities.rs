//! The upstream identities bound to one's account; unbinding one.

use crate::envelope::ApiPath;
use crate::envelope::{ApiError, Success};
use crate::extract::{Client, CurrentUser};
use crate::openapi::{Answer, Nothing};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::accounts::federation::FederationError;
use keyward_core::model::User;
use serde::Serialize;
use utoipa::ToSchema;

/// An upstream identity bound to the account.
#[derive(Serialize, ToSchema)]
pub struct IdentityView {
    /// `github`, `oidc`, `linuxdo`, `wechat` or `telegram`.
    pub provider: String,
    pub display: String,
    pub bound_time: i64,
}

/// `GET /api/user/identities`.
#[utoipa::path(get, path = "/api/user/identities", tag = "account",
    responses((status = 200, description = "The upstream identities bound to one's account.", body = Answer<Vec<IdentityView>>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<impl IntoResponse, ApiError> {
    let identities = state.store.identities_of_user(current.user.id).await?;
    let items: Vec<_> = identities
        .iter()
        .map(|i| IdentityView {
            provider: i.provider.clone(),
            display: i.display.clone(),
            bound_time: i.created_at,
        })
        .collect();
    Ok(Success::new(items))
}

/// `DELETE /api/user/identities/{provider}`: refused when it is the account's last way in.
#[utoipa::path(delete, path = "/api/user/identities/{provider}", tag = "account",
    params(("provider" = String, Path, description = "The provider to unbind.")),
    responses((status = 200, description = "Unbound, or refused when it is the last way in.", body = Answer<Nothing>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn unlink(
    State(state): State<AppState>,
    current: CurrentUser,
    Client(client): Client,
    ApiPath(provider): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    unlink_for(&state, &current.user, &provider, &client.ip).await?;
    Ok(Success::done("已解绑"))
}

/// Unbinds `provider` from `user` (core refuses the account's last way in). Shared by the JSON
/// API and the security page.
pub async fn unlink_for(
    state: &AppState,
    user: &User,
    provider: &str,
    ip: &str,
) -> Result<(), ApiError> {
    match state.accounts.unlink_identity(user, provider, ip).await {
        Ok(()) => Ok(()),
        Err(FederationError::NotLinked) => Err(ApiError::NotFound("未绑定该账户")),
        Err(e) => Err(e.into()),
    }
}
