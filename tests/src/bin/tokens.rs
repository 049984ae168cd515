//! `portcullis-tokens`: counts what an agent reads from Portcullis before it can
//! call a tool, in tokens of a real tokenizer (o200k_base, embedded in
//! tiktoken-rs: nothing is downloaded at run time).
//!
//! For each scenario it starts the gateway (`--gateway`) in a temporary home
//! with that scenario's upstreams, approves every server and tool through the
//! admin API as a person would, waits until the search index holds them, and
//! then, as one MCP client over streamable HTTP:
//!
//! - direct mode (`/mcp/direct`): `tools/list`, every page;
//! - search mode (`/mcp/search`): `tools/list`, then one `search_tools` call
//!   with a representative request.
//!
//! What is counted is the JSON-RPC `result` each answer carries, serialized
//! compactly (the gateway's own bytes are compact already): that is what a host
//! hands its model as tool definitions or as a tool's result. A search result is
//! counted whole (text and any `structuredContent`, what a host that forwards
//! both shows) and as its text alone (what most hosts show). Since issue 21 the
//! gateway's search result is its text alone, so the two agree.
//!
//! Scenarios: `peers` (server-everything, mcp-server-time, mcp-server-git, as
//! installed by scripts/setup.sh) and `generated` (`--servers` echo servers whose
//! tools add up to `--tools`). It prints markdown tables on stdout.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clap::{Parser, ValueEnum};
use serde_json::{json, Value};
use tiktoken_rs::CoreBPE;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const PROTOCOL_VERSION: &str = "2025-11-25";
const SESSION_HEADER: &str = "mcp-session-id";
/// The budget issue 21 sets: start plus one search, at 500 tools.
const TARGET_TOKENS: usize = 500;
/// Tools each echo server always has besides the generated ones.
const ECHO_FIXED_TOOLS: usize = 5;
/// How long the gateway and its upstreams may take to be ready and indexed.
const SETUP_TIMEOUT: Duration = Duration::from_secs(90);

/// Counts the tokens an agent reads at start plus one search, against direct `tools/list`.
#[derive(Parser)]
#[command(name = "portcullis-tokens", version)]
struct Args {
    /// The gateway binary (default: `portcullis` beside this binary).
    #[arg(long, value_name = "PATH")]
    gateway: Option<PathBuf>,
    /// The echo server binary (default: `portcullis-echo-server` beside this binary).
    #[arg(long, value_name = "PATH")]
    echo_server: Option<PathBuf>,
    /// Scenarios to measure.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "peers,generated"
    )]
    scenario: Vec<Scenario>,
    /// The checkout whose tests/node_modules and .venv hold the real peers.
    #[arg(long, value_name = "DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.."))]
    repo_root: PathBuf,
    /// Tools in the generated scenario, all servers together.
    #[arg(long, default_value_t = 500)]
    tools: usize,
    /// Echo servers the generated tools are spread over.
    #[arg(long, default_value_t = 5)]
    servers: usize,
    /// The search request for the peers scenario.
    #[arg(long, default_value = "show the commit history of my repository")]
    peers_query: String,
    /// The search request for the generated scenario.
    #[arg(long, default_value = "echo a message back")]
    generated_query: String,
    /// Also print the measurements as one JSON line on stderr.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// server-everything, mcp-server-time and mcp-server-git.
    Peers,
    /// `--tools` generated tools on `--servers` echo servers.
    Generated,
}

/// One scenario's figures, in tokens unless named otherwise.
#[derive(Debug, serde::Serialize)]
struct Measurement {
    scenario: String,
    query: String,
    tools: usize,
    direct_list: usize,
    direct_list_bytes: usize,
    search_list: usize,
    search_list_bytes: usize,
    /// Each search-mode tool definition alone, by name.
    search_tool_defs: BTreeMap<String, usize>,
    search_result: usize,
    search_result_bytes: usize,
    search_result_text: usize,
    search_result_structured: usize,
    search_results: usize,
    search_top: Vec<String>,
}

