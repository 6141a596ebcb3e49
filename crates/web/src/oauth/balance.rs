//! `POST /api/oauth2/balance/charge` and `/refund` (issue #19): an app spends the user's
//! balance within the limit set at consent, or the billing service charges any user. Answers
//! and refusals are RFC 6750-style JSON; the rules are in `keyward_core::billing`.

use super::token::no_store;
use super::userinfo::bearer_error;
use crate::federation::email::mail_context;
use crate::openapi::OAuthErrorBody;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_core::billing::charges::{ChargeOrder, RefundOrder, SpendError};
use keyward_core::billing::spend::Receipt;
use keyward_core::model::AccessContext;
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

/// What `charge` takes (JSON).
#[derive(ToSchema)]
pub struct ChargeBody {
    /// Quota units, a positive integer (like `quota` and `used_quota`), at most 10^18.
    pub amount: i64,
    /// 1 to 128 visible ASCII characters, unique per app: a retry with the same key and body
    /// gets the first answer and moves nothing.
    pub idempotency_key: String,
    /// At most 256 characters; shown on the user's statement.
    pub description: Option<String>,
    /// Only for the billing service (client credentials): the user charged.
    pub user_id: Option<i64>,
}

/// What `refund` takes (JSON).
#[derive(ToSchema)]
pub struct RefundBody {
    /// The `charge_id` a charge answered.
    pub charge_id: i64,
    /// Quota units, at most what is still refundable of the charge.
    pub amount: i64,
    /// Each refund its own key.
    pub idempotency_key: String,
}

#[derive(Serialize, ToSchema)]
pub struct ChargeAnswer {
    pub charge_id: i64,
    pub amount: i64,
    pub quota: i64,
    pub used_quota: i64,
    /// `(quota − used_quota) / quota_per_unit`, two decimals.
    pub balance_formatted: String,
    /// What the user's limit still allows this period; `null` for the billing service.
    pub remaining_limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct RefundAnswer {
    pub refund_id: i64,
    pub charge_id: i64,
    pub amount: i64,
    pub quota: i64,
    pub used_quota: i64,
    pub balance_formatted: String,
}

/// `POST /api/oauth2/balance/charge`.
#[utoipa::path(post, path = "/api/oauth2/balance/charge", tag = "new-api",
    request_body(content = ChargeBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Charged, or the first answer again for a retry with the same key and body.", body = ChargeAnswer),
        (status = 400, description = "`invalid_request`: a bad amount (not a positive integer, too large), key, description or body.", body = OAuthErrorBody),
        (status = 401, description = "`invalid_token`: expired or revoked token, user or app disabled, consent revoked; with `WWW-Authenticate`.", body = OAuthErrorBody),
        (status = 402, description = "`insufficient_balance`.", body = OAuthErrorBody),
        (status = 403, description = "`insufficient_scope` (no `balance:spend`), or `spend_limit_exceeded` with `remaining_limit`.", body = OAuthErrorBody),
        (status = 409, description = "`idempotency_conflict`: the key was used with another body.", body = OAuthErrorBody),
        (status = 429, description = "Too many charges of this grant; `Retry-After`.", body = OAuthErrorBody)),
    security(("access_token" = [])))]
pub async fn charge(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let context = match context(&state, &headers).await {
        Ok(context) => context,
        Err(response) => return response,
    };
    let order = match charge_order(&body) {
        Ok(order) => order,
        Err(description) => {
            return refusal(StatusCode::BAD_REQUEST, "invalid_request", description);
        }
    };
    match state
        .spending
        .charge(&context, order, &mail_context(&state))
        .await
    {
        Ok((receipt, _)) => {
            answer(&state, &receipt, |receipt, balance_formatted| {
                json!(ChargeAnswer {
                    charge_id: receipt.charge_id,
                    amount: receipt.amount,
                    quota: receipt.quota,
                    used_quota: receipt.used_quota,
                    balance_formatted,
                    remaining_limit: receipt.remaining_limit,
                })
            })
            .await
        }
        Err(e) => spend_error(e),
    }
}

/// `POST /api/oauth2/balance/refund`.
#[utoipa::path(post, path = "/api/oauth2/balance/refund", tag = "new-api",
    request_body(content = RefundBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Refunded, or the first answer again for a retry with the same key and body.", body = RefundAnswer),
        (status = 400, description = "`invalid_request`: a bad amount, key or body.", body = OAuthErrorBody),
        (status = 401, description = "`invalid_token`, with `WWW-Authenticate`.", body = OAuthErrorBody),
        (status = 403, description = "`insufficient_scope`: no `balance:spend`.", body = OAuthErrorBody),
        (status = 404, description = "`unknown_charge`: no such charge of this app (and user).", body = OAuthErrorBody),
        (status = 409, description = "`idempotency_conflict`; `refund_exceeds_charge` (with `refundable`); `refund_window_closed`.", body = OAuthErrorBody),
        (status = 429, description = "Too many requests of this grant; `Retry-After`.", body = OAuthErrorBody)),
    security(("access_token" = [])))]
pub async fn refund(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let context = match context(&state, &headers).await {
        Ok(context) => context,
        Err(response) => return response,
    };
    let order = match refund_order(&body) {
        Ok(order) => order,
        Err(description) => {
            return refusal(StatusCode::BAD_REQUEST, "invalid_request", description);
        }
    };
    match state
        .spending
        .refund(&context, order, &mail_context(&state))
        .await
    {
        Ok((receipt, _)) => {
            answer(&state, &receipt, |receipt, balance_formatted| {
                json!(RefundAnswer {
                    refund_id: receipt.refund_id.unwrap_or_default(),
                    charge_id: receipt.charge_id,
                    amount: receipt.amount,
                    quota: receipt.quota,
                    used_quota: receipt.used_quota,
                    balance_formatted,
                })
            })
            .await
        }
        Err(e) => spend_error(e),
    }
}

