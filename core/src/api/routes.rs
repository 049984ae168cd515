//! The admin API's routes: thin adapters over [`Gateway`] operations.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Extension, Path, Query};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use futures::StreamExt;
use serde_json::json;
use tokio_stream::wrappers::BroadcastStream;

use super::handler::{error, Api};
use crate::search::SearchOptions;
use crate::store::ActivityQuery;
use crate::trust::{Actor, HighFindings, ItemKind, Reviewed, ReviewedItem, ToolSelection};
use crate::{Gateway, GatewayError};

/// The `/api/v1` routes, all behind a channel's bearer token (which also
/// names who decided), and the web UI at `/ui/` (whose files need none).
pub fn router(gw: Gateway, channels: super::Channels) -> Router {
    let api = Api {
        gw,
        channels: Arc::new(channels),
    };
    let v1 = Router::new()
        .route("/api/v1/servers", get(servers).post(super::servers::add))
        .route("/api/v1/servers/{name}", delete(super::servers::remove))
        .route(
            "/api/v1/servers/{name}/enable",
            post(super::servers::enable),
        )
        .route(
            "/api/v1/servers/{name}/disable",
            post(super::servers::disable),
        )
        .route("/api/v1/servers/{name}/approve", post(approve))
        .route("/api/v1/servers/{name}/block", post(block))
        .route("/api/v1/servers/{name}/login", post(login))
        .route("/api/v1/registry/servers", get(super::registry::search))
        .route("/api/v1/registry/server", get(super::registry::server))
        .route("/api/v1/registry/add", post(super::registry::add))
        .route(
            "/api/v1/client-tokens",
            get(super::client_tokens::list).post(super::client_tokens::add),
        )
        .route(
            "/api/v1/client-tokens/{name}",
            axum::routing::delete(super::client_tokens::remove),
        )
        .route("/api/v1/profiles", get(super::profiles::list))
        .route(
            "/api/v1/profiles/{name}",
            axum::routing::put(super::profiles::put).delete(super::profiles::remove),
        )
        .route("/api/v1/secrets", get(super::secrets::list))
        .route(
            "/api/v1/secrets/{name}",
            post(super::secrets::set).delete(super::secrets::remove),
        )
        .route("/api/v1/tools", get(tools))
        .route("/api/v1/tools/pending", get(pending))
        .route("/api/v1/tools/diff", get(diff))
        .route("/api/v1/tools/detail", get(detail))
        .route("/api/v1/items/pending", get(pending_items))
        .route("/api/v1/search", get(search))
        .route("/api/v1/activity", get(activity))
        .route("/api/v1/events", get(events))
        .route("/api/v1/gateway", get(gateway_state))
        .route("/metrics", get(metrics))
        .route("/api/v1/gateway/pause", post(pause))
        .route("/api/v1/gateway/resume", post(resume))
        .route(
            "/api/v1/settings",
            get(super::settings::get).post(super::settings::set),
        )
        .route("/api/v1/clients", get(super::connect::list))
        .route(
            "/api/v1/clients/{client}/install",
            post(super::connect::install),
        )
        .route("/api/v1/clients/{client}/undo", post(super::connect::undo))
        .route(
            "/api/v1/clients/{client}/servers",
            get(super::connect::servers),
        )
        .route(
            "/api/v1/clients/{client}/import",
            post(super::connect::import),
        )
        .layer(middleware::from_fn_with_state(api.clone(), require_token))
        .with_state(api);
    v1.merge(super::ui::routes())
}

// No CORS: the web UI, in a browser and in the desktop app's windows alike,
// is served by this listener, so it calls the API from its own origin. A page
// from any other origin (another Tauri app's `tauri://localhost` included)
// gets no CORS headers, so a browser keeps its scripts out.

/// Checks the bearer token and records which channel it belongs to: the
/// handlers take the [`Actor`] from here, never from anything else the
/// request says.
async fn require_token(State(api): State<Api>, mut req: Request, next: Next) -> Response {
    let actor = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| api.channels.actor_of(t));
    match actor {
        Some(actor) => {
            req.extensions_mut().insert(actor);
            next.run(req).await
        }
        None => (StatusCode::UNAUTHORIZED, Json(json!({ "error": "missing or wrong admin token", "hint": "send `Authorization: Bearer <token>` with the token from admin.token in the data dir" }))).into_response(),
    }
}

/// `POST /servers/{name}/login`: starts (or joins) the server's sign-in; answers its URL.
async fn login(State(api): State<Api>, Path(name): Path<String>) -> Response {
    match api.gw.sign_in(&name).await {
        Ok(url) => Json(json!({ "url": url })).into_response(),
        Err(e) => error(e),
    }
}

