//! The stateless protocol era (2026-07-28): what a request must carry and
//! what a result must say, as pure functions over JSON.
//!
//! A modern request has no session. Its `params._meta` carries the protocol
//! version and the client's capabilities (and usually its info and a log
//! level); over HTTP the `MCP-Protocol-Version`, `Mcp-Method` and (for
//! `tools/call`, `prompts/get`, `resources/read`) `Mcp-Name` headers must
//! agree with the body. Results carry `resultType`; list and read results
//! also carry the caching hints `ttlMs` and `cacheScope`.

use serde_json::{json, Map, Value};

/// The stateless protocol versions the gateway speaks.
pub const MODERN_VERSIONS: &[&str] = &["2026-07-28"];

/// `_meta` key: the request's protocol version.
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key: the client's capabilities for this request.
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key: the client's name and version.
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key: the log level this request opts in to.
pub const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
/// `_meta` key on results: who answered.
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// `_meta` key on listen-stream notifications: which subscription they belong to.
pub const META_SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// Whether a request's params (JSON text) may name a protocol version in
/// `_meta`: a quick look at the text, asked of every request, that callers
/// confirm by parsing when it says yes.
pub fn mentions_protocol_version(params: &str) -> bool {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(META_PROTOCOL_VERSION));
    FINDER.find(params.as_bytes()).is_some()
}

/// HTTP header: the protocol version.
pub const HEADER_VERSION: &str = "mcp-protocol-version";
/// HTTP header: the JSON-RPC method.
pub const HEADER_METHOD: &str = "mcp-method";
/// HTTP header: the tool or prompt name, or the resource URI.
pub const HEADER_NAME: &str = "mcp-name";
/// HTTP headers mirroring `tools/call` arguments the tool's schema annotates with `x-mcp-header`.
pub const HEADER_PARAM_PREFIX: &str = "mcp-param-";

/// Methods whose results a client may cache (they carry `ttlMs` and `cacheScope`).
const CACHEABLE: &[&str] = &[
    "server/discover",
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
];

/// Methods that may answer with an `input_required` result.
pub const INPUT_METHODS: &[&str] = &["tools/call", "prompts/get", "resources/read"];

/// Handshake-era methods that do not exist in the stateless era.
pub const REMOVED_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
    "notifications/initialized",
];

/// Whether a protocol version belongs to the stateless era.
pub fn is_modern(version: &str) -> bool {
    MODERN_VERSIONS.contains(&version)
}

/// The parameter a method's `Mcp-Name` header mirrors.
pub fn name_param(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    }
}

/// What a valid modern request says about its client.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The protocol version of this request.
    pub protocol_version: String,
    /// The client's capabilities for this request.
    pub capabilities: Value,
    /// The client's `name` and `version`, when it sent them.
    pub client_info: Option<Value>,
    /// The log level it opted in to, if any.
    pub log_level: Option<String>,
}

/// Why a modern request is refused before it is handled.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The JSON-RPC error code.
    pub code: i64,
    /// What is wrong.
    pub message: String,
    /// Machine-readable detail (`supported`/`requested` for a version).
    pub data: Option<Value>,
}

/// The routing headers of an HTTP request, when it came over HTTP.
#[derive(Debug, Clone, Default)]
pub struct RoutingHeaders {
    /// `MCP-Protocol-Version`.
    pub version: Option<String>,
    /// `Mcp-Method`.
    pub method: Option<String>,
    /// `Mcp-Name`, as sent (possibly base64-wrapped).
    pub name: Option<String>,
    /// The `Mcp-Param-*` headers: each name without that prefix, and its value as sent.
    pub params: Vec<(String, String)>,
}

