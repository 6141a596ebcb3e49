//! Token-endpoint request bodies and client authentication (RFC 6749 §2.3.1, §3.2).

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keyward_core::oauth::TokenError;
use keyward_core::oauth::client_auth::{self, AssertionError};
use keyward_core::oauth::tokens::{self, ClientAuth, ClientCredentials, Grant};
use keyward_core::secret::Secret;
use std::collections::HashMap;

/// The parameters the token endpoints read (RFC 6749 §4.1.3, §6, §4.4). Documentation only: the
/// body is parsed by [`Form`], which refuses repeated parameters.
#[derive(utoipa::ToSchema)]
pub struct TokenRequest {
    /// `authorization_code`, `refresh_token`, `client_credentials` or
    /// `urn:ietf:params:oauth:grant-type:device_code`.
    pub grant_type: String,
    pub code: Option<String>,
    /// For the device-code grant (RFC 8628 §3.4).
    pub device_code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    /// Space-separated.
    pub scope: Option<String>,
    /// RFC 8707: the API the access token is for (an absolute URI); may repeat.
    pub resource: Option<Vec<String>>,
    /// `client_secret_post`; with `client_secret_basic` or `private_key_jwt` it may be left out.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// `private_key_jwt` (RFC 7523 §2.2): `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    pub client_assertion_type: Option<String>,
    /// `private_key_jwt`: a JWT signed with a key of the app's registered `jwks`.
    pub client_assertion: Option<String>,
}

/// The parameters of revocation (RFC 7009 §2.1) and introspection (RFC 7662 §2.1).
#[derive(utoipa::ToSchema)]
pub struct TokenParam {
    pub token: String,
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// `private_key_jwt` (RFC 7523 §2.2), as at the token endpoint.
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
}

/// A form-encoded body. A parameter sent twice is refused (RFC 6749 §3.2), so that two parts
/// of a stack cannot read different values; only RFC 8707's `resource` may repeat.
#[derive(Debug, Default)]
pub struct Form {
    values: HashMap<String, String>,
    resources: Vec<String>,
}

impl Form {
    pub fn parse(body: &[u8]) -> Result<Self, TokenError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
            TokenError::InvalidRequest("the body must be application/x-www-form-urlencoded")
        })?;
        let mut form = Self::default();
        for (key, value) in pairs {
            if key == "resource" {
                if !value.is_empty() {
                    form.resources.push(value);
                }
            } else if form.values.insert(key, value).is_some() {
                return Err(TokenError::InvalidRequest("a parameter was repeated"));
            }
        }
        Ok(form)
    }

    /// The `resource` values (RFC 8707 §2), in order.
    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    /// A parameter; an empty value counts as absent.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// The client's credentials: its id and secret from HTTP Basic (`client_secret_basic`) or the
/// body (`client_secret_post`), or a signed JWT (`private_key_jwt`, RFC 7523 §2.2); using two
/// methods at once is refused.
pub fn client_credentials(
    headers: &HeaderMap,
    form: &Form,
) -> Result<ClientCredentials, TokenError> {
    if form.get("client_assertion").is_some() || form.get("client_assertion_type").is_some() {
        if headers.contains_key(AUTHORIZATION) || form.get("client_secret").is_some() {
            return Err(TokenError::InvalidRequest(
                "use one client authentication method",
            ));
        }
        return assertion_credentials(form);
    }
    if let Some(value) = headers.get(AUTHORIZATION) {
        let value = value.to_str().map_err(|_| TokenError::UnknownClient)?;
        let Some(encoded) = value
            .strip_prefix("Basic ")
            .or_else(|| value.strip_prefix("basic "))
        else {
            return Err(TokenError::InvalidRequest(
                "unsupported Authorization scheme",
            ));
        };
        if form.get("client_secret").is_some() {
            return Err(TokenError::InvalidRequest(
                "use one client authentication method",
            ));
        }
        let (id, secret) = decode_basic(encoded.trim()).ok_or(TokenError::UnknownClient)?;
        if form.get("client_id").is_some_and(|body_id| body_id != id) {
            return Err(TokenError::InvalidRequest(
                "client_id does not match the Authorization header",
            ));
        }
        let secret = (!secret.is_empty()).then(|| Secret::from_string(secret));
        return Ok(ClientCredentials {
            client_id: id,
            auth: ClientAuth::from_secret(secret),
        });
    }
    let client_id = form
        .get("client_id")
        .ok_or(TokenError::InvalidRequest("client_id is required"))?;
    let secret = form
        .get("client_secret")
        .map(|s| Secret::from_string(s.to_owned()));
    Ok(ClientCredentials {
        client_id: client_id.to_owned(),
        auth: ClientAuth::from_secret(secret),
    })
}

