//! `/admin/audit`: the audit log, newest first, in words, filtered by action, actor and dates.

use super::actions::{ACTION_WORDS, DetailLine, action_name, detail_lines};
use super::{AdminFrame, Pager, unavailable, usernames};
use crate::pages::console::{QUERY, format_time};
use crate::pages::{PageAdmin, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::accounts::validate::login_key;
use keyward_core::clock::UnixTime;
use keyward_core::store::AuditFilter;
use serde::Deserialize;
#[cfg(test)]
use {crate::pages::Gallery, keyward_core::model::User};

pub struct AuditRow {
    pub time: String,
    pub actor: String,
    pub action: String,
    pub code: String,
    pub target: String,
    pub details: Vec<DetailLine>,
    pub ip: String,
}

/// One choice of the action filter: its code, its words, and whether it is the one chosen.
pub struct ActionChoice {
    pub code: &'static str,
    pub name: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
pub struct AuditPage {
    pub frame: AdminFrame,
    pub query: AuditQuery,
    pub actions: Vec<ActionChoice>,
    pub actor_error: Option<&'static str>,
    pub date_error: Option<&'static str>,
    pub entries: Vec<AuditRow>,
    pub pager: Pager,
}

/// `?action=&actor=&from=&to=&p=`: the dates are `YYYY-MM-DD`, UTC, both included.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AuditQuery {
    pub action: String,
    pub actor: String,
    pub from: String,
    pub to: String,
    p: Option<i64>,
}

impl AuditQuery {
    /// The filter as a query string, for the pager's links.
    fn encoded(&self) -> String {
        [
            ("action", &self.action),
            ("actor", &self.actor),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", percent_encoding::utf8_percent_encode(v, QUERY)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// The start of a `YYYY-MM-DD` day (UTC) as a Unix time.
pub fn day_start(text: &str) -> Option<UnixTime> {
    let mut parts = text.trim().splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    let month = time::Month::try_from(month).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// `GET /admin/audit?action=&actor=&from=&to=&p=`.
pub async fn audit(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Query(mut query): Query<AuditQuery>,
) -> Response {
    let a = super::admin_texts(page.t);
    let en = page.t.lang == "en";
    query.action = query.action.trim().chars().take(64).collect();
    query.actor = query.actor.trim().chars().take(100).collect();
    let mut date_error = None;
    let mut day = |text: &str, offset: i64| {
        if text.trim().is_empty() {
            return None;
        }
        let start = day_start(text);
        if start.is_none() {
            date_error = Some(a.audit_bad_date);
        }
        start.map(|s| s + offset)
    };
    let since = day(&query.from, 0);
    let until = day(&query.to, 86_400);
    let actor = if query.actor.is_empty() {
        Ok(None)
    } else {
        match actor_id(&state, &query.actor).await {
            Ok(Some(id)) => Ok(Some(id)),
            Ok(None) => Err(a.audit_no_actor),
            Err(e) => return unavailable(page.t, &e),
        }
    };
    let filter = query.encoded();
    let (entries, pager) = match (&actor, date_error) {
        (Ok(actor), None) => {
            let audit_filter = AuditFilter {
                action: (!query.action.is_empty()).then_some(query.action.as_str()),
                actor: *actor,
                since,
                until,
            };
            let listed = Pager::fetch("/admin/audit", &filter, query.p, 50, |window| {
                state.store.list_audit(&audit_filter, window)
            });
            match listed.await {
                Ok(listed) => listed,
                Err(e) => return unavailable(page.t, &e),
            }
        }
        _ => (Vec::new(), Pager::new("/admin/audit", &filter, 1, false)),
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
                None => e
                    .actor_pseudonym
                    .clone()
                    .unwrap_or_else(|| a.audit_system.to_owned()),
            },
            action: action_name(&e.action, en),
            code: e.action.clone(),
            target: e.target.clone(),
            details: detail_lines(&e.detail, en),
            ip: e.ip.clone(),
        })
        .collect();
    render(
        StatusCode::OK,
        &AuditPage {
            frame: AdminFrame::of(&page, "audit"),
            actions: action_choices(&query.action, en),
            actor_error: actor.err(),
            date_error,
            query,
            entries: rows,
            pager,
        },
    )
}

fn action_choices(chosen: &str, en: bool) -> Vec<ActionChoice> {
    ACTION_WORDS
        .iter()
        .map(|(code, zh, e)| ActionChoice {
            code,
            name: if en { e } else { zh },
            selected: *code == chosen,
        })
        .collect()
}

/// The account an actor filter names: `#12` or `12` by id, else by user name (or address).
async fn actor_id(
    state: &AppState,
    actor: &str,
) -> Result<Option<i64>, keyward_core::store::StoreError> {
    if let Ok(id) = actor.trim_start_matches('#').parse::<i64>() {
        return Ok(Some(id));
    }
    Ok(state
        .store
        .user_by_login(&login_key(actor))
        .await?
        .map(|u| u.id))
}

#[cfg(test)]
pub(crate) fn samples(t: &'static crate::pages::Texts, user: &User) -> Gallery {
    let en = t.lang == "en";
    let page = AuditPage {
        frame: AdminFrame::sample(t, user, "/admin/audit", "audit"),
        query: AuditQuery {
            action: "app.approved".into(),
            actor: "root".into(),
            from: "2026-01-01".into(),
            to: "x".into(),
            p: None,
        },
        actions: action_choices("app.approved", en),
        actor_error: Some(super::admin_texts(t).audit_no_actor),
        date_error: Some(super::admin_texts(t).audit_bad_date),
        entries: vec![AuditRow {
            time: format_time(0),
            actor: "root".into(),
            action: action_name("app.approved", en),
            code: "app.approved".into(),
            target: "client_x".into(),
            details: detail_lines(r#"{"reason":"<ok>"}"#, en),
            ip: "127.0.0.1".into(),
        }],
        pager: Pager::new("/admin/audit", "action=app.approved", 1, true),
    };
    vec![("admin_audit.html", page.render().unwrap_or_default())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_start_at_utc_midnight() {
        assert_eq!(day_start("1970-01-02"), Some(86_400));
        assert_eq!(day_start("2026-02-30"), None);
        assert_eq!(day_start("yesterday"), None);
    }
}
