//! `portcullis-loadgen`: measures what Portcullis adds to a tool call.
//!
//! It drives `tools/call` of an echo tool in a closed loop (each of N
//! workers sends its next call when the previous one is answered) and
//! reports calls per second and latency percentiles, as one line of JSON on
//! stdout and a sentence on stderr. Three ways in, so that like is compared
//! with like:
//!
//! - `--direct-stdio CMD...`: spawns the MCP server and speaks to it over its
//!   stdio, the N calls in flight multiplexed on one connection by id;
//! - `--gateway-stdio PORTCULLIS`: spawns `portcullis stdio` with a config
//!   whose only upstream is the echo server, and drives it exactly the same
//!   way (so the difference with direct is the gateway alone);
//! - `--http URL`: N streamable HTTP sessions, each with its own
//!   `initialize` and its own keep-alive HTTP/1.1 connection.
//!
//! A fresh `--gateway-stdio` home is approved the way a person would do it
//! (`portcullis upstream approve --name echo` once the gateway has seen the
//! server, then `--all-tools` once it has listed the tools), since the
//! gateway quarantines what nobody approved; with `--home` the home's own
//! approvals are used.
//!
//! The report also gives the peak resident memory (`VmHWM`) of the process
//! it talks to: the one it spawned, or `--pid` (the gateway behind `--http`).
//!
//! Latencies of the warm-up are dropped. Every answer is checked: a JSON-RPC
//! error or a tool error counts as an error, and the first answer of each
//! worker must return the arguments it was sent, byte for byte.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

