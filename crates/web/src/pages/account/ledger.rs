//! `/user/ledger`: my statement, newest first and paged: every movement of my balance with what
//! caused it, the app for charges and refunds, the amount with its sign and the balance after.
//! The admin's `/admin/users/{id}/ledger` renders the same table (`_ledger_table.html`).

use super::{AccountTexts, account_texts, settings, unavailable, when};
use crate::pages::{Chrome, PageUser, Texts, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::billing::in_currency;
use keyward_core::billing::ledger::{EntryKind, LedgerEntry};
use keyward_core::model::{ClientPk, UserId};
use keyward_core::settings::Settings;
use keyward_core::store::Page;
use std::collections::HashMap;

/// Entries per page.
pub const PAGE_SIZE: i64 = 20;

/// One line of the statement, in words and in the platform's currency.
pub struct EntryRow {
    pub time: String,
    pub what: &'static str,
    pub app: Option<String>,
    pub description: String,
    /// With its sign: `+$5.00`, `-$0.25`.
    pub amount: String,
    pub credit: bool,
    pub balance_after: String,
}

/// Links to the pages before and after this one.
pub struct Pager {
    pub prev: Option<String>,
    pub next: Option<String>,
}

/// A statement page: its rows and pager.
pub struct Statement {
    pub rows: Vec<EntryRow>,
    pub pager: Pager,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct PageNumber {
    p: Option<String>,
}

impl PageNumber {
    /// The page asked for (from 1); anything else is the first.
    pub fn number(&self) -> i64 {
        self.p
            .as_deref()
            .and_then(|p| p.parse::<i64>().ok())
            .filter(|p| (1..=1_000_000).contains(p))
            .unwrap_or(1)
    }
}

fn kind_words(a: &AccountTexts, kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Opening => a.kind_opening,
        EntryKind::Signup => a.kind_signup,
        EntryKind::TopUp => a.kind_topup,
        EntryKind::Admin => a.kind_admin,
        EntryKind::Charge => a.kind_charge,
        EntryKind::Refund => a.kind_refund,
    }
}

/// The rows of `entries`, with the apps' names from `apps` (by app).
pub fn rows(
    a: &AccountTexts,
    settings: &Settings,
    entries: &[LedgerEntry],
    apps: &HashMap<ClientPk, String>,
) -> Vec<EntryRow> {
    let money = |quota| in_currency(quota, settings.quota_per_unit, &settings.currency_symbol);
    entries
        .iter()
        .map(|e| {
            let change = e.quota_delta.saturating_sub(e.used_delta);
            let app = match e.kind {
                EntryKind::Charge | EntryKind::Refund => Some(
                    e.client
                        .and_then(|pk| apps.get(&pk).cloned())
                        .unwrap_or_else(|| a.deleted_app.to_owned()),
                ),
                _ => None,
            };
            EntryRow {
                time: when(e.created_at),
                what: kind_words(a, e.kind),
                app,
                description: e.description.clone(),
                amount: if change > 0 {
                    format!("+{}", money(change))
                } else {
                    money(change)
                },
                credit: change > 0,
                balance_after: money(e.quota_after.saturating_sub(e.used_after)),
            }
        })
        .collect()
}

/// The `number`th page of `user`'s statement; `base` is the page's path, for the pager.
pub async fn statement(
    state: &AppState,
    t: &'static Texts,
    user: UserId,
    number: i64,
    base: &str,
) -> Result<Statement, Box<Response>> {
    let settings = settings(state, t).await?;
    let window = Page {
        offset: (number - 1).saturating_mul(PAGE_SIZE),
        // One more than shown: whether a next page exists.
        limit: PAGE_SIZE + 1,
    };
    let mut entries = state
        .spending
        .statement(user, window)
        .await
        .map_err(|e| Box::new(unavailable(t, &e)))?;
    let more = entries.len() > usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX);
    entries.truncate(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX));
    let mut apps = HashMap::new();
    for pk in entries.iter().filter_map(|e| e.client) {
        if apps.contains_key(&pk) {
            continue;
        }
        let app = state
            .store
            .client_by_pk(pk)
            .await
            .map_err(|e| Box::new(unavailable(t, &e)))?;
        if let Some(app) = app {
            apps.insert(pk, app.name);
        }
    }
    Ok(Statement {
        rows: rows(account_texts(t), &settings, &entries, &apps),
        pager: Pager {
            prev: (number > 1).then(|| format!("{base}?p={}", number - 1)),
            next: more.then(|| format!("{base}?p={}", number + 1)),
        },
    })
}

#[derive(Template)]
#[template(path = "account/ledger.html")]
struct LedgerPage {
    t: &'static Texts,
    la: &'static AccountTexts,
    chrome: Chrome,
    statement: Statement,
}

/// `GET /user/ledger?p=`.
pub async fn get(
    State(state): State<AppState>,
    page: PageUser,
    Query(number): Query<PageNumber>,
) -> Response {
    let statement = match statement(
        &state,
        page.t,
        page.user.id,
        number.number(),
        "/user/ledger",
    )
    .await
    {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    render(
        StatusCode::OK,
        &LedgerPage {
            t: page.t,
            la: account_texts(page.t),
            chrome: page.chrome(),
            statement,
        },
    )
}

/// A statement with one entry of each kind, for the samples.
#[cfg(test)]
pub(crate) fn sample_statement(t: &Texts) -> Statement {
    let entry = |id, kind, (quota_delta, used_delta), client: Option<ClientPk>| LedgerEntry {
        id,
        user_id: 1,
        kind,
        quota_delta,
        used_delta,
        actor_user_id: None,
        client,
        client_id: client.map(|_| "client_1".into()),
        family_id: None,
        description: if client.is_some() {
            "GPT <4> call".into()
        } else {
            String::new()
        },
        idempotency_key: None,
        refund_of: None,
        quota_after: 100_000,
        used_after: 2_500,
        created_at: 1_767_225_600 + id,
    };
    let entries = vec![
        entry(6, EntryKind::Refund, (0, -500), Some(7)),
        entry(5, EntryKind::Charge, (0, 3_000), Some(7)),
        entry(4, EntryKind::Charge, (0, 10), Some(8)),
        entry(3, EntryKind::Admin, (-1_000, 0), None),
        entry(2, EntryKind::TopUp, (50_000, 0), None),
        entry(1, EntryKind::Signup, (51_000, 0), None),
        entry(0, EntryKind::Opening, (0, 0), None),
    ];
    let apps = HashMap::from([(7, "Chat <UI>".to_owned())]);
    Statement {
        rows: rows(account_texts(t), &Settings::default(), &entries, &apps),
        pager: Pager {
            prev: Some("/user/ledger?p=1".into()),
            next: Some("/user/ledger?p=3".into()),
        },
    }
}

#[cfg(test)]
pub(crate) fn samples(t: &'static Texts) -> crate::pages::Gallery {
    let page = |statement| LedgerPage {
        t,
        la: account_texts(t),
        chrome: super::sample_chrome(t, "/user/ledger"),
        statement,
    };
    let empty = Statement {
        rows: Vec::new(),
        pager: Pager {
            prev: None,
            next: None,
        },
    };
    vec![
        (
            "account/ledger.html",
            page(sample_statement(t)).render().unwrap_or_default(),
        ),
        (
            "account/ledger.html",
            page(empty).render().unwrap_or_default(),
        ),
    ]
}
