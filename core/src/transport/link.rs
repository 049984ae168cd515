//! What the two HTTP transports share: the connection's state (`Link`), the
//! configured headers with the access token presented, bounded reads of
//! answers, readable errors, and telling a waiting caller that its request
//! did not get through. Streamable HTTP (`http.rs`) and legacy SSE
//! (`sse.rs`) both build on this file, not on each other.

use std::sync::Arc;

use futures::StreamExt;
use parking_lot::Mutex;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{CloseSignal, Inbound, TransportError};
use crate::oauth::OAuthClient;
use crate::protocol::{ErrorCode, Kind, Message};

/// The input schema of an upstream tool, by name (for `Mcp-Param-*` headers).
pub(crate) type ToolSchemas = Arc<dyn Fn(&str) -> Option<serde_json::Value> + Send + Sync>;

/// Shared by the writer and the tasks it starts.
pub(super) struct Link {
    pub(super) server: String,
    pub(super) url: reqwest::Url,
    pub(super) http: reqwest::Client,
    pub(super) headers: HeaderMap,
    pub(super) limit: usize,
    pub(super) inbound: Inbound,
    pub(super) signal: CloseSignal,
    pub(super) tasks: TaskTracker,
    pub(super) cancel: CancellationToken,
    /// Streamable HTTP only: input schemas, for `Mcp-Param-*` headers.
    pub(super) tool_schemas: ToolSchemas,
    pub(super) auth: Option<Arc<OAuthClient>>,
    /// Streamable HTTP only: `Mcp-Session-Id`.
    pub(super) session: Mutex<Option<String>>,
    /// Streamable HTTP only: `MCP-Protocol-Version` once agreed.
    pub(super) version: Mutex<Option<String>>,
}

/// Tells the waiting caller why its request did not get through.
pub(super) fn fail(link: &Link, msg: &Message, err: &TransportError) {
    match (msg.kind(), msg.id.clone()) {
        (Kind::Request, Some(id)) => (link.inbound)(Message::error_response(
            id,
            ErrorCode::UpstreamUnavailable.code(),
            &format!("upstream `{}`: {err}", link.server),
            None,
        )),
        _ => tracing::warn!(
            server = link.server,
            "sending {} failed: {err}",
            msg.method()
        ),
    }
    if msg.method() == "initialize" {
        link.signal.close(err.to_string());
    }
}

/// The configured headers, with the access token (and its DPoP proof for a
/// `method` request to `url`) when there is one.
pub(super) fn base_headers(link: &Link, method: &str, url: &str) -> HeaderMap {
    let mut h = link.headers.clone();
    if let (Some(auth), Some(token)) = (
        &link.auth,
        link.auth.as_ref().and_then(|a| a.current_token()),
    ) {
        put_token(&mut h, auth, method, url, &token);
    }
    h
}

/// Presents `token` in `h` (replacing what was there).
pub(super) fn put_token(
    h: &mut HeaderMap,
    auth: &OAuthClient,
    method: &str,
    url: &str,
    token: &str,
) {
    h.remove(AUTHORIZATION);
    h.remove("dpop");
    for (name, value) in auth.authorization_headers(method, url, token) {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
}

/// Reads a body, refusing more than `limit` bytes.
pub(super) async fn read_bounded(resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(format!(
            "the response is larger than the {limit}-byte limit"
        ));
    }
    let mut out = Vec::new();
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        if out.len() + chunk.len() > limit {
            return Err(format!(
                "the response is larger than the {limit}-byte limit"
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// reqwest's errors hide the useful part (e.g. "connection refused") in their sources.
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}