impl Measurement {
    fn search_total(&self) -> usize {
        self.search_list + self.search_result
    }
    fn search_total_text(&self) -> usize {
        self.search_list + self.search_result_text
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the runtime")
        .and_then(|rt| rt.block_on(run(args)));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portcullis-tokens: error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let here = std::env::current_exe().context("cannot find this binary's path")?;
    let beside = |name: &str| {
        here.parent()
            .map(|d| d.join(name))
            .unwrap_or_else(|| PathBuf::from(name))
    };
    let gateway = args.gateway.clone().unwrap_or_else(|| beside("portcullis"));
    let echo = args
        .echo_server
        .clone()
        .unwrap_or_else(|| beside("portcullis-echo-server"));
    require_file(
        &gateway,
        "the gateway",
        "cargo build -p portcullis, or pass --gateway",
    )?;
    let bpe = tiktoken_rs::o200k_base().map_err(|e| anyhow!("loading o200k_base: {e}"))?;

    let mut rows = Vec::new();
    for scenario in &args.scenario {
        let (name, query, config) = match scenario {
            Scenario::Peers => (
                "real peers (everything, time, git)".to_owned(),
                args.peers_query.clone(),
                None,
            ),
            Scenario::Generated => {
                require_file(
                    &echo,
                    "the echo server",
                    "cargo build -p portcullis-tests, or pass --echo-server",
                )?;
                (
                    format!("generated ({} echo servers)", args.servers),
                    args.generated_query.clone(),
                    Some(generated_config(&echo, args.tools, args.servers)?),
                )
            }
        };
        let scratch = tempfile::tempdir()?;
        let config = match config {
            Some(c) => c,
            None => peers_config(&args.repo_root, scratch.path())?,
        };
        eprintln!("portcullis-tokens: measuring {name} …");
        let gw = GatewayProcess::start(&gateway, scratch.path(), &config).await?;
        let measured = measure(&gw, &bpe, &name, &query).await;
        gw.stop().await;
        rows.push(measured.with_context(|| {
            format!(
                "scenario {name}; the gateway's stderr is in {}",
                scratch.path().join("gateway.stderr.log").display()
            )
        })?);
    }
    print_tables(&rows);
    if args.json {
        eprintln!("{}", serde_json::to_string(&rows)?);
    }
    Ok(())
}

fn require_file(path: &Path, what: &str, hint: &str) -> anyhow::Result<()> {
    if path.is_file() {
        Ok(())
    } else {
        bail!("{what} is not at {}\nhint: {hint}", path.display())
    }
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn server_table(name: &str, command: &Path, args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|a| toml_str(a)).collect();
    format!(
        "[servers.{}]\ncommand = {}\nargs = [{}]\n\n",
        toml_str(name),
        toml_str(&command.to_string_lossy()),
        args.join(", ")
    )
}

/// The three real peers; a git repository with one commit for mcp-server-git.
fn peers_config(root: &Path, scratch: &Path) -> anyhow::Result<String> {
    let everything = root.join("tests/node_modules/.bin/mcp-server-everything");
    let time = root.join(".venv/bin/mcp-server-time");
    let git = root.join(".venv/bin/mcp-server-git");
    for p in [&everything, &time, &git] {
        require_file(
            p,
            "a real peer",
            "run scripts/setup.sh, or pass --repo-root",
        )?;
    }
    let repo = scratch.join("repo");
    std::fs::create_dir_all(&repo)?;
    std::fs::write(repo.join("README.txt"), "hello\n")?;
    let git_cmd = |args: &[&str]| -> anyhow::Result<()> {
        let status = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=Portcullis Tokens",
                "-c",
                "user.email=tokens@portcullis.invalid",
                "-C",
            ])
            .arg(&repo)
            .args(args)
            .stdout(Stdio::null())
            .status()
            .context("running git")?;
        if !status.success() {
            bail!("git {args:?} failed: {status}");
        }
        Ok(())
    };
    git_cmd(&["init", "-q", "-b", "main"])?;
    git_cmd(&["add", "README.txt"])?;
    git_cmd(&["commit", "-q", "-m", "initial commit"])?;
    let repo = repo.to_string_lossy().into_owned();
    Ok([
        server_table("everything", &everything, &["stdio"]),
        server_table("time", &time, &["--local-timezone", "UTC"]),
        server_table("git", &git, &["--repository", &repo]),
    ]
    .concat())
}

