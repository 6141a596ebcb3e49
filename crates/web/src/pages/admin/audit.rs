//! `/admin/audit`: the audit log, newest first, filtered by action.

use super::{AdminFrame, ListQuery, Pager, filter_query, unavailable, usernames};
use crate::pages::console::format_time;
use crate::pages::{PageAdmin, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::audit::action;
#[cfg(test)]
use {crate::pages::Gallery, keyward_core::model::User};

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
    pub frame: AdminFrame,
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
    action::APP_EDITED,
    action::APP_CHANGE_APPROVED,
    action::APP_CHANGE_REJECTED,
    action::APP_CHANGE_WITHDRAWN,
    action::CLIENT_REGISTERED,
    action::CLIENT_REGISTRATION_UPDATED,
    action::CLIENT_REGISTRATION_DELETED,
    action::SECRET_REVEALED,
    action::SECRET_ROTATED,
    action::CONSENT_GRANTED,
    action::CONSENT_REVOKED,
    action::CODE_REPLAY,
    action::REFRESH_REUSE,
    action::USER_UPDATED,
    action::SETTINGS_UPDATED,
    action::SIGNED_IN,
    action::PASSWORD_CHANGED,
    action::EMAIL_CHANGED,
    action::TWO_FACTOR_DISABLED,
    action::TWO_FACTOR_RESET,
    action::DATA_EXPORTED,
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
                None => e.actor_pseudonym.clone().unwrap_or_else(|| "—".into()),
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
            frame: AdminFrame::of(&page, "audit"),
            pager,
            action: filter_action,
            actions: ACTIONS,
            entries: rows,
        },
    )
}

#[cfg(test)]
pub(crate) fn samples(t: &'static crate::pages::Texts, user: &User) -> Gallery {
    let page = AuditPage {
        frame: AdminFrame::sample(t, user, "/admin/audit", "audit"),
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
