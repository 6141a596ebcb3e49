//! `/user/setting/oauth`: the developer console. Developers register apps, follow their review,
//! edit them, read the one-time secret, rotate it, delete apps, and get an integration guide
//! filled with their app's values. Every action goes through the same functions as
//! `/api/oauth_apps`. No GET mints a secret: the first one is shown on an explicit POST, and a
//! fresh secret is held for a few minutes (see `held`) so that a reload or the language switch
//! does not lose it.

mod edit;
mod held;
mod texts;

pub use edit::{edit, edit_form, withdraw_change};

pub use texts::{ConsoleTexts, console_texts};

use super::{
    Chrome, PagePost, PageUser, Texts, TokenOnly, error_page, login::redirect, render, unavailable,
};
use crate::extract::Client;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum_extra::extract::CookieJar;
use keyward_core::model::{Client as App, ClientDetails, ClientStatus, GrantType};
use keyward_core::oauth::apps::{AppError, AppForm};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
#[cfg(test)]
use {crate::pages::Gallery, keyward_core::model::User};

/// An app as the console shows it.
pub struct AppRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub client_id: String,
    /// `pending`, `approved`, ... for the badge's class.
    pub status_key: &'static str,
    pub status: &'static str,
    pub approved: bool,
    pub review_note: String,
    pub redirect_uris: Vec<String>,
    pub scopes: String,
    pub grant_types: String,
    pub public: bool,
    pub trusted: bool,
    pub secret_revealed: bool,
    /// Whether the app has a client secret at all (confidential, not `private_key_jwt`).
    pub uses_secret: bool,
    pub created: String,
    pub post_logout_redirect_uris: Vec<String>,
    pub logo_uri: Option<String>,
    pub client_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub reviewed: bool,
    /// The change waiting for review, as what it would change.
    pub pending: Option<PendingRow>,
}

/// A change waiting for review: each field it changes, with the value asked for.
pub struct PendingRow {
    pub since: String,
    pub lines: Vec<(&'static str, String)>,
}

impl PendingRow {
    pub fn new(c: &ConsoleTexts, app: &App) -> Option<Self> {
        let change = app.pending_change.as_ref()?;
        Some(Self {
            since: format_time(app.pending_since.unwrap_or(app.updated_at)),
            lines: change_lines(c, &app.details(), change),
        })
    }
}

/// What `change` would change about `current`, as labelled lines.
pub fn change_lines(
    c: &ConsoleTexts,
    current: &ClientDetails,
    change: &ClientDetails,
) -> Vec<(&'static str, String)> {
    let link = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    keyward_core::oauth::app_edit::changed_fields(current, change)
        .into_iter()
        .map(|field| match field {
            "name" => (c.name, change.name.clone()),
            "description" => (c.description, change.description.clone()),
            "redirect_uris" => (c.redirect_uris, change.redirect_uris.join("\n")),
            "post_logout_redirect_uris" => (
                c.post_logout_redirect_uris,
                change.post_logout_redirect_uris.join("\n"),
            ),
            "scopes" => (c.scopes, change.scope_set().to_string()),
            "logo_uri" => (c.logo_uri, link(&change.logo_uri)),
            "client_uri" => (c.client_uri, link(&change.client_uri)),
            _ => (c.policy_uri, link(&change.policy_uri)),
        })
        .collect()
}

impl AppRow {
    pub fn new(c: &ConsoleTexts, app: &App) -> Self {
        Self {
            id: app.id,
            name: app.name.clone(),
            description: app.description.clone(),
            client_id: app.client_id.clone(),
            status_key: app.status.as_str(),
            status: c.status(app.status),
            approved: app.status == ClientStatus::Approved,
            review_note: app.review_note.clone(),
            redirect_uris: app.redirect_uris.clone(),
            scopes: app.allowed_scopes.to_string(),
            grant_types: app.grant_types_string(),
            public: app.public,
            trusted: app.trusted,
            secret_revealed: app.secret_revealed_at.is_some(),
            uses_secret: app.auth_method.uses_secret(),
            created: format_time(app.created_at),
            post_logout_redirect_uris: app.post_logout_redirect_uris.clone(),
            logo_uri: app.logo_uri.clone(),
            client_uri: app.client_uri.clone(),
            policy_uri: app.policy_uri.clone(),
            reviewed: app.reviewed_at.is_some(),
            pending: PendingRow::new(c, app),
        }
    }
}

/// `2026-05-01 08:30 UTC`; empty if it is out of range.
pub fn format_time(unix: i64) -> String {
    super::utc_minutes(unix).unwrap_or_default()
}

/// What every console page carries: the words, the navigation and the form token. The page
/// structs deref to it, so their templates read `t`, `c` or `csrf` as their own.
pub struct ConsoleFrame {
    pub t: &'static Texts,
    pub chrome: Chrome,
    pub c: &'static ConsoleTexts,
    pub csrf: String,
}

impl ConsoleFrame {
    pub fn new(t: &'static Texts, chrome: Chrome, csrf: String) -> Self {
        Self {
            t,
            chrome,
            c: console_texts(t),
            csrf,
        }
    }
}

crate::pages::framed!(ConsoleFrame => ConsolePage, AppPage, DeletePage, edit::EditPage);

/// One box or radio button of the apply form: a scope, or the kind of app.
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    /// Shown under the choice; empty for none.
    pub hint: &'static str,
    pub checked: bool,
}

