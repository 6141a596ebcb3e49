//! The OpenAPI 3.1 document of every JSON endpoint, served at `/api/openapi.json`.
//!
//! It is generated from the code: each JSON handler carries a `#[utoipa::path]` attribute, and
//! routes.rs registers it with `.routes(routes!(handler))` on the documented router, so a route
//! and its document are one registration and cannot drift apart.
//!
//! To add a JSON endpoint:
//! 1. annotate the handler with `#[utoipa::path(method, path = "...", tag = <a family tag below>,
//!    params(...), request_body = ..., responses((status = 200, body = ...)), security(...))]`,
//!    using the real request and response types (derive `ToSchema`/`IntoParams` on them) and the
//!    envelopes of this module (`Answer<T>` for the `{success, message, data}` families,
//!    `Libra<T>` for 2libra, `OAuthErrorBody` for RFC 6749/6750 errors);
//! 2. register it in routes.rs with `.routes(routes!(handler))` (handlers of one path that differ
//!    by method go in one `routes!`);
//! 3. the error answers every endpoint of its family can give (400, 401/403 when it needs a
//!    caller, 404 with a path parameter, 413 and 415 with a body, 500) are added by [`family_errors`]
//!    from the tag; declare any other status (429, 302...) on the handler.
//!
//! HTML pages and redirect-only endpoints (`/oauth/authorize`, `/oauth2/logout`, `/login`) and
//! the plain-text probes (`/healthz`, `/readyz`, `/metrics`) are plain axum routes, outside it.

use serde::{Serialize, Serializer};
use serde_json::Value;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, RefOr, Response};
use utoipa::{Modify, PartialSchema, ToSchema};

/// Family E: the account API (`/api/user/...`, `/api/status`).
pub const ACCOUNT: &str = "account";
/// Family E: the admin API (`/api/admin/...`).
pub const ADMIN: &str = "admin";
/// Family B: the developer API (`/api/oauth_apps`).
pub const APPS: &str = "apps";
/// Family D: the platform login module (`/api/oauth/...`, `/api/verification`...).
pub const LOGIN_MODULE: &str = "login-module";
/// Family A: the 2libra provider (`{c, m, d}`).
pub const LIBRA: &str = "2libra";
/// Family B: the new-api provider's protocol endpoints (RFC 6749 JSON).
pub const NEW_API: &str = "new-api";
/// Family C: standard OAuth 2.0 / OpenID Connect.
pub const OIDC: &str = "oidc";

/// Security scheme names, as the handlers' `security(...)` use them.
pub const DEVELOPER_TOKEN: &str = "developer_token";
pub const SESSION: &str = "session";
pub const ACCESS_TOKEN: &str = "access_token";
pub const CLIENT_BASIC: &str = "client_basic";
pub const REGISTRATION_TOKEN: &str = "registration_token";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Keyward",
        description = "Keyward's JSON APIs. Each family keeps the envelope of the API it comes \
            from: `{success, message, data}` (account, admin, developer and login-module APIs: a \
            refused request is HTTP 200 with `success: false`), `{c, m, d}` (2libra), and RFC 6749 \
            JSON (`{error, error_description}`) for the protocol endpoints.",
        license(name = "Apache-2.0")
    ),
    modifiers(&Security),
    tags(
        (name = "account", description = "Family E: one's own account (new-api conventions)."),
        (name = "admin", description = "Family E: administration; an admin session or an admin's developer token."),
        (name = "apps", description = "Family B: registering and managing OAuth apps (developer API)."),
        (name = "login-module", description = "Family D: upstream login and binding, e-mail codes (new-api's login module)."),
        (name = "2libra", description = "Family A: the 2libra-style provider, `{c, m, d}` envelope."),
        (name = "new-api", description = "Family B: the new-api-style provider; RFC 6749 token endpoint."),
        (name = "oidc", description = "Family C: OpenID Connect discovery, JWKS, userinfo, revocation, introspection."),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            let mut http = Http::new(HttpAuthScheme::Bearer);
            http.description = Some(description.to_owned());
            SecurityScheme::Http(http)
        };
        components.add_security_scheme(
            DEVELOPER_TOKEN,
            bearer(
                "A developer token (`GET /api/user/token`), as `Authorization: Bearer <token>`. \
                 Acts as its user; an admin's token reaches the admin API.",
            ),
        );
        components.add_security_scheme(
            ACCESS_TOKEN,
            bearer("An OAuth access token issued by the token endpoints."),
        );
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "keyward_session",
                "The browser session cookie set at login (`__Host-keyward_session` when the \
                 public URL is https). Cross-site requests carrying it are refused.",
            ))),
        );
        components.add_security_scheme(
            REGISTRATION_TOKEN,
            bearer(
                "The registration access token a dynamically registered client received \
                 (RFC 7592 §3).",
            ),
        );
        let mut basic = Http::new(HttpAuthScheme::Basic);
        basic.description = Some(
            "Client authentication (`client_secret_basic`): `client_id:client_secret`, each \
             form-urlencoded; `client_secret_post` sends them in the body instead."
                .to_owned(),
        );
        components.add_security_scheme(CLIENT_BASIC, SecurityScheme::Http(basic));
    }
}

