//! How users are shown over the account API. Field names follow new-api, whose clients read them.

use keyward_core::model::User;
use serde::Serialize;
use utoipa::ToSchema;

/// The short form login answers with (new-api `setupLogin`).
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: i64,
    pub status: i64,
    #[schema(value_type = String)]
    pub group: &'static str,
}

impl From<&User> for LoginView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: u.role.as_i64(),
            status: u.status.as_i64(),
            group: "default",
        }
    }
}

/// The full view of one's own account (`GET /api/user/self`) and of users to admins. Never the
/// password hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub uuid: String,
    pub user_number: String,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub email_verified: bool,
    pub avatar_url: String,
    pub level: i64,
    pub role: i64,
    pub status: i64,
    #[schema(value_type = String)]
    pub group: &'static str,
    pub quota: i64,
    pub used_quota: i64,
    pub aff_code: String,
    pub inviter_id: i64,
    pub has_password: bool,
    pub created_time: i64,
    pub last_login_time: i64,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            uuid: u.uuid.to_string(),
            user_number: u.user_number(),
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            email: u.email.clone().unwrap_or_default(),
            email_verified: u.email_verified,
            avatar_url: u.avatar_url.clone(),
            level: u.level,
            role: u.role.as_i64(),
            status: u.status.as_i64(),
            group: "default",
            quota: u.quota,
            used_quota: u.used_quota,
            aff_code: u.aff_code.clone(),
            inviter_id: u.inviter_id.unwrap_or_default(),
            has_password: u.password_hash.is_some(),
            created_time: u.created_at,
            last_login_time: u.last_login_at.unwrap_or_default(),
        }
    }
}
