//! `/admin/topup`: generating top-up codes (shown once) and the list of codes (never the codes
//! themselves). The same domain calls as `/api/admin/topup_codes`.

use super::account::{AccountTexts, account_texts, unavailable, when};
use super::admin::{AdminFrame, Pager};
use crate::pages::{PageAdmin, PagePost, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use keyward_core::billing::topup::{Generate, TopUpError, TopUpStatus};
use serde::Deserialize;

const PAGE_SIZE: i64 = 50;

struct Row {
    label: String,
    amount: i64,
    status: &'static str,
    redeemed_by: String,
    created: String,
    expires: String,
    redeemed: String,
}

#[derive(Template)]
#[template(path = "admin_topup.html")]
struct AdminTopUpPage {
    /// The admin navigation's words and section (`a`), the chrome and the form token.
    frame: AdminFrame,
    /// This page's own words.
    at: &'static AccountTexts,
    rows: Vec<Row>,
    generated: Vec<String>,
    error: Option<String>,
    page: i64,
    pager: Pager,
}

crate::pages::framed!(AdminFrame => AdminTopUpPage);

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    p: Option<i64>,
}

async fn show(
    state: &AppState,
    admin: &PageAdmin,
    page_number: i64,
    generated: Vec<String>,
    error: Option<String>,
) -> Response {
    let page = &admin.0;
    let a = account_texts(page.t);
    let (page_number, window) =
        crate::admin::paging(Some(page_number), Some(PAGE_SIZE), PAGE_SIZE, PAGE_SIZE);
    let codes = match state.topups.list(window).await {
        Ok(codes) => codes,
        Err(e) => return unavailable(page.t, &e),
    };
    let now = state.topups.now();
    let full = i64::try_from(codes.len()).unwrap_or(0) == PAGE_SIZE;
    let rows = codes
        .iter()
        .map(|c| Row {
            label: c.label.clone(),
            amount: c.amount,
            status: match c.status(now) {
                TopUpStatus::Unused => a.status_unused,
                TopUpStatus::Used => a.status_used,
                TopUpStatus::Expired => a.status_expired,
            },
            redeemed_by: c.redeemed_by_name.clone().unwrap_or_default(),
            created: when(c.created_at),
            expires: c.expires_at.map(when).unwrap_or_default(),
            redeemed: c.redeemed_at.map(when).unwrap_or_default(),
        })
        .collect();
    render(
        crate::pages::form_status(&error),
        &AdminTopUpPage {
            frame: AdminFrame::of(page, "topup"),
            at: a,
            rows,
            generated,
            error,
            page: page_number,
            pager: Pager::new("/admin/topup", "", page_number, full),
        },
    )
}

pub async fn get(
    State(state): State<AppState>,
    admin: PageAdmin,
    Query(query): Query<ListQuery>,
) -> Response {
    show(&state, &admin, query.p.unwrap_or(1), Vec::new(), None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct GenerateForm {
    amount: String,
    count: String,
    label: String,
    /// `YYYY-MM-DDTHH:MM` from a `datetime-local` input, taken as UTC; empty for none.
    expires: String,
}

/// Parses `YYYY-MM-DDTHH:MM[:SS]` (or with a space) as UTC.
fn parse_expiry(text: &str) -> Result<Option<i64>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let (date, clock) = text.split_once(['T', ' ']).ok_or(())?;
    let mut d = date.split('-').map(str::parse::<i32>);
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(day)), None) = (d.next(), d.next(), d.next(), d.next())
    else {
        return Err(());
    };
    let mut c = clock.split(':').map(str::parse::<u8>);
    let (Some(Ok(h)), Some(Ok(min))) = (c.next(), c.next()) else {
        return Err(());
    };
    let month = time::Month::try_from(u8::try_from(m).map_err(|_| ())?).map_err(|_| ())?;
    let date = time::Date::from_calendar_date(y, month, u8::try_from(day).map_err(|_| ())?)
        .map_err(|_| ())?;
    let time = time::Time::from_hms(h, min, 0).map_err(|_| ())?;
    Ok(Some(
        time::PrimitiveDateTime::new(date, time)
            .assume_utc()
            .unix_timestamp(),
    ))
}

/// `POST /admin/topup`: the new codes appear on the answering page, once.
pub async fn post(
    PagePost {
        state,
        page: admin,
        client,
        form,
    }: PagePost<GenerateForm, PageAdmin>,
) -> Response {
    let page = &admin.0;
    let a = account_texts(page.t);
    let Ok(expires_at) = parse_expiry(&form.expires) else {
        return show(&state, &admin, 1, Vec::new(), Some(a.bad_expiry.into())).await;
    };
    let order = Generate {
        amount: form.amount.trim().parse().unwrap_or(0),
        count: form.count.trim().parse().unwrap_or(0),
        label: Some(form.label.as_str()),
        expires_at,
    };
    match state.topups.generate(&page.user, order, &client.ip).await {
        Ok(codes) => {
            tracing::info!(
                admin.id = page.user.id,
                count = codes.len(),
                "top-up codes generated"
            );
            let codes = codes.into_iter().map(|c| c.into_exposed()).collect();
            show(&state, &admin, 1, codes, None).await
        }
        Err(TopUpError::Store(e)) => unavailable(page.t, &e),
        Err(e) => show(&state, &admin, 1, Vec::new(), Some(page.t.error(&e))).await,
    }
}

#[cfg(test)]
pub(crate) fn samples(
    t: &'static crate::pages::Texts,
    user: &keyward_core::model::User,
) -> crate::pages::Gallery {
    let a = account_texts(t);
    let page = |rows, generated| AdminTopUpPage {
        frame: AdminFrame::sample(t, user, "/admin/topup", "topup"),
        at: a,
        rows,
        generated,
        error: Some(a.bad_expiry.into()),
        page: 2,
        pager: Pager::new("/admin/topup", "", 2, true),
    };
    let rows = vec![
        Row {
            label: "launch <promo>".into(),
            amount: 500_000,
            status: a.status_used,
            redeemed_by: "bob".into(),
            created: when(1_767_225_600),
            expires: when(1_769_904_000),
            redeemed: when(1_767_229_200),
        },
        Row {
            label: String::new(),
            amount: 100,
            status: a.status_unused,
            redeemed_by: String::new(),
            created: when(1_767_225_600),
            expires: String::new(),
            redeemed: String::new(),
        },
    ];
    let generated = vec![
        "kwt_3f9a1c0e7b2d4e6f8a0b1c2d3e4f5a6b".into(),
        "kwt_0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e".into(),
    ];
    vec![
        (
            "admin_topup.html",
            page(rows, generated).render().unwrap_or_default(),
        ),
        (
            "admin_topup.html",
            page(Vec::new(), Vec::new()).render().unwrap_or_default(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::parse_expiry;

    #[test]
    fn expiry_is_read_as_utc() {
        assert_eq!(parse_expiry(""), Ok(None));
        assert_eq!(parse_expiry("1970-01-02T00:00"), Ok(Some(86_400)));
        assert_eq!(parse_expiry("2024-02-29 12:30"), Ok(Some(1_709_209_800)));
        assert!(parse_expiry("2023-02-29T00:00").is_err());
        assert!(parse_expiry("tomorrow").is_err());
    }
}
