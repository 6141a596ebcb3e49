//! Every route Keyward serves, in one place.
//!
//! JSON endpoints go on the documented router (`documented`), registered with
//! `.routes(routes!(handler))` next to a `#[utoipa::path]` on the handler: that one registration
//! both routes the request and describes it in `/api/openapi.json` (see `crate::openapi` for the
//! steps). Only HTML pages, redirects and plain-text probes go on the plain router below it.

use crate::federation::{callback, email, state as upstream, telegram, wechat};
use crate::state::AppState;
use crate::{account, admin, apps, health, middleware, oauth, oidc, openapi, pages};
use axum::Router;
use axum::http::header;
use axum::routing::{get, options, post};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every JSON endpoint, each with its OpenAPI description.
fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        // E: the account API.
        .routes(routes!(account::register::post))
        .routes(routes!(account::login::post))
        .routes(routes!(account::logout::get))
        .routes(routes!(account::me::get, account::me::put))
        .routes(routes!(account::token::get))
        .routes(routes!(account::topup::post))
        .routes(routes!(account::ledger::mine))
        .routes(routes!(account::ledger::of_user))
        .routes(routes!(admin::topup::create, admin::topup::list))
        .routes(routes!(account::login::second_factor))
        .routes(routes!(account::two_factor::status))
        .routes(routes!(account::two_factor::setup))
        .routes(routes!(account::two_factor::enable))
        .routes(routes!(account::two_factor::disable))
        .routes(routes!(account::passkeys::login_begin))
        .routes(routes!(account::passkeys::login_finish))
        .routes(routes!(account::passkeys::second_factor_begin))
        .routes(routes!(account::passkeys::second_factor_finish))
        .routes(routes!(account::passkeys::list))
        .routes(routes!(account::passkeys::register_begin))
        .routes(routes!(account::passkeys::register_finish))
        .routes(routes!(
            account::passkeys::rename,
            account::passkeys::remove
        ))
        .routes(routes!(account::authorizations::list))
        .routes(routes!(account::authorizations::revoke))
        .routes(routes!(account::authorizations::set_spend_limit))
        .routes(routes!(account::identities::list))
        .routes(routes!(account::identities::unlink))
        .routes(routes!(account::status::get))
        .routes(routes!(email::send_code))
        .routes(routes!(email::request_reset))
        .routes(routes!(email::reset))
        // B: the developer API.
        .routes(routes!(apps::create, apps::list))
        .routes(routes!(apps::get, apps::delete, apps::patch))
        .routes(routes!(apps::rotate))
        .routes(routes!(apps::reveal))
        .routes(routes!(apps::withdraw_change))
        // E: the admin API.
        .routes(routes!(admin::apps::list))
        .routes(routes!(admin::apps::patch))
        .routes(routes!(admin::apps::review))
        .routes(routes!(admin::apps::review_change))
        .routes(routes!(admin::resources::create, admin::resources::list))
        .routes(routes!(admin::resources::get, admin::resources::patch))
        .routes(routes!(admin::users::list))
        .routes(routes!(admin::users::patch))
        .routes(routes!(admin::users::unlock))
        .routes(routes!(admin::passkeys::list))
        .routes(routes!(admin::passkeys::remove))
        .routes(routes!(admin::settings::get, admin::settings::put))
        .routes(routes!(admin::audit::list))
        // D: the platform login module (new-api's `/api/oauth/...`).
        .routes(routes!(upstream::get))
        .routes(routes!(callback::github))
        .routes(routes!(callback::oidc))
        .routes(routes!(callback::linuxdo))
        .routes(routes!(upstream::start))
        .routes(routes!(wechat::login))
        .routes(routes!(wechat::bind_get, wechat::bind_post))
        .routes(routes!(telegram::login, telegram::login_post))
        .routes(routes!(telegram::bind))
        .routes(routes!(email::bind_get, email::bind_post))
        // A: 2libra.
        .routes(routes!(oauth::libra::token))
        .routes(routes!(oauth::libra::me))
        // B: new-api's provider endpoints.
        .routes(routes!(oauth::token::post))
        .routes(routes!(oauth::userinfo::get))
        .routes(routes!(oauth::userinfo::topup))
        .routes(routes!(oauth::balance::charge))
        .routes(routes!(oauth::balance::refund))
        // C: OpenID Connect.
        .routes(routes!(oidc::discovery::openid_configuration))
        .routes(routes!(oidc::discovery::authorization_server))
        .routes(routes!(oidc::discovery::jwks))
        .routes(routes!(oidc::userinfo::handle))
        .routes(routes!(oidc::revoke::post))
        .routes(routes!(oidc::introspect::post))
        .routes(routes!(oidc::register::register))
        .routes(routes!(
            oidc::register::read,
            oidc::register::update,
            oidc::register::delete
        ))
        .routes(routes!(oauth::device::post))
        // E: the life of an account (#16): e-mail change, export, security activity, and the
        // admin's view of a user's ways in.
        .routes(routes!(account::email_change::send_code))
        .routes(routes!(account::email_change::change))
        .routes(routes!(account::export::get))
        .routes(routes!(account::activity::list))
        .routes(routes!(admin::ways_in::get))
        .routes(routes!(admin::ways_in::reset_two_factor))
        // Account deletion (#16): by the account itself, and by an admin.
        .routes(routes!(account::deletion::delete))
        .routes(routes!(admin::user_deletion::delete))
}