/// A live access token: a user's, or a client-credentials one (the billing service's).
async fn context(state: &AppState, headers: &HeaderMap) -> Result<AccessContext, Response> {
    let invalid = || {
        bearer_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is invalid or expired",
        )
    };
    let Some(bearer) = super::bearer(headers) else {
        return Err(invalid());
    };
    match state.tokens.access(bearer).await {
        Ok(Some(context)) => Ok(context),
        Ok(None) => Err(invalid()),
        Err(e) => {
            tracing::error!(error = %e, "token check failed");
            Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

fn object(body: &[u8]) -> Result<Map<String, Value>, &'static str> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err("the body must be a JSON object"),
    }
}

/// An integer field: a JSON number without fraction or exponent that fits an i64 (`1.0` and
/// `1e3` are refused, so no amount is ever rounded).
fn integer(map: &Map<String, Value>, name: &str) -> Result<Option<i64>, ()> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(()),
        Some(_) => Err(()),
    }
}

fn text(map: &Map<String, Value>, name: &str) -> Result<Option<String>, ()> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(()),
    }
}

const BAD_AMOUNT: &str = "amount must be a positive integer of quota units, at most 10^18";
const BAD_KEY: &str = "idempotency_key is required: 1 to 128 visible ASCII characters";

fn charge_order(body: &[u8]) -> Result<ChargeOrder, &'static str> {
    let map = object(body)?;
    Ok(ChargeOrder {
        amount: integer(&map, "amount").ok().flatten().ok_or(BAD_AMOUNT)?,
        idempotency_key: text(&map, "idempotency_key")
            .ok()
            .flatten()
            .ok_or(BAD_KEY)?,
        description: text(&map, "description")
            .map_err(|()| "description must be a string")?
            .unwrap_or_default(),
        user_id: integer(&map, "user_id").map_err(|()| "user_id must be an integer")?,
    })
}

fn refund_order(body: &[u8]) -> Result<RefundOrder, &'static str> {
    let map = object(body)?;
    Ok(RefundOrder {
        charge_id: integer(&map, "charge_id")
            .ok()
            .flatten()
            .ok_or("charge_id must be the integer a charge answered")?,
        amount: integer(&map, "amount").ok().flatten().ok_or(BAD_AMOUNT)?,
        idempotency_key: text(&map, "idempotency_key")
            .ok()
            .flatten()
            .ok_or(BAD_KEY)?,
    })
}

async fn answer(
    state: &AppState,
    receipt: &Receipt,
    body: impl FnOnce(&Receipt, String) -> Value,
) -> Response {
    let per_unit = match state.settings.get().await {
        Ok(settings) => settings.quota_per_unit,
        Err(e) => {
            tracing::error!(error = %e, "settings unavailable");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let formatted =
        keyward_core::billing::balance_formatted(receipt.quota, receipt.used_quota, per_unit);
    no_store(Json(body(receipt, formatted)))
}

fn refusal(status: StatusCode, error: &str, description: &str) -> Response {
    no_store((
        status,
        Json(json!({"error": error, "error_description": description})),
    ))
}

fn with_field(
    status: StatusCode,
    error: &str,
    description: &str,
    field: &str,
    value: i64,
) -> Response {
    no_store((
        status,
        Json(json!({"error": error, "error_description": description, field: value})),
    ))
}

/// Each refusal's status and RFC 6750-style body, in one place.
fn spend_error(e: SpendError) -> Response {
    let description = e.to_string();
    match e {
        SpendError::BadRequest(_) | SpendError::UserId => {
            refusal(StatusCode::BAD_REQUEST, "invalid_request", &description)
        }
        SpendError::InvalidToken => bearer_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is invalid or expired",
        ),
        // Both are cured by asking the user for `balance:spend` (with a limit) again.
        SpendError::InsufficientScope | SpendError::NoLimit => {
            let mut response = refusal(StatusCode::FORBIDDEN, "insufficient_scope", &description);
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    r#"Bearer realm="keyward", error="insufficient_scope", scope="balance:spend""#,
                ),
            );
            response
        }
        SpendError::LimitExceeded { remaining } => with_field(
            StatusCode::FORBIDDEN,
            "spend_limit_exceeded",
            &description,
            "remaining_limit",
            remaining,
        ),
        SpendError::InsufficientBalance => refusal(
            StatusCode::PAYMENT_REQUIRED,
            "insufficient_balance",
            &description,
        ),
        SpendError::IdempotencyConflict => {
            refusal(StatusCode::CONFLICT, "idempotency_conflict", &description)
        }
        SpendError::UnknownCharge => refusal(StatusCode::NOT_FOUND, "unknown_charge", &description),
        SpendError::RefundWindowClosed => {
            refusal(StatusCode::CONFLICT, "refund_window_closed", &description)
        }
        SpendError::AboveRefundable { refundable } => with_field(
            StatusCode::CONFLICT,
            "refund_exceeds_charge",
            &description,
            "refundable",
            refundable,
        ),
        SpendError::Throttled { retry_after } => {
            let mut response = refusal(StatusCode::TOO_MANY_REQUESTS, "rate_limited", &description);
            if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        SpendError::Store(e) => {
            tracing::error!(error = %e, "charge or refund failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        SpendError::Settings(e) => {
            tracing::error!(error = %e, "settings unavailable");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
