use super::*;
use crate::model::ClientStatus;

fn client() -> Client {
    crate::test_support::approved_client()
}

fn params() -> AuthorizeParams {
    AuthorizeParams {
        client_id: Some("client_abc".into()),
        redirect_uri: Some("https://app.example/cb".into()),
        response_type: Some("code".into()),
        scope: Some("profile".into()),
        state: Some("xyz".into()),
        ..AuthorizeParams::default()
    }
}

fn redirect_error(result: Result<ValidRequest, Rejection>) -> ErrorCode {
    match result {
        Err(Rejection::Redirect { error, .. }) => error,
        other => panic!("expected a redirect error, got {other:?}"),
    }
}

#[test]
fn unknown_or_unapproved_clients_and_unregistered_uris_never_redirect() {
    assert!(matches!(validate(&params(), None), Err(Rejection::Page(_))));
    let mut pending = client();
    pending.status = ClientStatus::Pending;
    assert!(matches!(
        validate(&params(), Some(pending)),
        Err(Rejection::Page(_))
    ));
    let mut p = params();
    p.redirect_uri = Some("https://app.example/cb/../evil".into());
    assert!(matches!(
        validate(&p, Some(client())),
        Err(Rejection::Page(_))
    ));
    p.redirect_uri = None;
    assert!(matches!(
        validate(&p, Some(client())),
        Err(Rejection::Page(_))
    ));
    // Even a bad response_type is a page when the redirect URI is wrong.
    p.redirect_uri = Some("https://evil.example/cb".into());
    p.response_type = Some("token".into());
    assert!(matches!(
        validate(&p, Some(client())),
        Err(Rejection::Page(_))
    ));
}