/// The OpenAPI document of every JSON endpoint, as `/api/openapi.json` serves it.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, doc) = documented().split_for_parts();
    complete(doc)
}

fn complete(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    openapi::register_envelopes(&mut doc);
    openapi::family_errors(&mut doc);
    openapi::name_operations(&mut doc);
    doc
}

pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let (api, doc) = documented().split_for_parts();
    // Built once per node; the document never changes while it runs.
    let document = axum::body::Bytes::from(complete(doc).to_json().unwrap_or_default());

    // HTML pages, redirects and the endpoints of other media types: not in the document.
    let pages = Router::new()
        .route(
            "/oauth/authorize",
            get(oauth::authorize::get).post(oauth::authorize::post),
        )
        .route("/api/oauth2/authorize", get(oauth::authorize::get))
        .route(
            "/oauth2/logout",
            get(oidc::logout::get).post(oidc::logout::post),
        )
        .route("/login", get(pages::login::get).post(pages::login::post))
        .route(
            "/login/2fa",
            get(pages::login::second_factor_page).post(pages::login::second_factor),
        )
        // RFC 8414 §3.1 for an issuer with a path; the document itself is in the OpenAPI
        // under the plain well-known path.
        .route(
            "/.well-known/oauth-authorization-server/{*path}",
            get(oidc::discovery::authorization_server_for_path),
        )
        // The device flow's verification page (RFC 8628 §3.3).
        .route("/device", get(pages::device::get).post(pages::device::post))
        .route("/lang", get(pages::switch_language))
        .route("/switch-account", post(oauth::authorize::switch_account))
        .route("/static/keyward.css", get(pages::stylesheet))
        .route("/static/keyward.js", get(pages::script))
        .route("/docs/integration-guide", get(pages::docs::guide))
        .route("/docs/{name}", get(pages::docs))
        // The developer console.
        .route(
            "/user/setting/oauth",
            get(pages::console::list).post(pages::console::apply),
        )
        .route("/user/setting/oauth/{id}", get(pages::console::detail))
        .route(
            "/user/setting/oauth/{id}/rotate",
            post(pages::console::rotate),
        )
        .route(
            "/user/setting/oauth/{id}/reveal",
            post(pages::console::reveal),
        )
        .route(
            "/user/setting/oauth/{id}/saved",
            post(pages::console::saved),
        )
        .route(
            "/user/setting/oauth/{id}/edit",
            get(pages::console::edit_form).post(pages::console::edit),
        )
        .route(
            "/user/setting/oauth/{id}/withdraw",
            post(pages::console::withdraw_change),
        )
        .route(
            "/user/setting/oauth/{id}/delete",
            get(pages::console::confirm_delete).post(pages::console::delete),
        )
        // The admin pages.
        .route("/admin", get(pages::admin::overview))
        .route("/admin/apps", get(pages::admin::apps))
        .route(
            "/admin/client-documents",
            get(pages::admin::client_documents),
        )
        .route("/admin/apps/{id}/review", post(pages::admin::review))
        .route("/admin/apps/{id}/change", post(pages::admin::review_change))
        .route("/admin/apps/{id}/trusted", post(pages::admin::trust))
        .route(
            "/admin/apps/{id}/resources",
            post(pages::admin::set_app_apis),
        )
        .route(
            "/admin/resources",
            get(pages::admin::resources).post(pages::admin::create_resource),
        )
        .route(
            "/admin/resources/{id}",
            get(pages::admin::resource).post(pages::admin::update_resource),
        )
        .route(
            "/admin/resources/{id}/enabled",
            post(pages::admin::set_resource_enabled),
        )
        .route("/admin/users", get(pages::admin::users))
        .route(
            "/admin/users/{id}",
            get(pages::admin::user_detail).post(pages::admin::update_user),
        )
        // Account deletion (#16), by an admin.
        .route("/admin/users/{id}/delete", post(pages::admin::delete_user))
        .route("/admin/users/{id}/unlock", post(pages::admin::unlock_user))
        .route(
            "/admin/settings",
            get(pages::admin::settings).post(pages::admin::save_settings),
        )
        .route(
            "/admin/settings/{section}",
            get(pages::admin::settings_section).post(pages::admin::save_section),
        )
        .route(
            "/admin/settings/brand/logo",
            // The largest logo core takes, with room for the form around it: above the
            // default body limit, for this one admin form only.
            post(pages::admin::upload_logo).layer(axum::extract::DefaultBodyLimit::max(
                keyward_core::settings::MAX_LOGO_BYTES + 16 * 1024,
            )),
        )
        .route("/admin/audit", get(pages::admin::audit))
        .route("/", get(pages::account::home::get))
        .route(
            "/user/authorizations",
            get(pages::account::authorizations::get),
        )
        .route(
            "/user/authorizations/revoke",
            post(pages::account::authorizations::revoke),
        )
        .route(
            "/user/authorizations/limit",
            post(pages::account::spend_limit::post),
        )
        .route(
            "/user/authorizations/limit/confirm",
            post(pages::account::spend_limit::confirm),
        )
        .route("/user/ledger", get(pages::account::ledger::get))
        .route("/admin/users/{id}/ledger", get(pages::admin::user_ledger))
        .route(
            "/register",
            get(pages::account::register::get).post(pages::account::register::post),
        )
        .route(
            "/reset",
            get(pages::account::reset::get).post(pages::account::reset::post),
        )
        .route(
            "/user/reset",
            get(pages::account::reset::choose_get).post(pages::account::reset::choose_post),
        )
        .route("/user/security", get(pages::account::security::get))
        // Account deletion (#16).
        .route(
            "/user/security/delete",
            post(pages::account::deletion::post),
        )
        .route(
            "/user/security/password",
            post(pages::account::security::password),
        )
        .route(
            "/user/security/totp/setup",
            post(pages::account::security::totp_setup),
        )
        .route(
            "/user/security/totp/enable",
            post(pages::account::security::totp_enable),
        )
        .route(
            "/user/security/totp/disable",
            post(pages::account::security::totp_disable),
        )
        .route(
            "/user/security/identities/unbind",
            post(pages::account::security::unbind),
        )
        .route(
            "/user/security/passkeys/rename",
            post(pages::account::passkeys::rename),
        )
        .route(
            "/user/security/passkeys/remove",
            post(pages::account::passkeys::remove),
        )
        .route(
            "/user/security/email",
            post(pages::account::security::email),
        )
        .route(
            "/user/security/sessions/end",
            post(pages::account::security::end_session),
        )
        .route(
            "/user/security/sessions/others",
            post(pages::account::security::end_others),
        )
        .route(
            "/topup",
            get(pages::account::topup::get).post(pages::account::topup::post),
        )
        .route(
            "/admin/topup",
            get(pages::admin_topup::get).post(pages::admin_topup::post),
        )
        // The life of an account (#16).
        .route(
            "/user/security/email/change",
            post(pages::account::email_change::post),
        )
        .route(
            "/user/security/activity",
            get(pages::account::activity::get),
        )
        .route(
            "/user/security/export",
            get(pages::account::activity::export),
        )
        .route("/admin/users/{id}/ways_in", get(pages::admin::ways_in))
        .route(
            "/admin/users/{id}/passkeys/{passkey_id}/remove",
            post(pages::admin::ways_in_remove_passkey),
        )
        .route(
            "/admin/users/{id}/2fa/reset",
            post(pages::admin::reset_two_factor),
        )
        .route(
            "/api/openapi.json",
            get(move || {
                let document = document.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], document) }
            }),
        );

    let app = Router::new()
        .merge(api)
        .merge(pages)
        // Browser apps call userinfo cross-origin with a bearer token: answer its preflight.
        .route("/oauth2/userinfo", options(oidc::bearer_preflight))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(crate::metrics::render))
        .route("/brand.css", get(pages::brand::stylesheet))
        .route("/brand/logo", get(pages::brand::logo))
        .fallback(pages::not_found)
        .route_layer(axum::middleware::from_fn(crate::metrics::track))
        .with_state(state.clone());
    let brand = std::sync::Arc::new(pages::brand::BrandCache::new(state.settings.clone()));
    middleware::apply(app, &config, brand)
}