/// Checks a modern request, in the order the spec's validation ladder gives:
/// the `_meta` envelope (-32602), then the headers against the body (-32020),
/// then the version (-32022).
pub fn classify(
    method: &str,
    params: Option<&Value>,
    headers: Option<&RoutingHeaders>,
) -> Result<Envelope, Rejection> {
    let invalid = |message: String| Rejection {
        code: super::ErrorCode::InvalidParams.code(),
        message,
        data: None,
    };
    let meta = params.and_then(|p| p.get("_meta")).and_then(Value::as_object).ok_or_else(|| invalid(format!("params._meta must be an object carrying `{META_PROTOCOL_VERSION}` and `{META_CLIENT_CAPABILITIES}`")))?;
    let missing: Vec<&str> = [META_PROTOCOL_VERSION, META_CLIENT_CAPABILITIES]
        .into_iter()
        .filter(|k| !meta.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        return Err(invalid(format!(
            "params._meta is missing {}",
            missing.join(" and ")
        )));
    }
    let version = &meta[META_PROTOCOL_VERSION];
    if let Some(h) = headers {
        let mismatch = |message: String| Rejection {
            code: super::ErrorCode::HeaderMismatch.code(),
            message,
            data: None,
        };
        if h.version
            .as_deref()
            .is_none_or(|v| Some(v) != version.as_str())
        {
            return Err(mismatch(format!("the {HEADER_VERSION} header does not match params._meta[\"{META_PROTOCOL_VERSION}\"]")));
        }
        if h.method.as_deref() != Some(method) {
            return Err(mismatch(format!(
                "the {HEADER_METHOD} header does not match the method `{method}`"
            )));
        }
        if let Some(key) = name_param(method) {
            if let Some(body) = params.and_then(|p| p.get(key)).filter(|v| !v.is_null()) {
                if h.name.as_deref().and_then(decode_header_value).as_deref() != body.as_str() {
                    return Err(mismatch(format!(
                        "the {HEADER_NAME} header does not match params.{key}"
                    )));
                }
            }
        }
    }
    let Some(version) = version.as_str() else {
        return Err(invalid(format!(
            "params._meta[\"{META_PROTOCOL_VERSION}\"] must be a string"
        )));
    };
    if !is_modern(version) {
        return Err(unsupported_version(version));
    }
    Ok(Envelope {
        protocol_version: version.to_owned(),
        capabilities: meta[META_CLIENT_CAPABILITIES].clone(),
        client_info: meta.get(META_CLIENT_INFO).cloned(),
        log_level: meta
            .get(META_LOG_LEVEL)
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// The error for a version the gateway does not serve in the stateless era.
pub fn unsupported_version(requested: &str) -> Rejection {
    Rejection {
        code: super::ErrorCode::UnsupportedVersion.code(),
        message: format!("unsupported protocol version `{requested}`: Portcullis serves {} without a session, and {} with `initialize`", MODERN_VERSIONS.join(", "), super::SUPPORTED_VERSIONS.join(", ")),
        data: Some(json!({ "supported": MODERN_VERSIONS, "requested": requested })),
    }
}

/// Decodes a header value that may be wrapped as `=?base64?…?=` (for text
/// that is not printable ASCII); `None` when the wrapping is malformed.
pub fn decode_header_value(value: &str) -> Option<String> {
    use base64::Engine;
    match value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    {
        Some(payload) => base64::engine::general_purpose::STANDARD
            .decode(payload)
            .ok()
            .and_then(|b| String::from_utf8(b).ok()),
        None => Some(value.to_owned()),
    }
}

/// Wraps a header value that is not printable ASCII as `=?base64?…?=`.
pub fn encode_header_value(value: &str) -> String {
    use base64::Engine;
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) && value.trim() == value {
        value.to_owned()
    } else {
        format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode(value)
        )
    }
}

/// The `Mcp-Param-*` headers a `tools/call` carries: each argument whose
/// property in the tool's input schema has an `x-mcp-header` name (found
/// through nested `properties`) is mirrored, strings as they are (base64
/// wrapped when not plain printable ASCII), integers and booleans as JSON
/// text; absent and null arguments are left out, as are values of other types.
pub fn param_headers(input_schema: &Value, arguments: &Value) -> Vec<(String, String)> {
    annotated_arguments(input_schema, arguments)
        .into_iter()
        .filter_map(|(header, value)| {
            Some((
                format!("Mcp-Param-{header}"),
                encode_header_value(&plain_text(value?)?),
            ))
        })
        .collect()
}

/// Checks the `Mcp-Param-*` headers of a `tools/call` (`sent`: the part of
/// each header name after `Mcp-Param-`, and its value) against the
/// arguments: every annotated argument with a value must come with its
/// header, and the header must say the same (base64-wrapped or literal); a
/// header for an annotated argument that has no value is refused too.
/// Headers no annotation names are not the gateway's business.
pub fn check_param_headers(
    input_schema: &Value,
    arguments: &Value,
    sent: &[(String, String)],
) -> Result<(), String> {
    for (header, value) in annotated_arguments(input_schema, arguments) {
        let found = sent
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(header))
            .map(|(_, v)| v.trim_matches([' ', '\t']));
        let Some(value) = value else {
            if found.is_some() {
                return Err(format!(
                    "the Mcp-Param-{header} header has no argument with a value to mirror"
                ));
            }
            continue;
        };
        // Values a header does not carry (fractions, arrays, objects) are not checked.
        let Some(expected) = plain_text(value) else {
            continue;
        };
        match found {
            None => return Err(format!("the Mcp-Param-{header} header is missing: the tool's `x-mcp-header` asks for it when its argument has a value")),
            Some(sent) => match decode_header_value(sent) {
                None => return Err(format!("the Mcp-Param-{header} header is not valid `=?base64?…?=` (padded standard base64 of UTF-8 text)")),
                Some(decoded) if decoded != expected => return Err(format!("the Mcp-Param-{header} header does not match its argument")),
                Some(_) => {}
            },
        }
    }
    Ok(())
}

