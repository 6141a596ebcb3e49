//! OpenID Connect, proven with a stock relying-party library (the `openidconnect` crate): it
//! discovers Keyward, runs code + PKCE + nonce, verifies the id_token against `jwks_uri`, reads
//! userinfo, refreshes, revokes and introspects — with no special-casing.

use crate::helpers::{Backend, TestApp, get_json, into_parts, post_json};
use crate::oauth_support::*;
use crate::on_both_backends;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata,
    CoreTokenIntrospectionResponse, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IntrospectionUrl,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RevocationUrl, Scope,
    TokenIntrospectionResponse, TokenResponse,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    a_stock_oidc_client_completes_the_whole_flow,
    discovery_tells_the_truth,
    id_tokens_carry_the_nonce_and_the_apps_algorithm,
    tokens_signed_before_a_rotation_still_verify_after_it,
    introspection_and_revocation_are_per_client,
    introspection_follows_refresh_rotation_and_a_disabled_user,
    rp_initiated_logout_ends_the_session,
);

/// The HTTP client the library calls: no redirects followed (its own SSRF advice).
fn http() -> impl Fn(
    openidconnect::HttpRequest,
) -> std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<openidconnect::HttpResponse, reqwest::Error>>
            + Send,
    >,
> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    move |request: openidconnect::HttpRequest| {
        let client = client.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut builder = client
                .request(parts.method, parts.uri.to_string())
                .body(body);
            for (name, value) in &parts.headers {
                builder = builder.header(name, value);
            }
            let response = builder.send().await?;
            let mut out = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                out = out.header(name, value);
            }
            let body = response.bytes().await?.to_vec();
            Ok(out.body(body).expect("response"))
        })
    }
}

