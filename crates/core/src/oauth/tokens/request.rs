//! A token request as the web layer hands it over: parsed once, typed by grant.

use super::ClientCredentials;
use crate::oauth::TokenError;

/// The `grant_type` of RFC 8628 §3.4.
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The grant a client asks for (RFC 6749 §4.1.3, §6, §4.4), with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
        /// RFC 8707 `resource` values, as sent.
        resources: Vec<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<String>,
        resources: Vec<String>,
    },
    ClientCredentials {
        scope: Option<String>,
        resources: Vec<String>,
    },
    /// RFC 8628 §3.4.
    DeviceCode {
        device_code: String,
        resources: Vec<String>,
    },
}

impl Grant {
    /// The grant named by `grant_type`, its parameters read with `param` (which yields only
    /// non-empty values), with the request's `resource` values (RFC 8707, the one parameter that
    /// may repeat). An unknown grant type is `unsupported_grant_type`; a missing required
    /// parameter is `invalid_request`.
    pub fn parse<'a>(
        param: impl Fn(&str) -> Option<&'a str>,
        resources: Vec<String>,
    ) -> Result<Self, TokenError> {
        let owned = |name: &str| param(name).map(str::to_owned);
        let required = |name: &str, missing: &'static str| {
            owned(name).ok_or(TokenError::InvalidRequest(missing))
        };
        match param("grant_type") {
            None => Err(TokenError::InvalidRequest("grant_type is required")),
            Some("authorization_code") => Ok(Self::AuthorizationCode {
                code: required("code", "code is required")?,
                redirect_uri: owned("redirect_uri"),
                code_verifier: owned("code_verifier"),
                resources,
            }),
            Some("refresh_token") => Ok(Self::RefreshToken {
                refresh_token: required("refresh_token", "refresh_token is required")?,
                scope: owned("scope"),
                resources,
            }),
            Some("client_credentials") => Ok(Self::ClientCredentials {
                scope: owned("scope"),
                resources,
            }),
            Some(DEVICE_CODE_GRANT) => Ok(Self::DeviceCode {
                device_code: required("device_code", "device_code is required")?,
                resources,
            }),
            Some(_) => Err(TokenError::UnsupportedGrantType),
        }
    }
}

/// A whole token request: who the client says it is, and what it asks for.
#[derive(Debug)]
pub struct TokenRequest {
    pub client: ClientCredentials,
    pub grant: Grant,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<Grant, TokenError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        Grant::parse(|k| map.get(k).copied(), Vec::new())
    }

    #[test]
    fn grants_are_typed_and_unknown_ones_refused() {
        assert_eq!(
            parse(&[("grant_type", "refresh_token"), ("refresh_token", "kwrt_x")]).ok(),
            Some(Grant::RefreshToken {
                refresh_token: "kwrt_x".into(),
                scope: None,
                resources: Vec::new(),
            })
        );
        assert!(matches!(
            parse(&[("grant_type", "password")]),
            Err(TokenError::UnsupportedGrantType)
        ));
        assert!(matches!(
            parse(&[("grant_type", "authorization_code")]),
            Err(TokenError::InvalidRequest("code is required"))
        ));
        assert!(matches!(parse(&[]), Err(TokenError::InvalidRequest(_))));
    }
}