/// What the apply form shows: empty, or what was submitted when it was refused.
#[derive(Default)]
pub struct ApplyValues {
    pub name: String,
    pub description: String,
    pub redirect_uris: String,
    pub scopes: Vec<String>,
    pub kind: AppKind,
}

/// What a developer builds, which decides the client type and the grants (RFC 8252 for native
/// apps): the console's one choice instead of raw flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AppKind {
    /// Confidential; authorization code and refresh token.
    #[default]
    Web,
    /// Public (no secret, PKCE); authorization code, refresh token and the device grant.
    Native,
    /// Confidential; client_credentials only, no redirect URI needed.
    Api,
}

impl AppKind {
    pub const ALL: [AppKind; 3] = [Self::Web, Self::Native, Self::Api];

    fn parse(value: &str) -> Self {
        match value {
            "native" => Self::Native,
            "api" => Self::Api,
            _ => Self::Web,
        }
    }

    pub fn value(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Native => "native",
            Self::Api => "api",
        }
    }

    /// The choice's label and hint in the page's language.
    pub fn words(self, c: &ConsoleTexts) -> (&'static str, &'static str) {
        match self {
            Self::Web => (c.kind_web, c.kind_web_hint),
            Self::Native => (c.kind_native, c.kind_native_hint),
            Self::Api => (c.kind_api, c.kind_api_hint),
        }
    }

    /// `None`: the default (authorization code and refresh token).
    fn grant_types(self) -> Option<Vec<String>> {
        let grants: &[GrantType] = match self {
            Self::Web => return None,
            // A CLI may have no browser of its own: the device flow (RFC 8628) besides.
            Self::Native => &[
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
                GrantType::DeviceCode,
            ],
            Self::Api => &[GrantType::ClientCredentials],
        };
        Some(grants.iter().map(|g| g.as_str().to_owned()).collect())
    }
}

impl ApplyValues {
    fn scope_choices(&self, t: &Texts) -> Vec<Choice> {
        [
            ("openid", t.scope_openid),
            ("profile", t.scope_profile),
            ("email", t.scope_email),
            ("balance", t.scope_balance),
            ("offline_access", t.scope_offline),
        ]
        .into_iter()
        .map(|(value, label)| Choice {
            value,
            label,
            hint: "",
            checked: self.scopes.iter().any(|s| s == value),
        })
        .collect()
    }

    fn kind_choices(&self, c: &ConsoleTexts) -> Vec<Choice> {
        AppKind::ALL
            .into_iter()
            .map(|kind| {
                let (label, hint) = kind.words(c);
                Choice {
                    value: kind.value(),
                    label,
                    hint,
                    checked: kind == self.kind,
                }
            })
            .collect()
    }
}

#[derive(Template)]
#[template(path = "console.html")]
pub struct ConsolePage {
    pub frame: ConsoleFrame,
    pub apps: Vec<AppRow>,
    pub form: ApplyValues,
    pub scope_choices: Vec<Choice>,
    pub kinds: Vec<Choice>,
    pub error: Option<String>,
    pub notice: Option<&'static str>,
}