/// Each `x-mcp-header` name in a schema's (nested) `properties` with the
/// argument it stands for, if the arguments have one that is not null.
fn annotated_arguments<'a>(
    input_schema: &'a Value,
    arguments: &'a Value,
) -> Vec<(&'a str, Option<&'a Value>)> {
    let mut out = Vec::new();
    let mut stack = vec![(input_schema, Some(arguments))];
    while let Some((schema, args)) = stack.pop() {
        let Some(props) = schema.get("properties").and_then(Value::as_object) else {
            continue;
        };
        for (name, sub) in props {
            let value = args.and_then(|a| a.get(name)).filter(|v| !v.is_null());
            if let Some(header) = sub.get("x-mcp-header").and_then(Value::as_str) {
                out.push((header, value));
            }
            if value.is_some_and(Value::is_object) {
                stack.push((sub, value));
            }
        }
    }
    out
}

/// What an argument's header says, before any base64 wrapping: strings,
/// integers and booleans; `None` for values headers do not carry.
fn plain_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// Completes a result for a modern client: `resultType` (`complete` unless
/// the result says otherwise) and, on cacheable methods, caching hints. The
/// gateway merges and filters what clients see, so its hints are `ttlMs: 0`
/// and `cacheScope: "private"` unless the one upstream behind it said more.
pub fn stamp_result(method: &str, result: &mut Map<String, Value>, server_info: &Value) {
    result
        .entry("resultType")
        .or_insert_with(|| Value::String("complete".into()));
    if CACHEABLE.contains(&method)
        && result.get("resultType").and_then(Value::as_str) == Some("complete")
    {
        result.entry("ttlMs").or_insert(json!(0));
        result.entry("cacheScope").or_insert(json!("private"));
    }
    let meta = result.entry("_meta").or_insert_with(|| json!({}));
    if let Some(meta) = meta.as_object_mut() {
        meta.entry(META_SERVER_INFO)
            .or_insert_with(|| server_info.clone());
    }
}

