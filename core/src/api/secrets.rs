//! `/api/v1/secrets`: names and where they are used (never values), setting
//! one (which restarts the servers using it) and removing one.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::handler::{error, Api};
use crate::secrets::SecretName;
use crate::GatewayError;

/// `POST /secrets/{name}`: the value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SetBody {
    value: String,
}

pub(super) async fn list(State(api): State<Api>) -> Response {
    api.gw.secrets().map_or_else(error, |list| {
        Json(json!({ "secrets": list })).into_response()
    })
}

pub(super) async fn set(
    State(api): State<Api>,
    Path(name): Path<String>,
    Json(body): Json<SetBody>,
) -> Response {
    let name = match SecretName::parse(&name) {
        Ok(n) => n,
        Err(e) => return error(GatewayError::from(e)),
    };
    if body.value.is_empty() {
        return error(GatewayError::invalid(
            format!("the secret `{name}` needs a value"),
            "an empty value is not stored; remove the secret instead",
        ));
    }
    api.gw
        .set_secret(&name, &body.value)
        .await
        .map_or_else(error, |set| Json(set).into_response())
}

pub(super) async fn remove(State(api): State<Api>, Path(name): Path<String>) -> Response {
    api.gw.remove_secret(&name).map_or_else(error, |removed| {
        Json(json!({ "removed": removed })).into_response()
    })
}
