//! Tests of the echo server fixture itself, spoken to directly over its
//! stdio: the gateway's end-to-end tests and the benchmark rely on exactly
//! this behaviour. Nothing here asserts on speed; where order matters
//! (a short call answered before a long one) the gap is seconds wide.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const WAIT: Duration = Duration::from_secs(10);

struct Echo {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Echo {
    fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis-echo-server"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the echo server starts");
        let stdin = child.stdin.take().expect("stdin");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Self {
            child,
            stdin,
            lines,
        }
    }

    async fn send_raw(&mut self, line: &str) {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write");
        self.stdin.flush().await.expect("flush");
    }

    async fn send(&mut self, msg: Value) {
        self.send_raw(&msg.to_string()).await;
    }

    /// The next line, as text.
    async fn next_line(&mut self) -> String {
        tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .expect("an answer in time")
            .expect("read")
            .expect("a line, not the end")
    }

    async fn next(&mut self) -> Value {
        let line = self.next_line().await;
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    async fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))
            .await;
        let answer = self.next().await;
        assert_eq!(answer["id"], json!(id), "{answer}");
        answer
    }

    async fn call(&mut self, id: u64, tool: &str, arguments: Value) -> Value {
        self.request(
            id,
            "tools/call",
            json!({ "name": tool, "arguments": arguments }),
        )
        .await
    }

    async fn initialize(&mut self, version: &str) -> Value {
        let answer = self.request(0, "initialize", json!({ "protocolVersion": version, "capabilities": {}, "clientInfo": { "name": "test", "version": "1" } })).await;
        self.send(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
            .await;
        answer
    }
}

#[tokio::test]
async fn initialize_answers_with_the_clients_version_when_supported() {
    for version in ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"] {
        let mut echo = Echo::spawn(&[]);
        let answer = echo.initialize(version).await;
        assert_eq!(answer["result"]["protocolVersion"], version, "{answer}");
        assert!(
            answer["result"]["capabilities"]["tools"].is_object(),
            "{answer}"
        );
        assert_eq!(
            answer["result"]["serverInfo"]["name"],
            "portcullis-echo-server"
        );
    }
    let mut echo = Echo::spawn(&[]);
    let answer = echo.initialize("1999-01-01").await;
    assert_eq!(
        answer["result"]["protocolVersion"], "2025-11-25",
        "{answer}"
    );
}

