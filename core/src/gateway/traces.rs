//! The spans of a tool call (see `core/src/telemetry/`): the gateway's side.
//! A `tools/call` runs inside a server span; its request to the upstream
//! inside a client span whose trace context the upstream receives in
//! `_meta`. With no `[telemetry]`, each is one branch and nothing else.

use std::future::Future;

use opentelemetry::KeyValue;
use serde::Deserialize;

use super::{Gateway, GatewayError, Session};
use crate::config::TransportSettings;
use crate::protocol::{Message, ToolName};
use crate::telemetry::{CallSpan, Outcome};

/// The server span of a client's `tools/call` (`msg`), when traces are
/// sent; the router runs the call inside it and [`finish`]es it.
pub(super) fn call_span(gw: &Gateway, session: &Session, msg: &Message) -> Option<CallSpan> {
    let telemetry = &gw.inner.observe.telemetry;
    if !telemetry.is_enabled() {
        return None;
    }
    #[derive(Deserialize)]
    struct Named {
        name: Option<String>,
    }
    let name = msg
        .params_as::<Named>()
        .ok()
        .flatten()
        .and_then(|p| p.name)
        .unwrap_or_default();
    let mut attributes = vec![
        KeyValue::new("mcp.session.id", session.id().to_owned()),
        KeyValue::new("network.transport", session.transport().network()),
    ];
    if let Some(id) = msg.id_key() {
        attributes.push(KeyValue::new("jsonrpc.request.id", id.to_owned()));
    }
    telemetry.call_span("tools/call", &name, msg.params.as_deref(), attributes)
}

/// Ends a call's span with how the call went.
pub(super) fn finish(span: Option<CallSpan>, result: &Result<Message, GatewayError>) {
    if let Some(span) = span {
        span.finish(outcome(result));
    }
}

/// Sends a call's request to its upstream with `forward`, inside a client
/// span whose trace context goes in the request's `_meta`.
pub(super) async fn to_upstream<'a, F, Fut>(
    trace: Option<&CallSpan>,
    gw: &Gateway,
    target: &ToolName,
    msg: Message,
    forward: F,
) -> Result<Message, GatewayError>
where
    F: FnOnce(Message) -> Fut,
    Fut: Future<Output = Result<Message, GatewayError>> + 'a,
{
    let Some(trace) = trace else {
        return forward(msg).await;
    };
    let transport =
        gw.upstream(&target.server)
            .map_or("unknown", |h| match h.settings().transport {
                TransportSettings::Stdio { .. } => "pipe",
                TransportSettings::Http { .. } => "tcp",
            });
    let Some(span) = gw.inner.observe.telemetry.upstream_span(
        trace,
        "tools/call",
        &target.server,
        &target.tool,
        transport,
    ) else {
        return forward(msg).await;
    };
    let params = span.inject(msg.params.as_deref());
    let result = forward(Message {
        params: Some(params),
        ..msg
    })
    .await;
    span.finish(outcome(&result));
    result
}

/// How a call ended, for its span.
fn outcome(result: &Result<Message, GatewayError>) -> Outcome {
    #[derive(Deserialize)]
    struct RpcError<'a> {
        code: i64,
        #[serde(borrow, default)]
        message: std::borrow::Cow<'a, str>,
    }
    #[derive(Deserialize)]
    struct ToolResult {
        #[serde(rename = "isError", default)]
        is_error: bool,
    }
    match result {
        Ok(m) => {
            if let Some(e) = &m.error {
                return match serde_json::from_str::<RpcError<'_>>(e.get()) {
                    Ok(RpcError { code, message }) => Outcome::Error(code, message.into_owned()),
                    Err(_) => Outcome::Error(0, "a malformed error".to_owned()),
                };
            }
            let is_error = m
                .result
                .as_ref()
                .filter(|r| r.get().contains("isError"))
                .and_then(|r| serde_json::from_str::<ToolResult>(r.get()).ok())
                .is_some_and(|r| r.is_error);
            if is_error {
                Outcome::ToolError
            } else {
                Outcome::Ok
            }
        }
        Err(GatewayError::NotCallable { .. }) => Outcome::Blocked,
        Err(e) => Outcome::Error(e.rpc_code().code(), e.to_string()),
    }
}
