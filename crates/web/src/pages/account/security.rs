//! `/user/security`: password, two-factor (TOTP), linked identities, e-mail and sessions. Each
//! form posts to its own path, checks the session's CSRF token first, calls the same domain
//! service as the JSON API, and comes back here (`?done=`) or shows why not.

use super::{
    AccountTexts, DoneQuery, ProviderLink, account_texts, hex, notice, provider_links,
    send_verification_code, settings, unavailable, when,
};
use crate::envelope::ApiError;
use crate::pages::login::redirect;
use crate::pages::{
    Chrome, FormError, PageMessage, PagePost, PageUser, Refusal, Texts, TokenOnly, render,
};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use keyward_core::accounts::AccountError;
use keyward_core::accounts::federation::FederationError;
use keyward_core::accounts::two_factor::TwoFactorError;
use keyward_core::secret::SecretHash;
use serde::Deserialize;

struct IdentityRow {
    provider: String,
    label: String,
    display: String,
    bound: String,
}

struct SessionRow {
    handle: String,
    created: String,
    last_seen: String,
    ip: String,
    /// "Chrome · Windows", from the user agent (`keyward_core::user_agent`).
    device: String,
    /// The header itself, for the curious (a tooltip).
    user_agent: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "account/security.html")]
struct SecurityPage {
    t: &'static Texts,
    a: &'static AccountTexts,
    chrome: Chrome,
    csrf_token: String,
    notice: Option<&'static str>,
    error: FormError,
    has_password: bool,
    totp_enabled: bool,
    recovery_left: usize,
    identities: Vec<IdentityRow>,
    bind_links: Vec<ProviderLink>,
    email: Option<String>,
    email_verified: bool,
    smtp: bool,
    email_prefill: String,
    sessions: Vec<SessionRow>,
    passkeys: super::passkeys::PasskeySection,
}

/// A provider's name on the page: WeChat's in the page's language.
fn label_of(t: &Texts, provider: &str) -> String {
    match provider {
        "wechat" => t.wechat.into(),
        "telegram" => "Telegram".into(),
        other => crate::federation::provider_label(other)
            .unwrap_or(other)
            .to_owned(),
    }
}

