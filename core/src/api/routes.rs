//! The admin API's routes: thin adapters over [`Gateway`] operations.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::StreamExt;
use serde_json::json;
use tokio_stream::wrappers::BroadcastStream;

use crate::Gateway;

#[derive(Clone)]
struct Api {
    gw: Gateway,
    token: Arc<str>,
}

/// The `/api/v1` routes, all behind the bearer token.
pub fn router(gw: Gateway, token: String) -> Router {
    let api = Api { gw, token: token.into() };
    Router::new()
        .route("/api/v1/servers", get(servers))
        .route("/api/v1/tools", get(tools))
        .route("/api/v1/events", get(events))
        .layer(middleware::from_fn_with_state(api.clone(), require_token))
        .with_state(api)
}

async fn require_token(State(api): State<Api>, req: Request, next: Next) -> Response {
    let given = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(t) if constant_time_eq(t.as_bytes(), api.token.as_bytes()) => next.run(req).await,
        _ => (StatusCode::UNAUTHORIZED, Json(json!({ "error": "missing or wrong admin token", "hint": "send `Authorization: Bearer <token>` with the token from admin.token in the data dir" }))).into_response(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn servers(State(api): State<Api>) -> Response {
    Json(api.gw.servers()).into_response()
}

async fn tools(State(api): State<Api>) -> Response {
    let tools: Vec<_> = api
        .gw
        .tools()
        .into_iter()
        .map(|t| json!({ "name": t.name, "server": t.server, "tool": t.tool.name, "description": t.tool.description() }))
        .collect();
    Json(tools).into_response()
}

async fn events(State(api): State<Api>) -> Response {
    let stream = BroadcastStream::new(api.gw.subscribe()).filter_map(|e| async move {
        let e = e.ok()?;
        let data = serde_json::to_string(&e).ok()?;
        Some(Ok::<_, Infallible>(Event::default().event("gateway").data(data)))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}