/// Removes what only the stateless era knows from a result sent to a
/// handshake-era client (`resultType`, caching hints).
pub fn unstamp_result(result: &mut Map<String, Value>) {
    if result.get("resultType").and_then(Value::as_str) == Some("complete") {
        result.remove("resultType");
    }
    result.remove("ttlMs");
    result.remove("cacheScope");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(version: &str) -> Value {
        json!({ "_meta": { META_PROTOCOL_VERSION: version, META_CLIENT_CAPABILITIES: { "sampling": {} }, META_LOG_LEVEL: "info" }, "name": "t" })
    }

    #[test]
    fn ladder_order() {
        assert_eq!(
            classify("tools/list", Some(&json!({})), None)
                .unwrap_err()
                .code,
            -32602
        );
        assert_eq!(classify("tools/list", None, None).unwrap_err().code, -32602);
        let no_caps = json!({ "_meta": { META_PROTOCOL_VERSION: "2026-07-28" } });
        assert_eq!(
            classify("tools/list", Some(&no_caps), None)
                .unwrap_err()
                .code,
            -32602
        );
        let headers = RoutingHeaders {
            version: Some("2026-07-28".into()),
            method: Some("tools/call".into()),
            name: Some("t".into()),
            params: Vec::new(),
        };
        let env = classify("tools/call", Some(&meta("2026-07-28")), Some(&headers)).unwrap();
        assert_eq!(env.log_level.as_deref(), Some("info"));
        assert_eq!(env.capabilities, json!({ "sampling": {} }));
        // A version the body and header disagree on is a mismatch, before it is unsupported.
        assert_eq!(
            classify("tools/call", Some(&meta("v999")), Some(&headers))
                .unwrap_err()
                .code,
            -32020
        );
        let wrong_name = RoutingHeaders {
            name: Some("other".into()),
            ..headers.clone()
        };
        assert_eq!(
            classify("tools/call", Some(&meta("2026-07-28")), Some(&wrong_name))
                .unwrap_err()
                .code,
            -32020
        );
        let v999 = RoutingHeaders {
            version: Some("v999".into()),
            ..headers
        };
        let rejected = classify("tools/call", Some(&meta("v999")), Some(&v999)).unwrap_err();
        assert_eq!(rejected.code, -32022);
        assert_eq!(rejected.data.unwrap()["requested"], "v999");
    }

    #[test]
    fn header_values_may_be_base64() {
        assert_eq!(decode_header_value("=?base64?w6k=?=").as_deref(), Some("é"));
        assert_eq!(decode_header_value("plain").as_deref(), Some("plain"));
        assert_eq!(decode_header_value("=?base64?!!?="), None);
        for v in ["plain", "Hello, 世界", " padded "] {
            assert_eq!(
                decode_header_value(&encode_header_value(v)).as_deref(),
                Some(v)
            );
        }
        assert_eq!(encode_header_value("plain"), "plain");
    }

    #[test]
    fn param_headers_mirror_annotated_arguments() {
        let schema = json!({ "type": "object", "properties": {
            "region": { "type": "string", "x-mcp-header": "Region" },
            "n": { "type": "integer", "x-mcp-header": "N" },
            "flag": { "type": "boolean", "x-mcp-header": "Flag" },
            "gone": { "type": "string", "x-mcp-header": "Gone" },
            "plain": { "type": "string" },
            "nested": { "type": "object", "properties": { "deep": { "type": "string", "x-mcp-header": "Deep" } } }
        } });
        let mut got = param_headers(
            &schema,
            &json!({ "region": "Hello, 世界", "n": 42, "flag": false, "gone": null, "plain": "x", "nested": { "deep": "d" } }),
        );
        got.sort();
        assert_eq!(
            got,
            vec![
                ("Mcp-Param-Deep".to_owned(), "d".to_owned()),
                ("Mcp-Param-Flag".to_owned(), "false".to_owned()),
                ("Mcp-Param-N".to_owned(), "42".to_owned()),
                (
                    "Mcp-Param-Region".to_owned(),
                    encode_header_value("Hello, 世界")
                ),
            ]
        );
    }

    #[test]
    fn param_headers_are_checked_against_the_arguments() {
        let schema = json!({ "type": "object", "properties": {
            "region": { "type": "string", "x-mcp-header": "Region" },
            "n": { "type": "integer", "x-mcp-header": "N" },
            "nested": { "type": "object", "properties": { "deep": { "type": "string", "x-mcp-header": "Deep" } } }
        } });
        let sent = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>()
        };
        let check = |args: Value, headers: &[(&str, &str)]| {
            check_param_headers(&schema, &args, &sent(headers))
        };
        // Accepted: base64 of the value, the value itself, any case of the name, whitespace around it.
        assert_eq!(
            check(
                json!({ "region": "Hello" }),
                &[("region", "=?base64?SGVsbG8=?=")]
            ),
            Ok(())
        );
        assert_eq!(
            check(json!({ "region": "Hello" }), &[("REGION", "  Hello ")]),
            Ok(())
        );
        assert_eq!(
            check(
                json!({ "region": "Hello, 世界" }),
                &[("region", &encode_header_value("Hello, 世界"))]
            ),
            Ok(())
        );
        // Without both ends of the wrapping, a value is literal.
        assert_eq!(
            check(json!({ "region": "SGVsbG8=" }), &[("region", "SGVsbG8=")]),
            Ok(())
        );
        assert_eq!(
            check(
                json!({ "region": "=?base64?SGVsbG8=" }),
                &[("region", "=?base64?SGVsbG8=")]
            ),
            Ok(())
        );
        assert_eq!(
            check(
                json!({ "n": 42, "nested": { "deep": "d" } }),
                &[("n", "42"), ("deep", "d")]
            ),
            Ok(())
        );
        assert_eq!(
            check(json!({}), &[("unrelated", "x")]),
            Ok(()),
            "headers no annotation names are ignored"
        );
        // Refused, each saying which header.
        let refused = |args: Value, headers: &[(&str, &str)], why: &str| {
            let err = check(args, headers).unwrap_err();
            assert!(err.contains(why), "{err}");
        };
        refused(
            json!({ "region": "Hello" }),
            &[("region", "=?base64?SGVsbG8?=")],
            "Mcp-Param-Region header is not valid",
        );
        refused(
            json!({ "region": "Hello" }),
            &[("region", "=?base64?SGVs!!!bG8=?=")],
            "not valid",
        );
        refused(
            json!({ "region": "test-value" }),
            &[],
            "Mcp-Param-Region header is missing",
        );
        refused(
            json!({ "region": "Hello" }),
            &[("region", "Goodbye")],
            "does not match",
        );
        refused(
            json!({ "n": 42 }),
            &[("n", "43")],
            "Mcp-Param-N header does not match",
        );
        refused(
            json!({ "nested": { "deep": "d" } }),
            &[],
            "Mcp-Param-Deep header is missing",
        );
        refused(
            json!({ "region": null }),
            &[("region", "Hello")],
            "no argument with a value",
        );
        let fraction = json!({ "type": "object", "properties": { "ratio": { "type": "number", "x-mcp-header": "Ratio" } } });
        assert_eq!(
            check_param_headers(&fraction, &json!({ "ratio": 0.5 }), &[]),
            Ok(()),
            "a fraction has no header form to check"
        );
    }

    #[test]
    fn stamping() {
        let mut r = serde_json::Map::new();
        stamp_result("tools/list", &mut r, &json!({ "name": "portcullis" }));
        assert_eq!(r["resultType"], "complete");
        assert_eq!(r["ttlMs"], 0);
        assert_eq!(r["_meta"][META_SERVER_INFO]["name"], "portcullis");
        let mut call = serde_json::Map::new();
        call.insert("resultType".into(), json!("input_required"));
        stamp_result("resources/read", &mut call, &Value::Null);
        assert!(!call.contains_key("ttlMs"));
        unstamp_result(&mut r);
        assert!(!r.contains_key("resultType") && !r.contains_key("ttlMs"));
    }
}
