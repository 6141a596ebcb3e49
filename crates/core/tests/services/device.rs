//! The device authorization grant (RFC 8628) without a server: the endpoint, the `/device`
//! page's lookup and decision, and the token endpoint's polls, on a clock that moves only when
//! told to (expiry and `slow_down` are tested by moving it).

use crate::world::*;
use jsonwebtoken::{Validation, decode, decode_header};
use keyward_core::model::{Client, Session, User};
use keyward_core::oauth::TokenError;
use keyward_core::oauth::apps::{AppForm, AppPolicy};
use keyward_core::oauth::device::{
    DeviceAnswer, DeviceAuthorization, DeviceError, GUESSES_PER_IP, GUESSES_PER_SESSION, Typist,
};
use keyward_core::oauth::tokens::{ClientCredentials, Grant, IssuedTokens, TokenRequest};
use keyward_core::secret::{Secret, SecretHash};

const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";
const NATIVE: &[&str] = &["authorization_code", "refresh_token", DEVICE];

/// An approved public app (a CLI) with the device grant, of a fresh developer.
async fn cli_app(w: &World, name: &str, scopes: &str, grants: &[&str]) -> Client {
    let owner = w.user(&format!("{name}-developer")).await;
    let form = AppForm {
        name: name.into(),
        redirect_uris: vec!["http://127.0.0.1/callback".into()],
        scopes: Some(scopes.into()),
        grant_types: Some(grants.iter().map(|g| (*g).to_owned()).collect()),
        public: true,
        ..AppForm::default()
    };
    let policy = AppPolicy {
        review_required: false,
        allow_http_redirect_uris: false,
    };
    let (client, _) = w
        .apps
        .register(&owner, form, policy, IP)
        .await
        .expect("app");
    client
}

fn public(client: &Client) -> ClientCredentials {
    ClientCredentials {
        client_id: client.client_id.clone(),
        auth: keyward_core::oauth::tokens::ClientAuth::from_secret(None),
    }
}

/// A browser session of `user`, logged in at `created_at`.
fn session(user: &User, name: &str, created_at: i64) -> Session {
    Session {
        id_hash: SecretHash::of(name),
        user_id: user.id,
        created_at,
        last_seen_at: created_at,
        expires_at: created_at + 86_400,
        ip: IP.into(),
        user_agent: "test".into(),
        mfa_pending: false,
    }
}

fn typist(session: &Session) -> Typist<'_> {
    Typist { session, ip: IP }
}

async fn start(w: &World, client: &Client, scope: &str) -> DeviceAuthorization {
    w.device
        .authorize(&public(client), Some(scope), &[], None, IP)
        .await
        .expect("device authorization")
}

async fn poll(
    w: &World,
    client: &Client,
    device: &DeviceAuthorization,
) -> Result<IssuedTokens, TokenError> {
    let request = TokenRequest {
        client: public(client),
        grant: Grant::DeviceCode {
            device_code: device.device_code.expose().to_owned(),
            resources: Vec::new(),
        },
    };
    w.tokens.token(&request, IP).await
}

/// A CLI app, its user and a started device authorization.
async fn started(scope: &str) -> (World, Client, User, DeviceAuthorization) {
    let w = World::new().await;
    let client = cli_app(&w, "cli", "openid profile offline_access", NATIVE).await;
    let user = w.user("alice").await;
    let device = start(&w, &client, scope).await;
    (w, client, user, device)
}

#[tokio::test]
async fn rfc8628_3_2_the_endpoint_answers_a_typable_user_code_and_where_to_type_it() {
    let (_w, _client, _user, device) = started("profile").await;
    assert!(device.device_code.expose().starts_with("kwdc_"));
    let (a, b) = device.user_code.split_once('-').expect("XXXX-XXXX");
    assert_eq!((a.len(), b.len()), (4, 4), "{}", device.user_code);
    assert!(
        format!("{a}{b}")
            .bytes()
            .all(|c| b"BCDFGHJKLMNPQRSTVWXZ".contains(&c)),
        "{}",
        device.user_code
    );
    assert_eq!(device.verification_uri, format!("{ISSUER}/device"));
    assert_eq!(
        device.verification_uri_complete,
        format!("{ISSUER}/device?user_code={}", device.user_code)
    );
    assert_eq!((device.expires_in, device.interval), (600, 5));
}

