//! `portcullis-echo-server`: a tiny, fast MCP server over stdio, for the
//! end-to-end tests and the overhead benchmark.
//!
//! It is written directly on serde_json (no SDK) so that what it sends is
//! exactly what a test expects: one JSON-RPC message per line, bodies kept
//! byte for byte (`echo` returns its `arguments` as the very JSON text it
//! received). It speaks MCP 2025-11-25 and accepts the older session-based
//! versions, answering with the client's version when it knows it.
//!
//! Requests are handled concurrently: `sleep` runs in its own task, so it
//! never holds up `echo`, and a `notifications/cancelled` for it means it
//! never answers. Bad input gets a JSON-RPC error, never a panic.
//!
//! Tools: `echo`, `sleep`, `received`, `emit`, `crash`, and with `--tools N`
//! the generated `tool_0..tool_{N-1}` (which behave like `echo`). Any request
//! method it does not know is answered with `{"echo":{"method":…,"params":…}}`
//! so that passthrough can be tested.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// The versions it speaks, newest first.
const SUPPORTED_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// The largest line it reads; longer ones are answered with an error.
const MAX_LINE: usize = 64 * 1024 * 1024;
/// The longest `sleep` it accepts.
const MAX_SLEEP_MS: u64 = 3_600_000;
/// The extra member every tool definition carries, so that tests can check
/// a gateway passes unknown members on (note `2.50` and the non-ASCII text).
const EXTRA_MEMBER: &str = r#""x-portcullis-test": {"keep": [1, 2.50, "é"]}"#;

// JSON-RPC error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const INVALID_PARAMS: i64 = -32602;

/// A tiny MCP server over stdio for tests and benchmarks.
#[derive(Parser)]
#[command(name = "portcullis-echo-server", version)]
struct Args {
    /// Add N generated tools `tool_0..tool_{N-1}` (they behave like `echo`).
    #[arg(long, value_name = "N", default_value_t = 0)]
    tools: usize,
    /// Split `tools/list` into pages of this many tools (0: one page).
    #[arg(long, value_name = "N", default_value_t = 0)]
    page_size: usize,
}

/// One incoming message, bodies kept as raw JSON.
#[derive(Deserialize)]
struct Incoming {
    jsonrpc: Option<String>,
    /// `Some("null")` for `"id": null`, `None` when there is no id.
    #[serde(default, deserialize_with = "present")]
    id: Option<Box<RawValue>>,
    method: Option<String>,
    params: Option<Box<RawValue>>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct CallParams {
    name: String,
    arguments: Option<Box<RawValue>>,
    #[serde(rename = "_meta")]
    meta: Option<Meta>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(rename = "progressToken")]
    progress_token: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct CancelParams {
    #[serde(rename = "requestId")]
    request_id: Box<RawValue>,
}

/// What a JSON-RPC error answer says.
struct RpcError {
    code: i64,
    message: String,
}

impl RpcError {
    fn params(message: impl Into<String>) -> Self {
        Self {
            code: INVALID_PARAMS,
            message: message.into(),
        }
    }
}

/// What the writer task receives.
enum Out {
    /// One message, newline included.
    Line(Vec<u8>),
    /// Flush and stop.
    Close,
}

/// What the server has been told, for the `received` tool.
#[derive(Default)]
struct Received {
    notifications: Vec<String>,
    cancelled: Vec<Box<RawValue>>,
}

struct Server {
    out: mpsc::Sender<Out>,
    /// Every tool definition as JSON text.
    tools: Vec<String>,
    extra_tools: usize,
    page_size: usize,
    received: Mutex<Received>,
    /// `sleep` calls in flight, by canonical request id.
    sleeping: Mutex<HashMap<String, AbortHandle>>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("portcullis-echo-server: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portcullis-echo-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> std::io::Result<()> {
    let (tx, rx) = mpsc::channel(4096);
    let writer = tokio::spawn(write_lines(rx));
    let server = Arc::new(Server {
        out: tx,
        tools: tool_definitions(args.tools),
        extra_tools: args.tools,
        page_size: args.page_size,
        received: Mutex::default(),
        sleeping: Mutex::default(),
    });
    let mut stdin = tokio::io::BufReader::with_capacity(64 * 1024, tokio::io::stdin());
    let mut line = Vec::new();
    loop {
        match read_line(&mut stdin, &mut line, MAX_LINE).await? {
            Line::Eof => break,
            Line::TooLong => {
                server
                    .send(error_line(
                        None,
                        INVALID_REQUEST,
                        &format!("message longer than {MAX_LINE} bytes"),
                    ))
                    .await;
            }
            Line::Data => server.handle_line(&line).await,
        }
    }
    for (_, task) in server
        .sleeping
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .drain()
    {
        task.abort();
    }
    let _ = server.out.send(Out::Close).await;
    writer.await.map_err(std::io::Error::other)?
}

/// Writes queued lines, flushing whenever the queue runs empty.
async fn write_lines(mut rx: mpsc::Receiver<Out>) -> std::io::Result<()> {
    let mut stdout = tokio::io::BufWriter::with_capacity(64 * 1024, tokio::io::stdout());
    while let Some(out) = rx.recv().await {
        match out {
            Out::Line(bytes) => stdout.write_all(&bytes).await?,
            Out::Close => break,
        }
        if rx.is_empty() {
            stdout.flush().await?;
        }
    }
    stdout.flush().await
}

enum Line {
    Data,
    TooLong,
    Eof,
}

/// Reads one line without its newline into `buf`. A line over `limit` is
/// skipped (and reported) so that one bad message does not end the session.
async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<Line> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let chunk = r.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(match (any, too_long) {
                (false, _) => Line::Eof,
                (true, true) => Line::TooLong,
                (true, false) => Line::Data,
            });
        }
        any = true;
        let newline = chunk.iter().position(|&b| b == b'\n');
        let part = &chunk[..newline.unwrap_or(chunk.len())];
        if !too_long {
            if buf.len() + part.len() > limit {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        let used = newline.map_or(chunk.len(), |i| i + 1);
        r.consume(used);
        if newline.is_some() {
            return Ok(if too_long { Line::TooLong } else { Line::Data });
        }
    }
}

impl Server {
    async fn send(&self, line: Vec<u8>) {
        // Fails only once the writer is gone, when nothing can be sent anyway.
        let _ = self.out.send(Out::Line(line)).await;
    }