/// The values the integration guide fills in.
pub struct Guide {
    pub authorize_url: String,
    pub token_request: String,
    pub userinfo_request: String,
}

#[derive(Template)]
#[template(path = "console_app.html")]
pub struct AppPage {
    pub frame: ConsoleFrame,
    pub app: AppRow,
    /// A fresh secret held for this session (see `held`), until the owner says they saved it.
    pub secret: Option<String>,
    pub guide: Guide,
    /// The rotation form was sent without its confirmation.
    pub rotate_error: Option<&'static str>,
    pub notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "console_delete.html")]
pub struct DeletePage {
    pub frame: ConsoleFrame,
    pub app: AppRow,
}

const LIST: &str = "/user/setting/oauth";

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    done: String,
}

/// `GET /user/setting/oauth`.
pub async fn list(
    State(state): State<AppState>,
    page: PageUser,
    Query(query): Query<ListQuery>,
) -> Response {
    let c = console_texts(page.t);
    let notice = (query.done == "deleted").then_some(c.deleted);
    let form = ApplyValues {
        scopes: vec!["profile".into(), "balance".into()],
        ..ApplyValues::default()
    };
    list_page(&state, &page, StatusCode::OK, form, None, notice).await
}

async fn list_page(
    state: &AppState,
    page: &PageUser,
    status: StatusCode,
    form: ApplyValues,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Response {
    let c = console_texts(page.t);
    let apps = match state.store.clients_of_owner(page.user.id).await {
        Ok(apps) => apps,
        Err(e) => return unavailable(page.t, &e),
    };
    render(
        status,
        &ConsolePage {
            frame: ConsoleFrame::new(
                page.t,
                Chrome::new(page.t, LIST, Some(&page.user)),
                page.csrf.clone(),
            ),
            apps: apps.iter().map(|a| AppRow::new(c, a)).collect(),
            scope_choices: form.scope_choices(page.t),
            kinds: form.kind_choices(c),
            form,
            error,
            notice,
        },
    )
}

/// `POST /user/setting/oauth`: the apply form. Repeated `scope` fields, so a list of pairs.
pub async fn apply(
    State(state): State<AppState>,
    page: PageUser,
    Client(client): Client,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    if let Some(refused) = page.refuse_csrf(field("csrf_token")) {
        return refused;
    }
    let values = ApplyValues {
        name: field("name").to_owned(),
        description: field("description").to_owned(),
        redirect_uris: field("redirect_uris").to_owned(),
        scopes: fields
            .iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.clone())
            .collect(),
        kind: AppKind::parse(field("kind")),
    };
    let form = AppForm {
        name: values.name.clone(),
        description: values.description.clone(),
        redirect_uris: values
            .redirect_uris
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        scopes: Some(values.scopes.join(" ")),
        grant_types: values.kind.grant_types(),
        public: values.kind == AppKind::Native,
        ..AppForm::default()
    };
    match state.apps.create(&page.user, form, &client.ip).await {
        // Approved at once (review off): the secret is held for the app's page.
        Ok((app, Some(secret))) => held::hold(&state, &page.session, app.id, secret),
        Ok((app, None)) => redirect(&format!("{LIST}/{}", app.id)),
        Err(e @ (AppError::Store(_) | AppError::Settings(_))) => unavailable(page.t, &e),
        Err(e) => {
            let message = page.t.error(&e);
            list_page(
                &state,
                &page,
                StatusCode::BAD_REQUEST,
                values,
                Some(message),
                None,
            )
            .await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DetailQuery {
    done: String,
}

/// `GET /user/setting/oauth/{id}`: the app, and a fresh secret held for this session. Never
/// mints a secret (unlike the seed documents' `GET /api/oauth_apps/{id}`).
pub async fn detail(
    State(state): State<AppState>,
    page: PageUser,
    jar: CookieJar,
    Path(id): Path<String>,
    Query(query): Query<DetailQuery>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found(page.t);
    };
    let c = console_texts(page.t);
    let notice = match query.done.as_str() {
        "edited" => Some(c.edited),
        "pending" => Some(c.edit_pending),
        "withdrawn" => Some(c.change_withdrawn),
        "saved" => Some(c.secret_hidden),
        _ => None,
    };
    match state.apps.show(&page.user, id).await {
        Ok(app) => {
            let secret = held::held(&state, &jar, &page.session, &app);
            app_page(&state, &page, &app, secret, None, notice)
        }
        Err(e) => app_failure(page.t, &e),
    }
}

/// `POST /user/setting/oauth/{id}/reveal`: the explicit "show the secret" of an approved app
/// whose first secret was never shown; it is minted now and held for the page.
pub async fn reveal(
    Path(id): Path<String>,
    PagePost {
        state,
        page,
        client,
        ..
    }: PagePost<TokenOnly>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found(page.t);
    };
    match state.apps.reveal(&page.user, id, &client.ip).await {
        Ok((app, secret)) => held::hold(&state, &page.session, app.id, secret),
        Err(e) => app_failure(page.t, &e),
    }
}

/// `POST /user/setting/oauth/{id}/saved`: "I saved it": the page stops showing the secret.
pub async fn saved(
    Path(id): Path<String>,
    PagePost { state, page, .. }: PagePost<TokenOnly>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found(page.t);
    };
    held::forget(&state, id)
}

