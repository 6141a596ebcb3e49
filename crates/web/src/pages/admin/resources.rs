//! `/admin/resources`: the APIs that accept our access tokens (RFC 8707), registered, changed
//! and disabled through the same `Resources` service as `/api/admin/resources`. Each form
//! posts, then redirects to a page that says it was done; a refused form comes back with what
//! was typed and why, in the page's language.

use super::{AdminFrame, AdminTexts, admin_texts, back};
use crate::pages::{PageAdmin, PagePost, PageUser, Texts, error_page, login::redirect, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::model::{Resource, ResourcePk, ResourceScope, TokenFormat};
use keyward_core::oauth::resources::{ResourceError, ResourceForm};
use keyward_core::oidc::SigningAlg;
use serde::Deserialize;
#[cfg(test)]
use {crate::pages::Gallery, keyward_core::model::User};

const LIST: &str = "/admin/resources";

/// A registered API as the pages show it.
pub struct ResourceRow {
    pub id: ResourcePk,
    pub identifier: String,
    pub name_zh: String,
    pub name_en: String,
    pub scopes: Vec<ResourceScope>,
    pub token_format: &'static str,
    pub signing_alg: &'static str,
    pub ttl: i64,
    pub introspection_client_id: String,
    pub enabled: bool,
}

impl From<&Resource> for ResourceRow {
    fn from(r: &Resource) -> Self {
        Self {
            id: r.id,
            identifier: r.identifier.clone(),
            name_zh: r.name_zh.clone(),
            name_en: r.name_en.clone(),
            scopes: r.scopes.clone(),
            token_format: r.token_format.as_str(),
            signing_alg: r.signing_alg.as_str(),
            ttl: r.access_token_ttl_secs,
            introspection_client_id: r.introspection_client_id.clone().unwrap_or_default(),
            enabled: r.enabled,
        }
    }
}

/// The register and edit forms' fields, as typed: what the form shows again when refused.
/// `scopes` is one scope a line, `name | 中文说明 | English description`.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ResourceFields {
    identifier: String,
    name: String,
    name_en: String,
    scopes: String,
    token_format: String,
    signing_alg: String,
    access_token_ttl_secs: String,
    introspection_client_id: String,
}

impl ResourceFields {
    fn of(r: &Resource) -> Self {
        Self {
            identifier: r.identifier.clone(),
            name: r.name_zh.clone(),
            name_en: r.name_en.clone(),
            scopes: r
                .scopes
                .iter()
                .map(|s| {
                    format!("{} | {} | {}", s.name, s.description_zh, s.description_en)
                        .trim_end_matches([' ', '|'])
                        .to_owned()
                })
                .collect::<Vec<_>>()
                .join("\n"),
            token_format: r.token_format.as_str().into(),
            signing_alg: r.signing_alg.as_str().into(),
            access_token_ttl_secs: r.access_token_ttl_secs.to_string(),
            introspection_client_id: r.introspection_client_id.clone().unwrap_or_default(),
        }
    }

    /// What core is asked to save. Every field is sent, so an edit sets them all; an empty
    /// lifetime takes the format's default. Only the lifetime's syntax is checked here, the
    /// rest is core's.
    fn to_form(&self, a: &AdminTexts) -> Result<ResourceForm, String> {
        let ttl = match self.access_token_ttl_secs.trim() {
            "" => None,
            text => Some(
                text.parse::<i64>()
                    .map_err(|_| format!("{}{}", a.not_a_number, a.ttl))?,
            ),
        };
        Ok(ResourceForm {
            identifier: self.identifier.clone(),
            name: Some(self.name.clone()),
            name_en: Some(self.name_en.clone()),
            scopes: Some(parse_scopes(&self.scopes)),
            token_format: chosen(&self.token_format),
            signing_alg: chosen(&self.signing_alg),
            access_token_ttl_secs: ttl,
            introspection_client_id: Some(self.introspection_client_id.clone()),
            enabled: None,
        })
    }
}

