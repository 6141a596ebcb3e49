//! The `{success, message, data}` envelope of the new-api families (login module, account API).
//! Its convention, which new-api's browser clients rely on: a *refused* request is HTTP 200 with
//! `success: false`; a *malformed* one is 400; a missing session 401; a state mismatch 403.

use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_core::accounts::AccountError;
use keyward_core::limits::LimitError;
use keyward_core::settings::SettingsError;
use keyward_core::store::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

/// A successful answer: `{"success": true, "message": <message>, "data": <data>}`.
pub struct Success<T> {
    pub message: &'static str,
    pub data: T,
}

impl<T: Serialize> Success<T> {
    pub fn new(data: T) -> Self {
        Self { message: "", data }
    }

    pub fn with_message(message: &'static str, data: T) -> Self {
        Self { message, data }
    }
}

impl Success<()> {
    /// An answer that carries only its message (`data` is null).
    pub fn done(message: &'static str) -> Self {
        Self { message, data: () }
    }
}

impl<T: Serialize> IntoResponse for Success<T> {
    fn into_response(self) -> Response {
        Json(json!({"success": true, "message": self.message, "data": self.data})).into_response()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A well-formed request the rules refuse: 200, `success: false`.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    BadRequest(&'static str),
    #[error("请求体过大")]
    TooLarge,
    #[error("请求体须为 JSON（Content-Type: application/json）")]
    UnsupportedMediaType,
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(&'static str),
    /// Over a rate limit; the number is the `Retry-After` in seconds.
    #[error("请求过于频繁，请稍后再试")]
    TooManyRequests(i64),
    /// Details go to the log; the client sees a generic message.
    #[error("服务器内部错误")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Refused(_) => StatusCode::OK,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(error = %detail, "internal error");
        }
        let body = match &self {
            Self::TooManyRequests(_) => {
                json!({"success": false, "message": self.to_string(), "data": null})
            }
            _ => json!({"success": false, "message": self.to_string()}),
        };
        let mut response = (self.status(), Json(body)).into_response();
        if let Self::Refused(_) = self {
            response.extensions_mut().insert(crate::access_log::Refused);
        }
        if let Self::TooManyRequests(seconds) = self
            && let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Throttled { retry_after } => Self::TooManyRequests(retry_after),
            AccountError::Store(e) => e.into(),
            AccountError::Hash(e) => Self::Internal(e.to_string()),
            other => Self::Refused(other.to_string()),
        }
    }
}

impl From<LimitError> for ApiError {
    fn from(e: LimitError) -> Self {
        match e {
            LimitError::Exceeded { retry_after } => Self::TooManyRequests(retry_after),
            LimitError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<SettingsError> for ApiError {
    fn from(e: SettingsError) -> Self {
        Self::Internal(e.to_string())
    }
}

/// Callers answer a document client's refusal themselves; what reaches here failed inside.
impl From<keyward_core::oauth::directory::LookupError> for ApiError {
    fn from(e: keyward_core::oauth::directory::LookupError) -> Self {
        Self::Internal(e.to_string())
    }
}

/// A JSON body for the new-api families. It must say `Content-Type: application/json` (415
/// otherwise): an HTML form or a `text/plain` fetch from another site can send that body with
/// the browser's cookies and no CORS preflight, `application/json` cannot. A body that is too
/// big, not UTF-8 or not the expected shape is refused in the envelope.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (declared, bytes) = read_body(req, state).await?;
        json_body(declared, &bytes).map(Self)
    }
}

/// An optional JSON body: none at all means `T::default()`; any body must be JSON as for
/// [`ApiJson`].
pub struct OptionalApiJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (declared, bytes) = read_body(req, state).await?;
        if bytes.is_empty() {
            return Ok(Self(T::default()));
        }
        json_body(declared, &bytes).map(Self)
    }
}

/// Whether the body was declared `application/json` (with or without parameters such as
/// `; charset=utf-8`), and the body.
async fn read_body<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<(bool, axum::body::Bytes), ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    let bytes = axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::BadRequest("无效的参数")
            }
        })?;
    Ok((declared, bytes))
}

fn json_body<T: DeserializeOwned>(declared: bool, bytes: &[u8]) -> Result<T, ApiError> {
    if !declared {
        return Err(ApiError::UnsupportedMediaType);
    }
    serde_json::from_slice(bytes).map_err(|_| ApiError::BadRequest("无效的参数"))
}

/// A path parameter for the new-api families: one that does not parse (e.g. `/api/oauth_apps/x`)
/// is a malformed request in the envelope, not axum's plain-text rejection.
pub struct ApiPath<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|_| ApiError::BadRequest("无效的参数"))
    }
}

/// A query string for the new-api families, refused in the envelope when it does not parse.
pub struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map(Self)
            .map_err(|_| ApiError::BadRequest("无效的参数"))
    }
}