async fn servers(State(api): State<Api>) -> Response {
    Json(api.gw.servers()).into_response()
}

/// `GET /metrics`: Prometheus's text format, behind the admin token like the rest.
async fn metrics(State(api): State<Api>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        api.gw.metrics_text(),
    )
        .into_response()
}

/// A tool in a decision: its name (enough to block it), or its name and the
/// hash of the definition the person reviewed (needed to approve it).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum NamedTool {
    Object {
        name: String,
        #[serde(default)]
        hash: Option<String>,
    },
    Name(String),
}

/// An item in a decision: kind and key, and (to approve it) the hash of
/// the definition the person reviewed.
#[derive(serde::Deserialize)]
struct NamedItem {
    kind: ItemKind,
    name: String,
    #[serde(default)]
    hash: Option<String>,
}

/// What to approve or block: the server itself, some or all of its tools,
/// or some of its other items (instructions, prompts, resources, templates).
#[derive(serde::Deserialize, Default)]
struct DecisionBody {
    #[serde(default)]
    tools: Vec<NamedTool>,
    #[serde(default)]
    all_tools: bool,
    #[serde(default)]
    items: Vec<NamedItem>,
    /// The person confirmed, after seeing them, that definitions with
    /// high-severity findings are to be approved anyway.
    #[serde(default)]
    confirm_high: bool,
}

impl DecisionBody {
    fn names(&self) -> Vec<String> {
        self.tools
            .iter()
            .map(|t| match t {
                NamedTool::Object { name, .. } | NamedTool::Name(name) => name.clone(),
            })
            .collect()
    }

    /// The reviewed definitions of an approval, or why it cannot be taken.
    fn reviewed(&self, server: &str) -> Result<Vec<Reviewed>, GatewayError> {
        let how = "send {\"tools\": [{\"name\": \"TOOL\", \"hash\": \"HASH\"}]} with the `hash` that GET /api/v1/tools/pending (or tools/detail) gave for the definition you reviewed";
        if self.all_tools {
            return Err(GatewayError::InvalidParams(format!(
                "approving `all_tools` of `{server}` would approve definitions nobody was shown; {how}"
            )));
        }
        self.tools
            .iter()
            .map(|t| match t {
                NamedTool::Object {
                    name,
                    hash: Some(hash),
                } => Ok(Reviewed::new(name, hash)),
                NamedTool::Object {
                    name: n,
                    hash: None,
                }
                | NamedTool::Name(n) => Err(GatewayError::InvalidParams(format!(
                    "an approval of `{n}` must name the definition you reviewed; {how}"
                ))),
            })
            .collect()
    }
}

async fn approve(
    State(api): State<Api>,
    Path(name): Path<String>,
    Extension(who): Extension<Actor>,
    body: Option<Json<DecisionBody>>,
) -> Response {
    let body = body.map(|b| b.0).unwrap_or_default();
    let confirm = HighFindings::from_flag(body.confirm_high);
    if !body.items.is_empty() {
        let reviewed: Result<Vec<ReviewedItem>, GatewayError> = body
            .items
            .into_iter()
            .map(|i| match i.hash {
                Some(hash) => Ok(ReviewedItem { kind: i.kind, name: i.name, hash }),
                None => Err(GatewayError::InvalidParams(format!(
                    "an approval of {} `{}` must name the definition you reviewed: send its `hash` from GET /api/v1/items/pending",
                    i.kind, i.name
                ))),
            })
            .collect();
        let result = match reviewed {
            Ok(r) => api.gw.approve_items(&name, &r, confirm, who).await,
            Err(e) => Err(e),
        };
        return result.map_or_else(error, |s| {
            Json(json!({ "server": name, "items": s })).into_response()
        });
    }
    let result = if body.tools.is_empty() && !body.all_tools {
        api.gw.approve_server(&name, who).await
    } else {
        match body.reviewed(&name) {
            Ok(reviewed) => api.gw.approve_tools(&name, &reviewed, confirm, who).await,
            Err(e) => Err(e),
        }
    };
    result.map_or_else(error, |d| Json(d).into_response())
}

async fn block(
    State(api): State<Api>,
    Path(name): Path<String>,
    Extension(who): Extension<Actor>,
    body: Option<Json<DecisionBody>>,
) -> Response {
    let body = body.map(|b| b.0).unwrap_or_default();
    if !body.items.is_empty() {
        let items: Vec<(ItemKind, String)> =
            body.items.into_iter().map(|i| (i.kind, i.name)).collect();
        return api
            .gw
            .block_items(&name, &items, who)
            .await
            .map_or_else(error, |s| {
                Json(json!({ "server": name, "items": s })).into_response()
            });
    }
    let result = if body.all_tools {
        api.gw.block_tools(&name, &ToolSelection::All, who).await
    } else if body.tools.is_empty() {
        api.gw.block_server(&name, who).await
    } else {
        api.gw
            .block_tools(&name, &ToolSelection::names(body.names()), who)
            .await
    };
    result.map_or_else(error, |d| Json(d).into_response())
}