#[test]
fn other_errors_redirect_with_the_state() {
    let mut p = params();
    p.response_type = Some("token".into());
    match validate(&p, Some(client())) {
        Err(Rejection::Redirect {
            redirect_uri,
            error,
            state,
            ..
        }) => {
            assert_eq!(redirect_uri, "https://app.example/cb");
            assert_eq!(error, ErrorCode::UnsupportedResponseType);
            assert_eq!(state.as_deref(), Some("xyz"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn state_is_required_unless_pkce_is_used() {
    let mut p = params();
    p.state = None;
    assert_eq!(
        redirect_error(validate(&p, Some(client()))),
        ErrorCode::InvalidRequest
    );
    p.code_challenge = Some(pkce::s256_challenge(&"v".repeat(43)));
    p.code_challenge_method = Some("S256".into());
    assert!(validate(&p, Some(client())).is_ok());
}

#[test]
fn pkce_plain_and_half_given_pkce_are_refused() {
    let mut p = params();
    p.code_challenge = Some("a".repeat(43));
    p.code_challenge_method = Some("plain".into());
    assert_eq!(
        redirect_error(validate(&p, Some(client()))),
        ErrorCode::InvalidRequest
    );
    p.code_challenge_method = None;
    assert_eq!(
        redirect_error(validate(&p, Some(client()))),
        ErrorCode::InvalidRequest
    );
    p.code_challenge = None;
    p.code_challenge_method = Some("S256".into());
    assert_eq!(
        redirect_error(validate(&p, Some(client()))),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn public_clients_must_use_pkce() {
    let mut public = client();
    public.public = true;
    assert_eq!(
        redirect_error(validate(&params(), Some(public))),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn scopes_outside_the_app_set_are_invalid_scope() {
    let mut p = params();
    p.scope = Some("profile email".into());
    assert_eq!(
        redirect_error(validate(&p, Some(client()))),
        ErrorCode::InvalidScope
    );
    p.scope = Some("profile sudo".into());
    assert_eq!(
        redirect_error(validate(&p, Some(client()))),
        ErrorCode::InvalidScope
    );
}

fn consent(scopes: &str) -> Consent {
    Consent {
        user_id: 1,
        client: 1,
        scopes: ScopeSet::parse(scopes).expect("scopes"),
        resources: Default::default(),
        spend_limit: None,
        created_at: 0,
        updated_at: 0,
        last_used_at: None,
    }
}

#[test]
fn decisions_follow_login_consent_and_prompt() {
    let request = validate(&params(), Some(client())).expect("valid");
    assert_eq!(decide(&request, None, None, 100), Decision::Login);
    assert_eq!(decide(&request, Some(50), None, 100), Decision::Consent);
    assert_eq!(
        decide(&request, Some(50), Some(&consent("profile")), 100),
        Decision::Issue
    );
    // A narrower earlier consent does not cover a wider request.
    let mut wide = request.clone();
    wide.scopes = ScopeSet::parse("profile balance").expect("scopes");
    assert_eq!(
        decide(&wide, Some(50), Some(&consent("profile")), 100),
        Decision::Consent
    );
    // Trusted apps skip consent; prompt=consent forces it.
    let mut trusted = request.clone();
    trusted.client.trusted = true;
    assert_eq!(decide(&trusted, Some(50), None, 100), Decision::Issue);
    trusted.prompt.consent = true;
    assert_eq!(
        decide(&trusted, Some(50), Some(&consent("profile")), 100),
        Decision::Consent
    );
    // max_age and prompt=login ask for a fresh login; prompt=none turns asking into errors.
    let mut aged = request.clone();
    aged.max_age = Some(10);
    assert_eq!(
        decide(&aged, Some(50), Some(&consent("profile")), 100),
        Decision::Login
    );
    let mut none = request.clone();
    none.prompt.none = true;
    assert!(matches!(
        decide(&none, None, None, 100),
        Decision::Reject(Rejection::Redirect {
            error: ErrorCode::LoginRequired,
            ..
        })
    ));
    assert!(matches!(
        decide(&none, Some(1), None, 100),
        Decision::Reject(Rejection::Redirect {
            error: ErrorCode::ConsentRequired,
            ..
        })
    ));
}

/// The request as it comes back from the login page.
fn returned(p: &AuthorizeParams, now: UnixTime) -> ValidRequest {
    validate(&after_login(p, now), Some(client())).expect("valid on the way back")
}

#[test]
fn prompt_login_asks_once_and_the_new_login_satisfies_it() {
    let remembered = consent("profile");
    let mut p = params();
    p.prompt = Some("login consent".into());
    let request = validate(&p, Some(client())).expect("valid");
    // A live session is not enough: prompt=login wants a login after the request.
    assert_eq!(
        decide(&request, Some(90), Some(&remembered), 100),
        Decision::Login
    );
    let back = after_login(&p, 100);
    assert_eq!(back.prompt.as_deref(), Some("consent"));
    assert_eq!(back.login_after.as_deref(), Some("100"));
    let back = returned(&p, 100);
    // Coming back with the old session (the login page was skipped): asked again.
    assert_eq!(
        decide(&back, Some(90), Some(&remembered), 105),
        Decision::Login
    );
    // Coming back after logging in: on to consent, not round again.
    assert_eq!(
        decide(&back, Some(103), Some(&remembered), 105),
        Decision::Consent
    );
}

#[test]
fn an_expired_max_age_asks_once_and_does_not_loop() {
    let remembered = consent("profile");
    let mut p = params();
    p.max_age = Some("1".into());
    let request = validate(&p, Some(client())).expect("valid");
    assert_eq!(
        decide(&request, Some(50), Some(&remembered), 100),
        Decision::Login
    );
    let back = returned(&p, 100);
    assert_eq!(back.max_age, None);
    // The login takes longer than max_age: still done, no loop.
    assert_eq!(
        decide(&back, Some(104), Some(&remembered), 110),
        Decision::Issue
    );
    assert_eq!(
        decide(&back, Some(50), Some(&remembered), 110),
        Decision::Login
    );
    // prompt=none cannot log in: login_required to the app.
    let mut none = request.clone();
    none.prompt.none = true;
    assert!(matches!(
        decide(&none, Some(50), Some(&remembered), 100),
        Decision::Reject(Rejection::Redirect {
            error: ErrorCode::LoginRequired,
            ..
        })
    ));
}

#[test]
fn login_after_is_checked() {
    let mut p = params();
    p.login_after = Some("soon".into());
    assert_eq!(
        redirect_error(validate(&p, Some(client()))),
        ErrorCode::InvalidRequest
    );
    p.login_after = Some("100000".into());
    let request = validate(&p, Some(client())).expect("valid");
    assert!(matches!(
        decide(&request, Some(50), None, 100),
        Decision::Reject(Rejection::Redirect {
            error: ErrorCode::InvalidRequest,
            ..
        })
    ));
}

#[test]
fn query_building_keeps_state_byte_for_byte() {
    let url = append_query(
        "https://app.example/cb?x=1",
        &[("code", "abc".into()), ("state", "a b&c=d/é?#".into())],
    );
    assert_eq!(
        url,
        "https://app.example/cb?x=1&code=abc&state=a%20b%26c%3Dd%2F%C3%A9%3F%23"
    );
}

/// Properties over arbitrary input (SECURITY.md, "Fuzzing").
mod props {
    use super::*;
    use crate::test_support::hostile_text;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        hostile_text("[a-zA-Z0-9 _.~+/=-]{0,50}")
    }

    /// A parameter: absent, a plausible value (so that validation gets deep), or hostile.
    fn param(plausible: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            1 => Just(None),
            4 => prop::sample::select(plausible).prop_map(|s| Some(s.to_owned())),
            1 => text().prop_map(Some),
        ]
    }

    prop_compose! {
        fn arbitrary_params()(
            redirect_uri in param(&["https://app.example/cb", "https://app.example/cb/", "https://APP.example/cb"]),
            response_type in param(&["code", "token", "code id_token"]),
            scope in param(&["profile", "openid profile balance", "email", "admin", ""]),
            state in param(&["xyz", "a b&c=d/é?#"]),
            code_challenge in param(&["E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "short"]),
            code_challenge_method in param(&["S256", "plain", "s256"]),
            nonce in param(&["n-0S6_WzA2Mj"]),
            prompt in param(&["none", "login consent", "none login", "select_account", "bogus"]),
            max_age in param(&["0", "3600", "-1", "9999999999999999999999"]),
            login_hint in param(&["alice"]),
            response_mode in param(&["query", "fragment"]),
            (auto_authorize, login_after) in (param(&["true"]), param(&["0", "100", "-5", "x"])),
            spend_limit in param(&["10000/month", "0/day", "5/week", "-1/total"]),
        ) -> AuthorizeParams {
            AuthorizeParams {
                client_id: Some("client_abc".into()),
                redirect_uri, response_type, scope, state, code_challenge, code_challenge_method,
                nonce, prompt, max_age, login_hint, response_mode, auto_authorize, login_after,
                spend_limit, resource: Vec::new(),
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_requests_never_panic_and_never_redirect_elsewhere(
            params in arbitrary_params(),
            public in any::<bool>(),
        ) {
            let mut app = client();
            app.public = public;
            let registered = app.redirect_uris.clone();
            let allowed = app.allowed_scopes;
            let sent_state = params.state.clone().filter(|s| !s.is_empty());
            match validate(&params, Some(app)) {
                Ok(request) => {
                    prop_assert!(registered.contains(&request.redirect_uri));
                    prop_assert!(request.scopes.is_subset_of(allowed));
                    prop_assert_eq!(&request.state, &sent_state);
                    prop_assert!(!public || request.code_challenge.is_some());
                    prop_assert!(request.state.is_some() || request.code_challenge.is_some());
                }
                // Errors only ever go back to a URI registered byte for byte, with the state
                // echoed unchanged.
                Err(Rejection::Redirect { redirect_uri, state, .. }) => {
                    prop_assert!(registered.contains(&redirect_uri));
                    prop_assert_eq!(state, sent_state);
                }
                Err(Rejection::Page(_)) => {
                    prop_assert!(
                        params.redirect_uri.as_deref().is_none_or(|r| !registered.iter().any(|x| x == r))
                    );
                }
            }
        }

        #[test]
        fn the_state_survives_the_redirect_byte_for_byte(state in text(), code in "[A-Za-z0-9_-]{1,60}") {
            let url = append_query("https://app.example/cb?x=1", &[("code", code.clone()), ("state", state.clone())]);
            let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
            prop_assert!(!query.contains('#') && !query.contains(' '));
            let mut seen_state = None;
            for pair in query.split('&') {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                if k == "state" {
                    seen_state = Some(percent_decode(v));
                }
            }
            prop_assert_eq!(seen_state, Some(state));
        }
    }

    fn percent_decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%'
                && let Some(Ok(b)) = text.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16))
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}
