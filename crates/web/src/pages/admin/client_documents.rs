//! `/admin/client-documents`: the clients that came by a Client ID Metadata Document — the host
//! their document lives on, the name they gave themselves, when they were last seen and how many
//! users let them in — each blockable (its tokens die at once) through the apps' review action.

use super::{AdminFrame, ListQuery, Pager, unavailable};
use crate::pages::console::format_time;
use crate::pages::{PageAdmin, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::model::{Client, ClientKind, ClientStatus};
use keyward_core::oauth::metadata_document::check_url;
#[cfg(test)]
use {crate::pages::Gallery, keyward_core::model::User};

pub struct DocumentClientRow {
    pub id: i64,
    pub host: String,
    pub client_id: String,
    pub name: String,
    pub last_seen: String,
    pub consents: i64,
    pub blocked: bool,
}

impl DocumentClientRow {
    fn new(client: &Client, consents: i64) -> Self {
        Self {
            id: client.id,
            host: check_url(&client.client_id).unwrap_or_default(),
            client_id: client.client_id.clone(),
            name: client.name.clone(),
            last_seen: format_time(client.last_used_at.unwrap_or(client.created_at)),
            consents,
            blocked: client.status == ClientStatus::Disabled,
        }
    }
}

#[derive(Template)]
#[template(path = "admin_client_documents.html")]
pub struct ClientDocumentsPage {
    pub frame: AdminFrame,
    pub return_to: String,
    pub clients: Vec<DocumentClientRow>,
    pub pager: Pager,
}

/// `GET /admin/client-documents?p=`.
pub async fn client_documents(
    State(state): State<AppState>,
    PageAdmin(page): PageAdmin,
    Query(query): Query<ListQuery>,
) -> Response {
    let listed = Pager::fetch("/admin/client-documents", "", query.p, 50, |window| {
        state
            .store
            .clients_of_kind(ClientKind::MetadataDocument, window)
    });
    let (clients, pager) = match listed.await {
        Ok(listed) => listed,
        Err(e) => return unavailable(page.t, &e),
    };
    render(
        StatusCode::OK,
        &ClientDocumentsPage {
            frame: AdminFrame::of(&page, "client_documents"),
            return_to: page.path.clone(),
            clients: clients
                .iter()
                .map(|(client, consents)| DocumentClientRow::new(client, *consents))
                .collect(),
            pager,
        },
    )
}

#[cfg(test)]
pub(crate) fn samples(t: &'static crate::pages::Texts, user: &User) -> Gallery {
    let row = |id, host: &str, blocked| DocumentClientRow {
        id,
        host: host.into(),
        client_id: format!("https://{host}/client.json"),
        name: "Agent <script>".into(),
        last_seen: format_time(0),
        consents: 3,
        blocked,
    };
    let page = ClientDocumentsPage {
        frame: AdminFrame::sample(t, user, "/admin/client-documents", "client_documents"),
        return_to: "/admin/client-documents".into(),
        clients: vec![row(1, "agent.example", false), row(2, "evil.example", true)],
        pager: Pager::new("/admin/client-documents", "", 1, false),
    };
    vec![(
        "admin_client_documents.html",
        page.render().unwrap_or_default(),
    )]
}
