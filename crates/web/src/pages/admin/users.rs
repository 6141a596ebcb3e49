//! `/admin/users`: the user table (search, sort, paging), and changes to one user (level, quota,
//! role, status) posted from its detail page (`user_detail.rs`).

use super::{AdminFrame, AdminTexts, Pager, admin_texts, back, unavailable};
use crate::pages::console::{QUERY, format_time};
use crate::pages::{PageAdmin, PagePost, Texts, error_page, login::redirect, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::accounts::admin::UserEditError;
use keyward_core::model::{Role, User, UserStatus};
use keyward_core::store::{UserListQuery, UserPatch, UserSort};
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

/// A sortable column's header: its words, the link that sorts by it, and how it is sorted now
/// (`aria-sort`: `ascending`, `descending` or `none`).
pub struct SortHeader {
    pub label: &'static str,
    pub href: String,
    pub aria_sort: &'static str,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
pub struct UsersPage {
    pub frame: AdminFrame,
    pub keyword: String,
    pub users: Vec<UserRow>,
    pub id_header: SortHeader,
    pub username_header: SortHeader,
    pub role_header: SortHeader,
    pub last_login_header: SortHeader,
    pub pager: Pager,
}

pub(super) fn role_text(a: &AdminTexts, role: Role) -> &'static str {
    match role {
        Role::User => a.role_user,
        Role::Admin => a.role_admin,
        Role::Root => a.role_root,
    }
}

pub(super) fn row(a: &AdminTexts, user: &User) -> UserRow {
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

/// `?keyword=&sort=&dir=&p=`: `sort` is one of [`UserSort`]'s names, `dir` `asc` or `desc`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UsersQuery {
    keyword: String,
    sort: String,
    dir: String,
    p: Option<i64>,
}

fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, QUERY).to_string()
}

/// The listing's query without the page: the search and the order.
fn list_query(keyword: &str, sort: UserSort, descending: bool) -> String {
    let mut parts = Vec::new();
    if !keyword.is_empty() {
        parts.push(format!("keyword={}", encode(keyword)));
    }
    if sort != UserSort::Id || !descending {
        parts.push(format!("sort={}", sort.as_str()));
        parts.push(format!("dir={}", if descending { "desc" } else { "asc" }));
    }
    parts.join("&")
}

fn header(
    label: &'static str,
    column: UserSort,
    keyword: &str,
    sort: UserSort,
    descending: bool,
) -> SortHeader {
    let current = column == sort;
    // A click on the current column turns its order round; another column starts ascending
    // (the id column, newest first).
    let next_descending = if current {
        !descending
    } else {
        column == UserSort::Id
    };
    let query = list_query(keyword, column, next_descending);
    SortHeader {
        label,
        href: if query.is_empty() {
            "/admin/users".into()
        } else {
            format!("/admin/users?{query}")
        },
        aria_sort: match (current, descending) {
            (false, _) => "none",
            (true, true) => "descending",
            (true, false) => "ascending",
        },
    }
}

/// `GET /admin/users?keyword=&sort=&dir=&p=`.
pub async fn users(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Query(query): Query<UsersQuery>,
) -> Response {
    let a = admin_texts(page.t);
    let keyword: String = query.keyword.trim().chars().take(100).collect();
    let sort = UserSort::parse(&query.sort).unwrap_or_default();
    let descending = query.dir != "asc";
    let filter = list_query(&keyword, sort, descending);
    let list = UserListQuery {
        search: (!keyword.is_empty()).then_some(keyword.as_str()),
        sort,
        descending,
    };
    let listed = Pager::fetch("/admin/users", &filter, query.p, 20, |window| {
        state.store.list_users(&list, window)
    });
    let (users, pager) = match listed.await {
        Ok(listed) => listed,
        Err(e) => return unavailable(page.t, &e),
    };
    render(
        StatusCode::OK,
        &UsersPage {
            frame: AdminFrame::of(&page, "users"),
            pager,
            users: users.iter().map(|u| row(a, u)).collect(),
            id_header: header(a.user_id, UserSort::Id, &keyword, sort, descending),
            username_header: header(a.username, UserSort::Username, &keyword, sort, descending),
            role_header: header(a.role, UserSort::Role, &keyword, sort, descending),
            last_login_header: header(
                a.last_login,
                UserSort::LastLogin,
                &keyword,
                sort,
                descending,
            ),
            keyword,
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
    /// Disabling needs this box ticked (`1`): the consequence is stated next to it.
    confirm: String,
    return_to: String,
}

/// `POST /admin/users/{id}`: the same rules and audit record as `PATCH /api/admin/users/{id}`.
/// Disabling is refused, changing nothing, unless the confirmation box is ticked.
pub async fn update_user(
    Path(id): Path<String>,
    PagePost {
        state,
        page: PageAdmin(page),
        client,
        form,
    }: PagePost<UserForm, PageAdmin>,
) -> Response {
    let a = admin_texts(page.t);
    let patch = match parse_patch(&form, a) {
        Ok(patch) => patch,
        Err(message) => return error_page(StatusCode::BAD_REQUEST, page.t, &message),
    };
    if patch.status == Some(UserStatus::Disabled) && form.confirm != "1" {
        return error_page(StatusCode::BAD_REQUEST, page.t, a.confirm_required);
    }
    let Ok(id) = id.parse::<i64>() else {
        return edit_failure(page.t, &UserEditError::NotFound);
    };
    match state
        .accounts
        .edit_user(&page.user, id, &patch, &client.ip)
        .await
    {
        Ok(_) => redirect(back(&form.return_to, &format!("/admin/users/{id}"))),
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
        by: None,
    })
}

pub(super) fn edit_failure(t: &'static Texts, e: &UserEditError) -> Response {
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
    let keyword = "a\"b";
    let page = UsersPage {
        frame: AdminFrame::sample(t, user, "/admin/users", "users"),
        keyword: keyword.into(),
        users: vec![row(a, user), row(a, &disabled)],
        id_header: header(a.user_id, UserSort::Id, keyword, UserSort::Username, false),
        username_header: header(
            a.username,
            UserSort::Username,
            keyword,
            UserSort::Username,
            false,
        ),
        role_header: header(a.role, UserSort::Role, keyword, UserSort::Username, false),
        last_login_header: header(
            a.last_login,
            UserSort::LastLogin,
            keyword,
            UserSort::Username,
            false,
        ),
        pager: Pager::new("/admin/users", "", 1, false),
    };
    vec![("admin_users.html", page.render().unwrap_or_default())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_links_keep_the_search_and_turn_the_current_order_round() {
        let h = header("x", UserSort::Username, "a b", UserSort::Username, false);
        assert_eq!(h.href, "/admin/users?keyword=a%20b&sort=username&dir=desc");
        assert_eq!(h.aria_sort, "ascending");
        let h = header("x", UserSort::Id, "", UserSort::Username, false);
        assert_eq!(h.href, "/admin/users", "the default order has no query");
        assert_eq!(h.aria_sort, "none");
    }
}