    async fn handle_line(self: &Arc<Self>, line: &[u8]) {
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let msg: Incoming = match serde_json::from_slice(line) {
            Ok(m) => m,
            Err(e) => {
                return self
                    .send(error_line(
                        None,
                        PARSE_ERROR,
                        &format!("not a JSON-RPC message: {e}"),
                    ))
                    .await
            }
        };
        if msg.jsonrpc.as_deref() != Some("2.0") {
            return self
                .send(error_line(
                    msg.id.as_deref(),
                    INVALID_REQUEST,
                    "`jsonrpc` must be \"2.0\"",
                ))
                .await;
        }
        match (msg.id, msg.method) {
            (Some(id), Some(method)) => self.request(id, &method, msg.params).await,
            (None, Some(method)) => self.notification(method, msg.params.as_deref()),
            // A response to a request of ours: this server sends none.
            (Some(_), None) => {}
            (None, None) => {
                self.send(error_line(
                    None,
                    INVALID_REQUEST,
                    "a message needs a `method` or an `id`",
                ))
                .await;
            }
        }
    }

    fn notification(&self, method: String, params: Option<&RawValue>) {
        let mut received = self
            .received
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if method == "notifications/cancelled" {
            if let Some(p) = params.and_then(|p| serde_json::from_str::<CancelParams>(p.get()).ok())
            {
                if let Some(task) = self
                    .sleeping
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(&canonical(&p.request_id))
                {
                    task.abort();
                }
                received.cancelled.push(p.request_id);
            }
        }
        received.notifications.push(method);
    }

    async fn request(
        self: &Arc<Self>,
        id: Box<RawValue>,
        method: &str,
        params: Option<Box<RawValue>>,
    ) {
        let answer = match method {
            "initialize" => Ok(initialize(params.as_deref())),
            "ping" => Ok("{}".to_owned()),
            "tools/list" => self.tools_list(params.as_deref()),
            "tools/call" => match self.tools_call(&id, params.as_deref()).await {
                // `sleep` answers from its own task, `crash` never does.
                Ok(None) => return,
                Ok(Some(result)) => Ok(result),
                Err(e) => Err(e),
            },
            _ => Ok(format!(
                r#"{{"echo":{{"method":{},"params":{}}}}}"#,
                json_string(method),
                params.as_deref().map_or("null", RawValue::get)
            )),
        };
        let line = match answer {
            Ok(result) => result_line(&id, &result),
            Err(e) => error_line(Some(&id), e.code, &e.message),
        };
        self.send(line).await;
    }

