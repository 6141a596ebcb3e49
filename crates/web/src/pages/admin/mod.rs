//! `/admin`: reviewing apps, managing users, settings and the audit log. Thin pages over the same
//! functions the admin API uses (`crate::admin::*`). Filters and paging are plain GET forms.

mod actions;
mod app_apis;
mod audit;
mod client_documents;
mod ledger;
mod resources;
mod settings;
mod settings_logo;
mod settings_save;
mod settings_words;
mod texts;
mod user_deletion;
mod user_detail;
mod users;
mod ways_in;

pub use app_apis::set_app_apis;
pub use audit::audit;
pub use client_documents::client_documents;
pub use ledger::get as user_ledger;
pub use resources::{create_resource, resource, resources, set_resource_enabled, update_resource};
pub use settings::{settings, settings_section};
pub use settings_logo::upload_logo;
pub use settings_save::{save_section, save_settings};
pub use texts::{AdminTexts, admin_texts};
pub use user_deletion::delete_user;
pub use user_detail::user_detail;
pub use users::{update_user, users};
pub use ways_in::{
    get as ways_in, remove_passkey as ways_in_remove_passkey, reset_two_factor, unlock_user,
};

use super::console::{AppRow, app_failure, console_texts};
use super::{
    Chrome, PageAdmin, PagePost, Texts, error_page, login::redirect, render, safe_return_to,
    unavailable,
};
use crate::admin::paging;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::model::{Client as App, ClientStatus, Resource, UserId};
use keyward_core::oauth::apps::{AppError, Review};
use serde::Deserialize;
use std::collections::HashMap;
#[cfg(test)]
use {crate::pages::Gallery, keyward_core::model::User};

/// Which section the sub-navigation marks as current.
pub struct Section(pub &'static str);

/// What every admin page carries: the words, the navigation, its section and the form token.
/// The page structs deref to it, so their templates read `t`, `a` or `csrf` as their own.
pub struct AdminFrame {
    pub t: &'static Texts,
    pub chrome: Chrome,
    pub a: &'static AdminTexts,
    pub section: Section,
    pub csrf: String,
}

impl AdminFrame {
    pub fn new(t: &'static Texts, chrome: Chrome, section: &'static str, csrf: String) -> Self {
        Self {
            t,
            chrome,
            a: admin_texts(t),
            section: Section(section),
            csrf,
        }
    }

    /// The frame of `section` for the signed-in admin, on the page they asked for.
    pub fn of(page: &super::PageUser, section: &'static str) -> Self {
        Self::new(page.t, page.chrome(), section, page.csrf.clone())
    }
}

#[cfg(test)]
impl AdminFrame {
    /// A frame for the page gallery: `path`'s navigation for `user`, a placeholder token.
    pub fn sample(
        t: &'static Texts,
        user: &keyward_core::model::User,
        path: &str,
        section: &'static str,
    ) -> Self {
        Self::new(t, Chrome::new(t, path, Some(user)), section, "csrf".into())
    }
}

crate::pages::framed!(AdminFrame =>
    OverviewPage,
    AppsPage,
    audit::AuditPage,
    client_documents::ClientDocumentsPage,
    users::UsersPage
);

impl Section {
    pub fn is(&self, name: &str) -> bool {
        self.0 == name
    }
}

/// An app as the review pages show it: as its owner's console does, whose it is, and the APIs
/// it may use.
pub struct AdminAppRow {
    pub row: AppRow,
    /// The console's words, for the change waiting for review.
    pub c: &'static crate::pages::console::ConsoleTexts,
    pub owner: String,
    pub pending: bool,
    pub apis: app_apis::ApiLimit,
}

impl AdminAppRow {
    fn new(t: &Texts, app: &App, owner: String, resources: &[Resource]) -> Self {
        Self {
            row: AppRow::new(console_texts(t), app),
            c: console_texts(t),
            owner,
            pending: app.status == ClientStatus::Pending,
            apis: app_apis::ApiLimit::new(app, resources, t.lang == "en"),
        }
    }
}

/// The previous and next page links of a listing; `None` where there is none.
pub struct Pager {
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// `query` is the listing's filter (already encoded, may be empty); `full` says whether the
    /// page was full, so that a next one may exist.
    pub fn new(path: &str, query: &str, page: i64, full: bool) -> Self {
        let link = |p: i64| {
            if query.is_empty() {
                format!("{path}?p={p}")
            } else {
                format!("{path}?{query}&p={p}")
            }
        };
        Self {
            prev: (page > 1).then(|| link(page - 1)),
            next: full.then(|| link(page + 1)),
        }
    }

    /// Page `p` of a listing, `per_page` items long, with its pager (as [`Pager::new`]).
    pub async fn fetch<T, E, F>(
        path: &str,
        query: &str,
        p: Option<i64>,
        per_page: i64,
        fetch: impl FnOnce(keyward_core::store::Page) -> F,
    ) -> Result<(Vec<T>, Self), E>
    where
        F: Future<Output = Result<Vec<T>, E>>,
    {
        let (page, window) = paging(p, None, per_page, per_page);
        let items = fetch(window).await?;
        let full = i64::try_from(items.len()).is_ok_and(|n| n == window.limit);
        Ok((items, Self::new(path, query, page, full)))
    }
}

/// A listing's filter as its query (`name=value`, encoded), or empty for no filter.
pub fn filter_query(name: &str, value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        format!(
            "{name}={}",
            percent_encoding::utf8_percent_encode(value, super::console::QUERY)
        )
    }
}

