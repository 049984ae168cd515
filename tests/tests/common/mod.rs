//! Helpers for the end-to-end tests: where the gateway binary and the real MCP
//! peers live, config snippets for them, and a gateway process that is
//! stopped (SIGTERM, so it reaps its upstreams) when the test ends.
//!
//! The peers come from `scripts/setup.sh` (server-everything in
//! `tests/node_modules`, mcp-server-time and mcp-server-git in `.venv`). When
//! they are missing a test skips, and says so on the terminal even though
//! libtest captures test output; with `CI` set it fails instead.

#![allow(dead_code)] // each test file uses a different part

pub(crate) mod docker;
pub(crate) mod stdio;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The checkout's root (the workspace).
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The gateway binary: `$PORTCULLIS_BIN`, else `<target>/debug/portcullis`.
///
/// `CARGO_BIN_EXE_portcullis` only exists for tests of the `portcullis`
/// package itself, so the path is worked out from the target dir. Panics with
/// a build hint when it is missing: a test that cannot run must not pass.
pub(crate) fn gateway_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("PORTCULLIS_BIN") {
        return PathBuf::from(bin);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| repo_root().join("target"), PathBuf::from);
    let target = if target.is_absolute() {
        target
    } else {
        repo_root().join(target)
    };
    let bin = target.join("debug").join("portcullis");
    assert!(bin.is_file(), "the gateway binary {} does not exist\nhint: build it with `cargo build -p portcullis` (or set PORTCULLIS_BIN)", bin.display());
    bin
}

/// The real MCP peers installed by `scripts/setup.sh`.
pub(crate) struct Peers {
    /// `mcp-server-everything` (run with `stdio`).
    pub everything: PathBuf,
    /// `mcp-server-time`.
    pub time: PathBuf,
    /// `mcp-server-git`.
    pub git: PathBuf,
}

impl Peers {
    /// The peers, or `None` after telling the terminal why the test skips.
    /// With `CI` set, missing peers fail the test instead.
    pub(crate) fn find(test: &str) -> Option<Self> {
        let root = repo_root();
        let peers = Self {
            everything: root.join("tests/node_modules/.bin/mcp-server-everything"),
            time: root.join(".venv/bin/mcp-server-time"),
            git: root.join(".venv/bin/mcp-server-git"),
        };
        let missing: Vec<String> = [&peers.everything, &peers.time, &peers.git]
            .into_iter()
            .filter(|p| !p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if missing.is_empty() {
            return Some(peers);
        }
        let message = format!(
            "SKIPPED {test}: the MCP peers are not installed ({}); run scripts/setup.sh",
            missing.join(", ")
        );
        assert!(
            std::env::var_os("CI").is_none(),
            "{message} (CI is set, so this is a failure)"
        );
        // Straight to the terminal: libtest captures `eprintln!` of passing tests.
        let _ = writeln!(std::io::stderr(), "{message}");
        None
    }
}

/// A string as a TOML basic string (JSON strings are valid TOML strings).
pub(crate) fn toml_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// One `[servers.<name>]` table for a stdio server.
pub(crate) fn stdio_server(name: &str, command: &Path, args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|a| toml_str(a)).collect();
    format!(
        "[servers.{name}]\ncommand = {}\nargs = [{}]\n\n",
        toml_str(&command.display().to_string()),
        args.join(", ")
    )
}

/// everything over stdio, time and git on `repo`: the three-upstream config.
pub(crate) fn three_upstreams(peers: &Peers, repo: &Path) -> String {
    let repo = repo.display().to_string();
    stdio_server("everything", &peers.everything, &["stdio"])
        + &stdio_server("time", &peers.time, &["--local-timezone", "UTC"])
        + &stdio_server("git", &peers.git, &["--repository", &repo])
}

/// Makes a git repository at `path` with one commit whose message is `message`.
pub(crate) fn make_git_repo(path: &Path, message: &str) {
    std::fs::create_dir_all(path).expect("create the repo dir");
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args([
                "-c",
                "user.name=Portcullis Tests",
                "-c",
                "user.email=tests@portcullis.invalid",
                "-C",
            ])
            .arg(path)
            .args(args)
            .stdout(Stdio::null())
            .status()
            .expect("run git");
        assert!(status.success(), "git {args:?} failed");
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(path.join("README.txt"), "hello from the test repository\n")
        .expect("write a file");
    git(&["add", "README.txt"]);
    git(&["commit", "-q", "-m", message]);
}

/// A PORTCULLIS_HOME with `config.toml` in it.
pub(crate) fn home_with(dir: &Path, config: &str) -> PathBuf {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("create the home dir");
    std::fs::write(home.join("config.toml"), direct_unless_said(config))
        .expect("write config.toml");
    home
}