#[derive(serde::Deserialize)]
struct ToolsQuery {
    server: Option<String>,
}

async fn tools(State(api): State<Api>, Query(q): Query<ToolsQuery>) -> Response {
    let tools: Vec<_> = api
        .gw
        .tools()
        .into_iter()
        .filter(|t| q.server.as_ref().is_none_or(|s| *s == t.server))
        .map(|t| {
            let state = api.gw.tool_state(&t.server, &t.tool.name);
            let signature = crate::search::signature(&t.tool.field("inputSchema").unwrap_or_default());
            json!({ "name": t.name, "server": t.server, "tool": t.tool.name, "description": t.tool.description(), "signature": signature, "state": state, "callable": t.callable })
        })
        .collect();
    Json(tools).into_response()
}

async fn pending(State(api): State<Api>) -> Response {
    let with_signatures = |pending: Vec<crate::store::PendingTool>| {
        let items: Vec<serde_json::Value> = pending
            .into_iter()
            .map(|p| {
                let signature = crate::search::signature(
                    p.definition
                        .get("inputSchema")
                        .unwrap_or(&serde_json::Value::Null),
                );
                let mut v = serde_json::to_value(p).unwrap_or_default();
                v["signature"] = signature.into();
                v
            })
            .collect();
        Json(items).into_response()
    };
    api.gw.pending_tools().map_or_else(error, with_signatures)
}

/// `GET /items/pending`: instructions, prompts, resources and templates
/// waiting for a person, each with the hash an approval must name.
async fn pending_items(State(api): State<Api>) -> Response {
    api.gw
        .pending_items()
        .map_or_else(error, |p| Json(p).into_response())
}

/// `?server=S&tool=T`: one tool of one server.
#[derive(serde::Deserialize)]
struct ToolQuery {
    server: String,
    tool: String,
}

async fn detail(State(api): State<Api>, Query(q): Query<ToolQuery>) -> Response {
    api.gw
        .tool_detail(&q.server, &q.tool)
        .map_or_else(error, |d| Json(d).into_response())
}

async fn diff(State(api): State<Api>, Query(q): Query<ToolQuery>) -> Response {
    match api.gw.tool_diff(&q.server, &q.tool) {
        Ok(Some(d)) => Json(d).into_response(),
        Ok(None) => error(GatewayError::UnknownTool {
            name: format!("{}/{}", q.server, q.tool),
        }),
        Err(e) => error(e),
    }
}

#[derive(serde::Deserialize)]
struct SearchQuery {
    q: String,
    limit: Option<usize>,
    server: Option<String>,
    #[serde(default)]
    explain: bool,
}

async fn search(State(api): State<Api>, Query(q): Query<SearchQuery>) -> Response {
    let opts = SearchOptions {
        limit: q.limit.unwrap_or(10).min(100),
        server: q.server,
        explain: q.explain,
    };
    api.gw
        .search(&q.q, opts)
        .await
        .map_or_else(error, |h| Json(h).into_response())
}

#[derive(serde::Deserialize)]
struct ActivityParams {
    limit: Option<usize>,
    after_id: Option<i64>,
    server: Option<String>,
}

async fn activity(State(api): State<Api>, Query(q): Query<ActivityParams>) -> Response {
    let query = ActivityQuery {
        limit: q.limit.unwrap_or(100).min(10_000),
        after_id: q.after_id,
        kind: None,
        server: q.server,
    };
    api.gw
        .activity(&query)
        .map_or_else(error, |a| Json(a).into_response())
}

async fn gateway_state(State(api): State<Api>) -> Response {
    Json(json!({ "paused": api.gw.is_paused() })).into_response()
}

async fn pause(State(api): State<Api>) -> Response {
    api.gw.set_paused(true);
    gateway_state(State(api)).await
}

async fn resume(State(api): State<Api>) -> Response {
    api.gw.set_paused(false);
    gateway_state(State(api)).await
}

async fn events(State(api): State<Api>) -> Response {
    // Both kinds of event: the window follows calls too.
    let all = futures::stream::select(
        BroadcastStream::new(api.gw.subscribe()),
        BroadcastStream::new(api.gw.subscribe_calls()),
    );
    let stream = all.filter_map(|e| async move {
        let e = e.ok()?;
        let data = serde_json::to_string(&e).ok()?;
        Some(Ok::<_, Infallible>(
            Event::default().event("gateway").data(data),
        ))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
