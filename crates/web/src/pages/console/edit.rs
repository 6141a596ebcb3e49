//! `/user/setting/oauth/{id}/edit`: the owner changes an app, through `Apps::edit` as
//! `PATCH /api/oauth_apps/{id}` does. A refused field is marked on the form itself.

use super::{
    AppRow, ConsoleFrame, LIST, app_failure, console_texts, not_found, redirect, render,
    unavailable,
};
use crate::pages::{PagePost, PageUser, Texts, TokenOnly};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::model::ClientDetails;
use keyward_core::oauth::app_edit::AppEdit;
use keyward_core::oauth::apps::AppError;

/// What the form shows: the app's configuration (or its pending change), or what was submitted.
#[derive(Default)]
pub struct EditValues {
    pub name: String,
    pub description: String,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub scopes: Vec<String>,
    pub logo_uri: String,
    pub client_uri: String,
    pub policy_uri: String,
}

impl EditValues {
    fn of(details: &ClientDetails) -> Self {
        Self {
            name: details.name.clone(),
            description: details.description.clone(),
            redirect_uris: details.redirect_uris.join("\n"),
            post_logout_redirect_uris: details.post_logout_redirect_uris.join("\n"),
            scopes: details
                .scopes
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            logo_uri: details.logo_uri.clone().unwrap_or_default(),
            client_uri: details.client_uri.clone().unwrap_or_default(),
            policy_uri: details.policy_uri.clone().unwrap_or_default(),
        }
    }
}

/// A refusal, attached to the field it is about (`field` is the input's id).
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

#[derive(Template)]
#[template(path = "console_edit.html")]
pub struct EditPage {
    pub frame: ConsoleFrame,
    pub app: AppRow,
    pub form: EditValues,
    pub scope_choices: Vec<super::Choice>,
    pub error: Option<FieldError>,
    /// Whether widening changes wait for review (the operator's setting, for the hint).
    pub review_required: bool,
}

impl EditPage {
    /// The error message for `field`, if the refusal is about it.
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// The three link fields: input id, label, value.
    pub fn links(&self) -> Vec<(&'static str, &'static str, &str)> {
        let c = self.frame.c;
        vec![
            ("logo_uri", c.logo_uri, self.form.logo_uri.as_str()),
            ("client_uri", c.client_uri, self.form.client_uri.as_str()),
            ("policy_uri", c.policy_uri, self.form.policy_uri.as_str()),
        ]
    }

    /// A refusal that belongs to no field.
    pub fn general_error(&self) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|e| e.field.is_empty())
            .map(|e| e.message.as_str())
    }
}

/// The input a refusal is about.
fn field_of(e: &AppError) -> &'static str {
    match e {
        AppError::Name => "name",
        AppError::Description => "description",
        AppError::RedirectUri(_) | AppError::RedirectUriCount => "redirect_uris",
        AppError::PostLogoutUri(_) => "post_logout_redirect_uris",
        AppError::Scope => "scopes",
        AppError::LogoUri => "logo_uri",
        AppError::HomepageUri => "client_uri",
        AppError::PolicyUri => "policy_uri",
        _ => "",
    }
}

async fn review_required(state: &AppState) -> bool {
    state
        .settings
        .get()
        .await
        .map(|s| s.app_review_required)
        .unwrap_or(true)
}

fn scope_choices(t: &'static Texts, form: &EditValues) -> Vec<super::Choice> {
    super::ApplyValues {
        scopes: form.scopes.clone(),
        ..super::ApplyValues::default()
    }
    .scope_choices(t)
}

fn page(
    page: &PageUser,
    app: &keyward_core::model::Client,
    form: EditValues,
    error: Option<FieldError>,
    review_required: bool,
) -> EditPage {
    let c = console_texts(page.t);
    EditPage {
        frame: ConsoleFrame::new(page.t, page.chrome(), page.csrf.clone()),
        app: AppRow::new(c, app),
        scope_choices: scope_choices(page.t, &form),
        form,
        error,
        review_required,
    }
}

/// `GET /user/setting/oauth/{id}/edit`: the form, filled with the pending change if one waits.
pub async fn edit_form(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found(user.t);
    };
    let app = match state.apps.show(&user.user, id).await {
        Ok(app) if !app.kind.self_registered() => app,
        Ok(_) => return app_failure(user.t, &AppError::NotEditable),
        Err(e) => return app_failure(user.t, &e),
    };
    let values = EditValues::of(app.pending_change.as_ref().unwrap_or(&app.details()));
    let review = review_required(&state).await;
    render(StatusCode::OK, &page(&user, &app, values, None, review))
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `POST /user/setting/oauth/{id}/edit`. Repeated `scope` fields, so a list of pairs.
pub async fn edit(
    State(state): State<AppState>,
    user: PageUser,
    crate::extract::Client(client): crate::extract::Client,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if let Some(refused) = user.refuse_csrf(&field("csrf_token")) {
        return refused;
    }
    let Ok(id) = id.parse::<i64>() else {
        return not_found(user.t);
    };
    let values = EditValues {
        name: field("name"),
        description: field("description"),
        redirect_uris: field("redirect_uris"),
        post_logout_redirect_uris: field("post_logout_redirect_uris"),
        scopes: fields
            .iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.clone())
            .collect(),
        logo_uri: field("logo_uri"),
        client_uri: field("client_uri"),
        policy_uri: field("policy_uri"),
    };
    let change = AppEdit {
        name: Some(values.name.clone()),
        description: Some(values.description.clone()),
        redirect_uris: Some(lines(&values.redirect_uris)),
        post_logout_redirect_uris: Some(lines(&values.post_logout_redirect_uris)),
        scopes: Some(values.scopes.join(" ")),
        logo_uri: Some(values.logo_uri.clone()),
        client_uri: Some(values.client_uri.clone()),
        policy_uri: Some(values.policy_uri.clone()),
    };
    match state.apps.edit(&user.user, id, change, &client.ip).await {
        Ok(app) if app.pending_change.is_some() => {
            redirect(&format!("{LIST}/{}?done=pending", app.id))
        }
        Ok(app) => redirect(&format!("{LIST}/{}?done=edited", app.id)),
        Err(e @ (AppError::Store(_) | AppError::Settings(_))) => unavailable(user.t, &e),
        Err(e @ (AppError::NotFound | AppError::NotEditable)) => app_failure(user.t, &e),
        Err(e) => {
            let app = match state.apps.show(&user.user, id).await {
                Ok(app) => app,
                Err(e) => return app_failure(user.t, &e),
            };
            let error = FieldError {
                field: field_of(&e),
                message: user.t.error(&e),
            };
            let review = review_required(&state).await;
            render(
                StatusCode::BAD_REQUEST,
                &page(&user, &app, values, Some(error), review),
            )
        }
    }
}

/// `POST /user/setting/oauth/{id}/withdraw`: the owner withdraws the change waiting for review.
pub async fn withdraw_change(
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
    match state.apps.withdraw_change(&page.user, id, &client.ip).await {
        Ok(app) => redirect(&format!("{LIST}/{}?done=withdrawn", app.id)),
        Err(e) => app_failure(page.t, &e),
    }
}