/// The JSON constant `true`.
pub struct True;
/// The JSON constant `false`.
pub struct False;
/// JSON `null`: `data` of answers that carry nothing.
pub struct Nothing;

fn constant(value: bool) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([value]))
        .into()
}

impl PartialSchema for True {
    fn schema() -> RefOr<Schema> {
        constant(true)
    }
}
impl ToSchema for True {}
impl Serialize for True {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(true)
    }
}

impl PartialSchema for False {
    fn schema() -> RefOr<Schema> {
        constant(false)
    }
}
impl ToSchema for False {}
impl Serialize for False {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(false)
    }
}

impl PartialSchema for Nothing {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Null).into()
    }
}
impl ToSchema for Nothing {}
impl Serialize for Nothing {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

/// `{"success": false, "message"}`: HTTP 200 when the rules refuse a well-formed request, 4xx/5xx
/// otherwise.
#[derive(Serialize, ToSchema)]
pub struct Failure {
    #[schema(inline)]
    pub success: False,
    pub message: String,
}

/// The 200 answer of the `{success, message, data}` families: done
/// (`{"success": true, "message", "data"}`), or refused. The done variant is spelled out here
/// rather than as a struct of its own, because nested generic schemas would share one name.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Answer<T> {
    Done {
        #[schema(inline)]
        success: True,
        message: String,
        data: T,
    },
    Refused(Failure),
}

/// The 2libra envelope: `c` is 0 and `m` is `请求成功` on success.
#[derive(Serialize, ToSchema)]
pub struct Libra<T> {
    pub c: i64,
    pub m: String,
    pub d: T,
}

/// A 2libra error: `c` is the HTTP status, `m` the seed's message, `d` null.
#[derive(Serialize, ToSchema)]
pub struct LibraError {
    pub c: i64,
    pub m: String,
    #[schema(inline)]
    pub d: Nothing,
}

/// RFC 6749 §5.2 / RFC 6750 §3 error.
#[derive(Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// e.g. `invalid_request`, `invalid_client`, `invalid_grant`, `invalid_token`.
    pub error: String,
    pub error_description: String,
}

/// The failures of client authentication at revocation and introspection: a bad client is 401,
/// too many failed attempts 429 (both with an RFC 6749 §5.2 body).
pub struct ClientAuthFailures;

impl utoipa::IntoResponses for ClientAuthFailures {
    fn responses() -> std::collections::BTreeMap<String, RefOr<Response>> {
        let oauth_error = |description: &str| {
            let body = Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                OAuthErrorBody::name(),
            ))));
            RefOr::T(
                utoipa::openapi::ResponseBuilder::new()
                    .description(description)
                    .content("application/json", body)
                    .build(),
            )
        };
        [
            ("401", oauth_error("Client authentication failed.")),
            (
                "429",
                oauth_error(
                    "Too many failed client authentications for this client or from this address \
                     (`temporarily_unavailable`, with `Retry-After`).",
                ),
            ),
        ]
        .into_iter()
        .map(|(status, response)| (status.to_owned(), response))
        .collect()
    }
}

