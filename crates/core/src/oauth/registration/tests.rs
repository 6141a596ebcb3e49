use super::{ApplicationType, RegistrationError, ScopeLimits, parse};
use crate::model::{AuthMethod, GrantType};
use crate::oauth::scope::{Scope, ScopeSet};
use serde_json::{Value, json};

fn limit() -> ScopeSet {
    ScopeSet::of(&[Scope::OpenId, Scope::Profile, Scope::OfflineAccess])
}

fn limits() -> ScopeLimits {
    ScopeLimits {
        builtin: limit(),
        api_scopes: vec!["mcp:tools".into()],
    }
}

fn register(body: &Value) -> Result<super::Registered, RegistrationError> {
    parse(body.to_string().as_bytes(), &limits())
}

fn web(extra: Value) -> Value {
    let mut body = json!({"redirect_uris": ["https://app.example/cb"], "client_name": "App"});
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    body
}

fn is_redirect_error(result: Result<super::Registered, RegistrationError>) -> bool {
    matches!(result, Err(RegistrationError::InvalidRedirectUri(_)))
}

fn is_metadata_error(result: Result<super::Registered, RegistrationError>) -> bool {
    matches!(result, Err(RegistrationError::InvalidMetadata(_)))
}

#[test]
fn a_minimal_web_registration_takes_the_rfc_defaults() {
    let registered =
        register(&json!({"redirect_uris": ["https://app.example/cb"]})).expect("accepted");
    let m = registered.metadata;
    assert_eq!(registered.application_type, ApplicationType::Web);
    assert_eq!(m.auth_method, AuthMethod::ClientSecretBasic);
    assert!(!m.public);
    assert_eq!(m.grant_types, vec![GrantType::AuthorizationCode]);
    assert_eq!(m.allowed_scopes, limit());
    // Named after where it sends users, so the consent page shows something recognisable.
    assert_eq!(m.name, "app.example");
}

#[test]
fn a_native_public_client_may_use_loopback_and_private_use_schemes() {
    let body = json!({
        "application_type": "native",
        "token_endpoint_auth_method": "none",
        "redirect_uris": ["http://127.0.0.1/cb", "com.example.app:/cb"],
        "grant_types": ["authorization_code", "refresh_token"],
    });
    let m = register(&body).expect("accepted").metadata;
    assert!(m.public);
    assert_eq!(m.redirect_uris.len(), 2);
}

#[test]
fn a_web_client_may_not_use_loopback_or_custom_schemes() {
    for uri in [
        "http://127.0.0.1/cb",
        "http://localhost:8080/cb",
        "com.example.app:/cb",
    ] {
        let body = web(
            json!({"redirect_uris": [uri], "token_endpoint_auth_method": "none",
            "application_type": "web"}),
        );
        assert!(is_redirect_error(register(&body)), "{uri}");
    }
}

#[test]
fn hostile_redirect_uris_are_refused() {
    for uri in [
        "javascript:alert(1)",
        "data:text/html,hi",
        "https://app.example/cb#frag",
        "http://app.example/cb",
        "https://user@app.example/cb",
        "",
    ] {
        let body = json!({"application_type": "native", "token_endpoint_auth_method": "none",
            "redirect_uris": [uri]});
        assert!(is_redirect_error(register(&body)), "{uri}");
    }
    let many: Vec<String> = (0..11).map(|i| format!("https://a.example/{i}")).collect();
    assert!(is_redirect_error(register(&web(
        json!({"redirect_uris": many})
    ))));
    assert!(is_redirect_error(register(&json!({"client_name": "x"}))));
}

#[test]
fn a_confidential_native_client_may_not_use_a_private_use_scheme() {
    let body = json!({"application_type": "native", "redirect_uris": ["com.example.app:/cb"]});
    assert!(is_redirect_error(register(&body)));
}

#[test]
fn names_are_bounded_and_printable() {
    assert!(is_metadata_error(register(&web(
        json!({"client_name": "x".repeat(10_000)})
    ))));
    assert!(is_metadata_error(register(&web(
        json!({"client_name": "a\u{0}b"})
    ))));
    assert!(is_metadata_error(register(&web(
        json!({"client_name": "  "})
    ))));
    assert_eq!(
        register(&web(json!({"client_name": " Claude "})))
            .expect("accepted")
            .metadata
            .name,
        "Claude"
    );
}

