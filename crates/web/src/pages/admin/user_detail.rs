//! `GET /admin/users/{id}`: one user's facts, ways in, sessions, apps, consents and audit, with
//! the forms that change the account (posted to `users.rs` and `user_deletion.rs`).

use super::actions::{DetailLine, action_name, detail_lines};
use super::users::{UserRow, edit_failure, role_text, row};
use super::{AdminFrame, admin_texts};
use crate::pages::console::{console_texts, format_time};
use crate::pages::{PageAdmin, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::accounts::admin::UserEditError;
use keyward_core::accounts::overview::UserOverview;
use keyward_core::model::Role;
#[cfg(test)]
use {crate::pages::Gallery, keyward_core::model::User};

pub struct SessionRow {
    pub started: String,
    pub seen: String,
    pub expires: String,
    pub ip: String,
    pub browser: String,
    pub pending: bool,
}

pub struct AppLine {
    pub name: String,
    pub client_id: String,
    pub status: &'static str,
}

pub struct ConsentLine {
    pub app: String,
    pub client_id: String,
    pub scopes: String,
    pub granted: String,
    pub last_used: String,
}

pub struct AuditLine {
    pub time: String,
    pub action: String,
    pub code: String,
    pub details: Vec<DetailLine>,
    pub ip: String,
}

#[derive(Template)]
#[template(path = "admin_user.html")]
pub struct UserPage {
    pub frame: AdminFrame,
    pub user: UserRow,
    pub return_to: String,
    pub can_set_roles: bool,
    pub roles: Vec<(&'static str, &'static str)>,
    pub has_password: bool,
    pub two_factor: bool,
    pub identities: Vec<String>,
    pub passkeys: usize,
    pub sessions: Vec<SessionRow>,
    pub apps: Vec<AppLine>,
    pub consents: Vec<ConsentLine>,
    pub audit: Vec<AuditLine>,
}

crate::pages::framed!(AdminFrame => UserPage);

fn page_of(frame: AdminFrame, overview: UserOverview, can_set_roles: bool) -> UserPage {
    let t = frame.t;
    let a = admin_texts(t);
    let c = console_texts(t);
    let en = t.lang == "en";
    let id = overview.user.id;
    UserPage {
        user: row(a, &overview.user),
        return_to: format!("/admin/users/{id}"),
        can_set_roles,
        roles: [Role::User, Role::Admin, Role::Root]
            .into_iter()
            .map(|r| (r.name(), role_text(a, r)))
            .collect(),
        has_password: overview.ways_in.has_password,
        two_factor: overview.ways_in.two_factor,
        identities: overview
            .ways_in
            .identities
            .iter()
            .map(|i| {
                let provider =
                    crate::federation::provider_label(&i.provider).unwrap_or(&i.provider);
                format!("{provider} · {}", i.display)
            })
            .collect(),
        passkeys: overview.ways_in.passkeys.len(),
        sessions: overview
            .sessions
            .iter()
            .map(|s| SessionRow {
                started: format_time(s.created_at),
                seen: format_time(s.last_seen_at),
                expires: format_time(s.expires_at),
                ip: s.ip.clone(),
                browser: s.user_agent.chars().take(80).collect(),
                pending: s.mfa_pending,
            })
            .collect(),
        apps: overview
            .apps
            .iter()
            .map(|app| AppLine {
                name: app.name.clone(),
                client_id: app.client_id.clone(),
                status: c.status(app.status),
            })
            .collect(),
        consents: overview
            .consents
            .iter()
            .map(|(consent, app)| ConsentLine {
                app: app.name.clone(),
                client_id: app.client_id.clone(),
                scopes: consent.scopes.to_string(),
                granted: format_time(consent.created_at),
                last_used: consent
                    .last_used_at
                    .map_or_else(|| a.never.to_owned(), format_time),
            })
            .collect(),
        audit: overview
            .audit
            .iter()
            .map(|e| AuditLine {
                time: format_time(e.at),
                action: action_name(&e.action, en),
                code: e.action.clone(),
                details: detail_lines(&e.detail, en),
                ip: e.ip.clone(),
            })
            .collect(),
        frame,
    }
}

/// `GET /admin/users/{id}`: for an admin who may change the account (the rank rules).
pub async fn user_detail(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return edit_failure(page.t, &UserEditError::NotFound);
    };
    match state.accounts.user_overview(&page.user, id).await {
        Ok(overview) => render(
            StatusCode::OK,
            &page_of(
                AdminFrame::of(&page, "users"),
                overview,
                page.user.role == Role::Root,
            ),
        ),
        Err(e) => edit_failure(page.t, &e),
    }
}

#[cfg(test)]
pub(crate) fn samples(t: &'static crate::pages::Texts, user: &User) -> Gallery {
    use keyward_core::accounts::admin::{WayInIdentity, WaysIn};
    use keyward_core::model::{AuditEntry, Session};
    let overview = UserOverview {
        user: user.clone(),
        ways_in: WaysIn {
            has_password: true,
            identities: vec![WayInIdentity {
                provider: "github".into(),
                display: "octo<cat>".into(),
                linked_at: 0,
            }],
            two_factor: true,
            passkeys: Vec::new(),
        },
        sessions: vec![Session {
            id_hash: keyward_core::secret::SecretHash::of("x"),
            user_id: user.id,
            created_at: 0,
            last_seen_at: 60,
            expires_at: 3_600,
            ip: "127.0.0.1".into(),
            user_agent: "Firefox".into(),
            mfa_pending: true,
        }],
        apps: vec![crate::pages::console::sample_app(
            keyward_core::model::ClientStatus::Approved,
        )],
        consents: Vec::new(),
        audit: vec![AuditEntry {
            id: 1,
            at: 0,
            actor_id: None,
            actor_pseudonym: None,
            action: "user.sign_in_failed".into(),
            target: user.id.to_string(),
            detail: r#"{"login":"<x>","reason":"wrong_password"}"#.into(),
            ip: "127.0.0.1".into(),
        }],
    };
    let page = page_of(
        AdminFrame::sample(t, user, "/admin/users/1", "users"),
        overview,
        true,
    );
    vec![("admin_user.html", page.render().unwrap_or_default())]
}