/// A schema read off an example value the code itself produces, so that documents whose fields
/// live in one place (the settings, the discovery document) are described without a second copy:
/// every field the example has is required and typed as in the example.
pub fn schema_of_example(value: &Value) -> Schema {
    match value {
        Value::Null => ObjectBuilder::new().schema_type(Type::Null).into(),
        Value::Bool(_) => ObjectBuilder::new().schema_type(Type::Boolean).into(),
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            ObjectBuilder::new().schema_type(Type::Integer).into()
        }
        Value::Number(_) => ObjectBuilder::new().schema_type(Type::Number).into(),
        Value::String(_) => ObjectBuilder::new().schema_type(Type::String).into(),
        Value::Array(items) => {
            let item = items.first().map(schema_of_example).unwrap_or_default();
            ArrayBuilder::new().items(RefOr::T(item)).into()
        }
        Value::Object(fields) => fields
            .iter()
            .fold(ObjectBuilder::new(), |object, (name, value)| {
                object
                    .property(name, schema_of_example(value))
                    .required(name)
            })
            .into(),
    }
}

/// Implements `ToSchema` for a type whose schema is built at run time, and registers it as a
/// component under its type name.
#[macro_export]
macro_rules! runtime_schema {
    ($ty:ty, $build:expr) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let build: fn() -> utoipa::openapi::schema::Schema = $build;
                build().into()
            }
        }
        impl utoipa::ToSchema for $ty {
            fn schemas(
                schemas: &mut Vec<(
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
                )>,
            ) {
                schemas.push((
                    <Self as utoipa::ToSchema>::name().into_owned(),
                    <Self as utoipa::PartialSchema>::schema(),
                ));
            }
        }
    };
}

/// Adds the error answers every endpoint of a family can give, as the module docs say.
pub fn family_errors(openapi: &mut OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        let path_params = item
            .parameters
            .iter()
            .flatten()
            .any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Path);
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            add_errors(operation, path_params);
        }
    }
}

fn add_errors(operation: &mut Operation, path_params_on_item: bool) {
    let tag = operation
        .tags
        .as_ref()
        .and_then(|t| t.first())
        .cloned()
        .unwrap_or_default();
    let has_path_params = path_params_on_item
        || operation
            .parameters
            .iter()
            .flatten()
            .any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Path);
    let needs_caller = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_body = operation.request_body.is_some();
    let mut add = |status: &str, description: &str, body: Option<RefOr<Schema>>| {
        if operation.responses.responses.contains_key(status) {
            return;
        }
        let mut response = Response::new(description);
        if let Some(schema) = body {
            response
                .content
                .insert("application/json".into(), Content::new(Some(schema)));
        }
        operation
            .responses
            .responses
            .insert(status.into(), RefOr::T(response));
    };
    match tag.as_str() {
        ACCOUNT | ADMIN | APPS | LOGIN_MODULE => {
            let failure = || {
                Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "Failure",
                )))
            };
            add(
                "400",
                "Malformed request (bad JSON, wrong types, bad parameters).",
                failure(),
            );
            if needs_caller {
                add("401", "No session and no valid developer token.", failure());
                add(
                    "403",
                    "Not allowed (not an admin, a cross-site request, or the wrong kind of credential).",
                    failure(),
                );
            }
            if has_path_params {
                add("404", "No such resource.", failure());
            }
            if has_body {
                add("413", "The body is too large.", failure());
                add(
                    "415",
                    "The body is not sent as `Content-Type: application/json`.",
                    failure(),
                );
            }
            add("500", "Internal error; details are logged.", failure());
        }
        LIBRA => {
            let error = || {
                Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "LibraError",
                )))
            };
            add("500", "Internal error.", error());
        }
        _ => {
            add(
                "500",
                "Internal error (an RFC 6749 error body, or none).",
                None,
            );
        }
    }
}

/// Names every operation after its method and path (`post_api_user_login`): the handlers' own
/// names (`get`, `post`...) repeat across modules, and operation ids must be unique.
pub fn name_operations(openapi: &mut OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let slug: String = path
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let slug = slug.trim_matches('_').replace("__", "_");
        for (method, operation) in [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("patch", &mut item.patch),
        ] {
            if let Some(operation) = operation {
                operation.operation_id = Some(format!("{method}_{slug}"));
            }
        }
    }
}

/// Makes sure the schemas the family errors refer to are in the document.
pub fn register_envelopes(openapi: &mut OpenApi) {
    let components = openapi.components.get_or_insert_with(Default::default);
    for (name, schema) in [
        (Failure::name(), Failure::schema()),
        (LibraError::name(), LibraError::schema()),
        (OAuthErrorBody::name(), OAuthErrorBody::schema()),
    ] {
        components
            .schemas
            .entry(name.into_owned())
            .or_insert(schema);
    }
}