const PROTOCOL_VERSION: &str = "2025-11-25";
const SESSION_HEADER: &str = "mcp-session-id";
/// How long setup (spawn, handshake, tool list) may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one call may take before the run is called broken.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Load generator for Portcullis: calls an echo tool in a closed loop and reports throughput and latency.
#[derive(Parser)]
#[command(name = "portcullis-loadgen", version)]
struct Args {
    /// Spawn this MCP server command and speak to it over its stdio.
    #[arg(long, num_args = 1.., value_name = "CMD", conflicts_with_all = ["gateway_stdio", "http"], required_unless_present_any = ["gateway_stdio", "http"])]
    direct_stdio: Option<Vec<String>>,
    /// Spawn `<PORTCULLIS> stdio` with the echo server as its only upstream and speak to it over stdio.
    #[arg(long, value_name = "PORTCULLIS", conflicts_with = "http")]
    gateway_stdio: Option<PathBuf>,
    /// The gateway's streamable HTTP endpoint, e.g. http://127.0.0.1:7331/mcp.
    #[arg(long, value_name = "URL")]
    http: Option<String>,
    /// The echo server for --gateway-stdio (default: portcullis-echo-server beside this program).
    #[arg(long, value_name = "PATH", conflicts_with = "home")]
    echo_server: Option<PathBuf>,
    /// For --gateway-stdio: use this PORTCULLIS_HOME (its config and approvals) instead of a fresh one.
    #[arg(long, value_name = "DIR", requires = "gateway_stdio")]
    home: Option<PathBuf>,
    /// Calls in flight at once (stdio: on one connection; HTTP: one session each).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=4096))]
    concurrency: u64,
    /// Measure for this many seconds (default 10 unless --requests is given).
    #[arg(long, value_name = "SECS", conflicts_with = "requests")]
    duration: Option<f64>,
    /// Measure this many calls instead of a duration.
    #[arg(long, value_name = "N")]
    requests: Option<u64>,
    /// Seconds of calls before measuring, whose latencies are dropped.
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    warmup: f64,
    /// The tool to call (default: `echo` direct, `echo__echo` through the gateway).
    #[arg(long, value_name = "NAME")]
    tool: Option<String>,
    /// The `message` argument sent with every call.
    #[arg(long, default_value = "hello from portcullis-loadgen")]
    message: String,
    /// How long to wait for the tool to be listed (and approved) before giving up.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    setup_timeout: f64,
    /// A label for the JSON report (default: the mode).
    #[arg(long)]
    label: Option<String>,
    /// Report the peak memory of this process (e.g. the gateway behind --http);
    /// over stdio, the spawned process's is reported.
    #[arg(long, value_name = "PID")]
    pid: Option<u32>,
    /// Runtime threads of the load generator itself (1: a single-threaded runtime).
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// The settings of a run, resolved from the arguments.
struct Plan {
    mode: &'static str,
    label: String,
    concurrency: u64,
    tool: String,
    /// The `params` of every call.
    params: String,
    /// The exact text the echo tool must return as structured content.
    arguments: String,
    warmup: Duration,
    duration: Option<Duration>,
    requests: Option<u64>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let result = runtime
        .context("cannot start the runtime")
        .and_then(|rt| rt.block_on(run(args)));
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("portcullis-loadgen: error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Runs the benchmark; `Ok(false)` when calls failed.
async fn run(args: Args) -> anyhow::Result<bool> {
    let mode = if args.direct_stdio.is_some() {
        "direct-stdio"
    } else if args.gateway_stdio.is_some() {
        "gateway-stdio"
    } else {
        "gateway-http"
    };
    let tool = args.tool.clone().unwrap_or_else(|| {
        if mode == "direct-stdio" {
            "echo".into()
        } else {
            "echo__echo".into()
        }
    });
    let arguments = format!(r#"{{"message":{}}}"#, serde_json::to_string(&args.message)?);
    let params = format!(
        r#"{{"name":{},"arguments":{arguments}}}"#,
        serde_json::to_string(&tool)?
    );
    let plan = Arc::new(Plan {
        mode,
        label: args.label.clone().unwrap_or_else(|| mode.to_owned()),
        concurrency: args.concurrency,
        tool,
        params,
        arguments,
        warmup: secs(args.warmup, "--warmup")?,
        duration: match (args.duration, args.requests) {
            (_, Some(_)) => None,
            (d, None) => Some(secs(d.unwrap_or(10.0), "--duration")?),
        },
        requests: args.requests,
    });
    let mut _home = None;
    let mut approver = None;
    let conns: Vec<Conn> = if let Some(cmd) = &args.direct_stdio {
        let (program, rest) = cmd
            .split_first()
            .context("--direct-stdio needs a command")?;
        vec![Conn::Stdio(
            StdioConn::spawn(Command::new(program).args(rest)).await?,
        )]
    } else if let Some(portcullis) = &args.gateway_stdio {
        let home = match &args.home {
            Some(h) => h.clone(),
            None => {
                let echo = match &args.echo_server {
                    Some(p) => p.clone(),
                    None => std::env::current_exe()?.with_file_name("portcullis-echo-server"),
                };
                let home = gateway_home(&echo)?;
                let path = home.path().to_owned();
                _home = Some(home);
                approver = Some(Approver {
                    portcullis: portcullis.clone(),
                    home: path.clone(),
                    server: "echo".into(),
                });
                path
            }
        };
        let mut cmd = Command::new(portcullis);
        cmd.arg("stdio").env("PORTCULLIS_HOME", &home);
        vec![Conn::Stdio(StdioConn::spawn(&mut cmd).await?)]
    } else {
        let url: Uri = args
            .http
            .as_deref()
            .unwrap_or_default()
            .parse()
            .context("--http needs a URL such as http://127.0.0.1:7331/mcp")?;
        let mut sessions = Vec::new();
        for _ in 0..plan.concurrency {
            sessions.push(Conn::Http(HttpSession::open(&url).await?));
        }
        sessions
    };
    let first = conns.first().context("no connection")?.clone();
    check_tool(
        &first,
        &plan.tool,
        approver.as_ref(),
        secs(args.setup_timeout, "--setup-timeout")?,
    )
    .await?;

    let started = Instant::now();
    let measure_from = started + plan.warmup;
    let claimed = Arc::new(AtomicU64::new(0));
    let mut workers = JoinSet::new();
    for i in 0..plan.concurrency {
        let conn = conns[(i as usize) % conns.len()].clone();
        workers.spawn(worker(conn, plan.clone(), measure_from, claimed.clone()));
    }
    let mut stats = Stats::default();
    while let Some(done) = workers.join_next().await {
        stats.merge(done.context("a worker panicked")?);
    }
    // Before the spawned process is closed: its peak while it served the run.
    let watched = args.pid.or_else(|| match &first {
        Conn::Stdio(c) => c.pid,
        Conn::Http(_) => None,
    });
    let peak_rss_kb = watched.and_then(peak_rss_kb);
    for c in conns {
        c.close().await;
    }
    let report = stats.report(&plan, measure_from, peak_rss_kb);
    println!("{}", report.json);
    eprintln!("{}", report.text);
    if let Some(e) = &stats.first_error {
        eprintln!("first error: {e}");
    }
    Ok(stats.errors == 0 && !stats.latencies.is_empty())
}

fn secs(s: f64, flag: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s)
        .map_err(|_| anyhow!("{flag} must be a number of seconds, not {s}"))
}

/// A PORTCULLIS_HOME whose config has the echo server as its only upstream.
fn gateway_home(echo: &std::path::Path) -> anyhow::Result<tempfile::TempDir> {
    if !echo.is_file() {
        bail!(
            "the echo server {} does not exist (build it, or pass --echo-server)",
            echo.display()
        );
    }
    let home = tempfile::Builder::new()
        .prefix("portcullis-loadgen-")
        .tempdir()?;
    // A JSON string is a valid TOML basic string.
    let command = serde_json::to_string(&echo.canonicalize()?.display().to_string())?;
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "[gateway]\nsurface = \"direct\"\n\n[servers.echo]\ncommand = {command}\nargs = []\n"
        ),
    )?;
    Ok(home)
}

/// Approves a server and its tools in a PORTCULLIS_HOME with the CLI, as a
/// person would. A gateway without quarantine has no such command: then it
/// does nothing, and the tool list says whether the tool is there.
struct Approver {
    portcullis: PathBuf,
    home: PathBuf,
    server: String,
}

impl Approver {
    /// Approves the server, then its tools; the first refusal, if any.
    async fn approve_all(&self) -> Option<String> {
        let server = self.approve(false).await;
        let tools = self.approve(true).await;
        tools.or(server)
    }

