//! `/admin/users`: search, page through, and change users (level, quota, role, status).

use super::{
    AdminFrame, AdminTexts, ListQuery, Pager, admin_texts, back, filter_query, unavailable,
};
use crate::pages::console::format_time;
use crate::pages::{PageAdmin, PagePost, Texts, error_page, login::redirect, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::accounts::admin::UserEditError;
use keyward_core::model::{Role, User, UserStatus};
use keyward_core::store::UserPatch;
use serde::Deserialize;

pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role_key: &'static str,
    pub role: &'static str,
    pub enabled: bool,
    pub level: i64,
    pub quota: i64,
    pub used_quota: i64,
    pub created: String,
    pub last_login: String,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
pub struct UsersPage {
    pub frame: AdminFrame,
    pub return_to: String,
    pub keyword: String,
    pub users: Vec<UserRow>,
    /// Only root may change roles; others do not see the choice.
    pub can_set_roles: bool,
    pub roles: Vec<(&'static str, &'static str)>,
    pub pager: Pager,
}

fn role_text(a: &AdminTexts, role: Role) -> &'static str {
    match role {
        Role::User => a.role_user,
        Role::Admin => a.role_admin,
        Role::Root => a.role_root,
    }
}

fn row(a: &AdminTexts, user: &User) -> UserRow {
    UserRow {
        id: user.id,
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        email: user.email.clone().unwrap_or_default(),
        role_key: user.role.name(),
        role: role_text(a, user.role),
        enabled: user.is_enabled(),
        level: user.level,
        quota: user.quota,
        used_quota: user.used_quota,
        created: format_time(user.created_at),
        last_login: user
            .last_login_at
            .map(format_time)
            .unwrap_or_else(|| a.never.to_owned()),
    }
}

/// `GET /admin/users?keyword=&p=`.
pub async fn users(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Query(query): Query<ListQuery>,
) -> Response {
    let a = admin_texts(page.t);
    let keyword: String = query.keyword.trim().chars().take(100).collect();
    let filter = filter_query("keyword", &keyword);
    let search = (!keyword.is_empty()).then_some(keyword.as_str());
    let listed = Pager::fetch("/admin/users", &filter, query.p, 20, |window| {
        state.store.list_users(search, window)
    });
    let (users, pager) = match listed.await {
        Ok(listed) => listed,
        Err(e) => return unavailable(page.t, &e),
    };
    render(
        StatusCode::OK,
        &UsersPage {
            frame: AdminFrame::of(&page, "users"),
            return_to: page.path.clone(),
            pager,
            users: users.iter().map(|u| row(a, u)).collect(),
            keyword,
            can_set_roles: page.user.role == Role::Root,
            roles: [Role::User, Role::Admin, Role::Root]
                .into_iter()
                .map(|r| (r.name(), role_text(a, r)))
                .collect(),
        },
    )
}

/// Every field is optional: an empty or missing one is left as it is.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UserForm {
    level: String,
    quota: String,
    used_quota: String,
    role: String,
    status: String,
    return_to: String,
}

/// `POST /admin/users/{id}`: the same rules and audit record as `PATCH /api/admin/users/{id}`.
pub async fn update_user(
    Path(id): Path<String>,
    PagePost {
        state,
        page: PageAdmin(page),
        client,
        form,
    }: PagePost<UserForm, PageAdmin>,
) -> Response {
    let patch = match parse_patch(&form, admin_texts(page.t)) {
        Ok(patch) => patch,
        Err(message) => return error_page(StatusCode::BAD_REQUEST, page.t, &message),
    };
    let Ok(id) = id.parse::<i64>() else {
        return edit_failure(page.t, &UserEditError::NotFound);
    };
    match state
        .accounts
        .edit_user(&page.user, id, &patch, &client.ip)
        .await
    {
        Ok(_) => redirect(back(&form.return_to, "/admin/users")),
        Err(e) => edit_failure(page.t, &e),
    }
}

fn parse_patch(form: &UserForm, a: &AdminTexts) -> Result<UserPatch, String> {
    let number = |label: &str, value: &str| -> Result<Option<i64>, String> {
        match value.trim() {
            "" => Ok(None),
            text => text
                .parse()
                .map(Some)
                .map_err(|_| format!("{}{label}", a.not_a_number)),
        }
    };
    Ok(UserPatch {
        level: number(a.level, &form.level)?,
        quota: number(a.quota, &form.quota)?,
        used_quota: number(a.used_quota, &form.used_quota)?,
        role: match form.role.trim() {
            "" => None,
            text => Some(Role::parse(text).ok_or(a.unknown_role)?),
        },
        status: match form.status.trim() {
            "" => None,
            text => Some(
                text.parse()
                    .ok()
                    .and_then(UserStatus::from_i64)
                    .ok_or(a.unknown_status)?,
            ),
        },
    })
}

fn edit_failure(t: &'static Texts, e: &UserEditError) -> Response {
    let status = match e {
        UserEditError::NotFound => StatusCode::NOT_FOUND,
        UserEditError::Store(_) => return unavailable(t, e),
        UserEditError::Negative | UserEditError::QuotaTooLarge => StatusCode::BAD_REQUEST,
        _ => StatusCode::FORBIDDEN,
    };
    error_page(status, t, &t.error(e))
}

#[cfg(test)]
pub(crate) fn samples(t: &'static crate::pages::Texts, user: &User) -> crate::pages::Gallery {
    let a = admin_texts(t);
    let disabled = User {
        status: UserStatus::Disabled,
        ..user.clone()
    };
    let page = UsersPage {
        frame: AdminFrame::sample(t, user, "/admin/users", "users"),
        return_to: "/admin/users?keyword=a".into(),
        keyword: "a\"b".into(),
        users: vec![row(a, user), row(a, &disabled)],
        can_set_roles: true,
        roles: vec![("user", a.role_user), ("root", a.role_root)],
        pager: Pager::new("/admin/users", "", 1, false),
    };
    vec![("admin_users.html", page.render().unwrap_or_default())]
}
