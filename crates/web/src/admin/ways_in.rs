//! `GET /api/admin/users/{id}/ways_in` and `POST /api/admin/users/{id}/2fa/reset`: how a user
//! signs in, and turning their two-factor off (a lost device). The rank rules are the domain's.

use crate::account::view::UserView;
use crate::envelope::{ApiError, ApiPath, Success};
use crate::extract::{AdminUser, Client};
use crate::federation::email::mail_context;
use crate::openapi::Answer;
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::accounts::Change;
use keyward_core::accounts::admin::WaysIn;
use serde::Serialize;
use utoipa::ToSchema;

/// How a user signs in (never a secret).
#[derive(Serialize, ToSchema)]
pub struct WaysInView {
    pub has_password: bool,
    pub identities: Vec<IdentityWayIn>,
    pub two_factor: bool,
    pub passkeys: Vec<crate::account::passkeys::PasskeyView>,
}

#[derive(Serialize, ToSchema)]
pub struct IdentityWayIn {
    pub provider: String,
    pub display: String,
    /// Unix seconds.
    pub linked_at: i64,
}

impl From<WaysIn> for WaysInView {
    fn from(w: WaysIn) -> Self {
        Self {
            has_password: w.has_password,
            identities: w
                .identities
                .into_iter()
                .map(|i| IdentityWayIn {
                    provider: i.provider,
                    display: i.display,
                    linked_at: i.linked_at,
                })
                .collect(),
            two_factor: w.two_factor,
            passkeys: w.passkeys.into_iter().map(Into::into).collect(),
        }
    }
}

/// `GET /api/admin/users/{id}/ways_in`: refused for users of the admin's rank or above.
#[utoipa::path(get, path = "/api/admin/users/{id}/ways_in", tag = "admin",
    params(("id" = i64, Path, description = "The user's id.")),
    responses((status = 200, description = "The user's ways in, or a refusal.", body = Answer<WaysInView>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn get(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let ways = state.accounts.ways_in(&admin.user, id).await?;
    Ok(Success::new(WaysInView::from(ways)))
}

/// `POST /api/admin/users/{id}/2fa/reset`: turns the user's two-factor off (audited; the user
/// is mailed). Refused for users of the admin's rank or above.
#[utoipa::path(post, path = "/api/admin/users/{id}/2fa/reset", tag = "admin",
    params(("id" = i64, Path, description = "The user's id.")),
    responses((status = 200, description = "The updated user, or a refusal.", body = Answer<UserView>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn reset_two_factor(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Client(client): Client,
    ApiPath(id): ApiPath<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let mail = mail_context(&state);
    let change = Change {
        ip: &client.ip,
        mail: &mail,
    };
    let user = state
        .two_factor
        .reset_by_admin(&admin.user, id, &change)
        .await?;
    Ok(Success::new(UserView::from(&user)))
}
