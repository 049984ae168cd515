//! Speaking the stateless era (2026-07-28) to an upstream.
//!
//! - **Which era.** With `protocol = "auto"` (the default) the gateway first
//!   asks `server/discover` at 2026-07-28, as the spec's clients do; a result
//!   that lists 2026-07-28 makes the upstream stateless, anything else (an
//!   error, no answer within 10 s, only handshake versions) falls back to
//!   `initialize`. `protocol = "2026-07-28"` requires discovery to succeed;
//!   `protocol = "2025-11-25"` skips it.
//! - **Every request carries the envelope.** The gateway stamps
//!   `params._meta` with the protocol version, its client info and, unless
//!   the request already says, capabilities: a stateless client's own (passed
//!   through), a handshake-era client's from its `initialize`, or the
//!   gateway's for its own requests (lists). Over HTTP the transport turns
//!   the envelope into the `MCP-Protocol-Version`, `Mcp-Method` and
//!   `Mcp-Name` headers.
//! - **Changes** arrive on a `subscriptions/listen` stream the gateway opens
//!   right after discovery (tools, prompts and resources list changes).

use serde_json::{json, Map, Value};

use super::handle::UpstreamHandle;
use super::{UpstreamError, UpstreamInfo};
use crate::protocol::modern::{
    self, META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_PROTOCOL_VERSION,
};
use crate::protocol::{raw, to_raw, Message};

/// How long `auto` waits for `server/discover` before trying `initialize`.
pub(super) const DISCOVER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Who the gateway says it is.
pub(super) fn client_info() -> Value {
    json!({ "name": "portcullis", "title": "Portcullis MCP gateway", "version": env!("CARGO_PKG_VERSION") })
}

/// Adds the stateless envelope to a request's params, keeping what it already says.
pub(super) fn stamp(msg: &mut Message, capabilities: &Value) {
    let mut params: Map<String, Value> = msg.params_as().ok().flatten().unwrap_or_default();
    let meta = params.entry("_meta").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    if let Some(m) = meta.as_object_mut() {
        m.insert(
            META_PROTOCOL_VERSION.into(),
            json!(modern::MODERN_VERSIONS[0]),
        );
        m.entry(META_CLIENT_CAPABILITIES)
            .or_insert_with(|| capabilities.clone());
        m.entry(META_CLIENT_INFO).or_insert_with(client_info);
    }
    msg.params = Some(to_raw(&params));
}