/// `client_assertion_type` and `client_assertion` (RFC 7521 §4.2): the client is the one the
/// assertion names as its `sub`; a `client_id` in the body must be that one.
fn assertion_credentials(form: &Form) -> Result<ClientCredentials, TokenError> {
    if form.get("client_assertion_type") != Some(client_auth::ASSERTION_TYPE) {
        return Err(TokenError::InvalidRequest(
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ));
    }
    let assertion = form
        .get("client_assertion")
        .ok_or(TokenError::InvalidRequest("client_assertion is required"))?;
    let client_id = client_auth::claimed_client_id(assertion)
        .ok_or(TokenError::BadClientAssertion(AssertionError::Malformed))?;
    if form.get("client_id").is_some_and(|id| id != client_id) {
        return Err(TokenError::InvalidRequest(
            "client_id does not match the client assertion",
        ));
    }
    Ok(ClientCredentials {
        client_id,
        auth: ClientAuth::Assertion(assertion.to_owned()),
    })
}

/// A token request, parsed once: the client's credentials and the typed grant.
pub fn token_request(headers: &HeaderMap, form: &Form) -> Result<tokens::TokenRequest, TokenError> {
    let client = client_credentials(headers, form)?;
    let grant = Grant::parse(|name| form.get(name), form.resources().to_vec())?;
    Ok(tokens::TokenRequest { client, grant })
}

/// `base64(urlencode(id) ":" urlencode(secret))`.
fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let bytes = STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, value.parse().expect("header"));
        h
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(Form::parse(b"a=1&b=2").is_ok());
        assert!(matches!(
            Form::parse(b"a=1&a=2"),
            Err(TokenError::InvalidRequest(_))
        ));
    }

    #[test]
    fn basic_credentials_are_url_decoded() {
        let form = Form::default();
        let encoded = STANDARD.encode("client_a%3Ab:s%2Bcr%20t");
        let creds =
            client_credentials(&headers(&format!("Basic {encoded}")), &form).expect("creds");
        assert_eq!(creds.client_id, "client_a:b");
        assert_eq!(creds.secret().map(Secret::expose), Some("s+cr t"));
    }

    #[test]
    fn two_authentication_methods_are_refused() {
        let form = Form::parse(b"client_secret=x").expect("form");
        let encoded = STANDARD.encode("a:b");
        assert!(matches!(
            client_credentials(&headers(&format!("Basic {encoded}")), &form),
            Err(TokenError::InvalidRequest(_))
        ));
        assert!(matches!(
            client_credentials(&headers("Basic !!!"), &Form::default()),
            Err(TokenError::UnknownClient)
        ));
    }

    /// `{"alg":"EdDSA"}.{"sub":"client_a"}.sig`: only the `sub` matters to parsing.
    const ASSERTION: &str = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJjbGllbnRfYSJ9.c2ln";

    fn assertion_form(extra: &str) -> Form {
        let body = format!(
            "client_assertion_type={}&client_assertion={ASSERTION}{extra}",
            client_auth::ASSERTION_TYPE
        );
        Form::parse(body.as_bytes()).expect("form")
    }

    #[test]
    fn rfc7523_2_2_an_assertion_names_the_client_and_excludes_other_methods() {
        let creds = client_credentials(&HeaderMap::new(), &assertion_form("")).expect("creds");
        assert_eq!(creds.client_id, "client_a");
        assert!(matches!(creds.auth, ClientAuth::Assertion(ref a) if a == ASSERTION));
        client_credentials(&HeaderMap::new(), &assertion_form("&client_id=client_a"))
            .expect("matching client_id");
        let basic = headers(&format!("Basic {}", STANDARD.encode("client_a:s")));
        for (headers, extra) in [
            (HeaderMap::new(), "&client_id=client_b"),
            (HeaderMap::new(), "&client_secret=s"),
            (basic, ""),
        ] {
            assert!(matches!(
                client_credentials(&headers, &assertion_form(extra)),
                Err(TokenError::InvalidRequest(_))
            ));
        }
        let wrong_type = Form::parse(b"client_assertion_type=x&client_assertion=a.b.c").expect("f");
        assert!(matches!(
            client_credentials(&HeaderMap::new(), &wrong_type),
            Err(TokenError::InvalidRequest(_))
        ));
    }
}