/// The tests list tools directly unless a config chooses a surface: agents get
/// the search surface by default, `[gateway] surface = "direct"` lists every tool.
pub(crate) fn direct_unless_said(config: &str) -> String {
    if config.contains("surface") {
        config.to_owned()
    } else if config.contains("[gateway]") {
        config.replacen("[gateway]", "[gateway]\nsurface = \"direct\"", 1)
    } else {
        format!("[gateway]\nsurface = \"direct\"\n\n{config}")
    }
}

/// The admin API of a running gateway (`gateway.json` + `admin.token` in its home).
pub(crate) struct Admin {
    api_url: String,
    token: String,
    http: reqwest::Client,
}

impl Admin {
    /// Reads where the gateway on `home` listens and its token.
    pub(crate) fn of(home: &Path) -> Self {
        let runtime: serde_json::Value = serde_json::from_slice(
            &std::fs::read(home.join("gateway.json")).expect("read gateway.json"),
        )
        .expect("gateway.json is JSON");
        let api_url = runtime["api_url"]
            .as_str()
            .expect("gateway.json has api_url")
            .to_owned();
        let token = std::fs::read_to_string(home.join("admin.token"))
            .expect("read admin.token")
            .trim()
            .to_owned();
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        Self {
            api_url,
            token,
            http,
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> serde_json::Value {
        let resp = req
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("the admin API answers");
        let status = resp.status();
        let body = resp.bytes().await.expect("read the admin API's answer");
        assert!(
            status.is_success(),
            "admin API: HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)
    }

    /// `GET /servers`.
    pub(crate) async fn servers(&self) -> Vec<serde_json::Value> {
        let list = self
            .send(self.http.get(format!("{}/servers", self.api_url)))
            .await;
        list.as_array().cloned().unwrap_or_default()
    }

    /// `GET /activity?server=<name>`: its entries in the activity log.
    pub(crate) async fn activity(&self, server: &str) -> Vec<serde_json::Value> {
        let list = self
            .send(self.http.get(format!(
                "{}/activity?server={server}&limit=1000",
                self.api_url
            )))
            .await;
        list.as_array().cloned().unwrap_or_default()
    }

    /// `POST /servers/<name>/approve` with `body`.
    pub(crate) async fn approve(&self, name: &str, body: serde_json::Value) {
        let req = self
            .http
            .post(format!("{}/servers/{name}/approve", self.api_url))
            .header("Content-Type", "application/json")
            .body(body.to_string());
        self.send(req).await;
    }

    /// `{name, hash}` of each tool of `name` waiting for approval, as a
    /// person reviewing them is shown, once the store has recorded every
    /// tool the gateway lists.
    pub(crate) async fn pending_shown(&self, name: &str) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let count = self
                .servers()
                .await
                .iter()
                .find(|s| s["name"] == name)
                .and_then(|s| s["tools"].as_u64())
                .unwrap_or(0);
            let listed = self
                .send(
                    self.http
                        .get(format!("{}/tools?server={name}", self.api_url)),
                )
                .await;
            let listed = listed.as_array().cloned().unwrap_or_default();
            let pending = self
                .send(self.http.get(format!("{}/tools/pending", self.api_url)))
                .await;
            let shown: Vec<serde_json::Value> = pending
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| t["server"] == name)
                .map(|t| serde_json::json!({ "name": t["name"], "hash": t["hash"] }))
                .collect();
            let caught_up = listed
                .iter()
                .filter(|t| t["state"] == "pending" || t["state"] == "changed")
                .all(|t| shown.iter().any(|s| s["name"] == t["tool"]));
            if (listed.len() as u64 >= count && caught_up) || Instant::now() > deadline {
                return shown;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// As a person who read them: once the gateway has read what `name` says
    /// to the model besides tools, approves each item waiting, by its hash,
    /// confirming any high-severity finding.
    pub(crate) async fn approve_items(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let servers = self.servers().await;
            let view = servers.iter().find(|s| s["name"] == name);
            let read = view.is_none_or(|v| v["items_read"] == true || v["state"] != "ready");
            if read || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let pending = self
            .send(self.http.get(format!("{}/items/pending", self.api_url)))
            .await;
        let items: Vec<serde_json::Value> = pending
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i["server"] == name)
            .map(|i| serde_json::json!({ "kind": i["kind"], "name": i["name"], "hash": i["hash"] }))
            .collect();
        if !items.is_empty() {
            self.approve(
                name,
                serde_json::json!({ "items": items, "confirm_high": true }),
            )
            .await;
        }
    }

    /// Quarantine: approves each server (it starts), waits until it is ready,
    /// then approves all of its tools, as a person would (confirming any
    /// high-severity finding).
    pub(crate) async fn approve_all(&self, names: &[&str]) {
        for name in names {
            self.approve(name, serde_json::json!({})).await;
        }
        let deadline = Instant::now() + START_TIMEOUT;
        let mut waiting: Vec<&str> = names.to_vec();
        while !waiting.is_empty() {
            let servers = self.servers().await;
            let state = |n: &str| {
                servers
                    .iter()
                    .find(|s| s["name"] == n)
                    .and_then(|s| s["state"].as_str())
                    .unwrap_or("")
                    .to_owned()
            };
            let mut still = Vec::new();
            for name in waiting {
                if state(name) == "ready" {
                    let shown = self.pending_shown(name).await;
                    if !shown.is_empty() {
                        self.approve(
                            name,
                            serde_json::json!({ "tools": shown, "confirm_high": true }),
                        )
                        .await;
                    }
                    self.approve_items(name).await;
                } else {
                    still.push(name);
                }
            }
            waiting = still;
            assert!(
                Instant::now() < deadline || waiting.is_empty(),
                "not ready within {START_TIMEOUT:?} of approval: {waiting:?}; servers: {servers:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A running `portcullis serve`; stopped with SIGTERM (then SIGKILL) on drop.
pub(crate) struct Gateway {
    /// The MCP endpoint, `http://127.0.0.1:<port>/mcp`.
    pub url: String,
    /// Its PORTCULLIS_HOME.
    pub home: PathBuf,
    child: Child,
    stderr_path: PathBuf,
}

const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_GRACE: Duration = Duration::from_secs(10);

impl Gateway {
    /// Starts `portcullis serve --listen 127.0.0.1:0` on `home` and waits for its
    /// `Portcullis listening on …` line.
    pub(crate) fn start(home: &Path) -> Self {
        Self::start_with_env(home, &[])
    }

    /// Like [`Gateway::start`], with extra environment variables for the gateway.
    pub(crate) fn start_with_env(home: &Path, env: &[(&str, &str)]) -> Self {
        let stderr_path = home.join("gateway.stderr.log");
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr_path)
            .expect("open the stderr log");
        let mut child = Command::new(gateway_bin())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("PORTCULLIS_HOME", home)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start the gateway");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel::<String>();
        // Drains stdout for the gateway's whole life, so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut gw = Self {
            url: String::new(),
            home: home.to_path_buf(),
            child,
            stderr_path,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left.min(Duration::from_millis(100))) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("Portcullis listening on ") {
                        gw.url = url.trim().to_owned();
                        return gw;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                    if let Ok(Some(status)) = gw.child.try_wait() {
                        panic!("the gateway exited with {status} before listening\n--- stderr ---\n{}", gw.stderr());
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("the gateway did not print `Portcullis listening on …` within {START_TIMEOUT:?}\n--- stderr ---\n{}", gw.stderr()),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = gw.child.wait().map_or_else(|e| format!("unknown status ({e})"), |s| s.to_string());
                    panic!("the gateway closed its stdout without listening; it exited with {status}\n--- stderr ---\n{}", gw.stderr());
                }
            }
        }
    }

    /// Kills the gateway with SIGKILL (it cleans nothing up) and reaps it.
    pub(crate) fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What the gateway wrote on stderr so far.
    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Stops it as dropping it does, and returns all it wrote on stderr.
    pub(crate) fn stop(self) -> String {
        let path = self.stderr_path.clone();
        drop(self);
        std::fs::read_to_string(path).unwrap_or_default()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SIGTERM lets the gateway stop and reap its upstreams (each in its own process group).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = writeln!(std::io::stderr(), "the gateway did not stop within {STOP_GRACE:?} of SIGTERM; killing it (its upstreams may be left running)");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Processes (other than this one) whose environment has `PORTCULLIS_HOME=<home>`:
/// the gateway started on `home` and every upstream it started, which inherit it.
pub(crate) fn processes_of(home: &Path) -> Vec<String> {
    let needle = format!("PORTCULLIS_HOME={}", home.display()).into_bytes();
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|pid| pid.chars().all(|c| c.is_ascii_digit()) && *pid != me)
        .filter(|pid| {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit_once(") ")
                    .is_some_and(|(_, rest)| rest.starts_with('Z'))
            });
            !zombie
                && environ
                    .split(|b| *b == 0)
                    .any(|var| var == needle.as_slice())
        })
        .map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            format!(
                "{pid}: {}",
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            )
        })
        .collect()
}

/// Waits up to `within` for every process of `home` to be gone; panics listing the rest.
pub(crate) fn assert_no_processes_left(home: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let left = processes_of(home);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes of the gateway on {} outlived it by {within:?}:\n{}",
            home.display(),
            left.join("\n")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
