//! The spans of one tool call, named and described as the OpenTelemetry
//! conventions for MCP say: a server span `tools/call NAME` for the client's
//! request (its parent the client's trace context, from `_meta` or the HTTP
//! headers), and inside it a client span for the request to the upstream,
//! whose context goes to the upstream in `_meta` (and HTTP headers), and an
//! internal span while a sleeping server starts.

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use serde_json::value::RawValue;

use super::{propagation, Telemetry};

/// How a call ended, for its span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Answered with a result that is not an error.
    Ok,
    /// Answered with a tool result with `isError`.
    ToolError,
    /// Refused by the quarantine.
    Blocked,
    /// A JSON-RPC error: its code, and what it said.
    Error(i64, String),
}

/// The span of a client's request, while the gateway handles it.
pub(crate) struct CallSpan {
    cx: Context,
}

/// The span of the request the gateway sends an upstream for a call.
pub(crate) struct UpstreamSpan {
    cx: Context,
}

impl Telemetry {
    /// Starts the span of a client's `method` request for `target` (a tool's
    /// name), when traces are sent. Its parent is the trace context of the
    /// request's `_meta`, else the one the request runs in (its HTTP headers).
    pub(crate) fn call_span(
        &self,
        method: &str,
        target: &str,
        params: Option<&RawValue>,
        attributes: Vec<KeyValue>,
    ) -> Option<CallSpan> {
        let tracer = self.tracer()?;
        let parent = propagation::from_meta(params).unwrap_or_else(Context::current);
        let mut attrs = vec![
            KeyValue::new("mcp.method.name", method.to_owned()),
            KeyValue::new("gen_ai.tool.name", target.to_owned()),
            KeyValue::new("gen_ai.operation.name", "execute_tool"),
        ];
        attrs.extend(attributes);
        let span = tracer
            .span_builder(format!("{method} {target}"))
            .with_kind(SpanKind::Server)
            .with_attributes(attrs)
            .start_with_context(tracer, &parent);
        Some(CallSpan {
            cx: parent.with_span(span),
        })
    }

    /// Starts the span of the request to `server` for its tool `tool`,
    /// inside `call`.
    pub(crate) fn upstream_span(
        &self,
        call: &CallSpan,
        method: &str,
        server: &str,
        tool: &str,
        transport: &'static str,
    ) -> Option<UpstreamSpan> {
        let tracer = self.tracer()?;
        let span = tracer
            .span_builder(format!("{method} {tool}"))
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("mcp.method.name", method.to_owned()),
                KeyValue::new("gen_ai.tool.name", tool.to_owned()),
                KeyValue::new("gen_ai.operation.name", "execute_tool"),
                KeyValue::new("portcullis.server", server.to_owned()),
                KeyValue::new("network.transport", transport),
            ])
            .start_with_context(tracer, &call.cx);
        Some(UpstreamSpan {
            cx: call.cx.with_span(span),
        })
    }

    /// Starts the span of starting a sleeping `server` for `call`; it ends
    /// when dropped.
    pub(crate) fn start_span(&self, call: &CallSpan, server: &str) -> Option<UpstreamSpan> {
        let tracer = self.tracer()?;
        let span = tracer
            .span_builder(format!("start {server}"))
            .with_kind(SpanKind::Internal)
            .with_attributes([KeyValue::new("portcullis.server", server.to_owned())])
            .start_with_context(tracer, &call.cx);
        Some(UpstreamSpan {
            cx: call.cx.with_span(span),
        })
    }
}

impl CallSpan {
    /// Adds what became known on the way (the server the call went to).
    pub(crate) fn set(&self, attribute: KeyValue) {
        self.cx.span().set_attribute(attribute);
    }

    /// Ends the span with how the call ended.
    pub(crate) fn finish(self, outcome: Outcome) {
        end(&self.cx, outcome);
    }
}

impl UpstreamSpan {
    /// `params` with this span's trace context in `_meta`, for the upstream.
    pub(crate) fn inject(&self, params: Option<&RawValue>) -> Box<RawValue> {
        propagation::into_meta(&self.cx, params)
    }

    /// Ends the span with how the upstream answered.
    pub(crate) fn finish(self, outcome: Outcome) {
        end(&self.cx, outcome);
    }
}

fn end(cx: &Context, outcome: Outcome) {
    let span = cx.span();
    let label = match &outcome {
        Outcome::Ok => "ok",
        Outcome::ToolError => "tool_error",
        Outcome::Blocked => "blocked",
        Outcome::Error(..) => "error",
    };
    span.set_attribute(KeyValue::new("portcullis.outcome", label));
    match outcome {
        Outcome::Ok => {}
        Outcome::ToolError => {
            span.set_attribute(KeyValue::new("error.type", "tool_error"));
            span.set_status(Status::error("the tool answered with isError"));
        }
        Outcome::Blocked => {
            span.set_attribute(KeyValue::new("error.type", "blocked"));
            span.set_status(Status::error("refused: not approved"));
        }
        Outcome::Error(code, message) => {
            span.set_attribute(KeyValue::new("error.type", code.to_string()));
            span.set_attribute(KeyValue::new("rpc.jsonrpc.error_code", code));
            span.set_status(Status::error(message.chars().take(300).collect::<String>()));
        }
    }
    span.end();
}