#[derive(Template)]
#[template(path = "admin_overview.html")]
pub struct OverviewPage {
    pub frame: AdminFrame,
    pub return_to: String,
    pub apps: Vec<AdminAppRow>,
}

#[derive(Template)]
#[template(path = "admin_apps.html")]
pub struct AppsPage {
    pub frame: AdminFrame,
    pub return_to: String,
    pub apps: Vec<AdminAppRow>,
    pub statuses: Vec<(&'static str, &'static str, bool)>,
    pub pager: Pager,
}

async fn app_rows(
    state: &AppState,
    t: &'static Texts,
    apps: &[App],
) -> Result<Vec<AdminAppRow>, Response> {
    let ids: Vec<UserId> = apps.iter().filter_map(|a| a.owner_id).collect();
    let owners = usernames(state, t, &ids).await?;
    let resources = state
        .resources
        .list()
        .await
        .map_err(|e| unavailable(t, &e))?;
    Ok(apps
        .iter()
        .map(|app| {
            let owner = match app.owner_id {
                Some(id) => owners.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
                None => admin_texts(t).self_registered.to_owned(),
            };
            AdminAppRow::new(t, app, owner, &resources)
        })
        .collect())
}

/// User names for the ids on one page of a listing (at most a page's worth of lookups).
pub(crate) async fn usernames(
    state: &AppState,
    t: &'static Texts,
    ids: &[UserId],
) -> Result<HashMap<UserId, String>, Response> {
    let mut names = HashMap::new();
    for id in ids {
        if names.contains_key(id) {
            continue;
        }
        match state.store.user_by_id(*id).await {
            Ok(Some(user)) => {
                names.insert(*id, user.username);
            }
            Ok(None) => {}
            Err(e) => return Err(unavailable(t, &e)),
        }
    }
    Ok(names)
}

/// `GET /admin`: the apps waiting for review.
pub async fn overview(State(state): State<AppState>, PageAdmin(page): PageAdmin) -> Response {
    let (_, window) = paging(None, Some(100), 100, 100);
    let apps = match state
        .store
        .list_clients(Some(ClientStatus::Pending), window)
        .await
    {
        Ok(apps) => apps,
        Err(e) => return unavailable(page.t, &e),
    };
    let apps = match app_rows(&state, page.t, &apps).await {
        Ok(rows) => rows,
        Err(response) => return response,
    };
    render(
        StatusCode::OK,
        &OverviewPage {
            frame: AdminFrame::of(&page, "overview"),
            return_to: "/admin".into(),
            apps,
        },
    )
}

/// The query of the apps listing: the status it shows and the page number.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    status: String,
    p: Option<i64>,
}

/// `GET /admin/apps?status=&p=`.
pub async fn apps(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Query(query): Query<ListQuery>,
) -> Response {
    let status = ClientStatus::parse(&query.status);
    // `changes`: approved apps whose owner asked for a change that waits for review.
    let changes = query.status == CHANGES;
    let key = if changes {
        CHANGES
    } else {
        status.map_or("", ClientStatus::as_str)
    };
    let filter = filter_query("status", key);
    let store = &state.store;
    let listed = Pager::fetch("/admin/apps", &filter, query.p, 20, |window| async move {
        if changes {
            store.clients_with_pending_change(window).await
        } else {
            store.list_clients(status, window).await
        }
    });
    let (apps, pager) = match listed.await {
        Ok(listed) => listed,
        Err(e) => return unavailable(page.t, &e),
    };
    let rows = match app_rows(&state, page.t, &apps).await {
        Ok(rows) => rows,
        Err(response) => return response,
    };
    let c = console_texts(page.t);
    let statuses = [
        ClientStatus::Pending,
        ClientStatus::Approved,
        ClientStatus::Rejected,
        ClientStatus::Disabled,
    ]
    .into_iter()
    .map(|s| (s.as_str(), c.status(s), Some(s) == status))
    .chain([(CHANGES, c.pending_title, changes)])
    .collect();
    render(
        StatusCode::OK,
        &AppsPage {
            frame: AdminFrame::of(&page, "apps"),
            return_to: page.path.clone(),
            apps: rows,
            statuses,
            pager,
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReviewForm {
    decision: String,
    reason: String,
    return_to: String,
}

/// The apps filter that lists changes waiting for review.
const CHANGES: &str = "changes";

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ChangeForm {
    decision: String,
    return_to: String,
}

/// `POST /admin/apps/{id}/change`: approve or reject the change an app's owner asked for.
pub async fn review_change(
    Path(id): Path<String>,
    PagePost {
        state,
        page: PageAdmin(page),
        client,
        form,
    }: PagePost<ChangeForm, PageAdmin>,
) -> Response {
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                page.t,
                admin_texts(page.t).unknown_action,
            );
        }
    };
    let Ok(id) = id.parse::<i64>() else {
        return app_failure(page.t, &AppError::NotFound);
    };
    match state
        .apps
        .review_change(Some(&page.user), id, approve, &client.ip)
        .await
    {
        Ok(_) => redirect(back(&form.return_to, "/admin/apps")),
        Err(e) => app_failure(page.t, &e),
    }
}