async fn oidc_app(app: &TestApp, body: Value) -> RegisteredApp {
    let (developer, _) = app.user("relying").await;
    let mut request = json!({"scopes": "openid profile email balance offline_access", "post_logout_redirect_uris": ["https://app.example.com/bye"]});
    if let (Some(base), Some(extra)) = (request.as_object_mut(), body.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    register_app(app, &developer, request).await
}

async fn a_stock_oidc_client_completes_the_whole_flow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let registered = oidc_app(&app, json!({})).await;
    let (browser, _) = app.user("olga").await;
    let http = http();

    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(app.base.clone()).expect("issuer"),
        &http,
    )
    .await
    .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(registered.client_id.clone()),
        Some(ClientSecret::new(registered.client_secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.to_owned()).expect("redirect"));
    // The core metadata type has no revocation or introspection fields; read them from the same
    // discovery document, as an application using the library does.
    let (_, doc) = get_json(&app.client(), &app.url("/.well-known/openid-configuration")).await;
    let client = client
        .set_revocation_url(
            RevocationUrl::new(
                doc["revocation_endpoint"]
                    .as_str()
                    .expect("revocation")
                    .to_owned(),
            )
            .expect("url"),
        )
        .set_introspection_url(
            IntrospectionUrl::new(
                doc["introspection_endpoint"]
                    .as_str()
                    .expect("introspection")
                    .to_owned(),
            )
            .expect("url"),
        );

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    let res = browser.get(url.as_str()).send().await.expect("authorize");
    assert_eq!(res.status(), StatusCode::OK, "consent page expected");
    let html = res.text().await.expect("html");
    let (_, location) = answer_consent(&app, &browser, &html, "approve").await;
    let location = location.expect("callback");
    assert_eq!(
        param(&location, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(param(&location, "iss").as_deref(), Some(app.base.as_str()));
    let code = param(&location, "code").expect("code");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("exchange")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token response");
    let id_token = tokens.id_token().expect("id_token");
    let verifier = client.id_token_verifier();
    let claims: &CoreIdTokenClaims = id_token.claims(&verifier, &nonce).expect("valid id_token");
    assert_eq!(
        claims.preferred_username().map(|u| u.as_str()),
        Some("olga")
    );
    assert!(claims.auth_time().is_some());
    let expected = claims.access_token_hash().expect("at_hash");
    let actual = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().expect("alg"),
        id_token.signing_key(&verifier).expect("key"),
    )
    .expect("hash");
    assert_eq!(&actual, expected);
    let sub = claims.subject().as_str().to_owned();

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .expect("userinfo request")
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), sub);
    assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("olga"));

    let refresh = tokens
        .refresh_token()
        .expect("refresh token with offline_access");
    let refreshed = client
        .exchange_refresh_token(refresh)
        .expect("refresh request")
        .request_async(&http)
        .await
        .expect("refresh");
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );
    assert!(refreshed.id_token().is_some(), "a refreshed id_token too");

    let introspection: CoreTokenIntrospectionResponse = client
        .introspect(refreshed.access_token())
        .request_async(&http)
        .await
        .expect("introspect");
    assert!(introspection.active());
    assert_eq!(introspection.sub(), Some(sub.as_str()));

    // The library refuses to send revocations over plain http (RFC 7009 wants TLS), and this
    // test server is plain http on loopback: the same RFC 7009 request, by hand.
    let new_refresh = refreshed.refresh_token().expect("rotated refresh token");
    let res = reqwest::Client::new()
        .post(doc["revocation_endpoint"].as_str().expect("revocation"))
        .basic_auth(&registered.client_id, Some(&registered.client_secret))
        .form(&[
            ("token", new_refresh.secret().as_str()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .expect("revoke");
    assert_eq!(res.status(), StatusCode::OK);
    let introspection: CoreTokenIntrospectionResponse = client
        .introspect(refreshed.access_token())
        .request_async(&http)
        .await
        .expect("introspect");
    assert!(
        !introspection.active(),
        "revoking the refresh token revoked its family"
    );
}

async fn discovery_tells_the_truth(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.client();
    let (status, doc) = get_json(&client, &app.url("/.well-known/openid-configuration")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, other) = get_json(&client, &app.url("/.well-known/oauth-authorization-server")).await;
    assert_eq!(doc, other);
    // Snapshot, with the random port replaced.
    let text = serde_json::to_string_pretty(&doc)
        .expect("json")
        .replace(&app.base, "https://issuer.example");
    let expected = include_str!("snapshots/openid-configuration.json");
    assert_eq!(
        text.trim(),
        expected.trim(),
        "the discovery document changed:\n{text}"
    );
    // Every advertised endpoint answers (not 404).
    for key in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "revocation_endpoint",
        "introspection_endpoint",
        "end_session_endpoint",
        "device_authorization_endpoint",
    ] {
        let url = doc[key].as_str().expect("url");
        let res = client.get(url).send().await.expect("endpoint");
        assert_ne!(res.status(), StatusCode::NOT_FOUND, "{key}");
    }
    let (_, jwks) = get_json(&client, &app.url("/oauth2/jwks")).await;
    let keys = jwks["keys"].as_array().expect("keys");
    let algs: Vec<&str> = keys.iter().filter_map(|k| k["alg"].as_str()).collect();
    for alg in ["RS256", "ES256", "EdDSA"] {
        assert!(algs.contains(&alg), "{alg} missing from {jwks}");
    }
    for key in keys {
        assert!(
            key.get("d").is_none() && key.get("p").is_none(),
            "a private part was published: {key}"
        );
        assert!(key["kid"].is_string() && key["use"] == "sig");
    }
}

async fn code_for(
    app: &TestApp,
    browser: &reqwest::Client,
    registered: &RegisteredApp,
    scope: &str,
    nonce: &str,
) -> Value {
    let params = [
        ("client_id", registered.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "s"),
        ("nonce", nonce),
    ];
    let code = obtain_code(app, browser, "/oauth/authorize", &params).await;
    let (status, tokens) = token_b(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("client_id", &registered.client_id),
            ("client_secret", &registered.client_secret),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

fn jwt_part(token: &str, index: usize) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(index).expect("part");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64");
    serde_json::from_slice(&bytes).expect("json")
}

async fn id_tokens_carry_the_nonce_and_the_apps_algorithm(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let registered = oidc_app(&app, json!({"id_token_signed_response_alg": "ES256"})).await;
    let (browser, _) = app.user("nadia").await;
    let tokens = code_for(
        &app,
        &browser,
        &registered,
        "openid profile",
        "n-0S6_WzA2Mj",
    )
    .await;
    let id_token = tokens["id_token"].as_str().expect("id_token");
    assert_eq!(jwt_part(id_token, 0)["alg"], "ES256");
    let claims = jwt_part(id_token, 1);
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["aud"], registered.client_id.as_str());
    assert_eq!(claims["iss"], app.base.as_str());
    assert!(claims["exp"].as_i64() > claims["iat"].as_i64());
    assert!(
        claims.get("email").is_none(),
        "no email claim without the email scope"
    );
    // Without openid: no id_token, and the OIDC userinfo refuses the token.
    let plain = code_for(&app, &browser, &registered, "profile", "").await;
    assert!(plain.get("id_token").is_none());
    let res = reqwest::Client::new()
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(plain["access_token"].as_str().expect("token"))
        .send()
        .await
        .expect("userinfo");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // OIDC refresh tokens need offline_access.
    assert!(tokens.get("refresh_token").is_none());
    // Unknown algorithms are refused at registration.
    let (dev, _) = app.user("other-dev").await;
    let (_, body) = post_json(
        &dev,
        &app.url("/api/oauth_apps"),
        json!({"name": "x", "redirect_uri": CALLBACK, "id_token_signed_response_alg": "HS256"}),
    )
    .await;
    assert_eq!(body["success"], false);
}

fn verify_with_jwks(token: &str, jwks: &Value) -> bool {
    let kid = jwt_part(token, 0)["kid"].as_str().expect("kid").to_owned();
    let Some(jwk) = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
    else {
        return false;
    };
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).expect("jwk");
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &key, &validation).is_ok()
}

