//! The Connect page's routes: each MCP client's snippet, and writing it into
//! (or taking it back out of) that client's config file; and the welcome
//! page's: the servers a client declares, and importing them.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::handler::{error, Api};
use crate::clients::Client;
use crate::GatewayError;

/// The MCP endpoint at the address the caller reached: the listener serves
/// both, and the Host header passed the loopback check already.
fn mcp_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:7331");
    format!("http://{host}/mcp")
}

fn client(id: &str) -> Result<Client, GatewayError> {
    let known: Vec<&str> = Client::ALL.iter().map(|c| c.id()).collect();
    Client::parse(id).ok_or_else(|| {
        GatewayError::invalid(
            format!("unknown client `{id}`"),
            format!("one of {}", known.join(", ")),
        )
    })
}

pub(super) async fn list(State(api): State<Api>, headers: HeaderMap) -> Response {
    Json(api.gw.client_setups(&mcp_url(&headers))).into_response()
}

/// `POST /clients/{id}/install`: optionally, the profile the client sees.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct InstallBody {
    #[serde(default)]
    profile: Option<String>,
}

pub(super) async fn install(
    State(api): State<Api>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Option<Json<InstallBody>>,
) -> Response {
    let profile = body.and_then(|Json(b)| b.profile).filter(|p| !p.is_empty());
    client(&id)
        .and_then(|c| {
            api.gw
                .install_client(c, &mcp_url(&headers), profile.as_deref())
        })
        .map_or_else(error, |done| Json(done).into_response())
}

pub(super) async fn undo(State(api): State<Api>, Path(id): Path<String>) -> Response {
    client(&id)
        .and_then(|c| api.gw.undo_client(c))
        .map_or_else(error, |done| Json(done).into_response())
}

/// `GET /api/v1/clients/{client}/servers`: what the client's config declares.
pub(super) async fn servers(State(api): State<Api>, Path(id): Path<String>) -> Response {
    client(&id)
        .and_then(|c| api.gw.client_servers(c))
        .map_or_else(error, |servers| {
            let list: Vec<serde_json::Value> = servers
                .iter()
                .map(|s| {
                    let what = match (&s.config.command, &s.config.url) {
                        (Some(c), _) => std::iter::once(c.as_str())
                            .chain(s.config.args.iter().flatten().map(String::as_str))
                            .collect::<Vec<_>>()
                            .join(" "),
                        (None, Some(u)) => u.clone(),
                        (None, None) => String::new(),
                    };
                    serde_json::json!({ "name": s.name, "runs": what, "warnings": s.warnings })
                })
                .collect();
            Json(list).into_response()
        })
}

/// `POST /api/v1/clients/{client}/import`: adds the client's servers.
pub(super) async fn import(State(api): State<Api>, Path(id): Path<String>) -> Response {
    match client(&id) {
        Ok(c) => api
            .gw
            .import_client(c)
            .await
            .map_or_else(error, |added| Json(added).into_response()),
        Err(e) => error(e),
    }
}