/// `POST /admin/apps/{id}/review`: approve, reject or disable, with the reason the owner sees.
pub async fn review(
    Path(id): Path<String>,
    PagePost {
        state,
        page: PageAdmin(page),
        client,
        form,
    }: PagePost<ReviewForm, PageAdmin>,
) -> Response {
    let decision = match form.decision.as_str() {
        "approve" => Review::Approve,
        "reject" => Review::Reject,
        "disable" => Review::Disable,
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                page.t,
                admin_texts(page.t).unknown_action,
            );
        }
    };
    let Ok(id) = id.parse::<i64>() else {
        return app_failure(page.t, &AppError::NotFound);
    };
    match state
        .apps
        .review(
            Some(&page.user),
            id,
            decision,
            form.reason.trim(),
            &client.ip,
        )
        .await
    {
        Ok(_) => redirect(back(&form.return_to, "/admin/apps")),
        Err(e) => app_failure(page.t, &e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TrustForm {
    trusted: String,
    /// Trusting needs this box ticked (`1`): the consequence is stated next to it.
    confirm: String,
    return_to: String,
}

/// `POST /admin/apps/{id}/trusted`: `trusted=1` skips consent for the app's users. Refused,
/// changing nothing, unless the confirmation box is ticked.
pub async fn trust(
    Path(id): Path<String>,
    PagePost {
        state,
        page: PageAdmin(page),
        client,
        form,
    }: PagePost<TrustForm, PageAdmin>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return app_failure(page.t, &AppError::NotFound);
    };
    let trusted = form.trusted == "1";
    if trusted && form.confirm != "1" {
        return error_page(
            StatusCode::BAD_REQUEST,
            page.t,
            admin_texts(page.t).confirm_required,
        );
    }
    match state
        .apps
        .update(
            &page.user,
            id,
            keyward_core::oauth::apps::AdminEdit {
                trusted: Some(trusted),
                ..Default::default()
            },
            &client.ip,
        )
        .await
    {
        Ok(_) => redirect(back(&form.return_to, "/admin/apps")),
        Err(e) => app_failure(page.t, &e),
    }
}

/// Where an admin form returns to: an admin page, else `default`.
pub(crate) fn back<'a>(return_to: &'a str, default: &'a str) -> &'a str {
    safe_return_to(return_to)
        .filter(|p| *p == "/admin" || p.starts_with("/admin/") || p.starts_with("/admin?"))
        .unwrap_or(default)
}

/// This module's templates with sample data, for the test that renders every template.
#[cfg(test)]
pub(crate) fn samples(t: &'static crate::pages::Texts, user: &User) -> Gallery {
    let c = console_texts(t);
    let resources = [
        resources::sample_resource(true),
        Resource {
            identifier: "https://mcp.example.com/mcp".into(),
            ..resources::sample_resource(false)
        },
    ];
    let row = |status| {
        let app = App {
            trusted: status == ClientStatus::Approved,
            allowed_resources: (status == ClientStatus::Approved)
                .then(|| vec![resources[0].identifier.clone()]),
            ..super::console::sample_app(status)
        };
        AdminAppRow::new(t, &app, "dev".into(), &resources)
    };
    let overview = OverviewPage {
        frame: AdminFrame::sample(t, user, "/admin", "overview"),
        return_to: "/admin".into(),
        apps: vec![row(ClientStatus::Pending)],
    };
    let apps = AppsPage {
        frame: AdminFrame::sample(t, user, "/admin/apps", "apps"),
        return_to: "/admin/apps?status=approved".into(),
        apps: vec![
            row(ClientStatus::Pending),
            row(ClientStatus::Approved),
            row(ClientStatus::Rejected),
            row(ClientStatus::Disabled),
        ],
        statuses: vec![
            ("pending", c.pending, true),
            ("approved", c.approved, false),
        ],
        pager: Pager::new("/admin/apps", "status=pending", 2, true),
    };
    let mut out = vec![
        ("admin_overview.html", overview.render().unwrap_or_default()),
        ("admin_apps.html", apps.render().unwrap_or_default()),
    ];
    out.extend(users::samples(t, user));
    out.extend(user_detail::samples(t, user));
    out.extend(ways_in::samples(t, user));
    out.extend(ledger::samples(t, user));
    out.extend(settings::samples(t, user));
    out.extend(audit::samples(t, user));
    out.extend(client_documents::samples(t, user));
    out.extend(resources::samples(t, user));
    out
}
