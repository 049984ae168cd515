//! Routes of the web UI's Catalog page: thin adapters over the [`Gateway`](crate::Gateway)
//! registry operations the CLI uses too.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::handler::{error, Api};
use crate::registry::{InstallRequest, DEFAULT_PAGE};

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    #[serde(default)]
    search: String,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// `GET /registry/servers?search=&limit=&cursor=`: one page of the registry's servers.
pub(super) async fn search(State(api): State<Api>, Query(q): Query<SearchQuery>) -> Response {
    api.gw
        .registry_search(
            &q.search,
            q.limit.unwrap_or(DEFAULT_PAGE),
            q.cursor.as_deref(),
        )
        .await
        .map_or_else(error, |page| Json(page).into_response())
}

#[derive(Deserialize)]
pub(super) struct ServerQuery {
    name: String,
    version: Option<String>,
}

/// `GET /registry/server?name=&version=`: one server with the values it takes.
pub(super) async fn server(State(api): State<Api>, Query(q): Query<ServerQuery>) -> Response {
    api.gw
        .registry_server(&q.name, q.version.as_deref())
        .await
        .map_or_else(error, |view| Json(view).into_response())
}

/// `POST /registry/add`: adds a registry server (it lands in quarantine).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AddBody {
    /// The registry name, e.g. `io.github.owner/weather`.
    name: String,
    /// Its version; default the latest.
    version: Option<String>,
    #[serde(flatten)]
    request: InstallRequest,
}

pub(super) async fn add(State(api): State<Api>, Json(body): Json<AddBody>) -> Response {
    api.gw
        .add_from_registry(&body.name, body.version.as_deref(), &body.request)
        .await
        .map_or_else(error, |added| Json(added).into_response())
}