/// `servers` echo servers whose tools add up to `tools` (each has 5 fixed ones).
fn generated_config(echo: &Path, tools: usize, servers: usize) -> anyhow::Result<String> {
    if servers == 0 || tools < servers * ECHO_FIXED_TOOLS {
        bail!("--tools {tools} over --servers {servers}: each echo server has {ECHO_FIXED_TOOLS} tools of its own, so at least {} tools are needed", servers.max(1) * ECHO_FIXED_TOOLS);
    }
    let generated = tools - servers * ECHO_FIXED_TOOLS;
    Ok((0..servers)
        .map(|i| {
            // Spread the remainder over the first servers.
            let n = generated / servers + usize::from(i < generated % servers);
            server_table(&format!("echo{i}"), echo, &["--tools", &n.to_string()])
        })
        .collect())
}

/// The gateway as a child process in its own home.
struct GatewayProcess {
    child: Child,
    drain: tokio::task::JoinHandle<()>,
    mcp_url: String,
    api_url: String,
    token: String,
    http: reqwest::Client,
}

impl GatewayProcess {
    async fn start(binary: &Path, scratch: &Path, config: &str) -> anyhow::Result<Self> {
        let home = scratch.join("home");
        std::fs::create_dir_all(&home)?;
        std::fs::write(home.join("config.toml"), config)?;
        let stderr = std::fs::File::create(scratch.join("gateway.stderr.log"))?;
        let mut child = Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("PORTCULLIS_HOME", &home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let find = async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.split("Portcullis listening on ").nth(1) {
                    return Ok::<_, anyhow::Error>(
                        rest.split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_owned(),
                    );
                }
            }
            bail!("the gateway exited before it listened")
        };
        let mcp_url = match tokio::time::timeout(Duration::from_secs(30), find).await {
            Ok(Ok(url)) => url,
            Ok(Err(e)) => return Err(e.context(stderr_tail(scratch))),
            Err(_) => bail!(
                "the gateway printed no `Portcullis listening on` line in 30 s\n{}",
                stderr_tail(scratch)
            ),
        };
        // Keep draining stdout so the gateway never blocks on it; stopped in `stop`.
        let drain = tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let runtime: Value = serde_json::from_str(
            &std::fs::read_to_string(home.join("gateway.json")).context("reading gateway.json")?,
        )?;
        let api_url = runtime["api_url"]
            .as_str()
            .context("gateway.json has no api_url")?
            .trim_end_matches('/')
            .to_owned();
        let token = std::fs::read_to_string(home.join("admin.token"))
            .context("reading admin.token")?
            .trim()
            .to_owned();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            child,
            drain,
            mcp_url,
            api_url,
            token,
            http,
        })
    }

    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .request(method, format!("{}/{path}", self.api_url))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("admin API {path}"))?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            bail!("admin API {path}: HTTP {status}: {text}");
        }
        Ok(if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)?
        })
    }

    /// `{name, hash}` of each tool of `name` waiting for approval, once the
    /// store has recorded the `count` tools the server lists.
    async fn pending_shown(&self, name: &str, count: u64) -> anyhow::Result<Vec<Value>> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let listed = self
                .admin(reqwest::Method::GET, &format!("tools?server={name}"), None)
                .await?;
            let listed = listed.as_array().cloned().unwrap_or_default();
            let pending = self
                .admin(reqwest::Method::GET, "tools/pending", None)
                .await?;
            let shown: Vec<Value> = pending
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| t["server"] == name)
                .map(|t| json!({ "name": t["name"], "hash": t["hash"] }))
                .collect();
            let caught_up = listed
                .iter()
                .filter(|t| t["state"] == "pending" || t["state"] == "changed")
                .all(|t| shown.iter().any(|s| s["name"] == t["tool"]));
            if (listed.len() as u64 >= count && caught_up) || Instant::now() > deadline {
                return Ok(shown);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// As a person who read them: once the gateway has read what `name` says
    /// to the model besides tools, approves each item waiting, by its hash,
    /// confirming any high-severity finding.
    async fn approve_items(&self, name: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let views = self.admin(reqwest::Method::GET, "servers", None).await?;
            let view = views
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| v["name"] == name);
            if view.is_none_or(|v| v["items_read"] == true || v["state"] != "ready") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let pending = self
            .admin(reqwest::Method::GET, "items/pending", None)
            .await?;
        let items: Vec<Value> = pending
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i["server"] == name)
            .map(|i| json!({ "kind": i["kind"], "name": i["name"], "hash": i["hash"] }))
            .collect();
        if !items.is_empty() {
            self.admin(
                reqwest::Method::POST,
                &format!("servers/{name}/approve"),
                Some(json!({ "items": items, "confirm_high": true })),
            )
            .await?;
        }
        Ok(())
    }

    /// As a person would: approve each server, wait for it, approve all its
    /// tools (confirming any high-severity finding).
    async fn approve_everything(&self) -> anyhow::Result<()> {
        let servers = self.admin(reqwest::Method::GET, "servers", None).await?;
        let names: Vec<String> = servers
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["name"].as_str().map(str::to_owned))
            .collect();
        for n in &names {
            self.admin(
                reqwest::Method::POST,
                &format!("servers/{n}/approve"),
                Some(json!({})),
            )
            .await?;
        }
        let deadline = Instant::now() + SETUP_TIMEOUT;
        let mut waiting = names.clone();
        while !waiting.is_empty() {
            let views = self.admin(reqwest::Method::GET, "servers", None).await?;
            for v in views.as_array().into_iter().flatten() {
                let name = v["name"].as_str().unwrap_or_default();
                if waiting.iter().any(|w| w == name) && v["state"] == "ready" {
                    // As a person who read them: the definitions waiting, by their hashes.
                    let count = v["tools"].as_u64().unwrap_or(0);
                    let shown = self.pending_shown(name, count).await?;
                    if !shown.is_empty() {
                        self.admin(
                            reqwest::Method::POST,
                            &format!("servers/{name}/approve"),
                            Some(json!({ "tools": shown, "confirm_high": true })),
                        )
                        .await?;
                    }
                    self.approve_items(name).await?;
                    waiting.retain(|w| w != name);
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "servers not ready after {} s: {waiting:?}: {views}",
                    SETUP_TIMEOUT.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// SIGTERM, then SIGKILL after 10 s.
    async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) on our own child's pid; no memory is involved.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        self.drain.abort();
    }
}

