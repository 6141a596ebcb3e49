//! The benchmark's reference point: the least an axum server on this machine can do per request.
//! `GET /hello` answers "hello"; `POST /form` parses an x-www-form-urlencoded body and answers it
//! as JSON. Same runtime set-up as Keyward (`#[tokio::main]`), so the ratio between the two is
//! what Keyward itself costs.
//!
//! Usage: `bench-baseline 127.0.0.1:PORT`

use axum::routing::{get, post};
use axum::{Form, Json, Router};
use std::collections::HashMap;

async fn hello() -> &'static str {
    "hello"
}

async fn form(Form(fields): Form<HashMap<String, String>>) -> Json<HashMap<String, String>> {
    Json(fields)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3001".to_owned());
    let app = Router::new()
        .route("/hello", get(hello))
        .route("/form", post(form));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("bench-baseline listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