/// What a `server/discover` answer says, when it makes the upstream stateless.
pub(super) fn read_discover(result: &Value) -> Option<UpstreamInfo> {
    let versions = result.get("supportedVersions")?.as_array()?;
    let version = modern::MODERN_VERSIONS
        .iter()
        .find(|v| versions.iter().any(|s| s.as_str() == Some(v)))?;
    let server_info = result
        .pointer(&format!(
            "/_meta/{}",
            modern::META_SERVER_INFO.replace('/', "~1")
        ))
        .or_else(|| result.get("serverInfo"))
        .cloned()
        .unwrap_or(Value::Null);
    Some(UpstreamInfo {
        protocol_version: (*version).to_owned(),
        server_info,
        capabilities: result.get("capabilities").cloned().unwrap_or(Value::Null),
        instructions: result
            .get("instructions")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// Asks `server/discover`; `Ok(None)` when the upstream is not a stateless one.
pub(super) async fn discover(
    handle: &UpstreamHandle,
) -> Result<Option<UpstreamInfo>, UpstreamError> {
    let caps = handle.0.ctx.client_capabilities.clone();
    let mut msg = Message::request(raw("null"), "server/discover", Some(to_raw(&json!({}))));
    stamp(&mut msg, &caps);
    let mut resp = Message::default();
    // A -32022 that names 2026-07-28 among the supported versions is worth one more try.
    for _attempt in 0..2 {
        let call = handle
            .start_request_live("server/discover", msg.params.clone())
            .await?;
        resp = match call.wait(DISCOVER_TIMEOUT).await {
            Ok(resp) => resp,
            Err(UpstreamError::Timeout { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(error) = resp.error.as_deref() else {
            break;
        };
        let error: Value = serde_json::from_str(error.get()).unwrap_or(Value::Null);
        let retry = error.get("code").and_then(Value::as_i64)
            == Some(crate::protocol::ErrorCode::UnsupportedVersion.code())
            && error
                .pointer("/data/supported")
                .and_then(Value::as_array)
                .is_some_and(|s| s.iter().any(|v| v.as_str().is_some_and(modern::is_modern)));
        if !retry {
            return Ok(None);
        }
    }
    if resp.error.is_some() {
        return Ok(None);
    }
    let result: Value = resp
        .result
        .as_deref()
        .and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or(Value::Null);
    Ok(read_discover(&result))
}

/// Opens (again) the gateway's own listen stream: list changes, and updates
/// of the resources clients subscribed to. A stream it opened before is
/// cancelled first (over stdio with `notifications/cancelled`).
pub(super) async fn listen(handle: &UpstreamHandle) -> Result<(), UpstreamError> {
    let caps = handle.info().capabilities;
    let has = |k: &str| caps.get(k).is_some();
    let mut wanted = Map::new();
    for (cap, key) in [
        ("tools", "toolsListChanged"),
        ("prompts", "promptsListChanged"),
        ("resources", "resourcesListChanged"),
    ] {
        if has(cap) {
            wanted.insert(key.into(), json!(true));
        }
    }
    let uris = handle.0.resource_subscriptions.lock().clone();
    if !uris.is_empty()
        && caps
            .pointer("/resources/subscribe")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    {
        wanted.insert("resourceSubscriptions".into(), json!(uris));
    }
    let n = handle
        .0
        .listen_seq
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let id = format!("portcullis-listen-{n}");
    let previous = handle.0.listen_id.lock().replace(id.clone());
    if let Some(old) = previous {
        let _ = handle
            .send_live(Message::notification(
                "notifications/cancelled",
                Some(to_raw(
                    &json!({ "requestId": old, "reason": "replaced by a new subscription" }),
                )),
            ))
            .await;
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let mut msg = Message::request(
        to_raw(&id),
        "subscriptions/listen",
        Some(to_raw(&json!({ "notifications": wanted }))),
    );
    stamp(&mut msg, &handle.0.ctx.client_capabilities);
    handle.send_live(msg).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamping_keeps_what_the_request_says() {
        let mut m = Message::request(
            raw("1"),
            "tools/call",
            Some(raw(
                r#"{"name":"t","_meta":{"progressToken":5,"io.modelcontextprotocol/clientCapabilities":{"sampling":{}}}}"#,
            )),
        );
        stamp(&mut m, &json!({ "roots": {} }));
        let p: Value = m.params_as().unwrap().unwrap();
        assert_eq!(p["_meta"]["progressToken"], 5);
        assert_eq!(
            p["_meta"][META_CLIENT_CAPABILITIES],
            json!({ "sampling": {} })
        );
        assert_eq!(p["_meta"][META_PROTOCOL_VERSION], "2026-07-28");
        let mut bare = Message::request(raw("2"), "tools/list", None);
        stamp(&mut bare, &json!({ "roots": {} }));
        assert_eq!(
            bare.params_as::<Value>().unwrap().unwrap()["_meta"][META_CLIENT_CAPABILITIES],
            json!({ "roots": {} })
        );
    }

    #[test]
    fn discover_results() {
        let modern = json!({ "supportedVersions": ["2025-11-25", "2026-07-28"], "capabilities": { "tools": {} }, "_meta": { "io.modelcontextprotocol/serverInfo": { "name": "s" } } });
        let info = read_discover(&modern).unwrap();
        assert_eq!(info.protocol_version, "2026-07-28");
        assert_eq!(info.server_info["name"], "s");
        assert!(read_discover(&json!({ "supportedVersions": ["2025-11-25"] })).is_none());
        assert!(read_discover(&json!({})).is_none());
    }
}
