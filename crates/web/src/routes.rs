//! Every route Keyward serves, in one place.

use crate::envelope::ApiError;
use crate::state::AppState;
use crate::{account, admin, health, middleware};
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
        .route("/api/admin/users", get(admin::users::list))
        .route("/api/admin/users/{id}", patch(admin::users::patch))
        .route(
            "/api/admin/settings",
            get(admin::settings::get).put(admin::settings::put),
        );

    let app = Router::new()
        .merge(api)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(|| async { ApiError::NotFound("未找到") })
        .with_state(state);
    middleware::apply(app, &config)
}
