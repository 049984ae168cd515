//! Lossless passthrough: what the gateway does not understand reaches the
//! other side unchanged, both ways, byte for byte where the gateway has no
//! reason to touch it.
//!
//! The gateway runs as `portcullis stdio` in front of the project's echo
//! server, so every byte the client sees is visible on stdout. The echo
//! server returns `tools/call` arguments as the exact JSON text it received,
//! answers unknown methods with their params, and `emit` sends any
//! notification back.

mod common;

use common::stdio::{approved_gateway, approved_gateway_with};
use serde_json::Value;

#[test]
fn unknown_fields_methods_meta_and_odd_json_pass_both_ways() {
    let home = tempfile::tempdir().expect("tempdir");
    // A method outside MCP reaches a trusted server only when its table opts in.
    let mut gw = approved_gateway_with(home.path(), "", r#"passthrough = ["vendor/custom"]"#);

    // Upstream → client: a member of the tool definition the gateway does not know, byte for byte.
    let listed = gw.call("2", "tools/list", "{}");
    assert!(
        listed.contains(r#""x-portcullis-test":{"keep": [1, 2.50, "é"]}"#),
        "{listed}"
    );

    // Client → upstream → client: odd but valid JSON in the arguments, byte for byte.
    let args = r#"{"message":"hi","n":2.50,"big":123456789012345678901234567890,"tiny":1e-400,"s":"\u00e9\ud83d\ude00\u0000","deep":{"_meta":{"k":[null,true,-0.0]}}}"#;
    let line = gw.call(
        "3",
        "tools/call",
        &format!(r#"{{"name":"echo__echo","arguments":{args},"_meta":{{"x-trace":"abc"}}}}"#),
    );
    assert!(
        line.contains(&format!(r#""structuredContent":{args}"#)),
        "arguments changed on the way: {line}"
    );

    // An unknown method the server opted into, with `_meta` and unknown members, reaches it untouched.
    let params =
        r#"{"_meta":{"progressToken":null,"vendor":{"a":[1,2.50]}},"odd":"\u0000","n":1E+2}"#;
    let line = gw.call(r#""str-id-é""#, "vendor/custom", params);
    let v: Value = serde_json::from_str(&line).expect("the response is JSON");
    assert_eq!(v["id"], "str-id-é", "{line}");
    assert!(
        line.contains(&format!(r#""params":{params}"#)),
        "params changed on the way: {line}"
    );
    assert_eq!(v["result"]["echo"]["method"], "vendor/custom");

    // Big integer ids come back as sent.
    let line = gw.call("9007199254740993", "ping", "{}");
    assert!(
        line.starts_with(r#"{"jsonrpc":"2.0","id":9007199254740993,"#),
        "{line}"
    );

    // Upstream → client: an unknown notification, with its params untouched.
    let note = r#"{"a":[1,2.50],"_meta":{"z":"é"},"null":null}"#;
    gw.call(
        "4",
        "tools/call",
        &format!(
            r#"{{"name":"echo__emit","arguments":{{"method":"vendor/event","params":{note}}}}}"#
        ),
    );
    let line = gw.line_with("vendor/event");
    assert!(line.contains(&format!(r#""params":{note}"#)), "{line}");

    // Progress tokens are the client's own, whatever the gateway used upstream.
    gw.call("5", "tools/call", r#"{"name":"echo__emit","arguments":{"method":"vendor/x"},"_meta":{"progressToken":"my-token-1"}}"#);
    let line = gw.line_with("notifications/progress");
    let v: Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(v["params"]["progressToken"], "my-token-1", "{line}");
}

#[test]
fn messages_over_the_limit_get_an_error_not_memory() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut gw = approved_gateway(home.path(), "");
    let big = "x".repeat(100_000);
    gw.send(&format!(r#"{{"jsonrpc":"2.0","id":77,"method":"tools/call","params":{{"name":"echo__echo","arguments":{{"message":"{big}"}}}}}}"#));
    let line = gw.line_with("larger than");
    let v: Value = serde_json::from_str(&line).expect("the error is JSON");
    assert_eq!(v["error"]["code"], -32600, "{line}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("65536"),
        "{line}"
    );
    // The session goes on.
    let ok = gw.call(
        "78",
        "tools/call",
        r#"{"name":"echo__echo","arguments":{"message":"small"}}"#,
    );
    assert!(ok.contains(r#""text":"small""#), "{ok}");
}
