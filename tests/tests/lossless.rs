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

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const ECHO: &str = env!("CARGO_BIN_EXE_portcullis-echo-server");

/// A `portcullis stdio` process and the lines it prints.
struct StdioGateway {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    /// Lines read while waiting for something else (notifications).
    seen: Vec<String>,
}

impl StdioGateway {
    fn start(home: &Path) -> Self {
        let mut child = Command::new(common::gateway_bin())
            .arg("stdio")
            .env("PORTCULLIS_HOME", home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start portcullis stdio");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, stdin, lines, seen: Vec::new() }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to the gateway");
        self.stdin.flush().expect("flush");
    }

    /// The raw line of the response whose id is exactly `id` (JSON text).
    fn response(&mut self, id: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| panic!("no response with id {id} within 30 s; saw {:?}", self.seen));
            // The gateway writes `jsonrpc` and `id` first, then `result` or `error` for a response.
            let head = format!(r#"{{"jsonrpc":"2.0","id":{id},"#);
            if line.starts_with(&format!(r#"{head}"result""#)) || line.starts_with(&format!(r#"{head}"error""#)) {
                return line;
            }
            self.seen.push(line);
        }
    }

    /// A request, and its response's raw line.
    fn call(&mut self, id: &str, method: &str, params: &str) -> String {
        self.send(&format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#));
        self.response(id)
    }

    /// The first line (seen before or arriving within 10 s) that contains `needle`.
    fn line_with(&mut self, needle: &str) -> String {
        if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| panic!("no line containing {needle} within 10 s; saw {:?}", self.seen));
            if line.contains(needle) {
                return line;
            }
            self.seen.push(line);
        }
    }
}

impl Drop for StdioGateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn portcullis(home: &Path, args: &[&str]) -> String {
    let out = Command::new(common::gateway_bin()).args(args).env("PORTCULLIS_HOME", home).output().expect("run portcullis");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "portcullis {args:?} failed: {text}");
    text
}

/// A gateway in front of the echo server, with the echo server's tools approved.
fn approved_gateway(home: &Path) -> StdioGateway {
    std::fs::write(home.join("config.toml"), "[gateway]\nsurface = \"direct\"\nmax_message_bytes = 65536\n\n").expect("write config");
    portcullis(home, &["upstream", "add", "--name", "echo", "--command", ECHO]);
    let mut gw = StdioGateway::start(home);
    let init = gw.call("0", "initialize", r#"{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"lossless-test","version":"1"}}"#);
    assert!(init.contains(r#""protocolVersion":"2025-11-25""#), "{init}");
    gw.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    // Added by a person, so started; its tools wait for approval.
    let listed = gw.call("1", "tools/list", "{}");
    assert!(!listed.contains("echo__echo"), "a pending tool must not be listed: {listed}");
    // As a person would: wait until the tools show up as pending, then approve them.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !portcullis(home, &["tools", "pending"]).contains("echo__echo") {
        assert!(Instant::now() < deadline, "the echo server's tools never showed up as pending");
        std::thread::sleep(Duration::from_millis(100));
    }
    portcullis(home, &["upstream", "approve", "--name", "echo", "--all-tools"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut n = 100;
    loop {
        n += 1;
        let listed = gw.call(&n.to_string(), "tools/list", "{}");
        if listed.contains("echo__echo") {
            break;
        }
        assert!(Instant::now() < deadline, "the approval did not reach the running gateway: {listed}");
        std::thread::sleep(Duration::from_millis(200));
    }
    gw
}

#[test]
fn unknown_fields_methods_meta_and_odd_json_pass_both_ways() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut gw = approved_gateway(home.path());

    // Upstream → client: a member of the tool definition the gateway does not know, byte for byte.
    let listed = gw.call("2", "tools/list", "{}");
    assert!(listed.contains(r#""x-portcullis-test":{"keep": [1, 2.50, "é"]}"#), "{listed}");

    // Client → upstream → client: odd but valid JSON in the arguments, byte for byte.
    let args = r#"{"message":"hi","n":2.50,"big":123456789012345678901234567890,"tiny":1e-400,"s":"\u00e9\ud83d\ude00\u0000","deep":{"_meta":{"k":[null,true,-0.0]}}}"#;
    let line = gw.call("3", "tools/call", &format!(r#"{{"name":"echo__echo","arguments":{args},"_meta":{{"x-trace":"abc"}}}}"#));
    assert!(line.contains(&format!(r#""structuredContent":{args}"#)), "arguments changed on the way: {line}");

    // An unknown method with `_meta` and unknown members reaches the (single) upstream untouched.
    let params = r#"{"_meta":{"progressToken":null,"vendor":{"a":[1,2.50]}},"odd":"\u0000","n":1E+2}"#;
    let line = gw.call(r#""str-id-é""#, "vendor/custom", params);
    let v: Value = serde_json::from_str(&line).expect("the response is JSON");
    assert_eq!(v["id"], "str-id-é", "{line}");
    assert!(line.contains(&format!(r#""params":{params}"#)), "params changed on the way: {line}");
    assert_eq!(v["result"]["echo"]["method"], "vendor/custom");

    // Big integer ids come back as sent.
    let line = gw.call("9007199254740993", "ping", "{}");
    assert!(line.starts_with(r#"{"jsonrpc":"2.0","id":9007199254740993,"#), "{line}");

    // Upstream → client: an unknown notification, with its params untouched.
    let note = r#"{"a":[1,2.50],"_meta":{"z":"é"},"null":null}"#;
    gw.call("4", "tools/call", &format!(r#"{{"name":"echo__emit","arguments":{{"method":"vendor/event","params":{note}}}}}"#));
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
    let mut gw = approved_gateway(home.path());
    let big = "x".repeat(100_000);
    gw.send(&format!(r#"{{"jsonrpc":"2.0","id":77,"method":"tools/call","params":{{"name":"echo__echo","arguments":{{"message":"{big}"}}}}}}"#));
    let line = gw.line_with("larger than");
    let v: Value = serde_json::from_str(&line).expect("the error is JSON");
    assert_eq!(v["error"]["code"], -32600, "{line}");
    assert!(v["error"]["message"].as_str().unwrap_or("").contains("65536"), "{line}");
    // The session goes on.
    let ok = gw.call("78", "tools/call", r#"{"name":"echo__echo","arguments":{"message":"small"}}"#);
    assert!(ok.contains(r#""text":"small""#), "{ok}");
}