    fn tools_list(&self, params: Option<&RawValue>) -> Result<String, RpcError> {
        #[derive(Deserialize)]
        struct ListParams {
            cursor: Option<String>,
        }
        let params: Option<ListParams> = params
            .map(|p| serde_json::from_str(p.get()))
            .transpose()
            .map_err(|e| RpcError::params(format!("tools/list params: {e}")))?;
        let start = match params.and_then(|p| p.cursor) {
            None => 0,
            Some(c) => c
                .strip_prefix('p')
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n <= self.tools.len())
                .ok_or_else(|| RpcError::params(format!("invalid cursor `{c}`")))?,
        };
        let size = if self.page_size == 0 {
            self.tools.len()
        } else {
            self.page_size
        };
        let end = (start + size).min(self.tools.len());
        let mut out = String::with_capacity(
            64 + self.tools[start..end]
                .iter()
                .map(|t| t.len() + 1)
                .sum::<usize>(),
        );
        out.push_str(r#"{"tools":["#);
        out.push_str(&self.tools[start..end].join(","));
        out.push(']');
        if end < self.tools.len() {
            out.push_str(&format!(r#","nextCursor":"p{end}""#));
        }
        out.push('}');
        Ok(out)
    }

    /// The result of a call, or `None` when the answer comes later (or never).
    async fn tools_call(
        self: &Arc<Self>,
        id: &RawValue,
        params: Option<&RawValue>,
    ) -> Result<Option<String>, RpcError> {
        let params =
            params.ok_or_else(|| RpcError::params("tools/call needs params with a `name`"))?;
        let call: CallParams = serde_json::from_str(params.get())
            .map_err(|e| RpcError::params(format!("tools/call params: {e}")))?;
        let args = call.arguments.as_deref();
        let progress = call.meta.and_then(|m| m.progress_token);
        match call.name.as_str() {
            "echo" => Ok(Some(echo(args))),
            "sleep" => self.sleep(id, args).map(|()| None),
            "received" => Ok(Some(self.received())),
            "emit" => self.emit(args, progress.as_deref()).await.map(Some),
            "crash" => {
                eprintln!("portcullis-echo-server: crashing on request (exit status 3)");
                std::process::exit(3)
            }
            name if self.is_generated(name) => Ok(Some(echo(args))),
            name => Err(RpcError::params(format!("unknown tool `{name}`"))),
        }
    }

    fn is_generated(&self, name: &str) -> bool {
        name.strip_prefix("tool_")
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| n < self.extra_tools && name == format!("tool_{n}"))
    }

    fn sleep(self: &Arc<Self>, id: &RawValue, args: Option<&RawValue>) -> Result<(), RpcError> {
        #[derive(Deserialize)]
        struct SleepArgs {
            ms: u64,
        }
        let args: SleepArgs = args
            .map(|a| serde_json::from_str(a.get()))
            .transpose()
            .map_err(|e| RpcError::params(format!("sleep needs a whole number `ms`: {e}")))?
            .ok_or_else(|| RpcError::params("sleep needs arguments with `ms`"))?;
        if args.ms > MAX_SLEEP_MS {
            return Err(RpcError::params(format!(
                "sleep: `ms` is at most {MAX_SLEEP_MS}"
            )));
        }
        let key = canonical(id);
        let id = id.to_owned();
        let me = self.clone();
        let k = key.clone();
        // The task removes itself from `sleeping` when done; a cancellation
        // aborts it before it answers.
        let mut sleeping = self
            .sleeping
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let task = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(args.ms)).await;
            let result = format!(
                r#"{{"content":[{{"type":"text","text":"slept {} ms"}}]}}"#,
                args.ms
            );
            if me
                .sleeping
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&k)
                .is_some()
            {
                me.send(result_line(&id, &result)).await;
            }
        });
        sleeping.insert(key, task.abort_handle());
        Ok(())
    }

    fn received(&self) -> String {
        let received = self
            .received
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cancelled: Vec<&str> = received.cancelled.iter().map(|c| c.get()).collect();
        let sleeping = self
            .sleeping
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len();
        let body = format!(
            r#"{{"notifications":{},"cancelled":[{}],"sleeping":{sleeping}}}"#,
            serde_json::to_string(&received.notifications).unwrap_or_else(|_| "[]".into()),
            cancelled.join(",")
        );
        format!(
            r#"{{"content":[{{"type":"text","text":{}}}],"structuredContent":{body}}}"#,
            json_string(&body)
        )
    }

    async fn emit(
        &self,
        args: Option<&RawValue>,
        progress: Option<&RawValue>,
    ) -> Result<String, RpcError> {
        #[derive(Deserialize)]
        struct EmitArgs {
            method: String,
            params: Option<Box<RawValue>>,
        }
        let args: EmitArgs = args
            .map(|a| serde_json::from_str(a.get()))
            .transpose()
            .map_err(|e| {
                RpcError::params(format!(
                    "emit needs a string `method` and optional `params`: {e}"
                ))
            })?
            .ok_or_else(|| RpcError::params("emit needs arguments with `method`"))?;
        if let Some(token) = progress {
            let params = format!(
                r#"{{"progressToken":{},"progress":1,"total":1,"message":"emit"}}"#,
                token.get()
            );
            self.send(notification_line("notifications/progress", Some(&params)))
                .await;
        }
        self.send(notification_line(
            &args.method,
            args.params.as_deref().map(RawValue::get),
        ))
        .await;
        Ok(format!(
            r#"{{"content":[{{"type":"text","text":{}}}]}}"#,
            json_string(&format!("emitted {}", args.method))
        ))
    }
}