fn stderr_tail(scratch: &Path) -> String {
    let text = std::fs::read_to_string(scratch.join("gateway.stderr.log")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    format!(
        "--- gateway stderr (tail) ---\n{}",
        lines[lines.len().saturating_sub(30)..].join("\n")
    )
}

/// One streamable HTTP session.
struct McpSession {
    http: reqwest::Client,
    url: String,
    session: Option<String>,
    next_id: u64,
}

impl McpSession {
    async fn open(http: &reqwest::Client, url: String) -> anyhow::Result<Self> {
        let mut s = Self {
            http: http.clone(),
            url,
            session: None,
            next_id: 1,
        };
        s.request("initialize", json!({ "protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": { "name": "portcullis-tokens", "version": env!("CARGO_PKG_VERSION") } })).await?;
        s.post(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
            .await?;
        Ok(s)
    }

    async fn post(&mut self, body: Value) -> anyhow::Result<(reqwest::header::HeaderMap, String)> {
        let mut req = self
            .http
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", PROTOCOL_VERSION)
            .body(body.to_string());
        if let Some(s) = &self.session {
            req = req.header(SESSION_HEADER, s);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("POST {}", self.url))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        if !status.is_success() {
            bail!("POST {}: HTTP {status}: {text}", self.url);
        }
        if let Some(s) = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
            self.session = Some(s.to_owned());
        }
        Ok((headers, text))
    }

    /// The `result` of one request; a JSON-RPC error is an error.
    async fn request(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let (headers, text) = self
            .post(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))
            .await?;
        let is_sse = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let answer: Value = if is_sse {
            portcullis_tests::sse_data(&text)
                .iter()
                .filter_map(|d| serde_json::from_str::<Value>(d).ok())
                .find(|m| m["id"] == id)
                .with_context(|| format!("{method}: no answer in the event stream"))?
        } else {
            serde_json::from_str(&text)
                .with_context(|| format!("{method}: the answer is not JSON"))?
        };
        if let Some(e) = answer.get("error") {
            bail!("{method}: JSON-RPC error {e}");
        }
        answer
            .get("result")
            .cloned()
            .with_context(|| format!("{method}: no result in {answer}"))
    }

    /// Every page of `tools/list`, as the results the client read.
    async fn list_tools(&mut self) -> anyhow::Result<Vec<Value>> {
        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let params = match &cursor {
                Some(c) => json!({ "cursor": c }),
                None => json!({}),
            };
            let page = self.request("tools/list", params).await?;
            cursor = page
                .get("nextCursor")
                .and_then(Value::as_str)
                .map(str::to_owned);
            pages.push(page);
            if cursor.is_none() {
                return Ok(pages);
            }
        }
    }
}