/// What the rotation form offers when nothing was chosen: a day for the old secret.
pub const DEFAULT_GRACE_SECS: i64 = 86_400;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RotateForm {
    grace_seconds: String,
    /// The box that confirms the rotation; nothing happens without it.
    confirm: String,
}

/// `POST /user/setting/oauth/{id}/rotate`: with its confirmation, a new secret, held for the
/// page; the old one keeps working for the chosen grace period (a day unless chosen otherwise).
pub async fn rotate(
    Path(id): Path<String>,
    PagePost {
        state,
        page,
        client,
        form,
    }: PagePost<RotateForm>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found(page.t);
    };
    if form.confirm != "yes" {
        return match state.apps.show(&page.user, id).await {
            Ok(app) => {
                let mut response = app_page(
                    &state,
                    &page,
                    &app,
                    None,
                    Some(console_texts(page.t).rotate_confirm_missing),
                    None,
                );
                *response.status_mut() = StatusCode::BAD_REQUEST;
                response
            }
            Err(e) => app_failure(page.t, &e),
        };
    }
    let grace = match form.grace_seconds.trim() {
        "" => DEFAULT_GRACE_SECS,
        text => match text.parse::<i64>() {
            Ok(secs) => secs,
            Err(_) => return app_failure(page.t, &AppError::Grace),
        },
    };
    match state
        .apps
        .rotate_secret(&page.user, id, grace, &client.ip)
        .await
    {
        Ok((app, secret)) => held::hold(&state, &page.session, app.id, secret),
        Err(e) => app_failure(page.t, &e),
    }
}

/// `GET /user/setting/oauth/{id}/delete`: the confirmation step (no script needed).
pub async fn confirm_delete(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found(page.t);
    };
    let app = match state.store.client_by_pk(id).await {
        Ok(Some(app)) if app.owner_id == Some(page.user.id) => app,
        Ok(_) => return not_found(page.t),
        Err(e) => return unavailable(page.t, &e),
    };
    let c = console_texts(page.t);
    render(
        StatusCode::OK,
        &DeletePage {
            frame: ConsoleFrame::new(page.t, page.chrome(), page.csrf.clone()),
            app: AppRow::new(c, &app),
        },
    )
}

/// `POST /user/setting/oauth/{id}/delete`.
pub async fn delete(
    Path(id): Path<String>,
    PagePost {
        state,
        page,
        client,
        ..
    }: PagePost<TokenOnly>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found(page.t);
    };
    match state.apps.delete(&page.user, id, &client.ip).await {
        Ok(_) => redirect(&format!("{LIST}?done=deleted")),
        Err(e) => app_failure(page.t, &e),
    }
}