/// The page as it stands, with an optional notice or error and a pre-filled e-mail field.
pub(super) async fn show(
    state: &AppState,
    page: &PageUser,
    status: StatusCode,
    notice: Option<&'static str>,
    error: FormError,
    email_prefill: &str,
) -> Response {
    let t = page.t;
    let settings = match settings(state, t).await {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let user = match state.store.user_by_id(page.user.id).await {
        Ok(Some(user)) => user,
        Ok(None) => page.user.clone(),
        Err(e) => return unavailable(t, &e),
    };
    let (record, identities, sessions) = match tokio::try_join!(
        state.store.two_factor(user.id),
        state.store.identities_of_user(user.id),
        state
            .store
            .list_user_sessions(user.id, state.accounts.now()),
    ) {
        Ok(found) => found,
        Err(e) => return unavailable(t, &e),
    };
    let passkeys = match super::passkeys::PasskeySection::of(state, page).await {
        Ok(section) => section,
        Err(refused) => return refused,
    };
    let recovery_left =
        serde_json::from_str::<Vec<String>>(&record.recovery_codes).map_or(0, |c| c.len());
    let bind_links = provider_links(&settings, "bind", "/user/security")
        .into_iter()
        .filter(|link| {
            !identities
                .iter()
                .any(|i| crate::federation::provider_label(&i.provider) == Some(link.label))
        })
        .collect();
    let identities = identities
        .iter()
        .map(|i| IdentityRow {
            provider: i.provider.clone(),
            label: label_of(page.t, &i.provider),
            display: i.display.clone(),
            bound: when(i.created_at),
        })
        .collect();
    let sessions = sessions
        .iter()
        .map(|s| SessionRow {
            handle: hex(s.id_hash.as_bytes()),
            created: when(s.created_at),
            last_seen: when(s.last_seen_at),
            ip: s.ip.clone(),
            device: keyward_core::user_agent::friendly_name(&s.user_agent)
                .unwrap_or_else(|| account_texts(t).unknown_device.to_owned()),
            user_agent: s.user_agent.clone(),
            current: s.id_hash == page.session.id_hash,
        })
        .collect();
    let smtp = !settings.smtp_host.is_empty();
    // Fields of the sections this page does not show as it stands.
    let mut hidden = Vec::new();
    if user.password_hash.is_none() {
        hidden.push("current");
    }
    if !record.enabled {
        hidden.push("disable-code");
    }
    if !smtp || user.email_verified {
        hidden.extend(["email", "email-code"]);
    }
    if !smtp || !user.email_verified {
        hidden.extend(["new-email", "new-email-code"]);
    }
    let error = error.unless_hidden(&hidden);
    render(
        status,
        &SecurityPage {
            t,
            a: account_texts(t),
            chrome: page.chrome(),
            csrf_token: page.csrf.clone(),
            notice,
            error,
            has_password: user.password_hash.is_some(),
            totp_enabled: record.enabled,
            recovery_left: if record.enabled { recovery_left } else { 0 },
            identities,
            bind_links,
            email: user.email.clone(),
            email_verified: user.email_verified,
            smtp,
            email_prefill: email_prefill.to_owned(),
            sessions,
            passkeys,
        },
    )
}

/// Shows a refusal on the page, in the page's language, at the field whose id is `field` (""
/// for the page as a whole); our own failures get the unavailable page.
pub(super) async fn refused(
    state: &AppState,
    page: &PageUser,
    field: &'static str,
    e: impl PageMessage + Into<ApiError>,
) -> Response {
    match Refusal::of(page.t, e) {
        Refusal::Shown(status, message) => {
            let error = FormError::of_field(field, Some(message));
            show(state, page, status, None, error, "").await
        }
        Refusal::Ours(detail) => unavailable(page.t, &detail),
    }
}

/// Back to the page with the notice for `done` (a key of `notice`), or the refusal on it.
async fn finish<E: PageMessage + Into<ApiError>>(
    state: &AppState,
    page: &PageUser,
    outcome: Result<(), E>,
    done: &str,
    field: &'static str,
) -> Response {
    match outcome {
        Ok(()) => redirect(&format!("/user/security?done={done}")),
        Err(e) => refused(state, page, field, e).await,
    }
}

pub async fn get(
    State(state): State<AppState>,
    page: PageUser,
    Query(query): Query<DoneQuery>,
) -> Response {
    let a = account_texts(page.t);
    let done = notice(a, query.done.as_deref()).or_else(|| super::passkeys::notice(page.t, &query));
    let error = FormError::of(query.error(page.t));
    show(&state, &page, StatusCode::OK, done, error, "").await
}

/// The page with `message` as its error (for the sections kept in other modules).
pub async fn show_error(
    state: &AppState,
    page: &PageUser,
    status: StatusCode,
    message: String,
) -> Response {
    show(state, page, status, None, FormError::form(message), "").await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    current: String,
    password: String,
    password2: String,
}

/// `POST /user/security/password`: every session ends (as `PUT /api/user/self` does); this
/// browser gets a fresh one.
pub async fn password(
    jar: CookieJar,
    PagePost {
        state,
        page,
        client,
        form,
    }: PagePost<PasswordForm>,
) -> Response {
    let a = account_texts(page.t);
    if form.password != form.password2 {
        return show(
            &state,
            &page,
            StatusCode::OK,
            None,
            FormError::at("new-password2", a.passwords_differ),
            "",
        )
        .await;
    }
    let mail = crate::federation::email::mail_context(&state);
    let change = keyward_core::accounts::Change {
        ip: &client.ip,
        mail: &mail,
    };
    if let Err(e) = state
        .accounts
        .change_password(&page.user, &form.current, &form.password, &change)
        .await
    {
        let field = match e {
            AccountError::WrongCurrentPassword => "current",
            AccountError::Invalid(_) => "new-password",
            _ => "",
        };
        return refused(&state, &page, field, e).await;
    }
    tracing::info!(user.id = page.user.id, "password changed on the page");
    match crate::account::login::open_session(&state, jar, &page.user, &client).await {
        Ok(jar) => (jar, redirect("/user/security?done=password")).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Template)]
#[template(path = "account/totp_setup.html")]
struct TotpSetupPage {
    t: &'static Texts,
    a: &'static AccountTexts,
    chrome: Chrome,
    csrf_token: String,
    secret: String,
    otpauth_url: String,
    /// `data:image/svg+xml;base64,...`: allowed by the CSP's `img-src data:`.
    qr: Option<String>,
    codes: Vec<String>,
    /// A wrong code, said at the code field.
    error: FormError,
}

fn qr_data_uri(text: &str) -> Option<String> {
    use base64::Engine as _;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Some(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

fn setup_page(
    page: &PageUser,
    secret: String,
    otpauth_url: String,
    codes: Vec<String>,
    error: Option<String>,
) -> Response {
    let qr = qr_data_uri(&otpauth_url);
    render(
        crate::pages::form_status(&error),
        &TotpSetupPage {
            t: page.t,
            a: account_texts(page.t),
            chrome: page.chrome(),
            csrf_token: page.csrf.clone(),
            secret,
            otpauth_url,
            qr,
            codes,
            error: FormError::of_field("code", error),
        },
    )
}

/// `POST /user/security/totp/setup`: a new secret and recovery codes, shown on this answer
/// only; two-factor stays off until a code confirms it.
pub async fn totp_setup(PagePost { state, page, .. }: PagePost<TokenOnly>) -> Response {
    match state.two_factor.begin(&page.user).await {
        Ok(e) => setup_page(&page, e.secret, e.otpauth_url, e.backup_codes, None),
        Err(e) => refused(&state, &page, "", e).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EnableForm {
    code: String,
    /// What the setup page showed, carried only to show it again after a mistyped code; the
    /// server's own record decides.
    secret: String,
    otpauth_url: String,
    codes: String,
}

/// `POST /user/security/totp/enable`.
pub async fn totp_enable(
    PagePost {
        state,
        page,
        client,
        form,
    }: PagePost<EnableForm>,
) -> Response {
    let settings = match state.settings.get().await {
        Ok(settings) => settings,
        Err(e) => return refused(&state, &page, "", e).await,
    };
    match state
        .two_factor
        .enable(&page.user, &form.code, &settings, &client.ip)
        .await
    {
        Ok(()) => redirect("/user/security?done=totp_on"),
        Err(TwoFactorError::WrongCode) if form.otpauth_url.starts_with("otpauth://") => {
            let codes = form
                .codes
                .split_whitespace()
                .take(20)
                .map(|c| c.chars().take(32).collect())
                .collect();
            setup_page(
                &page,
                form.secret.chars().take(64).collect(),
                form.otpauth_url.chars().take(512).collect(),
                codes,
                Some(page.t.error(&TwoFactorError::WrongCode)),
            )
        }
        Err(e) => refused(&state, &page, "", e).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    code: String,
}

/// `POST /user/security/totp/disable`: needs a current code or a recovery code.
pub async fn totp_disable(
    PagePost {
        state,
        page,
        client,
        form,
    }: PagePost<CodeForm>,
) -> Response {
    let settings = match state.settings.get().await {
        Ok(settings) => settings,
        Err(e) => return refused(&state, &page, "", e).await,
    };
    let mail = crate::federation::email::mail_context(&state);
    let change = keyward_core::accounts::Change {
        ip: &client.ip,
        mail: &mail,
    };
    let disabled = state
        .two_factor
        .disable(&page.user, &form.code, &settings, &change)
        .await;
    finish(&state, &page, disabled, "totp_off", "disable-code").await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UnbindForm {
    provider: String,
}

/// `POST /user/security/identities/unbind`: refused for the account's last way in.
pub async fn unbind(
    PagePost {
        state,
        page,
        client,
        form,
    }: PagePost<UnbindForm>,
) -> Response {
    let unlinked = state
        .accounts
        .unlink_identity(&page.user, &form.provider, &client.ip)
        .await;
    if let Err(e @ FederationError::NotLinked) = unlinked {
        // A 404, as `DELETE /api/user/identities/{provider}` answers it.
        let message = FormError::form(page.t.error(&e));
        return show(&state, &page, StatusCode::NOT_FOUND, None, message, "").await;
    }
    finish(&state, &page, unlinked, "unbound", "").await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EmailForm {
    email: String,
    code: String,
    /// `send_code` or `bind`.
    action: String,
}

/// `POST /user/security/email`: send a code to the address, or bind it with the code.
pub async fn email(
    PagePost {
        state,
        page,
        client,
        form,
    }: PagePost<EmailForm>,
) -> Response {
    if form.action == "send_code" {
        let user = Some(page.user.id);
        return match send_verification_code(&state, &form.email, &client.ip, user).await {
            Ok(()) => {
                let sent = Some(account_texts(page.t).code_sent);
                let none = FormError::none();
                show(&state, &page, StatusCode::OK, sent, none, &form.email).await
            }
            Err(e) => refused(&state, &page, "email", e).await,
        };
    }
    let bound = state
        .accounts
        .bind_email(&page.user, &form.email, &form.code, &client.ip)
        .await;
    finish(&state, &page, bound, "email", "email-code").await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EndForm {
    /// Hex SHA-256 of the session id, as the list shows it.
    handle: String,
}

fn parse_handle(handle: &str) -> Option<SecretHash> {
    if handle.len() != 64 || !handle.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(handle.get(i * 2..i * 2 + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    SecretHash::from_slice(&bytes)
}

/// `POST /user/security/sessions/end`: ends one of the user's sessions; ending this one logs
/// this browser out.
pub async fn end_session(
    jar: CookieJar,
    PagePost {
        state,
        page,
        client,
        form,
    }: PagePost<EndForm>,
) -> Response {
    let Some(hash) = parse_handle(&form.handle) else {
        return redirect("/user/security");
    };
    match state
        .accounts
        .end_user_session(page.user.id, &hash, &client.ip)
        .await
    {
        Ok(true) if hash == page.session.id_hash => {
            let name = state.config.session_cookie_name();
            let jar = jar.remove(Cookie::build(name).path("/"));
            (jar, redirect("/login")).into_response()
        }
        Ok(true) => redirect("/user/security?done=ended"),
        Ok(false) => redirect("/user/security"),
        Err(e) => unavailable(page.t, &e),
    }
}

/// `POST /user/security/sessions/others`: ends every session but this one.
pub async fn end_others(
    PagePost {
        state,
        page,
        client,
        ..
    }: PagePost<TokenOnly>,
) -> Response {
    match state
        .accounts
        .end_other_sessions(page.user.id, &page.session.id_hash, &client.ip)
        .await
    {
        Ok(_) => redirect("/user/security?done=others"),
        Err(e) => unavailable(page.t, &e),
    }
}

#[cfg(test)]
pub(crate) fn samples(t: &'static Texts) -> crate::pages::Gallery {
    let a = account_texts(t);
    let security = |on: bool| SecurityPage {
        t,
        a,
        chrome: super::sample_chrome(t, "/user/security"),
        csrf_token: "csrf".into(),
        notice: Some(a.password_changed),
        error: FormError::at("current", "验证码无效 <b>"),
        has_password: on,
        totp_enabled: on,
        recovery_left: if on { 7 } else { 0 },
        identities: if on {
            vec![
                IdentityRow {
                    provider: "github".into(),
                    label: label_of(t, "github"),
                    display: "alice-gh".into(),
                    bound: when(1_767_225_600),
                },
                IdentityRow {
                    provider: "wechat".into(),
                    label: label_of(t, "wechat"),
                    display: "Alice <wx>".into(),
                    bound: when(1_767_225_600),
                },
            ]
        } else {
            Vec::new()
        },
        bind_links: vec![ProviderLink {
            label: "LinuxDO",
            href: "/api/oauth/linuxdo/start?intent=bind&return_to=%2Fuser%2Fsecurity".into(),
        }],
        email: on.then(|| "alice@example.com".into()),
        email_verified: on,
        smtp: on,
        email_prefill: "alice@example.com".into(),
        passkeys: super::passkeys::PasskeySection {
            p: super::passkeys::passkey_texts(t),
            available: true,
            recent: on,
            rows: if on {
                vec![super::passkeys::PasskeyRow {
                    id: 7,
                    name: "Laptop <b>".into(),
                    created: when(1_767_225_600),
                    last_used: Some(when(1_767_229_200)),
                }]
            } else {
                Vec::new()
            },
        },
        sessions: vec![
            SessionRow {
                handle: hex(SecretHash::of("ses_a").as_bytes()),
                created: when(1_767_225_600),
                last_seen: when(1_767_229_200),
                ip: "203.0.113.7".into(),
                device: "Firefox · Linux".into(),
                user_agent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0".into(),
                current: true,
            },
            SessionRow {
                handle: hex(SecretHash::of("ses_b").as_bytes()),
                created: when(1_767_225_600),
                last_seen: when(1_767_225_700),
                ip: "2001:db8::1".into(),
                device: "curl".into(),
                user_agent: "curl/8.5 <x>".into(),
                current: false,
            },
        ],
    };
    let otpauth_url =
        "otpauth://totp/Keyward:alice?secret=JBSWY3DPEHPK3PXP&issuer=Keyward".to_owned();
    let setup = TotpSetupPage {
        t,
        a,
        chrome: super::sample_chrome(t, "/user/security"),
        csrf_token: "csrf".into(),
        secret: "JBSWY3DPEHPK3PXP".into(),
        qr: qr_data_uri(&otpauth_url),
        otpauth_url,
        codes: vec!["a1b2-c3d4".into(), "e5f6-0718".into()],
        error: FormError::at("code", t.error(&TwoFactorError::WrongCode)),
    };
    vec![
        (
            "account/security.html",
            security(true).render().unwrap_or_default(),
        ),
        (
            "account/security.html",
            security(false).render().unwrap_or_default(),
        ),
        (
            "account/totp_setup.html",
            setup.render().unwrap_or_default(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::{hex, parse_handle};
    use keyward_core::secret::SecretHash;

    #[test]
    fn session_handles_round_trip_and_refuse_junk() {
        let hash = SecretHash::of("ses_x");
        assert!(parse_handle(&hex(hash.as_bytes())) == Some(hash));
        assert!(parse_handle("zz").is_none());
        assert!(parse_handle(&"g".repeat(64)).is_none());
        assert!(parse_handle(&"é".repeat(32)).is_none());
    }
}
