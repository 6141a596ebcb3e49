//! Every route Keyward serves, in one place.

use crate::envelope::ApiError;
use crate::federation::{callback, email, state as upstream, telegram, wechat};
use crate::state::AppState;
use crate::{account, admin, apps, health, middleware, oauth, oidc, pages};
use axum::Router;
use axum::routing::{get, patch, post};

pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let api = Router::new()
        .route("/api/user/register", post(account::register::post))
        .route("/api/user/login", post(account::login::post))
        .route("/api/user/logout", get(account::logout::get))
        .route(
            "/api/user/self",
            get(account::me::get).put(account::me::put),
        )
        .route("/api/user/token", get(account::token::get))
        .route("/api/user/topup", post(account::topup::post))
        .route(
            "/api/admin/topup_codes",
            post(admin::topup::create).get(admin::topup::list),
        )
        .route("/api/user/login/2fa", post(account::login::second_factor))
        .route("/api/user/2fa/status", get(account::two_factor::status))
        .route("/api/user/2fa/setup", post(account::two_factor::setup))
        .route("/api/user/2fa/enable", post(account::two_factor::enable))
        .route("/api/user/2fa/disable", post(account::two_factor::disable))
        .route(
            "/api/user/authorizations",
            get(account::authorizations::list),
        )
        .route(
            "/api/user/authorizations/{client_id}",
            axum::routing::delete(account::authorizations::revoke),
        )
        .route("/api/oauth_apps", post(apps::create).get(apps::list))
        .route("/api/oauth_apps/{id}", get(apps::get).delete(apps::delete))
        .route("/api/oauth_apps/{id}/secret", post(apps::rotate))
        .route("/api/admin/oauth_apps", get(admin::apps::list))
        .route("/api/admin/oauth_apps/{id}", patch(admin::apps::patch))
        .route(
            "/api/admin/oauth_apps/{id}/approve",
            post(admin::apps::approve),
        )
        .route(
            "/api/admin/oauth_apps/{id}/reject",
            post(admin::apps::reject),
        )
        .route(
            "/api/admin/oauth_apps/{id}/disable",
            post(admin::apps::disable),
        )
        .route("/api/admin/audit", get(admin::audit::list))
        .route("/api/status", get(account::status::get))
        // The platform login module (new-api's `/api/oauth/...`).
        .route("/api/oauth/state", get(upstream::get))
        .route("/api/oauth/github", get(callback::github))
        .route("/api/oauth/oidc", get(callback::oidc))
        .route("/api/oauth/linuxdo", get(callback::linuxdo))
        .route("/api/oauth/{provider}/start", get(upstream::start))
        .route("/api/oauth/wechat", get(wechat::login))
        .route(
            "/api/oauth/wechat/bind",
            get(wechat::bind_get).post(wechat::bind_post),
        )
        .route(
            "/api/oauth/telegram/login",
            get(telegram::login).post(telegram::login_post),
        )
        .route("/api/oauth/telegram/bind", get(telegram::bind))
        .route(
            "/api/oauth/email/bind",
            get(email::bind_get).post(email::bind_post),
        )
        .route("/api/verification", get(email::send_code))
        .route("/api/reset_password", get(email::request_reset))
        .route("/api/user/reset", post(email::reset))
        .route("/api/user/identities", get(account::identities::list))
        .route(
            "/api/user/identities/{provider}",
            axum::routing::delete(account::identities::unlink),
        )
        .route("/api/admin/users", get(admin::users::list))
        .route("/api/admin/users/{id}", patch(admin::users::patch))
        .route(
            "/api/admin/settings",
            get(admin::settings::get).put(admin::settings::put),
        );

    // The protocol endpoints keep their own envelopes, so they sit outside the account API.
    let protocol = Router::new()
        .route(
            "/oauth/authorize",
            get(oauth::authorize::get).post(oauth::authorize::post),
        )
        .route("/api/oauth2/authorize", get(oauth::authorize::get))
        .route("/api/oauth/token", post(oauth::libra::token))
        .route("/api/oauth/me", get(oauth::libra::me))
        .route("/api/oauth2/token", post(oauth::token::post))
        .route("/api/oauth2/userinfo", get(oauth::userinfo::get))
        .route("/api/oauth2/topup", get(oauth::userinfo::topup))
        .route(
            "/.well-known/openid-configuration",
            get(oidc::discovery::openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(oidc::discovery::authorization_server),
        )
        .route("/oauth2/jwks", get(oidc::discovery::jwks))
        .route(
            "/oauth2/userinfo",
            get(oidc::userinfo::handle).post(oidc::userinfo::handle),
        )
        .route("/oauth2/revoke", post(oidc::revoke::post))
        .route("/oauth2/introspect", post(oidc::introspect::post))
        .route(
            "/oauth2/logout",
            get(oidc::logout::get).post(oidc::logout::post),
        )
        .route("/login", get(pages::login::get).post(pages::login::post))
        .route("/login/2fa", post(pages::login::second_factor))
        .route("/lang", get(pages::switch_language))
        .route("/static/keyward.css", get(pages::stylesheet))
        .route("/static/keyward.js", get(pages::script))
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
            "/user/setting/oauth/{id}/delete",
            get(pages::console::confirm_delete).post(pages::console::delete),
        )
        // The admin pages.
        .route("/admin", get(pages::admin::overview))
        .route("/admin/apps", get(pages::admin::apps))
        .route("/admin/apps/{id}/review", post(pages::admin::review))
        .route("/admin/apps/{id}/trusted", post(pages::admin::trust))
        .route("/admin/users", get(pages::admin::users))
        .route("/admin/users/{id}", post(pages::admin::update_user))
        .route(
            "/admin/settings",
            get(pages::admin::settings).post(pages::admin::save_settings),
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
        );

    let app = Router::new()
        .merge(api)
        .merge(protocol)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(crate::metrics::render))
        .fallback(|| async { ApiError::NotFound("未找到") })
        .route_layer(axum::middleware::from_fn(crate::metrics::track))
        .with_state(state);
    middleware::apply(app, &config)
}