async fn tokens_signed_before_a_rotation_still_verify_after_it(backend: Backend) {
    let db = crate::helpers::TestDatabase::new(backend).await;
    let mut config = crate::helpers::test_config(&db);
    config.id_token_ttl_secs = 2;
    let url = db.url.clone();
    let secret = db.secret_key.clone();
    let app = TestApp::start(db, config).await;
    let registered = oidc_app(&app, json!({})).await;
    let (browser, _) = app.user("rita").await;
    let before = code_for(&app, &browser, &registered, "openid", "n1").await;
    let old_token = before["id_token"].as_str().expect("id_token").to_owned();
    let old_kid = jwt_part(&old_token, 0)["kid"]
        .as_str()
        .expect("kid")
        .to_owned();

    // Rotate from the command line, as an operator would; the new key signs at once.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args([
            "keys",
            "rotate",
            "--alg",
            "RS256",
            "--activate-after",
            "0",
            "--json",
        ])
        .env("KEYWARD_DATABASE_URL", &url)
        .env("KEYWARD_SECRET_KEY", &secret)
        .output()
        .expect("rotate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotated: Value = serde_json::from_slice(&out.stdout).expect("json");
    let new_kid = rotated["kid"].as_str().expect("kid").to_owned();
    assert_ne!(new_kid, old_kid);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await; // the node's key cache

    let (_, jwks) = get_json(&app.client(), &app.url("/oauth2/jwks")).await;
    assert!(
        verify_with_jwks(&old_token, &jwks),
        "the old token no longer verifies"
    );
    let after = code_for(&app, &browser, &registered, "openid", "n2").await;
    let new_token = after["id_token"].as_str().expect("id_token");
    assert_eq!(
        jwt_part(new_token, 0)["kid"],
        new_kid.as_str(),
        "the new key signs"
    );
    assert!(verify_with_jwks(new_token, &jwks));

    // After the old key's last tokens have expired (ttl 2 s + 300 s margin is too long to wait,
    // so the margin is checked by the key ring's own rule): it is still published now.
    let kids: Vec<String> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str().map(str::to_owned))
        .collect();
    assert!(kids.contains(&old_kid) && kids.contains(&new_kid));
}