/// Properties over arbitrary input (SECURITY.md, "Fuzzing").
#[cfg(test)]
mod props {
    use super::*;
    use axum::http::HeaderValue;
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            vec(any::<char>(), 0..3000).prop_map(String::from_iter),
            "[a-z_:%+= &]{0,40}",
        ]
    }

    /// Credentials with the characters that need encoding: ':' '%' '+' ' ' and non-ASCII.
    fn credential() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            vec(
                prop::sample::select(vec![
                    'a', 'Z', '0', ':', '%', '+', ' ', '&', '=', 'é', '密', '🔑', '\u{0}'
                ]),
                0..40
            )
            .prop_map(String::from_iter),
        ]
    }

    /// `application/x-www-form-urlencoded`, as RFC 6749 §2.3.1 asks for both parts; spaces as
    /// `%20` or as `+`, both of which a client may send.
    fn form_encode(text: &str, plus_for_space: bool) -> String {
        let encoded = utf8_percent_encode(text, NON_ALPHANUMERIC).to_string();
        if plus_for_space {
            encoded.replace("%20", "+")
        } else {
            encoded
        }
    }

    fn basic(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(AUTHORIZATION, value);
        }
        headers
    }

    proptest! {
        #[test]
        fn any_body_parses_or_is_refused_and_never_yields_empty_values(
            body in prop_oneof![vec(any::<u8>(), 0..4000), text().prop_map(String::into_bytes)],
            key in text(),
        ) {
            if let Ok(form) = Form::parse(&body) {
                prop_assert!(form.get(&key).is_none_or(|v| !v.is_empty()));
            }
        }

        #[test]
        fn parsed_forms_give_back_what_was_encoded(
            pairs in proptest::collection::btree_map("[a-z_]{1,12}", credential(), 0..6),
        ) {
            let body = pairs
                .iter()
                .map(|(k, v)| format!("{k}={}", form_encode(v, true)))
                .collect::<Vec<_>>()
                .join("&");
            let form = Form::parse(body.as_bytes());
            prop_assert!(form.is_ok(), "{}", body);
            let form = form.unwrap_or_default();
            for (k, v) in &pairs {
                prop_assert_eq!(form.get(k), Some(v.as_str()).filter(|v| !v.is_empty()));
            }
        }

        #[test]
        fn any_authorization_header_is_handled_without_panicking(
            header in prop_oneof![
                text(),
                text().prop_map(|t| format!("Basic {t}")),
                vec(any::<u8>(), 0..200).prop_map(|b| format!("Basic {}", STANDARD.encode(b))),
            ],
            body in text(),
        ) {
            let form = Form::parse(body.as_bytes()).unwrap_or_default();
            let _ = client_credentials(&basic(&header), &form);
        }

        #[test]
        fn basic_credentials_round_trip(
            id in credential(),
            secret in credential(),
            plus in any::<bool>(),
        ) {
            let raw = format!("{}:{}", form_encode(&id, plus), form_encode(&secret, plus));
            let headers = basic(&format!("Basic {}", STANDARD.encode(raw)));
            let got = client_credentials(&headers, &Form::default());
            prop_assert!(got.is_ok());
            let creds = got.unwrap_or_default();
            prop_assert_eq!(&creds.client_id, &id);
            prop_assert_eq!(creds.secret().map(Secret::expose), Some(secret.as_str()).filter(|s| !s.is_empty()));
        }

        #[test]
        fn a_body_client_id_must_agree_with_basic(
            id in "[a-z_]{1,20}",
            other in "[a-z_]{1,20}",
        ) {
            let headers = basic(&format!("Basic {}", STANDARD.encode(format!("{id}:s"))));
            let form = Form::parse(format!("client_id={other}").as_bytes()).unwrap_or_default();
            let got = client_credentials(&headers, &form);
            prop_assert_eq!(got.is_ok(), id == other);
        }
    }
}
