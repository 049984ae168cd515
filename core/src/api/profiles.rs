//! `/api/v1/profiles`: the profiles (`[profiles.NAME]`) with the servers
//! they cover and the clients bound to them; writing and removing one. The
//! web UI's Profiles page edits through these.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::handler::{error, Api};
use crate::config::ProfileConfig;

pub(super) async fn list(State(api): State<Api>) -> Response {
    api.gw.profile_views().map_or_else(error, |profiles| {
        Json(json!({ "profiles": profiles })).into_response()
    })
}

/// `PUT /profiles/{name}`: writes the profile (replacing one of that name).
pub(super) async fn put(
    State(api): State<Api>,
    Path(name): Path<String>,
    Json(body): Json<ProfileConfig>,
) -> Response {
    match api.gw.put_profile(&name, &body).await {
        Ok(()) => Json(json!({ "saved": name })).into_response(),
        Err(e) => error(e),
    }
}

pub(super) async fn remove(State(api): State<Api>, Path(name): Path<String>) -> Response {
    match api.gw.remove_profile(&name).await {
        Ok(()) => Json(json!({ "removed": name })).into_response(),
        Err(e) => error(e),
    }
}
