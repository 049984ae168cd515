//! `/api/v1/client-tokens`: the clients with a token for `/mcp` (never the
//! token), making one (shown once) and removing one.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::handler::{error, Api};

/// `POST /client-tokens`: the client's name, and the profile to bind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AddBody {
    name: String,
    #[serde(default)]
    profile: Option<String>,
}

pub(super) async fn list(State(api): State<Api>) -> Response {
    api.gw.clients().map_or_else(error, |clients| {
        Json(json!({ "clients": clients })).into_response()
    })
}

pub(super) async fn add(State(api): State<Api>, Json(body): Json<AddBody>) -> Response {
    api.gw
        .add_client(&body.name, body.profile.as_deref())
        .map_or_else(error, |added| Json(added).into_response())
}

pub(super) async fn remove(State(api): State<Api>, Path(name): Path<String>) -> Response {
    match api.gw.remove_client(&name) {
        Ok(removed) => Json(json!({ "removed": removed })).into_response(),
        Err(e) => error(e),
    }
}