fn app_page(
    state: &AppState,
    page: &PageUser,
    app: &App,
    secret: Option<String>,
    rotate_error: Option<&'static str>,
    notice: Option<&'static str>,
) -> Response {
    let c = console_texts(page.t);
    let html = AppPage {
        frame: ConsoleFrame::new(
            page.t,
            Chrome::new(page.t, &format!("{LIST}/{}", app.id), Some(&page.user)),
            page.csrf.clone(),
        ),
        guide: guide(&state.config.public_url, app),
        app: AppRow::new(c, app),
        secret,
        rotate_error,
        notice,
    };
    let mut response = render(StatusCode::OK, &html);
    // The page may carry a secret: no cache may keep it, and a back button must not show it.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// RFC 3986 unreserved characters stay as they are.
pub(crate) const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn guide(public_url: &str, app: &App) -> Guide {
    let base = public_url.trim_end_matches('/');
    let redirect_uri = app.redirect_uris.first().map(String::as_str).unwrap_or("");
    let scopes = app.allowed_scopes.to_string();
    let authorize_url = format!(
        "{base}/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}\
         &state=RANDOM_STATE&code_challenge=BASE64URL_SHA256_OF_VERIFIER&code_challenge_method=S256",
        utf8_percent_encode(&app.client_id, QUERY),
        utf8_percent_encode(redirect_uri, QUERY),
        utf8_percent_encode(&scopes, QUERY),
    );
    // The secret is always a placeholder here: it was shown once and belongs on the server.
    let secret_line = if app.public {
        String::new()
    } else {
        "  -d client_secret=\"$CLIENT_SECRET\" \\\n".to_owned()
    };
    let token_request = format!(
        "curl -X POST {base}/api/oauth2/token \\\n  -d grant_type=authorization_code \\\n  \
         -d code=\"$CODE\" \\\n  --data-urlencode redirect_uri='{redirect_uri}' \\\n  \
         -d client_id={} \\\n{secret_line}  -d code_verifier=\"$CODE_VERIFIER\"",
        app.client_id
    );
    let userinfo_request =
        format!("curl -H \"Authorization: Bearer $ACCESS_TOKEN\" {base}/api/oauth2/userinfo");
    Guide {
        authorize_url,
        token_request,
        userinfo_request,
    }
}

fn not_found(t: &'static Texts) -> Response {
    error_page(StatusCode::NOT_FOUND, t, console_texts(t).app_not_found)
}

/// The page for an app action core refused.
pub(crate) fn app_failure(t: &'static Texts, e: &AppError) -> Response {
    match e {
        AppError::NotFound => not_found(t),
        AppError::Store(_) | AppError::Settings(_) => unavailable(t, e),
        other => error_page(StatusCode::BAD_REQUEST, t, &t.error(other)),
    }
}

/// An app as the store would return it, for tests of the pages.
#[cfg(test)]
pub(crate) fn sample_app(status: ClientStatus) -> App {
    App {
        id: 7,
        client_id: "client_sample".into(),
        owner_id: Some(2),
        name: "Sample <App>".into(),
        description: "Signs users in & reads balances".into(),
        redirect_uris: vec!["https://app.example.com/cb?x=1&y=2".into()],
        post_logout_redirect_uris: Vec::new(),
        allowed_scopes: keyward_core::oauth::scope::ScopeSet::parse("openid profile balance")
            .unwrap_or_default(),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        public: false,
        secret_hash: None,
        previous_secret_hash: None,
        previous_secret_expires_at: None,
        secret_revealed_at: None,
        status,
        review_note: "请补充隐私政策 <b>".into(),
        trusted: false,
        may_spend: false,
        billing_service: false,
        id_token_alg: keyward_core::oidc::SigningAlg::Rs256,
        allowed_resources: None,
        auth_method: keyward_core::model::AuthMethod::ClientSecretBasic,
        jwks: None,
        jwks_uri: None,
        kind: keyward_core::model::ClientKind::Console,
        registration_token_hash: None,
        metadata_expires_at: None,
        last_used_at: None,
        logo_uri: None,
        client_uri: None,
        policy_uri: None,
        pending_change: None,
        pending_since: None,
        reviewed_at: None,
        created_at: 1_767_225_600,
        updated_at: 1_767_225_600,
    }
}

/// This module's templates with sample data, for the test that renders every template.
#[cfg(test)]
pub(crate) fn samples(t: &'static crate::pages::Texts, user: &User) -> Gallery {
    let c = console_texts(t);
    let apps: Vec<App> = [
        ClientStatus::Pending,
        ClientStatus::Approved,
        ClientStatus::Rejected,
        ClientStatus::Disabled,
    ]
    .into_iter()
    .map(sample_app)
    .collect();
    let mut apps = apps;
    {
        let approved = &mut apps[1];
        approved.logo_uri = Some("https://app.example.com/logo.png".into());
        approved.client_uri = Some("https://app.example.com/".into());
        approved.policy_uri = Some("https://app.example.com/privacy".into());
        approved.reviewed_at = Some(1_767_225_600);
        let mut change = approved.details();
        change.name = "Renamed <App>".into();
        change
            .redirect_uris
            .push("https://new.example.net/cb".into());
        approved.pending_change = Some(change);
        approved.pending_since = Some(1_767_225_700);
    }
    let form = ApplyValues {
        name: "x".into(),
        scopes: vec!["profile".into()],
        ..ApplyValues::default()
    };
    let list = ConsolePage {
        frame: ConsoleFrame::new(t, Chrome::new(t, LIST, Some(user)), "csrf".into()),
        apps: apps.iter().map(|a| AppRow::new(c, a)).collect(),
        scope_choices: form.scope_choices(t),
        kinds: form.kind_choices(c),
        form,
        error: Some("重定向 URI 无效".into()),
        notice: Some(c.deleted),
    };
    let approved = &apps[1];
    let detail = |secret: Option<String>| AppPage {
        frame: ConsoleFrame::new(
            t,
            Chrome::new(t, "/user/setting/oauth/7", Some(user)),
            "csrf".into(),
        ),
        app: AppRow::new(c, approved),
        secret,
        guide: guide("https://id.example.com", approved),
        rotate_error: Some(c.rotate_confirm_missing),
        notice: Some(c.edit_pending),
    };
    let delete = DeletePage {
        frame: ConsoleFrame::new(
            t,
            Chrome::new(t, "/user/setting/oauth/7/delete", Some(user)),
            "csrf".into(),
        ),
        app: AppRow::new(c, approved),
    };
    let edit = edit::EditPage {
        frame: ConsoleFrame::new(
            t,
            Chrome::new(t, "/user/setting/oauth/7/edit", Some(user)),
            "csrf".into(),
        ),
        app: AppRow::new(c, approved),
        form: edit::EditValues {
            name: "Sample <App>".into(),
            logo_uri: "http://insecure.example/logo.png".into(),
            scopes: vec!["profile".into()],
            ..edit::EditValues::default()
        },
        scope_choices: ApplyValues::default().scope_choices(t),
        error: Some(edit::FieldError {
            field: "logo_uri",
            message: "The logo must be an https address.".into(),
        }),
        review_required: true,
    };
    vec![
        ("console.html", list.render().unwrap_or_default()),
        ("console_edit.html", edit.render().unwrap_or_default()),
        (
            "console_app.html",
            detail(Some("secret_abc".into()))
                .render()
                .unwrap_or_default(),
        ),
        (
            "console_app.html",
            detail(None).render().unwrap_or_default(),
        ),
        ("console_delete.html", delete.render().unwrap_or_default()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_fills_in_the_app_and_never_its_secret() {
        let app = sample_app(ClientStatus::Approved);
        let g = guide("https://id.example.com/", &app);
        assert!(g.authorize_url.starts_with(
            "https://id.example.com/oauth/authorize?response_type=code&client_id=client_sample\
             &redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb%3Fx%3D1%26y%3D2&scope=openid%20profile%20balance"
        ), "{}", g.authorize_url);
        assert!(
            g.token_request
                .contains("https://id.example.com/api/oauth2/token")
        );
        assert!(g.token_request.contains("client_id=client_sample"));
        assert!(g.token_request.contains("client_secret=\"$CLIENT_SECRET\""));
        assert!(!g.token_request.contains("secret_"), "{}", g.token_request);
        let public = App {
            public: true,
            ..app
        };
        let g = guide("https://id.example.com", &public);
        assert!(!g.token_request.contains("client_secret"));
    }
}
