//! Protocol errors. `ErrorCode` is RFC 6749's vocabulary; `TokenError` keeps the finer cause,
//! because the 2libra family answers each cause with its own message.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    /// RFC 8707 §2.
    InvalidTarget,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    ConsentRequired,
    InvalidToken,
    /// RFC 8628 §3.5: the user has not answered yet.
    AuthorizationPending,
    /// RFC 8628 §3.5: polling faster than the interval.
    SlowDown,
    /// RFC 8628 §3.5: the device code expired.
    ExpiredToken,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InvalidToken => "invalid_token",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
        }
    }
}

/// Why a token request failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    InvalidRequest(&'static str),
    #[error("unknown, unapproved or disabled client")]
    UnknownClient,
    #[error("client authentication failed")]
    BadClientSecret,
    /// A `private_key_jwt` assertion that was refused (RFC 7523 §3), or sent by an app that
    /// does not use it.
    #[error("{0}")]
    BadClientAssertion(super::client_auth::AssertionError),
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error("redirect_uri is not registered for this client")]
    UnregisteredRedirectUri,
    #[error("{0}")]
    UnauthorizedClient(&'static str),
    #[error("unsupported grant_type")]
    UnsupportedGrantType,
    #[error("{0}")]
    InvalidScope(&'static str),
    /// RFC 8707 §2: a `resource` that is malformed, unknown, disabled or not allowed.
    #[error("{0}")]
    InvalidTarget(&'static str),
    /// RFC 8628 §3.5: the user has not approved or denied the device authorization yet.
    #[error("the user has not answered yet")]
    AuthorizationPending,
    /// RFC 8628 §3.5: polled sooner than the interval; the interval grew by 5 seconds.
    #[error("polling too fast: wait {interval} seconds between requests")]
    SlowDown { interval: i64 },
    /// RFC 8628 §3.5: the user denied the device authorization.
    #[error("the user denied the request")]
    AccessDenied,
    /// RFC 8628 §3.5: the device code expired before it was used.
    #[error("the device_code has expired")]
    ExpiredToken,
    /// Too many failed token requests from this client or address (HTTP 429).
    #[error("too many failed requests, retry after {retry_after} seconds")]
    RateLimited { retry_after: i64 },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    #[error(transparent)]
    Signing(#[from] crate::oidc::KeyError),
}

impl From<crate::limits::LimitError> for TokenError {
    fn from(e: crate::limits::LimitError) -> Self {
        match e {
            crate::limits::LimitError::Exceeded { retry_after } => {
                Self::RateLimited { retry_after }
            }
            crate::limits::LimitError::Store(e) => Self::Store(e),
        }
    }
}

impl TokenError {
    /// Whether this failure counts against the client's and the address's failure budget: a
    /// wrong credential, code or refresh token, which is what guessing looks like. A device's
    /// polls (`authorization_pending`, `slow_down`, `access_denied`, `expired_token`) are the
    /// grant working as designed (RFC 8628 §3.5), never counted.
    pub fn counts_as_failure(&self) -> bool {
        matches!(
            self,
            Self::UnknownClient
                | Self::BadClientSecret
                | Self::BadClientAssertion(_)
                | Self::InvalidGrant(_)
                | Self::UnregisteredRedirectUri
        )
    }

    /// Whether the client failed to prove who it is.
    pub fn is_client_authentication(&self) -> bool {
        matches!(
            self,
            Self::UnknownClient | Self::BadClientSecret | Self::BadClientAssertion(_)
        )
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidRequest(_) => ErrorCode::InvalidRequest,
            Self::UnknownClient | Self::BadClientSecret | Self::BadClientAssertion(_) => {
                ErrorCode::InvalidClient
            }
            Self::InvalidGrant(_) | Self::UnregisteredRedirectUri => ErrorCode::InvalidGrant,
            Self::UnauthorizedClient(_) => ErrorCode::UnauthorizedClient,
            Self::UnsupportedGrantType => ErrorCode::UnsupportedGrantType,
            Self::InvalidScope(_) => ErrorCode::InvalidScope,
            Self::InvalidTarget(_) => ErrorCode::InvalidTarget,
            Self::RateLimited { .. } => ErrorCode::TemporarilyUnavailable,
            Self::AuthorizationPending => ErrorCode::AuthorizationPending,
            Self::SlowDown { .. } => ErrorCode::SlowDown,
            Self::AccessDenied => ErrorCode::AccessDenied,
            Self::ExpiredToken => ErrorCode::ExpiredToken,
            Self::Store(_) | Self::Settings(_) | Self::Signing(_) => ErrorCode::ServerError,
        }
    }
}