    async fn approve(&self, all_tools: bool) -> Option<String> {
        let mut cmd = Command::new(&self.portcullis);
        cmd.args(["upstream", "approve", "--name", &self.server])
            .env("PORTCULLIS_HOME", &self.home)
            .stdin(Stdio::null());
        if all_tools {
            cmd.arg("--all-tools");
        }
        match cmd.output().await {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
            Err(e) => Some(e.to_string()),
        }
    }
}

/// Waits until `tool` is listed (following pages), approving tools on the way when asked to.
async fn check_tool(
    conn: &Conn,
    tool: &str,
    approver: Option<&Approver>,
    wait: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + wait;
    loop {
        let (found, seen) = tokio::time::timeout(SETUP_TIMEOUT, list_has_tool(conn, tool))
            .await
            .context("listing tools timed out")??;
        if found {
            return Ok(());
        }
        let refused = match approver {
            Some(a) => a.approve_all().await,
            None => None,
        };
        if Instant::now() >= deadline {
            let why = refused.map_or(String::new(), |e| {
                format!("; approving its tools failed: {e}")
            });
            bail!("the tool `{tool}` is not listed ({seen} tools are){why}; pass --tool, or approve it (portcullis upstream approve --name <server> --all-tools)");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Whether `tool` is listed, and how many tools are.
async fn list_has_tool(conn: &Conn, tool: &str) -> anyhow::Result<(bool, usize)> {
    #[derive(Deserialize)]
    struct Page {
        tools: Vec<Named>,
        #[serde(rename = "nextCursor")]
        next_cursor: Option<String>,
    }
    #[derive(Deserialize)]
    struct Named {
        name: String,
    }
    let mut cursor: Option<String> = None;
    let mut seen = 0;
    for _ in 0..1000 {
        let params = match &cursor {
            Some(c) => format!(r#"{{"cursor":{}}}"#, serde_json::to_string(c)?),
            None => "{}".into(),
        };
        let page: Page =
            serde_json::from_str(conn.call("tools/list", &params).await?.result()?.get())
                .context("tools/list answered something that is not a tool list")?;
        seen += page.tools.len();
        if page.tools.iter().any(|t| t.name == tool) {
            return Ok((true, seen));
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok((false, seen))
}

/// What one worker measured.
#[derive(Default)]
struct Stats {
    latencies: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
    last_done: Option<Instant>,
}

impl Stats {
    fn error(&mut self, e: String) {
        self.errors += 1;
        self.first_error.get_or_insert(e);
    }

    fn merge(&mut self, other: Stats) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.last_done = self.last_done.max(other.last_done);
    }
}

async fn worker(
    conn: Conn,
    plan: Arc<Plan>,
    measure_from: Instant,
    claimed: Arc<AtomicU64>,
) -> Stats {
    let mut stats = Stats::default();
    let end = plan.duration.map(|d| measure_from + d);
    let mut checked = false;
    loop {
        let start = Instant::now();
        if end.is_some_and(|e| start >= e) {
            break;
        }
        let measured = start >= measure_from;
        if measured {
            if let Some(limit) = plan.requests {
                if claimed.fetch_add(1, Ordering::Relaxed) >= limit {
                    break;
                }
            }
        }
        let answer = conn.call("tools/call", &plan.params).await;
        let done = Instant::now();
        let outcome = answer.and_then(|a| {
            a.check_tool_result()?;
            if !checked {
                checked = true;
                let result = a.result()?;
                if !result
                    .get()
                    .contains(&format!(r#""structuredContent":{}"#, plan.arguments))
                {
                    bail!(
                        "the echo tool did not return the arguments byte for byte: {}",
                        result.get()
                    );
                }
            }
            Ok(())
        });
        match outcome {
            Ok(()) if measured => {
                stats
                    .latencies
                    .push(u32::try_from((done - start).as_micros()).unwrap_or(u32::MAX));
                stats.last_done = Some(done);
            }
            Ok(()) => {}
            Err(e) => {
                stats.error(format!("{e:#}"));
                // A broken connection fails every call: stop rather than spin.
                if conn.is_closed() {
                    break;
                }
            }
        }
    }
    stats
}

/// The peak resident set of a process, in KiB (`VmHWM` in /proc/PID/status).
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()
}

/// The report of a run.
struct Report {
    json: String,
    text: String,
}

impl Stats {
    fn report(&mut self, plan: &Plan, measure_from: Instant, peak_rss_kb: Option<u64>) -> Report {
        self.latencies.sort_unstable();
        let n = self.latencies.len();
        let pct = |p: f64| -> u32 {
            if n == 0 {
                return 0;
            }
            let rank = ((p / 100.0) * n as f64).ceil() as usize;
            self.latencies[rank.clamp(1, n) - 1]
        };
        let seconds = self.last_done.map_or(0.0, |d| {
            d.saturating_duration_since(measure_from).as_secs_f64()
        });
        let rate = if seconds > 0.0 {
            n as f64 / seconds
        } else {
            0.0
        };
        let mean = if n == 0 {
            0.0
        } else {
            self.latencies.iter().map(|&l| f64::from(l)).sum::<f64>() / n as f64
        };
        let (p50, p90, p99, max) = (
            pct(50.0),
            pct(90.0),
            pct(99.0),
            self.latencies.last().copied().unwrap_or(0),
        );
        let json = serde_json::json!({
            "mode": plan.mode,
            "label": plan.label,
            "tool": plan.tool,
            "concurrency": plan.concurrency,
            "calls": n,
            "errors": self.errors,
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "calls_per_sec": rate.round(),
            "mean_us": mean.round(),
            "p50_us": p50,
            "p90_us": p90,
            "p99_us": p99,
            "max_us": max,
            "peak_rss_kb": peak_rss_kb,
        });
        let text = format!(
            "{} (concurrency {}): {n} calls in {seconds:.2} s = {rate:.0} calls/s; latency p50 {p50} µs, p90 {p90} µs, p99 {p99} µs, max {max} µs; {} errors",
            plan.label, plan.concurrency, self.errors
        );
        Report {
            json: json.to_string(),
            text,
        }
    }
}

/// A response, as the line (or SSE data) it came in.
struct Answer(String);

#[derive(Deserialize)]
struct Envelope<'a> {
    id: Option<u64>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

impl Answer {
    fn envelope(&self) -> anyhow::Result<Envelope<'_>> {
        serde_json::from_str(&self.0)
            .with_context(|| format!("not a JSON-RPC response: {}", preview(&self.0)))
    }

    fn result(&self) -> anyhow::Result<&RawValue> {
        let env = self.envelope()?;
        if let Some(e) = env.error {
            bail!("JSON-RPC error: {}", e.get());
        }
        env.result
            .with_context(|| format!("a response without a result: {}", preview(&self.0)))
    }

    /// Fails on a JSON-RPC error and on a tool result with `isError: true`.
    fn check_tool_result(&self) -> anyhow::Result<()> {
        #[derive(Deserialize)]
        struct ToolResult {
            #[serde(rename = "isError", default)]
            is_error: bool,
        }
        let result = self.result()?;
        let parsed: ToolResult =
            serde_json::from_str(result.get()).context("a tool result that is not an object")?;
        if parsed.is_error {
            bail!("the tool failed: {}", preview(result.get()));
        }
        Ok(())
    }
}

fn preview(s: &str) -> &str {
    let mut end = s.len().min(300);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A way to the server under test. Clones share the connection.
#[derive(Clone)]
enum Conn {
    Stdio(Arc<StdioConn>),
    Http(Arc<tokio::sync::Mutex<HttpSession>>),
}

impl Conn {
    /// Sends one request and waits for its answer.
    async fn call(&self, method: &str, params: &str) -> anyhow::Result<Answer> {
        match self {
            Conn::Stdio(c) => tokio::time::timeout(CALL_TIMEOUT, c.call(method, params))
                .await
                .context("no answer in time")?,
            Conn::Http(s) => {
                let mut s = s.lock().await;
                tokio::time::timeout(CALL_TIMEOUT, s.call(method, params))
                    .await
                    .context("no answer in time")?
            }
        }
    }

    fn is_closed(&self) -> bool {
        match self {
            Conn::Stdio(c) => c.writer.is_closed(),
            Conn::Http(_) => false,
        }
    }

    async fn close(self) {
        match self {
            Conn::Stdio(c) => c.close().await,
            Conn::Http(s) => s.lock().await.close().await,
        }
    }
}

/// One stdio connection; calls in flight are told apart by id.
struct StdioConn {
    writer: mpsc::Sender<Vec<u8>>,
    pending: Arc<Mutex<HashMap<u64, oneshot::Sender<String>>>>,
    next_id: AtomicU64,
    child: tokio::sync::Mutex<Option<Child>>,
    pid: Option<u32>,
    tasks: Vec<JoinHandle<()>>,
}

impl StdioConn {
    /// Spawns the server and does the MCP handshake.
    async fn spawn(cmd: &mut Command) -> anyhow::Result<Arc<Self>> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {:?}", cmd.as_std().get_program()))?;
        let (stdin, stdout) = child
            .stdin
            .take()
            .zip(child.stdout.take())
            .context("the child's pipes are missing")?;
        let (writer, rx) = mpsc::channel(4096);
        let pending: Arc<Mutex<HashMap<u64, oneshot::Sender<String>>>> = Arc::default();
        let p = pending.clone();
        let reader = tokio::spawn(async move {
            let mut lines = BufReader::with_capacity(64 * 1024, stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let id = serde_json::from_str::<Envelope<'_>>(&line)
                    .ok()
                    .and_then(|e| e.id);
                // Notifications and unknown ids are not ours to wait for.
                if let Some(tx) = id.and_then(|id| {
                    p.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .remove(&id)
                }) {
                    let _ = tx.send(line);
                }
            }
            // The server is gone: wake every waiter with a closed channel.
            p.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clear();
        });
        let write = tokio::spawn(write_lines(stdin, rx));
        let pid = child.id();
        let conn = Arc::new(Self {
            writer,
            pending,
            next_id: AtomicU64::new(1),
            child: tokio::sync::Mutex::new(Some(child)),
            pid,
            tasks: vec![reader, write],
        });
        let init = format!(
            r#"{{"protocolVersion":"{PROTOCOL_VERSION}","capabilities":{{}},"clientInfo":{{"name":"portcullis-loadgen","version":"{}"}}}}"#,
            env!("CARGO_PKG_VERSION")
        );
        tokio::time::timeout(SETUP_TIMEOUT, conn.call("initialize", &init))
            .await
            .context("no answer to initialize")??
            .result()?;
        conn.writer
            .send(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n".to_vec())
            .await
            .map_err(|_| anyhow!("the server closed its stdin"))?;
        Ok(conn)
    }

    async fn call(&self, method: &str, params: &str) -> anyhow::Result<Answer> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, tx);
        let line = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":{},\"params\":{params}}}\n",
            serde_json::to_string(method)?
        );
        self.writer
            .send(line.into_bytes())
            .await
            .map_err(|_| anyhow!("the server closed its stdin"))?;
        rx.await
            .map(Answer)
            .map_err(|_| anyhow!("the server closed its stdout (did it exit?)"))
    }

    /// Closes stdin, waits a little for the exit, then kills.
    async fn close(&self) {
        if let Some(mut child) = self.child.lock().await.take() {
            if let Some(t) = self.tasks.get(1) {
                t.abort();
            }
            if tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn write_lines(stdin: ChildStdin, mut rx: mpsc::Receiver<Vec<u8>>) {
    let mut out = tokio::io::BufWriter::with_capacity(64 * 1024, stdin);
    while let Some(line) = rx.recv().await {
        if out.write_all(&line).await.is_err() {
            break;
        }
        if rx.is_empty() && out.flush().await.is_err() {
            break;
        }
    }
    let _ = out.flush().await;
}

/// One streamable HTTP session on its own keep-alive connection.
struct HttpSession {
    sender: http1::SendRequest<Full<Bytes>>,
    host: HeaderValue,
    path: String,
    session: Option<HeaderValue>,
    next_id: u64,
    conn: JoinHandle<()>,
}

impl HttpSession {
    /// Connects, then `initialize` and `notifications/initialized`.
    async fn open(url: &Uri) -> anyhow::Result<Arc<tokio::sync::Mutex<Self>>> {
        if url.scheme_str() != Some("http") {
            bail!("only http:// URLs are supported, not {url}");
        }
        let authority = url.authority().context("the URL has no host")?;
        let addr = format!(
            "{}:{}",
            authority.host(),
            authority.port_u16().unwrap_or(80)
        );
        let stream = tokio::net::TcpStream::connect(&addr)
            .await
            .with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        let conn = tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut s = Self {
            sender,
            host: HeaderValue::from_str(authority.as_str())?,
            path: url.path().to_owned(),
            session: None,
            next_id: 1,
            conn,
        };
        let init = format!(
            r#"{{"protocolVersion":"{PROTOCOL_VERSION}","capabilities":{{}},"clientInfo":{{"name":"portcullis-loadgen","version":"{}"}}}}"#,
            env!("CARGO_PKG_VERSION")
        );
        tokio::time::timeout(SETUP_TIMEOUT, s.call("initialize", &init))
            .await
            .context("no answer to initialize")??
            .result()?;
        if s.session.is_none() {
            bail!("`initialize` did not return an Mcp-Session-Id header");
        }
        let (status, _, body) = s
            .post(Bytes::from_static(
                b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
            ))
            .await?;
        if status != StatusCode::ACCEPTED {
            bail!(
                "notifications/initialized: expected 202 Accepted, got {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        Ok(Arc::new(tokio::sync::Mutex::new(s)))
    }

    async fn post(&mut self, body: Bytes) -> anyhow::Result<(StatusCode, hyper::HeaderMap, Bytes)> {
        self.request(Method::POST, Full::new(body)).await
    }

    async fn request(
        &mut self,
        method: Method,
        body: Full<Bytes>,
    ) -> anyhow::Result<(StatusCode, hyper::HeaderMap, Bytes)> {
        let mut req = Request::builder()
            .method(method)
            .uri(self.path.as_str())
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .header("mcp-protocol-version", PROTOCOL_VERSION);
        if let Some(s) = &self.session {
            req = req.header(SESSION_HEADER, s.clone());
        }
        self.sender
            .ready()
            .await
            .context("the HTTP connection closed")?;
        let resp = self
            .sender
            .send_request(req.body(body)?)
            .await
            .context("the HTTP request failed")?;
        let (parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .context("reading the HTTP body failed")?
            .to_bytes();
        Ok((parts.status, parts.headers, body))
    }

    async fn call(&mut self, method: &str, params: &str) -> anyhow::Result<Answer> {
        let id = self.next_id;
        self.next_id += 1;
        let body = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":{},\"params\":{params}}}",
            serde_json::to_string(method)?
        );
        let (status, headers, body) = self.post(Bytes::from(body)).await?;
        if status != StatusCode::OK {
            bail!(
                "{method}: HTTP {status}: {}",
                preview(&String::from_utf8_lossy(&body))
            );
        }
        if let Some(s) = headers.get(SESSION_HEADER) {
            self.session = Some(s.clone());
        }
        let text = String::from_utf8(body.to_vec()).context("a body that is not UTF-8")?;
        let is_sse = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !is_sse {
            return Ok(Answer(text));
        }
        // The answer is the event whose id is ours; others are related messages.
        portcullis_tests::sse_data(&text)
            .into_iter()
            .find(|d| {
                serde_json::from_str::<Envelope<'_>>(d)
                    .ok()
                    .and_then(|e| e.id)
                    == Some(id)
            })
            .map(Answer)
            .with_context(|| {
                format!(
                    "{method}: the event stream held no answer: {}",
                    preview(&text)
                )
            })
    }

    /// Ends the session (DELETE) and the connection.
    async fn close(&mut self) {
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            self.request(Method::DELETE, Full::new(Bytes::new())),
        )
        .await;
        self.conn.abort();
    }
}
