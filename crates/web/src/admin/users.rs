use super::{Listing, PageQuery};
use crate::account::view::UserView;
use crate::envelope::{ApiError, ApiJson, Success};
use crate::envelope::{ApiPath, ApiQuery};
use crate::extract::AdminUser;
use crate::openapi::Answer;
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::accounts::admin::UserEditError;
use keyward_core::model::{Role, UserStatus};
use keyward_core::store::UserPatch;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeywordFilter {
    #[serde(default)]
    keyword: Option<String>,
}

/// `GET /api/admin/users?keyword=&p=&page_size=`: newest first.
#[utoipa::path(get, path = "/api/admin/users", tag = "admin",
    params(KeywordFilter, PageQuery),
    responses((status = 200, description = "Users, newest first.", body = Answer<crate::admin::Listing<UserView>>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(filter): ApiQuery<KeywordFilter>,
    ApiQuery(paging): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (page, window) = paging.window(20, 100);
    let keyword = filter
        .keyword
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty());
    if keyword.is_some_and(|k| k.len() > 100) {
        return Err(ApiError::Refused("搜索关键字过长".into()));
    }
    let users = state
        .store
        .list_users(&keyward_core::store::UserListQuery::search(keyword), window)
        .await?;
    let items: Vec<UserView> = users.iter().map(UserView::from).collect();
    Ok(Listing::answer(items, page, window))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    quota: Option<i64>,
    used_quota: Option<i64>,
    level: Option<i64>,
    status: Option<i64>,
    /// `1` user, `10` admin, `100` root, or their names.
    #[schema(schema_with = role_schema)]
    role: Option<serde_json::Value>,
}

/// A role as a number or a name.
fn role_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Integer))
        .item(ObjectBuilder::new().schema_type(Type::String))
        .into()
}

/// `PATCH /api/admin/users/{id}`. The rank rules are the domain's (`accounts::admin::check`).
#[utoipa::path(patch, path = "/api/admin/users/{id}", tag = "admin",
    params(("id" = i64, Path, description = "The user's id.")),
    request_body = PatchBody,
    responses((status = 200, description = "The updated user, or a refusal.", body = Answer<UserView>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn patch(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    crate::extract::Client(client): crate::extract::Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<impl IntoResponse, ApiError> {
    let role = match &body.role {
        None => None,
        Some(value) => {
            let parsed = match value {
                serde_json::Value::Number(n) => n.as_i64().and_then(Role::from_i64),
                serde_json::Value::String(s) => Role::parse(s),
                _ => None,
            };
            Some(parsed.ok_or(ApiError::Refused("无效的角色".into()))?)
        }
    };
    let status = body
        .status
        .map(|s| UserStatus::from_i64(s).ok_or(ApiError::Refused("无效的状态".into())))
        .transpose()?;
    let patch = UserPatch {
        quota: body.quota,
        used_quota: body.used_quota,
        level: body.level,
        role,
        status,
        by: None,
    };
    let updated = state
        .accounts
        .edit_user(&admin.user, id, &patch, &client.ip)
        .await?;
    Ok(Success::new(UserView::from(&updated)))
}

/// `POST /api/admin/users/{id}/unlock`: clears the user's failed sign-in counters (password and
/// second factor), audited; the domain's `Accounts::unlock`.
#[utoipa::path(post, path = "/api/admin/users/{id}/unlock", tag = "admin",
    params(("id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "The user, whose sign-in counters are cleared.", body = Answer<UserView>),
        (status = 404, description = "No such user.", body = crate::openapi::Failure)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn unlock(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    crate::extract::Client(client): crate::extract::Client,
    ApiPath(id): ApiPath<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let user = state
        .accounts
        .unlock_by_admin(&admin.user, id, &client.ip)
        .await?;
    Ok(Success::new(UserView::from(&user)))
}

impl From<UserEditError> for ApiError {
    fn from(e: UserEditError) -> Self {
        match e {
            UserEditError::Store(e) => e.into(),
            UserEditError::NotFound => ApiError::NotFound("用户不存在"),
            other => ApiError::Refused(other.to_string()),
        }
    }
}
