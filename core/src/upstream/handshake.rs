//! The handshake with an upstream once connected: the stateless era's
//! `server/discover` where the server speaks it, else `initialize` and
//! `notifications/initialized`; then every page of `tools/list`, handed to
//! the gateway before the server counts as ready.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::handle::empty_params;
use super::{stateless, Tool, UpstreamError, UpstreamEvent, UpstreamHandle, UpstreamInfo};
use crate::config::UpstreamProtocol;
use crate::protocol::{to_raw, Message, LATEST_VERSION, SUPPORTED_VERSIONS};

/// How long a start may take (npx and uvx may fetch packages first).
pub(super) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a listing waits for the gateway to record it before the upstream
/// says it is ready anyway.
const OBSERVE_WAIT: Duration = Duration::from_secs(10);

/// Stateless when the upstream is (see `stateless.rs`), else `initialize`.
pub(super) async fn handshake(handle: &UpstreamHandle) -> Result<(), UpstreamError> {
    let shared = &handle.0;
    let protocol = shared.settings.protocol;
    if protocol != UpstreamProtocol::Handshake
        && !shared
            .no_discover
            .load(std::sync::atomic::Ordering::Relaxed)
    {
        let found = match stateless::discover(handle).await {
            Ok(found) => found,
            Err(e) if protocol == UpstreamProtocol::Auto => {
                // The connection did not survive the question: ask with `initialize` from the next start on.
                shared
                    .no_discover
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        match found {
            Some(info) => {
                *shared.info.write() = info;
                stateless::listen(handle).await?;
                return list_tools(handle).await;
            }
            None if protocol == UpstreamProtocol::Stateless => {
                return Err(UpstreamError::Handshake {
                    server: shared.settings.name.clone(),
                    message: "it does not answer `server/discover` with 2026-07-28, which `protocol = \"2026-07-28\"` requires; use protocol = \"auto\" or \"2025-11-25\"".into(),
                    stderr: handle.stderr_tail(),
                });
            }
            None => {}
        }
    }
    initialize(handle).await
}

async fn initialize(handle: &UpstreamHandle) -> Result<(), UpstreamError> {
    let shared = &handle.0;
    let name = shared.settings.name.clone();
    let params = serde_json::json!({
        "protocolVersion": LATEST_VERSION,
        "capabilities": shared.ctx.client_capabilities,
        "clientInfo": { "name": "portcullis", "title": "Portcullis MCP gateway", "version": env!("CARGO_PKG_VERSION") },
    });
    let call = handle
        .start_request_live("initialize", Some(to_raw(&params)))
        .await?;
    let resp = call.wait(HANDSHAKE_TIMEOUT).await?;
    let result = rpc_result(&name, "initialize", &resp)?;
    let version = result
        .get("protocolVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !SUPPORTED_VERSIONS.contains(&version.as_str()) {
        return Err(UpstreamError::Handshake {
            server: name,
            message: format!("it answered with protocol version `{version}`, which Portcullis does not speak (it speaks {})", SUPPORTED_VERSIONS.join(", ")),
            stderr: handle.stderr_tail(),
        });
    }
    *shared.info.write() = UpstreamInfo {
        protocol_version: version,
        server_info: result.get("serverInfo").cloned().unwrap_or(Value::Null),
        capabilities: result.get("capabilities").cloned().unwrap_or(Value::Null),
        instructions: result
            .get("instructions")
            .and_then(Value::as_str)
            .map(str::to_owned),
    };
    handle
        .send_live(Message::notification("notifications/initialized", None))
        .await?;
    list_tools(handle).await
}

/// Fetches every page of `tools/list`.
pub(super) async fn list_tools(handle: &UpstreamHandle) -> Result<(), UpstreamError> {
    let shared = &handle.0;
    let has_tools = shared.info.read().capabilities.get("tools").is_some();
    let mut tools = Vec::new();
    if has_tools {
        let mut cursor: Option<String> = None;
        for _page in 0..1000 {
            let params = match &cursor {
                Some(c) => to_raw(&serde_json::json!({ "cursor": c })),
                None => empty_params(),
            };
            let resp = handle.request_live("tools/list", Some(params)).await?;
            let result = rpc_result(handle.name(), "tools/list", &resp)?;
            let Some(list) = resp
                .result
                .as_deref()
                .and_then(|r| serde_json::from_str::<ToolsPage>(r.get()).ok())
            else {
                break;
            };
            tools.extend(list.tools.iter().filter_map(|t| Tool::from_raw(t)));
            cursor = result
                .get("nextCursor")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
    }
    *shared.tools.write() = Arc::new(tools);
    let (observed, recorded) = tokio::sync::oneshot::channel();
    handle.notify(UpstreamEvent::ToolsChanged {
        server: handle.name().to_owned(),
        observed: Some(observed),
    });
    // Ready (or re-listed) only once the gateway has recorded and merged the list.
    let _ = tokio::time::timeout(OBSERVE_WAIT, recorded).await;
    Ok(())
}

#[derive(serde::Deserialize)]
struct ToolsPage {
    #[serde(default)]
    tools: Vec<Box<serde_json::value::RawValue>>,
}

/// The result of a response as a value, or the upstream's error as ours.
fn rpc_result(server: &str, method: &str, resp: &Message) -> Result<Value, UpstreamError> {
    if let Some(err) = &resp.error {
        return Err(UpstreamError::Handshake {
            server: server.to_owned(),
            message: format!("`{method}` failed: {}", err.get()),
            stderr: Vec::new(),
        });
    }
    Ok(resp
        .result
        .as_deref()
        .and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or(Value::Null))
}
