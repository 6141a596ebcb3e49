//! `POST /api/admin/topup_codes` (generate; the codes are in the answer, once) and
//! `GET /api/admin/topup_codes` (paged listing, never the codes).

use super::{Listing, PageQuery};
use crate::envelope::{ApiError, ApiJson, ApiQuery, Success};
use crate::extract::{AdminUser, Client};
use crate::openapi::Answer;
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::billing::topup::{Generate, TopUpCode};
use keyward_core::clock::UnixTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct GenerateBody {
    /// Quota units each code adds (> 0).
    amount: i64,
    /// How many codes (1 to 100).
    count: i64,
    #[serde(default)]
    name: Option<String>,
    /// Unix seconds; absent, null or 0 means no expiry.
    #[serde(default)]
    expires_at: Option<i64>,
}

/// `POST /api/admin/topup_codes`: the new codes, shown this once (stored only as hashes).
#[utoipa::path(post, path = "/api/admin/topup_codes", tag = "admin",
    request_body = GenerateBody,
    responses((status = 200, description = "The codes, shown once; or a refusal.", body = Answer<Vec<String>>)),
    security(("session" = []), ("developer_token" = [])))]
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
    Ok(Success::with_message(
        "兑换码已生成，请立即保存：它们不会再次显示",
        codes,
    ))
}

/// One code as listings show it: never the code itself.
#[derive(Serialize, ToSchema)]
pub struct TopUpCodeView {
    pub id: i64,
    pub name: String,
    pub amount: i64,
    /// `unused`, `redeemed` or `expired`.
    pub status: &'static str,
    pub redeemed_by: Option<i64>,
    pub redeemed_by_name: Option<String>,
    pub created_time: i64,
    pub expires_time: Option<i64>,
    pub redeemed_time: Option<i64>,
}

impl TopUpCodeView {
    pub fn new(code: &TopUpCode, now: UnixTime) -> Self {
        Self {
            id: code.id,
            name: code.label.clone(),
            amount: code.amount,
            status: code.status(now).as_str(),
            redeemed_by: code.redeemed_by,
            redeemed_by_name: code.redeemed_by_name.clone(),
            created_time: code.created_at,
            expires_time: code.expires_at,
            redeemed_time: code.redeemed_at,
        }
    }
}

/// `GET /api/admin/topup_codes?p=&page_size=`: newest first.
#[utoipa::path(get, path = "/api/admin/topup_codes", tag = "admin",
    params(PageQuery),
    responses((status = 200, description = "Top-up codes (never the codes themselves).", body = Answer<crate::admin::Listing<TopUpCodeView>>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(paging): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (page, window) = paging.window(20, 100);
    let now = state.topups.now();
    let items: Vec<TopUpCodeView> = state
        .topups
        .list(window)
        .await?
        .iter()
        .map(|c| TopUpCodeView::new(c, now))
        .collect();
    Ok(Listing::answer(items, page, window))
}