#[tokio::test]
async fn rfc8628_3_1_scopes_are_checked_like_the_authorize_endpoint_checks_them() {
    let w = World::new().await;
    let client = cli_app(&w, "cli", "profile", NATIVE).await;
    let outside = w
        .device
        .authorize(&public(&client), Some("balance"), &[], None, IP)
        .await;
    assert!(
        matches!(outside, Err(TokenError::InvalidScope(_))),
        "{outside:?}"
    );
    let unknown = w
        .device
        .authorize(&public(&client), Some("root"), &[], None, IP)
        .await;
    assert!(
        matches!(unknown, Err(TokenError::InvalidScope(_))),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn rfc8628_3_1_an_app_without_the_device_grant_is_refused_as_unauthorized_client() {
    let w = World::new().await;
    let client = cli_app(&w, "web", "profile", &["authorization_code"]).await;
    let refused = w
        .device
        .authorize(&public(&client), None, &[], None, IP)
        .await;
    assert!(
        matches!(refused, Err(TokenError::UnauthorizedClient(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn rfc8628_3_1_a_confidential_client_authenticates_with_its_secret() {
    let w = World::new().await;
    let (client, secret) = w.app("profile", &["refresh_token", DEVICE]).await;
    let wrong = ClientCredentials {
        client_id: client.client_id.clone(),
        auth: keyward_core::oauth::tokens::ClientAuth::from_secret(Some(Secret::from_string(
            "secret_wrong".into(),
        ))),
    };
    let refused = w.device.authorize(&wrong, None, &[], None, IP).await;
    assert!(
        matches!(refused, Err(TokenError::BadClientSecret)),
        "{refused:?}"
    );
    let without = w
        .device
        .authorize(&public(&client), None, &[], None, IP)
        .await;
    assert!(
        matches!(without, Err(TokenError::BadClientSecret)),
        "{without:?}"
    );
    w.device
        .authorize(&credentials(&client, &secret), None, &[], None, IP)
        .await
        .expect("with its secret");
}

#[tokio::test]
async fn rfc8628_3_5_polls_before_the_user_answers_are_authorization_pending() {
    let (w, client, _user, device) = started("profile").await;
    for _ in 0..3 {
        let pending = poll(&w, &client, &device).await;
        assert!(
            matches!(pending, Err(TokenError::AuthorizationPending)),
            "{pending:?}"
        );
        w.clock.advance(5);
    }
}

#[tokio::test]
async fn rfc8628_3_5_polling_sooner_than_the_interval_is_slow_down_and_the_interval_grows_by_5s() {
    let (w, client, _user, device) = started("profile").await;
    assert!(matches!(
        poll(&w, &client, &device).await,
        Err(TokenError::AuthorizationPending)
    ));
    w.clock.advance(2);
    let fast = poll(&w, &client, &device).await;
    assert!(
        matches!(fast, Err(TokenError::SlowDown { interval: 10 })),
        "{fast:?}"
    );
    // 6 s would have been enough before; now the interval is 10 s.
    w.clock.advance(6);
    let still = poll(&w, &client, &device).await;
    assert!(
        matches!(still, Err(TokenError::SlowDown { interval: 15 })),
        "{still:?}"
    );
    w.clock.advance(15);
    let patient = poll(&w, &client, &device).await;
    assert!(
        matches!(patient, Err(TokenError::AuthorizationPending)),
        "{patient:?}"
    );
}

#[tokio::test]
async fn rfc8628_3_5_a_denied_authorization_is_access_denied() {
    let (w, client, user, device) = started("profile").await;
    let browser = session(&user, "s1", START);
    w.device
        .decide(
            &device.user_code,
            &user,
            typist(&browser),
            DeviceAnswer::Deny,
        )
        .await
        .expect("deny");
    let denied = poll(&w, &client, &device).await;
    assert!(
        matches!(denied, Err(TokenError::AccessDenied)),
        "{denied:?}"
    );
}

#[tokio::test]
async fn rfc8628_3_5_an_expired_device_code_is_expired_token() {
    let (w, client, user, device) = started("profile").await;
    w.clock.advance(601);
    let expired = poll(&w, &client, &device).await;
    assert!(
        matches!(expired, Err(TokenError::ExpiredToken)),
        "{expired:?}"
    );
    // Nor can the user approve it any more.
    let browser = session(&user, "s1", START);
    let late = w
        .device
        .decide(
            &device.user_code,
            &user,
            typist(&browser),
            DeviceAnswer::Approve(None),
        )
        .await;
    assert!(matches!(late, Err(DeviceError::Unknown)), "{late:?}");
}

#[tokio::test]
async fn rfc8628_3_5_another_clients_device_code_is_invalid_grant() {
    let (w, _client, user, device) = started("profile").await;
    let other = cli_app(&w, "other", "openid profile offline_access", NATIVE).await;
    let browser = session(&user, "s1", START);
    w.device
        .decide(
            &device.user_code,
            &user,
            typist(&browser),
            DeviceAnswer::Approve(None),
        )
        .await
        .expect("approve");
    let stolen = poll(&w, &other, &device).await;
    assert!(
        matches!(stolen, Err(TokenError::InvalidGrant(_))),
        "{stolen:?}"
    );
}

#[tokio::test]
async fn rfc8628_3_5_an_approved_code_gives_tokens_like_the_code_grant_once_then_invalid_grant() {
    let (w, client, user, device) = started("openid profile offline_access").await;
    // The user logged in 300 s before approving.
    let browser = session(&user, "s1", START - 300);
    let approved = w
        .device
        .decide(
            &device.user_code,
            &user,
            typist(&browser),
            DeviceAnswer::Approve(None),
        )
        .await
        .expect("approve");
    assert_eq!(approved.client.id, client.id);
    let issued = poll(&w, &client, &device).await.expect("tokens");
    assert!(
        issued.refresh_token.is_some(),
        "offline_access with an OIDC grant gives a refresh token"
    );
    let context = w
        .tokens
        .access(issued.access_token.expose())
        .await
        .expect("check")
        .expect("live");
    assert_eq!(context.user.map(|u| u.id), Some(user.id));

    let id_token = issued.id_token.expect("openid gives an id_token");
    let kid = decode_header(&id_token).expect("header").kid.expect("kid");
    let (alg, key) = w
        .keys
        .decoding_key(&kid)
        .await
        .expect("keys")
        .expect("published kid");
    let mut validation = Validation::new(alg.jwt());
    validation.set_audience(&[client.client_id.as_str()]);
    validation.set_issuer(&[ISSUER]);
    validation.validate_exp = false;
    let claims = decode::<serde_json::Value>(&id_token, &key, &validation)
        .expect("a valid signature")
        .claims;
    assert_eq!(claims["sub"], user.uuid.to_string());
    assert_eq!(claims["auth_time"], START - 300, "the user's login time");

    // The consent is recorded, so the user can see and revoke it.
    let consent = w
        .store
        .consent(user.id, client.id)
        .await
        .expect("read")
        .expect("recorded");
    assert!(
        consent
            .scopes
            .contains(keyward_core::oauth::scope::Scope::OpenId)
    );

    w.clock.advance(5);
    let again = poll(&w, &client, &device).await;
    assert!(
        matches!(again, Err(TokenError::InvalidGrant(_))),
        "{again:?}"
    );
}

#[tokio::test]
async fn rfc8628_3_3_a_user_code_works_once() {
    let (w, _client, user, device) = started("profile").await;
    let browser = session(&user, "s1", START);
    let found = w
        .device
        .find(&device.user_code.to_lowercase(), typist(&browser))
        .await
        .expect("found, whatever the case");
    assert_eq!(found.user_code, device.user_code);
    w.device
        .decide(
            &device.user_code,
            &user,
            typist(&browser),
            DeviceAnswer::Approve(None),
        )
        .await
        .expect("approve");
    let again = w.device.find(&device.user_code, typist(&browser)).await;
    assert!(matches!(again, Err(DeviceError::Unknown)), "{again:?}");
    let answer_again = w
        .device
        .decide(
            &device.user_code,
            &user,
            typist(&browser),
            DeviceAnswer::Deny,
        )
        .await;
    assert!(
        matches!(answer_again, Err(DeviceError::Unknown)),
        "{answer_again:?}"
    );
}

#[tokio::test]
async fn rfc8628_5_1_malformed_and_wrong_user_codes_count_toward_the_session_limit() {
    let (w, _client, user, device) = started("profile").await;
    let browser = session(&user, "s1", START);
    // The right code is not a guess: finding it more often than the limit costs nothing.
    for _ in 0..=GUESSES_PER_SESSION.max {
        w.device
            .find(&device.user_code, typist(&browser))
            .await
            .expect("found");
    }
    for (i, typed) in ["nope", "BCDF-GHJK"]
        .iter()
        .cycle()
        .take(usize::try_from(GUESSES_PER_SESSION.max).expect("small"))
        .enumerate()
    {
        let miss = w.device.find(typed, typist(&browser)).await;
        assert!(
            matches!(miss, Err(DeviceError::Malformed | DeviceError::Unknown)),
            "try {i}: {miss:?}"
        );
    }
    // Even the right code is not looked at once the session is over its limit.
    let blocked = w.device.find(&device.user_code, typist(&browser)).await;
    assert!(
        matches!(blocked, Err(DeviceError::TooManyTries { .. })),
        "{blocked:?}"
    );
    // Another session (from another address) is not blocked by this one's tries.
    let other = session(&user, "s2", START);
    let elsewhere = Typist {
        session: &other,
        ip: "198.51.100.7",
    };
    w.device
        .find(&device.user_code, elsewhere)
        .await
        .expect("another session");
}

#[tokio::test]
async fn rfc8628_5_1_wrong_user_codes_count_toward_the_address_limit_across_sessions() {
    let (w, _client, user, device) = started("profile").await;
    let per_session = GUESSES_PER_SESSION.max - 1;
    let sessions: Vec<Session> = (0..=GUESSES_PER_IP.max / per_session)
        .map(|i| session(&user, &format!("s{i}"), START))
        .collect();
    let mut tries = 0;
    for browser in &sessions {
        for _ in 0..per_session {
            if tries == GUESSES_PER_IP.max {
                break;
            }
            let miss = w.device.find("BCDF-GHJK", typist(browser)).await;
            assert!(matches!(miss, Err(DeviceError::Unknown)), "{miss:?}");
            tries += 1;
        }
    }
    let fresh = session(&user, "fresh", START);
    let blocked = w.device.find(&device.user_code, typist(&fresh)).await;
    assert!(
        matches!(blocked, Err(DeviceError::TooManyTries { .. })),
        "{blocked:?}"
    );
}

#[tokio::test]
async fn rfc8628_3_5_pending_polls_never_count_as_client_authentication_failures() {
    let (w, client, _user, device) = started("profile").await;
    // More polls than the address's and the client's failure budgets (100 each by default).
    for _ in 0..110 {
        let pending = poll(&w, &client, &device).await;
        assert!(
            matches!(pending, Err(TokenError::AuthorizationPending)),
            "{pending:?}"
        );
        w.clock.advance(5);
    }
}

#[tokio::test]
async fn rfc8628_3_5_an_approved_code_is_answered_at_once_however_soon_the_poll() {
    let (w, client, user, device) = started("profile").await;
    assert!(matches!(
        poll(&w, &client, &device).await,
        Err(TokenError::AuthorizationPending)
    ));
    let browser = session(&user, "s1", START);
    w.device
        .decide(
            &device.user_code,
            &user,
            typist(&browser),
            DeviceAnswer::Approve(None),
        )
        .await
        .expect("approve");
    w.clock.advance(1);
    poll(&w, &client, &device)
        .await
        .expect("tokens, without a slow_down");
}
