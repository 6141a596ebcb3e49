//! `/admin/audit`: the audit log, newest first, filtered by action.

use super::{
    AdminTexts, ListQuery, Pager, Section, admin_texts, filter_query, unavailable, usernames,
};
use crate::pages::console::format_time;
use crate::pages::{Chrome, PageAdmin, Texts, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::audit::action;

pub struct AuditRow {
    pub time: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: String,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
pub struct AuditPage {
    pub t: &'static Texts,
    pub chrome: Chrome,
    pub a: &'static AdminTexts,
    pub section: Section,
    pub action: String,
    pub actions: &'static [&'static str],
    pub entries: Vec<AuditRow>,
    pub pager: Pager,
}

/// Offered in the filter's suggestions; any other action name can be typed.
const ACTIONS: &[&str] = &[
    action::APP_CREATED,
    action::APP_APPROVED,
    action::APP_REJECTED,
    action::APP_DISABLED,
    action::APP_UPDATED,
    action::APP_DELETED,
    action::SECRET_REVEALED,
    action::SECRET_ROTATED,
    action::CONSENT_GRANTED,
    action::CONSENT_REVOKED,
    action::CODE_REPLAY,
    action::REFRESH_REUSE,
    action::USER_UPDATED,
    action::SETTINGS_UPDATED,
];

/// `GET /admin/audit?action=&p=`.
pub async fn audit(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Query(query): Query<ListQuery>,
) -> Response {
    let filter_action: String = query.action.trim().chars().take(64).collect();
    let filter = filter_query("action", &filter_action);
    let action = (!filter_action.is_empty()).then_some(filter_action.as_str());
    let listed = Pager::fetch("/admin/audit", &filter, query.p, 50, |window| {
        state.store.list_audit(action, window)
    });
    let (entries, pager) = match listed.await {
        Ok(listed) => listed,
        Err(e) => return unavailable(page.t, &e),
    };
    let ids: Vec<i64> = entries.iter().filter_map(|e| e.actor_id).collect();
    let names = match usernames(&state, page.t, &ids).await {
        Ok(names) => names,
        Err(response) => return response,
    };
    let rows = entries
        .iter()
        .map(|e| AuditRow {
            time: format_time(e.at),
            actor: match e.actor_id {
                Some(id) => names.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
                None => "—".into(),
            },
            action: e.action.clone(),
            target: e.target.clone(),
            detail: if e.detail == "{}" {
                String::new()
            } else {
                e.detail.clone()
            },
            ip: e.ip.clone(),
        })
        .collect();
    render(
        StatusCode::OK,
        &AuditPage {
            t: page.t,
            chrome: page.chrome(),
            a: admin_texts(page.t),
            section: Section("audit"),
            pager,
            action: filter_action,
            actions: ACTIONS,
            entries: rows,
        },
    )
}

#[cfg(test)]
pub(crate) fn samples(
    t: &'static Texts,
    user: &keyward_core::model::User,
) -> Vec<(&'static str, String)> {
    let page = AuditPage {
        t,
        chrome: Chrome::new(t, "/admin/audit", Some(user)),
        a: admin_texts(t),
        section: Section("audit"),
        action: "app.approved".into(),
        actions: ACTIONS,
        entries: vec![AuditRow {
            time: format_time(0),
            actor: "root".into(),
            action: "app.approved".into(),
            target: "client_x".into(),
            detail: r#"{"reason":"<ok>"}"#.into(),
            ip: "127.0.0.1".into(),
        }],
        pager: Pager::new("/admin/audit", "action=app.approved", 1, true),
    };
    vec![("admin_audit.html", page.render().unwrap_or_default())]
}
