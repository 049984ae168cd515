//! `subscriptions/listen` (MCP 2026-07-28) over `portcullis stdio`: the
//! acknowledgment, then the notifications asked for on stdout, each tagged
//! with the subscription id, until the client cancels the listen request.

mod common;

use std::time::{Duration, Instant};

use common::stdio::{approved_gateway, portcullis};
use serde_json::Value;

const META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;

fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

#[test]
fn listen_streams_tool_changes_on_stdout_until_cancelled() {
    let home = tempfile::tempdir().expect("temp dir");
    let mut gw = approved_gateway(home.path(), "");

    gw.send(&format!(r#"{{"jsonrpc":"2.0","id":"sub-1","method":"subscriptions/listen","params":{{{META},"notifications":{{"toolsListChanged":true,"promptsListChanged":true}}}}}}"#));
    let ack = parse(&gw.line_with("notifications/subscriptions/acknowledged"));
    // The echo server offers no prompts: only the tools filter is honoured.
    assert_eq!(
        ack["params"]["notifications"],
        serde_json::json!({ "toolsListChanged": true }),
        "{ack}"
    );
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "sub-1",
        "{ack}"
    );

    // A person blocks a tool: what the gateway lists changes.
    portcullis(
        home.path(),
        &["upstream", "block", "--name", "echo", "--tools", "sleep"],
    );
    // (The handshake-era session on the same pipe gets its own, untagged one.)
    let change =
        parse(&gw.take_line_with_all(&["notifications/tools/list_changed", "subscriptionId"]));
    assert_eq!(
        change["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "sub-1",
        "{change}"
    );
    assert!(
        change.get("id").is_none(),
        "a notification, not a response: {change}"
    );

    // Cancelled: later changes are not sent, and the session goes on.
    gw.send(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"sub-1","reason":"done"}}"#);
    // Lines are read in order: once a later request is answered, the cancellation was handled.
    let pong = gw.call("7", "ping", "{}");
    assert!(pong.contains(r#""result":{}"#), "{pong}");
    portcullis(
        home.path(),
        &["upstream", "approve", "--name", "echo", "--tools", "sleep"],
    );
    // Decisions from another process reach the gateway within a second or so.
    let deadline = Instant::now() + Duration::from_secs(15);
    for n in 10.. {
        let listed = gw.call(&n.to_string(), "tools/list", "{}");
        if listed.contains("echo__sleep") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the approval never reached the gateway: {listed}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The handshake-era session on the same pipe still gets its own notifications:
    // one for the block, one for the approval. When the second is out, so is any
    // tagged one the same change could have caused.
    for change in ["block", "approval"] {
        let note = gw.take_line_with_all(&["notifications/tools/list_changed"]);
        assert!(
            !note.contains("subscriptionId"),
            "the {change} reached the cancelled listen stream: {note}"
        );
    }
    let pong = gw.call("8", "ping", "{}");
    assert!(pong.contains(r#""result":{}"#), "{pong}");
    let tagged = gw
        .seen()
        .iter()
        .filter(|l| l.contains("subscriptionId"))
        .count();
    assert_eq!(
        tagged,
        0,
        "a cancelled listen stream sent more: {:?}",
        gw.seen()
    );
}

#[test]
fn a_listen_request_without_the_envelope_is_refused() {
    let home = tempfile::tempdir().expect("temp dir");
    let mut gw = approved_gateway(home.path(), "");
    let answer = parse(&gw.call(r#""sub-2""#, "subscriptions/listen", r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"notifications":{"toolsListChanged":true}}"#));
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("clientCapabilities"),
        "{answer}"
    );
}
