//! `portcullis stdio` driven line by line, in front of the project's echo
//! server: every byte the client would see is visible.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The echo server fixture.
pub(crate) const ECHO: &str = env!("CARGO_BIN_EXE_portcullis-echo-server");

/// A `portcullis stdio` process and the lines it prints.
pub(crate) struct StdioGateway {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    /// Lines read while waiting for something else (notifications).
    seen: Vec<String>,
}

impl StdioGateway {
    pub(crate) fn start(home: &Path) -> Self {
        let mut child = Command::new(super::gateway_bin())
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
        Self {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    pub(crate) fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to the gateway");
        self.stdin.flush().expect("flush");
    }

    /// The raw line of the response whose id is exactly `id` (JSON text).
    pub(crate) fn response(&mut self, id: &str) -> String {
        // The gateway writes `jsonrpc` and `id` first, then `result` or `error` for a response.
        let head = format!(r#"{{"jsonrpc":"2.0","id":{id},"#);
        let is_it = |line: &str| {
            line.starts_with(&format!(r#"{head}"result""#))
                || line.starts_with(&format!(r#"{head}"error""#))
        };
        if let Some(i) = self.seen.iter().position(|l| is_it(l)) {
            return self.seen.remove(i);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!("no response with id {id} within 30 s; saw {:?}", self.seen)
            });
            if is_it(&line) {
                return line;
            }
            self.seen.push(line);
        }
    }

    /// A request, and its response's raw line.
    pub(crate) fn call(&mut self, id: &str, method: &str, params: &str) -> String {
        self.send(&format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#
        ));
        self.response(id)
    }

    /// The first line (seen before or arriving within 10 s) that contains `needle`.
    pub(crate) fn line_with(&mut self, needle: &str) -> String {
        self.line_where(needle, |l| l.contains(needle))
    }

    /// The first line (seen before, then taken, or arriving within 10 s) that
    /// contains every one of `needles`.
    pub(crate) fn take_line_with_all(&mut self, needles: &[&str]) -> String {
        let is_it = |l: &str| needles.iter().all(|n| l.contains(n));
        if let Some(i) = self.seen.iter().position(|l| is_it(l)) {
            return self.seen.remove(i);
        }
        self.line_where(&needles.join(" + "), is_it)
    }

    fn line_where(&mut self, what: &str, is_it: impl Fn(&str) -> bool) -> String {
        if let Some(l) = self.seen.iter().find(|l| is_it(l)) {
            return l.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!("no line containing {what} within 10 s; saw {:?}", self.seen)
            });
            if is_it(&line) {
                return line;
            }
            self.seen.push(line);
        }
    }

    /// Lines read so far that were not a response asked for.
    pub(crate) fn seen(&self) -> &[String] {
        &self.seen
    }
}

impl Drop for StdioGateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn portcullis(home: &Path, args: &[&str]) -> String {
    let out = Command::new(super::gateway_bin())
        .args(args)
        .env("PORTCULLIS_HOME", home)
        .output()
        .expect("run portcullis");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "portcullis {args:?} failed: {text}");
    text
}

/// A gateway in front of the echo server, with the echo server's tools approved.
/// `extra_add` are more `upstream add` flags (e.g. `--timeout 1`), space-separated.
pub(crate) fn approved_gateway(home: &Path, extra_add: &str) -> StdioGateway {
    approved_gateway_with(home, extra_add, "")
}

/// [`approved_gateway`], with `server_lines` added to the echo server's table
/// (options `upstream add` has no flag for, such as `passthrough`).
pub(crate) fn approved_gateway_with(
    home: &Path,
    extra_add: &str,
    server_lines: &str,
) -> StdioGateway {
    std::fs::write(
        home.join("config.toml"),
        "[gateway]\nsurface = \"direct\"\nmax_message_bytes = 65536\n\n",
    )
    .expect("write config");
    let mut add = vec!["upstream", "add", "--name", "echo", "--command", ECHO];
    add.extend(extra_add.split_whitespace());
    portcullis(home, &add);
    if !server_lines.is_empty() {
        // `upstream add` wrote [servers.echo] last: these lines land in it.
        let config = home.join("config.toml");
        let text = std::fs::read_to_string(&config).expect("read config");
        std::fs::write(&config, format!("{text}{server_lines}\n")).expect("write config");
    }
    let mut gw = StdioGateway::start(home);
    let init = gw.call("0", "initialize", r#"{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"lossless-test","version":"1"}}"#);
    assert!(init.contains(r#""protocolVersion":"2025-11-25""#), "{init}");
    gw.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    // Added by a person, so started; its tools wait for approval.
    let listed = gw.call("1", "tools/list", "{}");
    assert!(
        !listed.contains("echo__echo"),
        "a pending tool must not be listed: {listed}"
    );
    // As a person would: wait until the tools show up as pending, then approve them.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !portcullis(home, &["tools", "pending"]).contains("echo__echo") {
        assert!(
            Instant::now() < deadline,
            "the echo server's tools never showed up as pending"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    portcullis(
        home,
        &["upstream", "approve", "--name", "echo", "--all-tools"],
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut n = 100;
    loop {
        n += 1;
        let listed = gw.call(&n.to_string(), "tools/list", "{}");
        if listed.contains("echo__echo") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the approval did not reach the running gateway: {listed}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    gw
}
