//! W3C trace context in and out: the `traceparent` and `tracestate` of an
//! HTTP request, and of a request's `params._meta` (where the OpenTelemetry
//! conventions for MCP carry them, so they cross stdio too).

use std::collections::HashMap;

use indexmap::IndexMap;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use serde_json::value::RawValue;

use super::Telemetry;
use crate::protocol::to_raw;

/// The keys of W3C trace context.
const KEYS: [&str; 2] = ["traceparent", "tracestate"];

/// The trace a client's HTTP request belongs to, if it says one and traces
/// are sent; the caller runs the request in it.
pub(crate) fn remote_parent(telemetry: &Telemetry, headers: &http::HeaderMap) -> Option<Context> {
    if !telemetry.is_enabled() || !headers.contains_key(KEYS[0]) {
        return None;
    }
    let carrier: HashMap<String, String> = KEYS
        .iter()
        .filter_map(|k| Some(((*k).to_owned(), headers.get(*k)?.to_str().ok()?.to_owned())))
        .collect();
    extract(&carrier)
}

fn extract(carrier: &HashMap<String, String>) -> Option<Context> {
    let cx = TraceContextPropagator::new().extract(carrier);
    cx.span().span_context().is_valid().then_some(cx)
}

/// The `_meta` of a request's params, as its members' text.
fn meta_of(params: &RawValue) -> Option<IndexMap<String, Box<RawValue>>> {
    let value: IndexMap<&str, &RawValue> = serde_json::from_str(params.get()).ok()?;
    serde_json::from_str(value.get("_meta")?.get()).ok()
}

/// The trace context in `params._meta`, if valid.
pub(super) fn from_meta(params: Option<&RawValue>) -> Option<Context> {
    let params = params?;
    if !params.get().contains(KEYS[0]) {
        return None;
    }
    let meta = meta_of(params)?;
    let carrier: HashMap<String, String> = KEYS
        .iter()
        .filter_map(|k| {
            let text: String = serde_json::from_str(meta.get(*k)?.get()).ok()?;
            Some(((*k).to_owned(), text))
        })
        .collect();
    extract(&carrier)
}

/// `params` with the trace context of `cx` in its `_meta` (replacing one
/// that was there); every other member as it was.
pub(super) fn into_meta(cx: &Context, params: Option<&RawValue>) -> Box<RawValue> {
    let mut carrier: HashMap<String, String> = HashMap::new();
    TraceContextPropagator::new().inject_context(cx, &mut carrier);
    let mut value: IndexMap<String, Box<RawValue>> = params
        .and_then(|p| serde_json::from_str(p.get()).ok())
        .unwrap_or_default();
    let mut meta: IndexMap<String, Box<RawValue>> = value
        .get("_meta")
        .and_then(|m| serde_json::from_str(m.get()).ok())
        .unwrap_or_default();
    for key in KEYS {
        meta.shift_remove(key);
        if let Some(v) = carrier.get(key).filter(|v| !v.is_empty()) {
            meta.insert(key.to_owned(), to_raw(v));
        }
    }
    value.insert("_meta".to_owned(), to_raw(&meta));
    to_raw(&value)
}

/// Copies the trace context of a request's `_meta` into the headers of the
/// HTTP request that carries it to an upstream, so an HTTP server (or a
/// proxy before it) that reads only headers joins the same trace.
pub(crate) fn copy_to_headers(params: Option<&RawValue>, headers: &mut http::HeaderMap) {
    let Some(params) = params.filter(|p| p.get().contains(KEYS[0])) else {
        return;
    };
    let Some(meta) = meta_of(params) else { return };
    for key in KEYS {
        let value = meta
            .get(key)
            .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
            .and_then(|v| http::HeaderValue::from_str(&v).ok());
        if let Some(value) = value {
            headers.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TraceId;

    const PARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn meta_trace_context_is_read_and_replaced_keeping_other_members() {
        let params = to_raw(&serde_json::json!({
            "name": "echo",
            "_meta": { "traceparent": PARENT, "tracestate": "vendor=1", "progressToken": 7 },
        }));
        let cx = from_meta(Some(&params)).expect("a valid parent");
        assert_eq!(
            cx.span().span_context().trace_id(),
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap()
        );
        let written = into_meta(&cx, Some(&params));
        let value: serde_json::Value = serde_json::from_str(written.get()).unwrap();
        assert_eq!(value["name"], "echo");
        assert_eq!(value["_meta"]["progressToken"], 7);
        assert_eq!(value["_meta"]["traceparent"], PARENT);
        assert_eq!(value["_meta"]["tracestate"], "vendor=1");
    }

    #[test]
    fn a_malformed_traceparent_is_no_parent() {
        let params = to_raw(&serde_json::json!({ "_meta": { "traceparent": "00-zz-01" } }));
        assert!(from_meta(Some(&params)).is_none());
        assert!(from_meta(None).is_none());
    }

    #[test]
    fn meta_trace_context_is_copied_to_headers() {
        let params = to_raw(&serde_json::json!({ "_meta": { "traceparent": PARENT } }));
        let mut headers = http::HeaderMap::new();
        copy_to_headers(Some(&params), &mut headers);
        assert_eq!(headers["traceparent"], PARENT);
        assert!(!headers.contains_key("tracestate"));
    }
}