#[tokio::test]
async fn echo_returns_the_arguments_byte_for_byte() {
    let mut echo = Echo::spawn(&[]);
    echo.initialize("2025-11-25").await;
    let arguments = r#"{"message": "héllo \u00e9", "n": 2.50, "big": 1e400, "nested": {"z": [1, 2.0, null], "a": {}}}"#;
    echo.send_raw(&format!(r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"name":"echo","arguments":{arguments}}}}}"#)).await;
    let line = echo.next_line().await;
    assert!(
        line.contains(&format!(r#""structuredContent":{arguments}"#)),
        "{line}"
    );
    // `1e400` is out of range for a serde_json value, so check the text as text.
    assert!(
        line.contains(r#""content":[{"type":"text","text":"héllo é"}]"#),
        "{line}"
    );
}

#[tokio::test]
async fn tools_carry_the_extra_member_and_generated_tools_page() {
    let mut echo = Echo::spawn(&["--tools", "7", "--page-size", "5"]);
    echo.initialize("2025-11-25").await;
    echo.send_raw(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .await;
    let first = echo.next_line().await;
    assert!(
        first.contains(r#""x-portcullis-test": {"keep": [1, 2.50, "é"]}"#),
        "{first}"
    );
    let first: Value = serde_json::from_str(&first).expect("JSON");
    let mut names: Vec<String> = first["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["name"].as_str().expect("name").to_owned())
        .collect();
    let mut cursor = first["result"]["nextCursor"].clone();
    let mut id = 2;
    while let Some(c) = cursor.as_str().map(str::to_owned) {
        let page = echo.request(id, "tools/list", json!({ "cursor": c })).await;
        names.extend(
            page["result"]["tools"]
                .as_array()
                .expect("tools")
                .iter()
                .map(|t| t["name"].as_str().expect("name").to_owned()),
        );
        cursor = page["result"]["nextCursor"].clone();
        id += 1;
    }
    let mut want: Vec<String> = ["echo", "sleep", "received", "emit", "crash"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    want.extend((0..7).map(|i| format!("tool_{i}")));
    assert_eq!(names, want);
    let answer = echo.call(50, "tool_6", json!({ "message": "gen" })).await;
    assert_eq!(
        answer["result"]["structuredContent"],
        json!({ "message": "gen" })
    );
    let answer = echo.call(51, "tool_7", json!({})).await;
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
}

#[tokio::test]
async fn unknown_methods_are_echoed_with_their_params() {
    let mut echo = Echo::spawn(&[]);
    echo.initialize("2025-11-25").await;
    echo.send_raw(
        r#"{"jsonrpc":"2.0","id":"s-1","method":"vendor/thing","params":{"b": 2.50, "a": [1]}}"#,
    )
    .await;
    let line = echo.next_line().await;
    assert_eq!(
        line,
        r#"{"jsonrpc":"2.0","id":"s-1","result":{"echo":{"method":"vendor/thing","params":{"b": 2.50, "a": [1]}}}}"#
    );
    let answer = echo.request(2, "resources/list", Value::Null).await;
    assert_eq!(
        answer["result"],
        json!({ "echo": { "method": "resources/list", "params": null } })
    );
    let answer = echo.request(3, "ping", json!({})).await;
    assert_eq!(answer["result"], json!({}));
}

#[tokio::test]
async fn bad_input_gets_json_rpc_errors_and_the_server_goes_on() {
    let mut echo = Echo::spawn(&[]);
    echo.send_raw("this is not json").await;
    assert_eq!(echo.next().await["error"]["code"], -32700);
    echo.send_raw(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#)
        .await;
    let answer = echo.next().await;
    assert_eq!(
        (answer["id"].clone(), answer["error"]["code"].clone()),
        (json!(1), json!(-32600))
    );
    let answer = echo
        .request(2, "tools/call", json!({ "arguments": {} }))
        .await;
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
    let answer = echo.call(3, "no_such_tool", json!({})).await;
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
    let answer = echo.call(4, "sleep", json!({ "ms": "soon" })).await;
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
    let answer = echo.request(5, "ping", json!({})).await;
    assert_eq!(answer["result"], json!({}));
}

#[tokio::test]
async fn sleep_does_not_hold_up_echo_and_a_cancelled_sleep_never_answers() {
    let mut echo = Echo::spawn(&[]);
    echo.initialize("2025-11-25").await;
    echo.send(json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": "sleep", "arguments": { "ms": 1000 } } })).await;
    echo.send(json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": { "name": "sleep", "arguments": { "ms": 200 } } })).await;
    // Echo is answered while both sleeps are running.
    let answer = echo.call(3, "echo", json!({ "message": "first" })).await;
    assert_eq!(answer["result"]["content"][0]["text"], "first");
    echo.send(json!({ "jsonrpc": "2.0", "method": "notifications/cancelled", "params": { "requestId": 1, "reason": "test" } })).await;
    // The short sleep answers; the cancelled one must not, even after its time.
    let answer = echo.next().await;
    assert_eq!(answer["id"], 2, "{answer}");
    assert_eq!(answer["result"]["content"][0]["text"], "slept 200 ms");
    // A sleep as long as the cancelled one, started after it, ends after it
    // would have: the next answer is this one's, not the cancelled call's.
    echo.send(json!({ "jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": { "name": "sleep", "arguments": { "ms": 1000 } } })).await;
    let answer = echo.next().await;
    assert_eq!(answer["id"], 5, "the cancelled sleep answered: {answer}");
    let answer = echo.call(4, "received", json!({})).await;
    assert_eq!(
        answer["result"]["structuredContent"],
        json!({ "notifications": ["notifications/initialized", "notifications/cancelled"], "cancelled": [1], "sleeping": 0 }),
        "{answer}"
    );
}

#[tokio::test]
async fn emit_sends_the_notification_before_answering() {
    let mut echo = Echo::spawn(&[]);
    echo.initialize("2025-11-25").await;
    let params = json!({ "name": "emit", "arguments": { "method": "notifications/message", "params": { "level": "info", "data": "hi" } }, "_meta": { "progressToken": "p-1" } });
    echo.send(json!({ "jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": params }))
        .await;
    let progress = echo.next().await;
    assert_eq!(
        progress,
        json!({ "jsonrpc": "2.0", "method": "notifications/progress", "params": { "progressToken": "p-1", "progress": 1, "total": 1, "message": "emit" } })
    );
    let notification = echo.next().await;
    assert_eq!(
        notification,
        json!({ "jsonrpc": "2.0", "method": "notifications/message", "params": { "level": "info", "data": "hi" } })
    );
    let answer = echo.next().await;
    assert_eq!(answer["id"], 9, "{answer}");
}

#[tokio::test]
async fn crash_exits_with_status_3_and_says_so_on_stderr() {
    let mut echo = Echo::spawn(&[]);
    echo.initialize("2025-11-25").await;
    echo.send(
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": "crash" } }),
    )
    .await;
    let status = tokio::time::timeout(WAIT, echo.child.wait())
        .await
        .expect("exits in time")
        .expect("wait");
    assert_eq!(status.code(), Some(3));
    let mut stderr = String::new();
    echo.child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .await
        .expect("read stderr");
    assert!(stderr.contains("crashing"), "{stderr}");
}

#[tokio::test]
async fn end_of_input_ends_the_server_cleanly() {
    let mut echo = Echo::spawn(&[]);
    echo.initialize("2025-11-25").await;
    echo.send(json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": "sleep", "arguments": { "ms": 60000 } } })).await;
    let Echo {
        mut child, stdin, ..
    } = echo;
    drop(stdin);
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("exits in time")
        .expect("wait");
    assert!(status.success(), "{status}");
}
