//! The 2libra family: `POST /api/oauth/token` and `GET /api/oauth/me` in the `{c, m, d}`
//! envelope, with the seed document's messages.

use super::client_request::ClientRequest;
use super::token::{TokenResponse, no_store};
use crate::openapi::{Libra, LibraError};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_core::oauth::TokenError;
use keyward_core::oauth::scope::Scope;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

const OK: &str = "请求成功";
const BUSY: &str = "请求过于频繁，请稍后再试";

/// An answer in the 2libra envelope.
pub struct Envelope {
    status: StatusCode,
    code: i64,
    message: &'static str,
    data: Value,
    retry_after: Option<i64>,
}

impl Envelope {
    fn ok(data: Value) -> Self {
        Self {
            status: StatusCode::OK,
            code: 0,
            message: OK,
            data,
            retry_after: None,
        }
    }

    fn error(status: StatusCode, message: &'static str) -> Self {
        Self {
            status,
            code: i64::from(status.as_u16()),
            message,
            data: Value::Null,
            retry_after: None,
        }
    }
}

impl IntoResponse for Envelope {
    fn into_response(self) -> Response {
        let unauthorized = self.status == StatusCode::UNAUTHORIZED;
        let mut response = no_store((
            self.status,
            Json(json!({"c": self.code, "m": self.message, "d": self.data})),
        ));
        if let Some(seconds) = self.retry_after {
            super::token::set_retry_after(&mut response, seconds);
        }
        if unauthorized {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="keyward""#),
            );
        }
        response
    }
}

/// The seed's messages for each way a token request fails.
fn token_error(error: &TokenError) -> Envelope {
    match error {
        TokenError::UnknownClient => Envelope::error(StatusCode::UNAUTHORIZED, "无效的客户端 ID"),
        TokenError::BadClientSecret => {
            Envelope::error(StatusCode::UNAUTHORIZED, "无效的客户端密钥")
        }
        TokenError::BadClientAssertion(_) => {
            Envelope::error(StatusCode::UNAUTHORIZED, "无效的客户端断言")
        }
        TokenError::UnregisteredRedirectUri => {
            Envelope::error(StatusCode::BAD_REQUEST, "无效的重定向 URI")
        }
        TokenError::InvalidGrant(_) => {
            Envelope::error(StatusCode::BAD_REQUEST, "无效或已过期的授权码")
        }
        TokenError::RateLimited { .. } => Envelope::error(StatusCode::TOO_MANY_REQUESTS, BUSY),
        TokenError::Store(_) | TokenError::Settings(_) | TokenError::Signing(_) => {
            tracing::error!(error = %error, "token endpoint failed");
            Envelope::error(StatusCode::INTERNAL_SERVER_ERROR, "服务器内部错误")
        }
        TokenError::InvalidRequest(_) => Envelope::error(StatusCode::BAD_REQUEST, "请求参数错误"),
        TokenError::UnauthorizedClient(_) => {
            Envelope::error(StatusCode::BAD_REQUEST, "客户端无权使用该授权类型")
        }
        TokenError::UnsupportedGrantType => {
            Envelope::error(StatusCode::BAD_REQUEST, "不支持的授权类型")
        }
        TokenError::InvalidScope(_) => Envelope::error(StatusCode::BAD_REQUEST, "无效的权限范围"),
        TokenError::InvalidTarget(_) => Envelope::error(StatusCode::BAD_REQUEST, "无效的资源"),
        TokenError::AuthorizationPending => {
            Envelope::error(StatusCode::BAD_REQUEST, "等待用户授权")
        }
        TokenError::SlowDown { .. } => {
            Envelope::error(StatusCode::BAD_REQUEST, "轮询过于频繁，请放慢速度")
        }
        TokenError::AccessDenied => Envelope::error(StatusCode::BAD_REQUEST, "用户拒绝了授权"),
        TokenError::ExpiredToken => Envelope::error(StatusCode::BAD_REQUEST, "设备码已过期"),
    }
}

/// `POST /api/oauth/token`.
#[utoipa::path(post, path = "/api/oauth/token", tag = "2libra",
    request_body(content = super::form::TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens, in `d`.", body = Libra<super::token::TokenResponse>),
        (status = 400, description = "`无效或已过期的授权码`, `无效的重定向 URI`, `请求参数错误`...", body = LibraError),
        (status = 401, description = "`无效的客户端 ID`, `无效的客户端密钥`, `无效的客户端断言` (private_key_jwt).", body = LibraError),
        (status = 429, description = "`请求过于频繁，请稍后再试` (with `Retry-After`).", body = LibraError)),
    security((), ("client_basic" = [])))]
pub async fn token(State(state): State<AppState>, request: ClientRequest) -> Envelope {
    let result = async {
        let token_request = request.token_request("unreadable body")?;
        state.tokens.token(&token_request, &request.ip).await
    }
    .await;
    match result {
        Ok(issued) => Envelope::ok(json!(TokenResponse::new(issued))),
        Err(TokenError::RateLimited { retry_after }) => Envelope {
            retry_after: Some(retry_after),
            ..Envelope::error(StatusCode::TOO_MANY_REQUESTS, BUSY)
        },
        Err(e) => token_error(&e),
    }
}

/// The 2libra profile.
#[derive(Serialize, ToSchema)]
pub struct LibraProfile {
    /// The user's UUID.
    pub id: String,
    pub username: String,
    /// `u_<number>`.
    pub user_number: String,
    pub avatar_url: String,
    pub level: i64,
}

/// `GET /api/oauth/me`: the 2libra profile (`id` is the user's UUID).
#[utoipa::path(get, path = "/api/oauth/me", tag = "2libra",
    responses(
        (status = 200, description = "The user's profile, in `d`.", body = Libra<LibraProfile>),
        (status = 401, description = "`无效或已过期的访问令牌`.", body = LibraError),
        (status = 403, description = "The token lacks `profile`.", body = LibraError)),
    security(("access_token" = [])))]
pub async fn me(State(state): State<AppState>, headers: HeaderMap) -> Envelope {
    const BAD_TOKEN: &str = "无效或已过期的访问令牌";
    let Some(bearer) = super::bearer(&headers) else {
        return Envelope::error(StatusCode::UNAUTHORIZED, BAD_TOKEN);
    };
    let context = match state.tokens.access(bearer).await {
        Ok(Some(context)) => context,
        Ok(None) => return Envelope::error(StatusCode::UNAUTHORIZED, BAD_TOKEN),
        Err(e) => return token_error(&e),
    };
    let Some(user) = context
        .user
        .filter(|_| context.token.scopes.contains(Scope::Profile))
    else {
        return Envelope::error(StatusCode::FORBIDDEN, "权限不足");
    };
    Envelope::ok(json!(LibraProfile {
        id: user.uuid.to_string(),
        user_number: user.user_number(),
        username: user.username,
        avatar_url: user.avatar_url,
        level: user.level,
    }))
}