fn tokens(bpe: &CoreBPE, text: &str) -> usize {
    bpe.encode_with_special_tokens(text).len()
}

fn endpoint(mcp_url: &str, surface: &str) -> String {
    format!("{}/{surface}", mcp_url.trim_end_matches('/'))
}

async fn measure(
    gw: &GatewayProcess,
    bpe: &CoreBPE,
    scenario: &str,
    query: &str,
) -> anyhow::Result<Measurement> {
    gw.approve_everything().await?;
    let servers = gw.admin(reqwest::Method::GET, "servers", None).await?;
    let expected: u64 = servers
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["tools"].as_u64())
        .sum();

    // Wait until the direct surface lists every tool and the index answers with approved tools.
    let deadline = Instant::now() + SETUP_TIMEOUT;
    let path = format!("search?q={}&limit=1", urlencode(query));
    loop {
        let hits = gw.admin(reqwest::Method::GET, &path, None).await?;
        let mut direct = McpSession::open(&gw.http, endpoint(&gw.mcp_url, "direct")).await?;
        let listed: usize = direct
            .list_tools()
            .await?
            .iter()
            .map(|p| p["tools"].as_array().map_or(0, Vec::len))
            .sum();
        if listed as u64 == expected && hits[0]["state"] == "approved" {
            break;
        }
        if Instant::now() > deadline {
            bail!("after {} s the direct surface lists {listed} of {expected} tools and the index answers {hits}", SETUP_TIMEOUT.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A fresh client per mode, as an agent starting up.
    let mut direct = McpSession::open(&gw.http, endpoint(&gw.mcp_url, "direct")).await?;
    let pages = direct.list_tools().await?;
    let tools = pages
        .iter()
        .map(|p| p["tools"].as_array().map_or(0, Vec::len))
        .sum();
    let direct_texts: Vec<String> = pages.iter().map(Value::to_string).collect();

    let mut search = McpSession::open(&gw.http, endpoint(&gw.mcp_url, "search")).await?;
    let search_pages = search.list_tools().await?;
    let search_texts: Vec<String> = search_pages.iter().map(Value::to_string).collect();
    let search_tool_defs = search_pages
        .iter()
        .flat_map(|p| p["tools"].as_array().cloned().unwrap_or_default())
        .map(|t| {
            (
                t["name"].as_str().unwrap_or("?").to_owned(),
                tokens(bpe, &t.to_string()),
            )
        })
        .collect();
    let result = search
        .request(
            "tools/call",
            json!({ "name": "search_tools", "arguments": { "query": query } }),
        )
        .await?;
    let text: String = result["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let structured = result
        .get("structuredContent")
        .map(Value::to_string)
        .unwrap_or_default();
    // The tools named by the result, read from its lines as an agent reads them:
    // `name(signature) — first sentence`.
    let top: Vec<String> = text
        .lines()
        .filter(|l| l.contains(" — "))
        .filter_map(|l| l.split_once('(').map(|(name, _)| name.to_owned()))
        .collect();

    Ok(Measurement {
        scenario: scenario.to_owned(),
        query: query.to_owned(),
        tools,
        direct_list: direct_texts.iter().map(|t| tokens(bpe, t)).sum(),
        direct_list_bytes: direct_texts.iter().map(String::len).sum(),
        search_list: search_texts.iter().map(|t| tokens(bpe, t)).sum(),
        search_list_bytes: search_texts.iter().map(String::len).sum(),
        search_tool_defs,
        search_result: tokens(bpe, &result.to_string()),
        search_result_bytes: result.to_string().len(),
        search_result_text: tokens(bpe, &text),
        search_result_structured: tokens(bpe, &structured),
        search_results: top.len(),
        search_top: top,
    })
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn print_tables(rows: &[Measurement]) {
    let mut out = String::new();
    out.push_str("Tokens (o200k_base) an agent reads: direct = `tools/list` of `/mcp/direct`; search = `tools/list` of `/mcp/search` plus one `search_tools` result (whole result; text only in parentheses).\n\n");
    out.push_str("| scenario | tools | direct: tools/list | search: tools/list | search: one search_tools | search: start + one search | saved | target ≤ 500 |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---|\n");
    for r in rows {
        let total = r.search_total();
        let saved = if r.direct_list > 0 {
            100.0 * (1.0 - total as f64 / r.direct_list as f64)
        } else {
            0.0
        };
        let verdict = if total <= TARGET_TOKENS {
            "met".to_owned()
        } else {
            format!("missed by {}", total - TARGET_TOKENS)
        };
        out.push_str(&format!(
            "| {} | {} | {} ({} B) | {} ({} B) | {} ({} as text) | {} ({} as text) | {saved:.1}% | {verdict} |\n",
            r.scenario,
            r.tools,
            group(r.direct_list),
            group(r.direct_list_bytes),
            group(r.search_list),
            group(r.search_list_bytes),
            group(r.search_result),
            group(r.search_result_text),
            group(total),
            group(r.search_total_text()),
        ));
    }
    out.push_str("\nWhere the search-mode tokens go:\n\n| scenario | query | results | ");
    let def_names: Vec<String> = rows
        .first()
        .map(|r| r.search_tool_defs.keys().cloned().collect())
        .unwrap_or_default();
    for n in &def_names {
        out.push_str(&format!("`{n}` definition | "));
    }
    out.push_str("result text | result structuredContent | top results |\n|---|---|---:|");
    for _ in &def_names {
        out.push_str("---:|");
    }
    out.push_str("---:|---:|---|\n");
    for r in rows {
        out.push_str(&format!(
            "| {} | \"{}\" | {} | ",
            r.scenario, r.query, r.search_results
        ));
        for n in &def_names {
            out.push_str(&format!(
                "{} | ",
                r.search_tool_defs.get(n).copied().unwrap_or(0)
            ));
        }
        out.push_str(&format!(
            "{} | {} | {} |\n",
            r.search_result_text,
            r.search_result_structured,
            r.search_top
                .iter()
                .take(3)
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
}

/// 12345 → "12,345".
fn group(n: usize) -> String {
    let digits = n.to_string();
    let head = digits.len() % 3;
    let mut parts: Vec<&str> = Vec::new();
    if head > 0 {
        parts.push(&digits[..head]);
    }
    parts.extend(
        digits.as_bytes()[head..]
            .chunks(3)
            .filter_map(|c| std::str::from_utf8(c).ok()),
    );
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn o200k_counts_without_a_download() {
        let bpe = tiktoken_rs::o200k_base().unwrap();
        assert_eq!(tokens(&bpe, "hello world"), 2);
    }

    #[test]
    fn generated_config_adds_up() {
        let c = generated_config(Path::new("/bin/echo"), 500, 5).unwrap();
        let total: usize = c
            .lines()
            .filter_map(|l| l.strip_prefix("args = [\"--tools\", \""))
            .map(|n| n.trim_end_matches("\"]").parse::<usize>().unwrap() + ECHO_FIXED_TOOLS)
            .sum();
        assert_eq!(total, 500);
        assert!(generated_config(Path::new("/bin/echo"), 3, 5).is_err());
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(12_345), "12,345");
    }
}
