//! The APIs an app may name in `resource` (RFC 8707), set or lifted on the review pages through
//! `Apps::update`, as `PATCH /api/admin/oauth_apps/{id}` `{"allowed_resources": …}` does.

use super::{admin_texts, back};
use crate::extract::Client;
use crate::pages::console::app_failure;
use crate::pages::{PageAdmin, error_page, login::redirect};
use crate::state::AppState;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::model::{Client as App, Resource};
use keyward_core::oauth::apps::{AdminEdit, AppError};

/// A registered API as a box on an app's card.
pub struct ApiChoice {
    pub identifier: String,
    pub name: String,
    pub enabled: bool,
    pub checked: bool,
}

/// An app's API limit as its card shows it: `limited` with the APIs ticked, or any enabled API.
pub struct ApiLimit {
    pub limited: bool,
    pub choices: Vec<ApiChoice>,
}

impl ApiLimit {
    pub fn new(app: &App, resources: &[Resource], en: bool) -> Self {
        let listed = app.allowed_resources.as_deref();
        Self {
            limited: listed.is_some(),
            choices: resources
                .iter()
                .map(|r| ApiChoice {
                    identifier: r.identifier.clone(),
                    name: if en { &r.name_en } else { &r.name_zh }.clone(),
                    enabled: r.enabled,
                    checked: listed.is_some_and(|l| l.contains(&r.identifier)),
                })
                .collect(),
        }
    }

    /// Whether the card has anything to show: an API to tick, or a limit to lift.
    pub fn is_shown(&self) -> bool {
        self.limited || !self.choices.is_empty()
    }

    /// The names of the APIs the app is limited to.
    pub fn allowed(&self) -> Vec<&str> {
        self.choices
            .iter()
            .filter(|c| c.checked)
            .map(|c| c.name.as_str())
            .collect()
    }
}

/// `POST /admin/apps/{id}/resources`: `limit=only` with a `resource` field per API ticked (none
/// ticked: no API at all), or `limit=any` to lift the limit. Repeated fields, so a list of
/// pairs, and the form's token checked here.
pub async fn set_app_apis(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Client(client): Client,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    if let Some(refused) = page.refuse_csrf(field("csrf_token")) {
        return refused;
    }
    let resources = match field("limit") {
        "any" => None,
        "only" => Some(
            fields
                .iter()
                .filter(|(k, _)| k == "resource")
                .map(|(_, v)| v.trim().to_owned())
                .collect(),
        ),
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                page.t,
                admin_texts(page.t).unknown_action,
            );
        }
    };
    let Ok(id) = id.parse::<i64>() else {
        return app_failure(page.t, &AppError::NotFound);
    };
    let edit = AdminEdit {
        resources: Some(resources),
        ..AdminEdit::default()
    };
    match state.apps.update(&page.user, id, edit, &client.ip).await {
        Ok(_) => redirect(back(field("return_to"), "/admin/apps")),
        Err(e) => app_failure(page.t, &e),
    }
}