fn initialize(params: Option<&RawValue>) -> String {
    #[derive(Deserialize)]
    struct InitParams {
        #[serde(rename = "protocolVersion")]
        protocol_version: Option<String>,
    }
    let asked = params
        .and_then(|p| serde_json::from_str::<InitParams>(p.get()).ok())
        .and_then(|p| p.protocol_version);
    let version = asked
        .and_then(|a| SUPPORTED_VERSIONS.iter().find(|v| **v == a))
        .unwrap_or(&SUPPORTED_VERSIONS[0]);
    format!(
        r#"{{"protocolVersion":"{version}","capabilities":{{"tools":{{"listChanged":false}}}},"serverInfo":{{"name":"portcullis-echo-server","version":"{}"}},"instructions":"A test server: echo, sleep, received, emit, crash."}}"#,
        env!("CARGO_PKG_VERSION")
    )
}

/// `message` as text (or the whole arguments when there is none) and the
/// arguments, byte for byte, as structured content.
fn echo(args: Option<&RawValue>) -> String {
    #[derive(Deserialize)]
    struct EchoArgs {
        message: Option<String>,
    }
    let args = args.map_or("{}", RawValue::get);
    let text = serde_json::from_str::<EchoArgs>(args)
        .ok()
        .and_then(|a| a.message)
        .unwrap_or_else(|| args.to_owned());
    format!(
        r#"{{"content":[{{"type":"text","text":{}}}],"structuredContent":{args}}}"#,
        json_string(&text)
    )
}

fn tool_definitions(extra: usize) -> Vec<String> {
    let object = r#"{"type":"object"}"#;
    let mut tools = vec![
        tool("echo", "Returns its arguments: `message` as text and the whole arguments object, byte for byte, as structured content.", r#"{"type":"object","properties":{"message":{"type":"string"}}}"#),
        tool("sleep", "Waits `ms` milliseconds, then answers; a cancelled sleep never answers.", r#"{"type":"object","properties":{"ms":{"type":"integer","minimum":0}},"required":["ms"]}"#),
        tool("received", "Lists the notification methods and the cancelled request ids this server has received.", object),
        tool("emit", "Sends the notification `method` with `params` (and progress when asked for), then answers.", r#"{"type":"object","properties":{"method":{"type":"string"},"params":{"type":"object"}},"required":["method"]}"#),
        tool("crash", "Writes a line to stderr and exits with status 3.", object),
    ];
    tools.extend((0..extra).map(|i| {
        tool(
            &format!("tool_{i}"),
            &format!("Generated tool {i}; behaves like echo."),
            object,
        )
    }));
    tools
}

fn tool(name: &str, description: &str, schema: &str) -> String {
    format!(
        r#"{{"name":{},"description":{},"inputSchema":{schema},{EXTRA_MEMBER}}}"#,
        json_string(name),
        json_string(description)
    )
}

fn result_line(id: &RawValue, result: &str) -> Vec<u8> {
    format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":{},\"result\":{result}}}\n",
        id.get()
    )
    .into_bytes()
}

fn error_line(id: Option<&RawValue>, code: i64, message: &str) -> Vec<u8> {
    format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":{},\"error\":{{\"code\":{code},\"message\":{}}}}}\n",
        id.map_or("null", RawValue::get),
        json_string(message)
    )
    .into_bytes()
}

fn notification_line(method: &str, params: Option<&str>) -> Vec<u8> {
    match params {
        Some(p) => format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":{},\"params\":{p}}}\n",
            json_string(method)
        ),
        None => format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":{}}}\n",
            json_string(method)
        ),
    }
    .into_bytes()
}

fn json_string(s: &str) -> String {
    // Serializing a &str cannot fail.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The id as compact JSON, so that `1` and ` 1 ` name the same request.
fn canonical(id: &RawValue) -> String {
    serde_json::from_str::<serde_json::Value>(id.get())
        .map_or_else(|_| id.get().to_owned(), |v| v.to_string())
}
