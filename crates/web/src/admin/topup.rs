//! `POST /api/admin/topup_codes` (generate; the codes are in the answer, once) and
//! `GET /api/admin/topup_codes` (paged listing, never the codes).

use crate::envelope::{ApiError, ApiJson, Success};
use crate::extract::{AdminUser, Client};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use keyward_core::billing::topup::{Generate, TopUpCode};
use keyward_core::clock::UnixTime;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
pub struct GenerateBody {
    amount: i64,
    count: i64,
    #[serde(default)]
    name: Option<String>,
    /// Unix seconds; absent, null or 0 means no expiry.
    #[serde(default)]
    expires_at: Option<i64>,
}

pub async fn create(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Client(client): Client,
    ApiJson(body): ApiJson<GenerateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let codes = state
        .topups
        .generate(
            &admin.user,
            Generate {
                amount: body.amount,
                count: body.count,
                label: body.name.as_deref(),
                expires_at: body.expires_at.filter(|at| *at != 0),
            },
            &client.ip,
        )
        .await?;
    tracing::info!(
        admin.id = admin.user.id,
        count = codes.len(),
        "top-up codes generated"
    );
    let codes: Vec<String> = codes.into_iter().map(|c| c.into_exposed()).collect();
    Ok(Success {
        message: "兑换码已生成，请立即保存：它们不会再次显示",
        data: codes,
    })
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    p: Option<i64>,
    #[serde(default)]
    page_size: Option<i64>,
}

/// One code as listings show it.
pub fn code_json(code: &TopUpCode, now: UnixTime) -> Value {
    json!({
        "id": code.id,
        "name": code.label,
        "amount": code.amount,
        "status": code.status(now).as_str(),
        "redeemed_by": code.redeemed_by,
        "redeemed_by_name": code.redeemed_by_name,
        "created_time": code.created_at,
        "expires_time": code.expires_at,
        "redeemed_time": code.redeemed_at,
    })
}

pub async fn list(
    State(state): State<AppState>,
    _admin: AdminUser,
    Query(query): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (page, window) = super::paging(query.p, query.page_size, 20, 100);
    let now = state.topups.now();
    let items: Vec<Value> = state
        .topups
        .list(window)
        .await?
        .iter()
        .map(|c| code_json(c, now))
        .collect();
    Ok(Success::new(
        json!({"items": items, "page": page, "page_size": window.limit}),
    ))
}
