//! The upstream identities bound to one's account; unbinding one.

use crate::envelope::ApiPath;
use crate::envelope::{ApiError, Success};
use crate::extract::CurrentUser;
use crate::openapi::{Answer, Nothing};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
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
    ApiPath(provider): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    unlink_for(&state, &current.user, &provider).await?;
    Ok(Success {
        message: "已解绑",
        data: (),
    })
}

/// Unbinds `provider` from `user`, unless it is the account's last way to log in (no password
/// and no other identity). Shared by the JSON API and the security page.
pub async fn unlink_for(state: &AppState, user: &User, provider: &str) -> Result<(), ApiError> {
    let identities = state.store.identities_of_user(user.id).await?;
    if !identities.iter().any(|i| i.provider == provider) {
        return Err(ApiError::NotFound("未绑定该账户"));
    }
    if user.password_hash.is_none() && identities.len() <= 1 {
        return Err(ApiError::Refused(
            "这是你唯一的登录方式，请先设置密码或绑定其他账户".into(),
        ));
    }
    state.store.unlink_identity(user.id, provider).await?;
    Ok(())
}
