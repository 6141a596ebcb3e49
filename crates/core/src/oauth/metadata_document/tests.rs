use super::*;
use serde_json::json;

const URL: &str = "https://agent.example/client.json";

fn doc() -> Value {
    json!({
        "client_id": URL,
        "client_name": "Agent",
        "redirect_uris": ["http://127.0.0.1/cb", "https://agent.example/cb"],
    })
}

fn all() -> ScopeSet {
    ScopeSet::parse("openid profile email offline_access").expect("scopes")
}

fn parsed(doc: &Value) -> Result<ClientMetadata, DocumentError> {
    parse(URL, doc, all(), 500)
}

fn with(field: &str, value: Value) -> Value {
    let mut d = doc();
    d[field] = value;
    d
}

#[test]
fn a_client_id_url_is_https_with_a_path_in_canonical_form() {
    assert_eq!(check_url(URL).as_deref(), Ok("agent.example"));
    assert_eq!(
        check_url("https://127.0.0.1:8443/c.json").as_deref(),
        Ok("127.0.0.1")
    );
    for bad in [
        "http://agent.example/client.json",
        "https://agent.example",
        "https://agent.example/",
        "https://user:pw@agent.example/c.json",
        "https://agent.example/c.json#frag",
        "https://agent.example/a/../c.json",
        "https://agent.example/./c.json",
        "https://AGENT.example/c.json",
        "https://agent.example:443/c.json",
        "javascript:alert(1)",
        "not a url",
    ] {
        assert!(check_url(bad).is_err(), "{bad} must be refused");
    }
    let long = format!("https://agent.example/{}", "a".repeat(URL_MAX_LEN));
    assert!(check_url(&long).is_err());
}

#[test]
fn a_plain_public_document_defaults_to_the_code_grant_and_the_allowed_scopes() {
    let m = parsed(&doc()).expect("valid");
    assert_eq!(m.name, "Agent");
    assert_eq!(m.grant_types, vec![GrantType::AuthorizationCode]);
    assert!(m.public && m.auth_method == AuthMethod::None);
    assert_eq!(m.allowed_scopes, all());
    assert_eq!(m.metadata_expires_at, Some(500));
    let unnamed = {
        let mut d = doc();
        d.as_object_mut().map(|o| o.remove("client_name"));
        d
    };
    assert_eq!(parsed(&unnamed).expect("valid").name, "agent.example");
}

#[test]
fn scopes_are_cut_to_what_self_registered_clients_may_have() {
    let m = parsed(&with("scope", json!("openid balance mcp:tools"))).expect("valid");
    assert_eq!(m.allowed_scopes, ScopeSet::parse("openid").expect("scope"));
}

#[test]
fn a_document_must_name_itself_and_hold_no_secret() {
    assert_eq!(
        parsed(&with(
            "client_id",
            json!("https://agent.example/other.json")
        ))
        .err(),
        Some(DocumentError::ClientIdMismatch)
    );
    assert_eq!(
        parsed(&with("client_id", json!(42))).err(),
        Some(DocumentError::ClientIdMismatch)
    );
    assert!(matches!(
        parsed(&with("client_secret", json!("s3cret"))),
        Err(DocumentError::Invalid(_))
    ));
    assert!(matches!(
        parse(URL, &json!([1, 2]), all(), 0),
        Err(DocumentError::Invalid(_))
    ));
}

#[test]
fn only_none_and_private_key_jwt_authenticate_a_document_client() {
    for method in [
        "client_secret_basic",
        "client_secret_post",
        "tls_client_auth",
    ] {
        assert!(
            matches!(
                parsed(&with("token_endpoint_auth_method", json!(method))),
                Err(DocumentError::Invalid(_))
            ),
            "{method}"
        );
    }
    let no_keys = with("token_endpoint_auth_method", json!("private_key_jwt"));
    assert!(matches!(parsed(&no_keys), Err(DocumentError::Invalid(_))));
    let mut by_uri = no_keys.clone();
    by_uri["jwks_uri"] = json!("https://agent.example/jwks.json");
    let m = parsed(&by_uri).expect("valid");
    assert_eq!(
        (m.public, m.auth_method, m.jwks_uri.as_deref()),
        (
            false,
            AuthMethod::PrivateKeyJwt,
            Some("https://agent.example/jwks.json")
        )
    );
    let mut plain_http = no_keys.clone();
    plain_http["jwks_uri"] = json!("http://agent.example/jwks.json");
    assert!(matches!(
        parsed(&plain_http),
        Err(DocumentError::Invalid(_))
    ));
    let mut private = no_keys;
    private["jwks"] = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]});
    assert!(matches!(parsed(&private), Err(DocumentError::Jwks(_))));
}

#[test]
fn grants_redirects_and_names_are_checked() {
    let bad = [
        with("grant_types", json!(["client_credentials"])),
        with("grant_types", json!(["implicit"])),
        with("grant_types", json!([])),
        with("grant_types", json!("authorization_code")),
        with("response_types", json!(["token"])),
        with("redirect_uris", json!([])),
        with("redirect_uris", json!("https://agent.example/cb")),
        with("redirect_uris", json!([1])),
        with("client_name", json!("x".repeat(NAME_MAX + 1))),
        with("client_name", json!("line\nbreak")),
        with("client_name", json!(["Agent"])),
        with("scope", json!(7)),
    ];
    for doc in bad {
        assert!(parsed(&doc).is_err(), "{doc}");
    }
    let too_many: Vec<String> = (0..=REDIRECT_URIS_MAX)
        .map(|i| format!("https://agent.example/cb{i}"))
        .collect();
    assert!(parsed(&with("redirect_uris", json!(too_many))).is_err());
    for uri in [
        "javascript:alert(1)",
        "data:text/html,hi",
        "https://agent.example/cb#x",
        "http://agent.example/cb",
    ] {
        assert!(
            matches!(
                parsed(&with("redirect_uris", json!([uri]))),
                Err(DocumentError::RedirectUri(_))
            ),
            "{uri}"
        );
    }
    // A native public client may use a private-use scheme (RFC 8252 §7.1).
    assert!(parsed(&with("redirect_uris", json!(["com.example.agent:/cb"]))).is_ok());
    // A device-only client needs no redirect URI.
    let mut device = with(
        "grant_types",
        json!(["urn:ietf:params:oauth:grant-type:device_code"]),
    );
    device.as_object_mut().map(|o| o.remove("redirect_uris"));
    assert!(parsed(&device).is_ok());
}