#[test]
fn members_of_the_wrong_type_are_client_errors() {
    for extra in [
        json!({"client_name": 5}),
        json!({"redirect_uris": "https://app.example/cb"}),
        json!({"redirect_uris": [5]}),
        json!({"grant_types": "authorization_code"}),
        json!({"scope": ["openid"]}),
        json!({"jwks": "keys"}),
        json!({"token_endpoint_auth_method": true}),
    ] {
        assert!(is_metadata_error(register(&web(extra.clone()))), "{extra}");
    }
    for body in ["[]", "5", "not json", "{\"a\":"] {
        assert!(
            is_metadata_error(parse(body.as_bytes(), &limits())),
            "{body}"
        );
    }
    assert!(is_metadata_error(parse(&vec![b' '; 17 * 1024], &limits())));
}

#[test]
fn client_credentials_and_unknown_grants_are_refused() {
    for grants in [
        json!(["client_credentials"]),
        json!(["authorization_code", "client_credentials"]),
        json!(["password"]),
        json!(["refresh_token"]),
    ] {
        assert!(is_metadata_error(register(&web(
            json!({"grant_types": grants})
        ))));
    }
}

#[test]
fn response_types_agree_with_grant_types() {
    assert!(is_metadata_error(register(&web(
        json!({"response_types": ["token"]})
    ))));
    assert!(is_metadata_error(register(&web(
        json!({"response_types": []})
    ))));
    let device_only = json!({"grant_types": ["urn:ietf:params:oauth:grant-type:device_code"],
        "response_types": [], "token_endpoint_auth_method": "none"});
    assert!(register(&device_only).is_ok());
}

#[test]
fn auth_methods_and_keys_are_checked_as_in_the_console() {
    assert!(is_metadata_error(register(&web(
        json!({"token_endpoint_auth_method": "tls_client_auth"})
    ))));
    // private_key_jwt needs keys; keys need private_key_jwt; never both forms.
    assert!(is_metadata_error(register(&web(
        json!({"token_endpoint_auth_method": "private_key_jwt"})
    ))));
    assert!(is_metadata_error(register(&web(
        json!({"jwks_uri": "https://app.example/jwks"})
    ))));
    let both = json!({"token_endpoint_auth_method": "private_key_jwt",
        "jwks_uri": "https://app.example/jwks", "jwks": {"keys": []}});
    assert!(is_metadata_error(register(&web(both))));
    let private = json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [{
        "kty": "EC", "crv": "P-256", "d": "AAAA",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}});
    assert!(is_metadata_error(register(&web(private))));
    for uri in [
        "http://app.example/jwks",
        "https://u:p@app.example/jwks",
        "https://app.example/j#x",
        "/jwks",
    ] {
        let body = json!({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": uri});
        assert!(is_metadata_error(register(&web(body))), "{uri}");
    }
    let good = json!({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://app.example/jwks"});
    assert_eq!(
        register(&web(good))
            .expect("accepted")
            .metadata
            .jwks_uri
            .as_deref(),
        Some("https://app.example/jwks")
    );
}

#[test]
fn scopes_are_narrowed_to_the_operators_limit_and_unknown_ones_refused() {
    let m = register(&web(json!({"scope": "openid balance email"})))
        .expect("accepted")
        .metadata;
    assert_eq!(m.allowed_scopes, ScopeSet::of(&[Scope::OpenId]));
    assert!(is_metadata_error(register(&web(
        json!({"scope": "openid admin"})
    ))));
    assert!(is_metadata_error(register(&web(
        json!({"scope": "balance"})
    ))));
}

#[test]
fn unknown_members_are_ignored() {
    assert!(
        register(&web(
            json!({"logo_uri": 5, "software_id": {"x": 1}, "contacts": "x"})
        ))
        .is_ok()
    );
}

#[test]
fn without_application_type_a_loopback_redirect_makes_a_native_client() {
    // What the MCP SDK sends: no application_type, a loopback redirect, its API's scope.
    let body = json!({"client_name": "MCP Test Agent", "redirect_uris": ["http://127.0.0.1:4312/callback"],
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "token_endpoint_auth_method": "none", "scope": "mcp:tools"});
    let registered = register(&body).expect("accepted");
    assert_eq!(registered.application_type, ApplicationType::Native);
    // Only API scopes asked: Keyward's own are the operator's cap, as when none are asked.
    assert_eq!(registered.metadata.allowed_scopes, limit());
    let with_builtin =
        json!({"redirect_uris": ["https://app.example/cb"], "scope": "openid mcp:tools"});
    assert_eq!(
        register(&with_builtin)
            .expect("accepted")
            .metadata
            .allowed_scopes,
        ScopeSet::of(&[Scope::OpenId])
    );
    assert!(is_metadata_error(register(
        &json!({"redirect_uris": ["https://app.example/cb"],
        "scope": "mcp:admin"})
    )));
}