async fn introspection_and_revocation_are_per_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = oidc_app(&app, json!({})).await;
    let (dev2, _) = app.user("second-dev").await;
    let second = register_app(&app, &dev2, json!({})).await;
    let (browser, _) = app.user("sven").await;
    let tokens = code_for(&app, &browser, &first, "openid profile", "n").await;
    let access = tokens["access_token"].as_str().expect("access");
    let (status, body) = introspect(&app, &first, access).await;
    assert_eq!(
        (status, body["active"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
    assert_eq!(body["username"], "sven");
    let (_, body) = introspect(&app, &second, access).await;
    assert_eq!(
        body,
        json!({"active": false}),
        "another client learns nothing"
    );
    let (_, body) = introspect(&app, &first, "kwat_unknown").await;
    assert_eq!(body, json!({"active": false}));
    // Revoking by another client does nothing; by the owner, the token dies.
    let revoke = |client: &RegisteredApp| {
        let url = app.url("/oauth2/revoke");
        let form = vec![
            ("token".to_owned(), access.to_owned()),
            ("token_type_hint".to_owned(), "access_token".to_owned()),
        ];
        let (id, secret) = (client.client_id.clone(), client.client_secret.clone());
        async move {
            reqwest::Client::new()
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&form)
                .send()
                .await
                .expect("revoke")
                .status()
        }
    };
    assert_eq!(revoke(&second).await, StatusCode::OK);
    assert_eq!(introspect(&app, &first, access).await.1["active"], true);
    assert_eq!(revoke(&first).await, StatusCode::OK);
    assert_eq!(introspect(&app, &first, access).await.1["active"], false);
    assert_eq!(userinfo_b(&app, access).await.0, StatusCode::UNAUTHORIZED);
    // Unauthenticated introspection is refused.
    let res = reqwest::Client::new()
        .post(app.url("/oauth2/introspect"))
        .form(&[("token", access)])
        .send()
        .await
        .expect("introspect");
    assert!(res.status().is_client_error());
}

async fn rp_initiated_logout_ends_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let registered = oidc_app(&app, json!({})).await;
    let (browser, _) = app.user("lena").await;
    let tokens = code_for(&app, &browser, &registered, "openid", "n").await;
    let id_token = tokens["id_token"].as_str().expect("id_token");

    // An unregistered post-logout URI is a page, not a redirect; the session survives.
    let bad = format!(
        "/oauth2/logout?id_token_hint={id_token}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F"
    );
    let res = browser.get(app.url(&bad)).send().await.expect("logout");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        get_json(&browser, &app.url("/api/user/self")).await.0,
        StatusCode::OK
    );
    // Without a hint, the user is asked (a cross-site link cannot log people out).
    let res = browser
        .get(app.url("/oauth2/logout"))
        .send()
        .await
        .expect("logout");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        get_json(&browser, &app.url("/api/user/self")).await.0,
        StatusCode::OK
    );
    // With the hint: logged out, sent back with the state.
    let good = format!(
        "/oauth2/logout?id_token_hint={id_token}&post_logout_redirect_uri=https%3A%2F%2Fapp.example.com%2Fbye&state=xyz"
    );
    let res = browser.get(app.url(&good)).send().await.expect("logout");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_owned();
    assert_eq!(location, "https://app.example.com/bye?state=xyz");
    assert_eq!(
        get_json(&browser, &app.url("/api/user/self")).await.0,
        StatusCode::UNAUTHORIZED
    );
    // A forged hint is refused.
    let forged = format!("{}x", &id_token[..id_token.len() - 1]);
    let res = app
        .client()
        .get(app.url(&format!("/oauth2/logout?id_token_hint={forged}")))
        .send()
        .await
        .expect("logout");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

async fn introspection_follows_refresh_rotation_and_a_disabled_user(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let registered = oidc_app(&app, json!({})).await;
    let (browser, user_id) = app.user("ines").await;
    let tokens = code_for(
        &app,
        &browser,
        &registered,
        "openid profile offline_access",
        "n",
    )
    .await;
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let body = introspect(&app, &registered, &access).await.1;
    assert_eq!(
        (body["active"].clone(), body["token_type"].clone()),
        (json!(true), json!("Bearer")),
        "{body}"
    );
    assert_eq!(body["username"], "ines");
    let body = introspect(&app, &registered, &refresh).await.1;
    assert_eq!(
        (body["active"].clone(), body["token_type"].clone()),
        (json!(true), json!("refresh_token")),
        "{body}"
    );
    assert_eq!(body["username"], "ines");

    // A rotated refresh token is no longer active; its successor is.
    let (status, rotated) = into_parts(
        reqwest::Client::new()
            .post(app.url("/api/oauth2/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
                ("client_id", registered.client_id.as_str()),
                ("client_secret", registered.client_secret.as_str()),
            ])
            .send()
            .await
            .expect("refresh"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let next_refresh = rotated["refresh_token"].as_str().expect("refresh");
    let next_access = rotated["access_token"].as_str().expect("access");
    assert_eq!(
        introspect(&app, &registered, &refresh).await.1,
        json!({"active": false})
    );
    assert_eq!(
        introspect(&app, &registered, next_refresh).await.1["active"],
        true
    );
    assert_eq!(
        introspect(&app, &registered, next_access).await.1["active"],
        true
    );

    // A disabled user's tokens are inactive at once, both kinds.
    let admin = app.admin().await;
    let res = admin
        .patch(app.url(&format!("/api/admin/users/{user_id}")))
        .json(&json!({"status": 2}))
        .send()
        .await
        .expect("disable");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        introspect(&app, &registered, next_access).await.1,
        json!({"active": false})
    );
    assert_eq!(
        introspect(&app, &registered, next_refresh).await.1,
        json!({"active": false})
    );
}

/// `POST /oauth2/introspect` about `token`, as `client` (client_secret_basic).
async fn introspect(app: &TestApp, client: &RegisteredApp, token: &str) -> (StatusCode, Value) {
    into_parts(
        reqwest::Client::new()
            .post(app.url("/oauth2/introspect"))
            .basic_auth(&client.client_id, Some(&client.client_secret))
            .form(&[("token", token)])
            .send()
            .await
            .expect("introspect"),
    )
    .await
}