/// A select's value; `None` (the default, or unchanged) when absent.
fn chosen(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

/// One scope a line: `name | 中文说明 | English description`; the descriptions may be left out,
/// the English one may itself hold `|`. Empty lines are skipped; core checks the rest.
fn parse_scopes(text: &str) -> Vec<ResourceScope> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut parts = line.splitn(3, '|').map(str::trim);
            ResourceScope {
                name: parts.next().unwrap_or_default().to_owned(),
                description_zh: parts.next().unwrap_or_default().to_owned(),
                description_en: parts.next().unwrap_or_default().to_owned(),
            }
        })
        .collect()
}

/// The register or edit form: its values and the choices of its two selects.
pub struct FormView {
    pub values: ResourceFields,
    pub formats: Vec<(&'static str, &'static str, bool)>,
    pub algs: Vec<(&'static str, bool)>,
}

impl FormView {
    fn new(a: &AdminTexts, values: ResourceFields) -> Self {
        let format = TokenFormat::parse(values.token_format.trim()).unwrap_or(TokenFormat::Opaque);
        let alg = SigningAlg::parse(values.signing_alg.trim()).unwrap_or(SigningAlg::Rs256);
        Self {
            formats: [
                (TokenFormat::Opaque, a.token_opaque),
                (TokenFormat::Jwt, a.token_jwt),
            ]
            .into_iter()
            .map(|(f, label)| (f.as_str(), label, f == format))
            .collect(),
            algs: SigningAlg::ALL
                .into_iter()
                .map(|g| (g.as_str(), g == alg))
                .collect(),
            values,
        }
    }
}

#[derive(Template)]
#[template(path = "admin_resources.html")]
pub struct ResourcesPage {
    pub frame: AdminFrame,
    pub resources: Vec<ResourceRow>,
    pub form: FormView,
    pub error: Option<String>,
    pub notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "admin_resource.html")]
pub struct ResourcePage {
    pub frame: AdminFrame,
    pub resource: ResourceRow,
    pub form: FormView,
    pub error: Option<String>,
    pub notice: Option<&'static str>,
}

crate::pages::framed!(AdminFrame => ResourcesPage, ResourcePage);

/// `?done=` after a form succeeded.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
}

impl DoneQuery {
    fn notice(&self, a: &AdminTexts) -> Option<&'static str> {
        match self.done.as_str() {
            "created" => Some(a.resource_created),
            "saved" => Some(a.resource_saved),
            "enabled" => Some(a.resource_enabled),
            "disabled" => Some(a.resource_disabled),
            _ => None,
        }
    }
}

/// `GET /admin/resources`: every API and the form to register one.
pub async fn resources(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Query(query): Query<DoneQuery>,
) -> Response {
    let a = admin_texts(page.t);
    let values = ResourceFields {
        token_format: TokenFormat::Opaque.as_str().into(),
        ..ResourceFields::default()
    };
    let notice = query.notice(a);
    list_page(&state, &page, StatusCode::OK, values, None, notice).await
}

async fn list_page(
    state: &AppState,
    page: &PageUser,
    status: StatusCode,
    values: ResourceFields,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Response {
    let resources = match state.resources.list().await {
        Ok(all) => all,
        Err(e) => return failure(page.t, &e),
    };
    render(
        status,
        &ResourcesPage {
            frame: AdminFrame::of(page, "resources"),
            resources: resources.iter().map(ResourceRow::from).collect(),
            form: FormView::new(admin_texts(page.t), values),
            error,
            notice,
        },
    )
}

/// `POST /admin/resources`: registers an API, as `POST /api/admin/resources` does.
pub async fn create_resource(
    PagePost {
        state,
        page: PageAdmin(page),
        client,
        form,
    }: PagePost<ResourceFields, PageAdmin>,
) -> Response {
    let refused = |e: String| {
        list_page(
            &state,
            &page,
            StatusCode::BAD_REQUEST,
            form.clone(),
            Some(e),
            None,
        )
    };
    let asked = match form.to_form(admin_texts(page.t)) {
        Ok(asked) => asked,
        Err(message) => return refused(message).await,
    };
    match state.resources.create(&page.user, asked, &client.ip).await {
        Ok(_) => redirect(&format!("{LIST}?done=created")),
        Err(e) if is_ours(&e) => failure(page.t, &e),
        Err(e) => refused(page.t.error(&e)).await,
    }
}

/// `GET /admin/resources/{id}`: one API and the form to change it.
pub async fn resource(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Path(id): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Response {
    let Ok(id) = id.parse::<ResourcePk>() else {
        return failure(page.t, &ResourceError::NotFound);
    };
    match state.resources.get(id).await {
        Ok(current) => {
            let notice = query.notice(admin_texts(page.t));
            let values = ResourceFields::of(&current);
            resource_page(&page, StatusCode::OK, &current, values, None, notice)
        }
        Err(e) => failure(page.t, &e),
    }
}

fn resource_page(
    page: &PageUser,
    status: StatusCode,
    current: &Resource,
    values: ResourceFields,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Response {
    render(
        status,
        &ResourcePage {
            frame: AdminFrame::of(page, "resources"),
            resource: ResourceRow::from(current),
            form: FormView::new(admin_texts(page.t), values),
            error,
            notice,
        },
    )
}

/// `POST /admin/resources/{id}`: every field but the identifier, as `PATCH` would set them.
pub async fn update_resource(
    Path(id): Path<String>,
    PagePost {
        state,
        page: PageAdmin(page),
        client,
        form,
    }: PagePost<ResourceFields, PageAdmin>,
) -> Response {
    let Ok(id) = id.parse::<ResourcePk>() else {
        return failure(page.t, &ResourceError::NotFound);
    };
    let current = match state.resources.get(id).await {
        Ok(current) => current,
        Err(e) => return failure(page.t, &e),
    };
    // The identifier is fixed: whatever the form says, it is the stored one.
    let values = ResourceFields {
        identifier: current.identifier.clone(),
        ..form
    };
    let refused = |e: String| {
        resource_page(
            &page,
            StatusCode::BAD_REQUEST,
            &current,
            values.clone(),
            Some(e),
            None,
        )
    };
    let asked = match values.to_form(admin_texts(page.t)) {
        Ok(asked) => ResourceForm {
            identifier: String::new(),
            ..asked
        },
        Err(message) => return refused(message),
    };
    match state
        .resources
        .update(&page.user, id, asked, &client.ip)
        .await
    {
        Ok(_) => redirect(&format!("{LIST}/{id}?done=saved")),
        Err(e) if is_ours(&e) || matches!(e, ResourceError::NotFound) => failure(page.t, &e),
        Err(e) => refused(page.t.error(&e)),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EnabledForm {
    enabled: String,
    return_to: String,
}

/// `POST /admin/resources/{id}/enabled`: `enabled=1` or `0`. Disabling refuses new requests
/// naming the API and ends its opaque tokens at once (core's rule); it is audited as an update.
pub async fn set_resource_enabled(
    Path(id): Path<String>,
    PagePost {
        state,
        page: PageAdmin(page),
        client,
        form,
    }: PagePost<EnabledForm, PageAdmin>,
) -> Response {
    let a = admin_texts(page.t);
    let enabled = match form.enabled.as_str() {
        "1" => true,
        "0" => false,
        _ => return error_page(StatusCode::BAD_REQUEST, page.t, a.unknown_action),
    };
    let Ok(id) = id.parse::<ResourcePk>() else {
        return failure(page.t, &ResourceError::NotFound);
    };
    let change = ResourceForm {
        enabled: Some(enabled),
        ..ResourceForm::default()
    };
    match state
        .resources
        .update(&page.user, id, change, &client.ip)
        .await
    {
        Ok(_) => {
            let done = if enabled { "enabled" } else { "disabled" };
            let fallback = format!("{LIST}/{id}");
            let to = back(&form.return_to, &fallback);
            let join = if to.contains('?') { '&' } else { '?' };
            redirect(&format!("{to}{join}done={done}"))
        }
        Err(e) => failure(page.t, &e),
    }
}

/// A failure that is ours (the store's), not the admin's input.
fn is_ours(e: &ResourceError) -> bool {
    matches!(e, ResourceError::Store(_))
}

/// The page for a refusal that has no form to show it on.
fn failure(t: &'static Texts, e: &ResourceError) -> Response {
    match e {
        ResourceError::Store(_) => super::unavailable(t, e),
        ResourceError::NotFound => error_page(StatusCode::NOT_FOUND, t, &t.error(e)),
        other => error_page(StatusCode::BAD_REQUEST, t, &t.error(other)),
    }
}

/// A resource as the store would return it, for the page gallery.
#[cfg(test)]
pub(crate) fn sample_resource(enabled: bool) -> Resource {
    Resource {
        id: 3,
        identifier: "https://files.example.com/api?x=1&y=2".into(),
        name_zh: "文件 <服务>".into(),
        name_en: "Files <API>".into(),
        scopes: vec![
            ResourceScope {
                name: "files:read".into(),
                description_zh: "读取你的文件".into(),
                description_en: "Read your files & folders".into(),
            },
            ResourceScope {
                name: "files:write".into(),
                description_zh: String::new(),
                description_en: String::new(),
            },
        ],
        token_format: TokenFormat::Jwt,
        signing_alg: SigningAlg::Es256,
        access_token_ttl_secs: 300,
        introspection_client_id: Some("client_api".into()),
        enabled,
        created_at: 1_767_225_600,
        updated_at: 1_767_225_600,
    }
}

#[cfg(test)]
pub(crate) fn samples(t: &'static Texts, user: &User) -> Gallery {
    let a = admin_texts(t);
    let (on, off) = (sample_resource(true), sample_resource(false));
    let list = ResourcesPage {
        frame: AdminFrame::sample(t, user, LIST, "resources"),
        resources: vec![ResourceRow::from(&on), ResourceRow::from(&off)],
        form: FormView::new(a, ResourceFields::of(&on)),
        error: Some("资源标识必须是绝对 https URI <b>".into()),
        notice: Some(a.resource_created),
    };
    let empty = ResourcesPage {
        frame: AdminFrame::sample(t, user, LIST, "resources"),
        resources: Vec::new(),
        form: FormView::new(a, ResourceFields::default()),
        error: None,
        notice: None,
    };
    let page = |r: &Resource, error: Option<String>| ResourcePage {
        frame: AdminFrame::sample(t, user, "/admin/resources/3", "resources"),
        resource: ResourceRow::from(r),
        form: FormView::new(a, ResourceFields::of(r)),
        error,
        notice: Some(a.resource_saved),
    };
    vec![
        ("admin_resources.html", list.render().unwrap_or_default()),
        ("admin_resources.html", empty.render().unwrap_or_default()),
        (
            "admin_resource.html",
            page(&on, Some("x".into())).render().unwrap_or_default(),
        ),
        (
            "admin_resource.html",
            page(&off, None).render().unwrap_or_default(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_lines_are_name_chinese_and_english_descriptions() {
        let scopes = parse_scopes(
            "files:read | 读取文件 | Read files\n\n  files:write|写入  \nmcp | 工具 | a | b\r\n|x",
        );
        let got: Vec<(&str, &str, &str)> = scopes
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.description_zh.as_str(),
                    s.description_en.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("files:read", "读取文件", "Read files"),
                ("files:write", "写入", ""),
                ("mcp", "工具", "a | b"),
                ("", "x", ""),
            ]
        );
    }

    #[test]
    fn a_resource_reads_back_as_the_form_that_made_it() {
        let r = sample_resource(true);
        let fields = ResourceFields::of(&r);
        assert_eq!(
            fields.scopes,
            "files:read | 读取你的文件 | Read your files & folders\nfiles:write"
        );
        let form = fields.to_form(&super::super::texts::EN).expect("form");
        assert_eq!(form.scopes, Some(r.scopes.clone()));
        assert_eq!(form.access_token_ttl_secs, Some(300));
        assert_eq!(form.token_format.as_deref(), Some("jwt"));
        assert_eq!(form.signing_alg.as_deref(), Some("ES256"));
        let bad = ResourceFields {
            access_token_ttl_secs: "soon".into(),
            ..fields
        };
        assert!(bad.to_form(&super::super::texts::EN).is_err());
    }
}
