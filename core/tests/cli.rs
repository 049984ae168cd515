//! Snapshot tests of the `portcullis` command line as a person uses it.
//!
//! Each test runs the built binary with its own temporary `PORTCULLIS_HOME`
//! and snapshots what the person sees (exit status, stdout, stderr) and the
//! config file the CLI wrote. Temp paths, ports and the binary's path are
//! filtered, so the snapshots are the same on every machine. After a
//! deliberate change of output: `cargo insta review` (or `INSTA_UPDATE=always`
//! and review the diff of `core/tests/snapshots/`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

/// A temporary Portcullis home and the binary pointed at it.
struct Home {
    dir: tempfile::TempDir,
    /// Ports of gateways started by the test, filtered as `[PORT]`.
    ports: std::cell::RefCell<Vec<u16>>,
}

impl Home {
    fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("portcullis-cli-")
                .tempdir()
                .expect("temp dir"),
            ports: Default::default(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn config_path(&self) -> PathBuf {
        self.path().join("config.toml")
    }

    fn write_config(&self, text: &str) {
        std::fs::write(self.config_path(), text).expect("write config");
    }

    fn config(&self) -> String {
        std::fs::read_to_string(self.config_path()).expect("read config")
    }

    /// Writes a file (e.g. a JSON file to import) under the home and returns its path.
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, text).expect("write file");
        path
    }

    /// The command with a clean environment: only this home, no inherited Portcullis settings.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(self.path())
            .env("PORTCULLIS_HOME", self.path())
            .env_remove("PORTCULLIS_LISTEN")
            .env_remove("PORTCULLIS_LOG")
            .env("NO_COLOR", "1")
            // No session bus, so secrets go to the encrypted file wherever this runs
            // (the keyring is tested end to end in tests/python/test_secrets.py).
            .env("DBUS_SESSION_BUS_ADDRESS", "")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs the CLI to completion and formats what it printed.
    fn run(&self, args: &[&str]) -> String {
        let out = self.command(args).output().expect("run portcullis");
        format!(
            "success: {}\nexit_code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
            out.status.success(),
            out.status.code().map_or("signal".into(), |c| c.to_string()),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        )
    }

    /// Runs the CLI, expects success, and parses its stdout as JSON.
    fn json(&self, args: &[&str]) -> Value {
        let out = self.command(args).output().expect("run portcullis");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON on stdout")
    }

    /// Snapshot settings that hide what differs between machines and runs.
    fn settings(&self) -> insta::Settings {
        let mut s = insta::Settings::clone_current();
        s.set_prepend_module_to_snapshot(false);
        for p in [
            Some(self.path().to_path_buf()),
            self.path().canonicalize().ok(),
        ]
        .into_iter()
        .flatten()
        {
            s.add_filter(&escape(&p.display().to_string()), "[HOME]");
        }
        s.add_filter(&escape(BIN), "[PORTCULLIS]");
        for port in self.ports.borrow().iter() {
            s.add_filter(&format!(r"127\.0\.0\.1:{port}\b"), "127.0.0.1:[PORT]");
        }
        s
    }
}

/// Escapes a literal for use in a regex filter.
fn escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

macro_rules! snapshot {
    ($home:expr, $name:expr, $value:expr) => {
        $home
            .settings()
            .bind(|| insta::assert_snapshot!($name, $value))
    };
}

// ---------------------------------------------------------------------------
// upstream add
// ---------------------------------------------------------------------------

#[test]
fn add_with_one_arg() {
    let home = Home::new();
    snapshot!(
        home,
        "add_with_one_arg",
        home.run(&[
            "upstream",
            "add",
            "--name",
            "time",
            "--command",
            "uvx",
            "--args",
            "mcp-server-time"
        ])
    );
    snapshot!(home, "add_with_one_arg_config", home.config());
}

#[test]
fn add_with_several_args_in_one_quoted_string_and_env() {
    let home = Home::new();
    let out = home.run(&[
        "upstream",
        "add",
        "--name",
        "github",
        "--command",
        "npx",
        "--args",
        "-y @modelcontextprotocol/server-github",
        "--env",
        "GITHUB_PERSONAL_ACCESS_TOKEN=ghp_your_token_here",
        "--env",
        "GITHUB_HOST=https://github.example.com",
        "--timeout",
        "120",
    ]);
    snapshot!(home, "add_args_in_one_string", out);
    snapshot!(home, "add_args_in_one_string_config", home.config());
}

#[test]
fn add_with_repeated_args_and_quoting() {
    let home = Home::new();
    // Each --args value is split like a shell would split it: a value with a
    // space stays one argument only when it is quoted inside the value.
    let out = home.run(&[
        "upstream",
        "add",
        "--name",
        "git",
        "--command",
        "uvx",
        "--args",
        "mcp-server-git",
        "--args",
        "--repository",
        "--args",
        "'/srv/my repo'",
        "--args",
        "-v",
        "--cwd",
        "/srv",
    ]);
    snapshot!(home, "add_repeated_args", out);
    snapshot!(home, "add_repeated_args_config", home.config());

    // The same path without inner quotes becomes two arguments.
    let out = home.run(&[
        "upstream",
        "add",
        "--name",
        "git2",
        "--command",
        "uvx",
        "--args",
        "mcp-server-git",
        "--args",
        "--repository",
        "--args",
        "/srv/my repo",
    ]);
    assert!(out.starts_with("success: true"), "{out}");
    let file: Value = toml_to_json(&home.config());
    assert_eq!(
        file["servers"]["git2"]["args"],
        serde_json::json!(["mcp-server-git", "--repository", "/srv/my", "repo"])
    );
}

#[test]
fn add_http_server_with_header() {
    let home = Home::new();
    let out = home.run(&[
        "upstream",
        "add",
        "--name",
        "remote",
        "--url",
        "https://mcp.example.com/mcp",
        "--header",
        "Authorization=Bearer YOUR_TOKEN",
        "--header",
        "X-Team=platform",
        "--transport",
        "streamable-http",
        "--timeout",
        "30",
        "--disabled",
    ]);
    snapshot!(home, "add_url", out);
    snapshot!(home, "add_url_config", home.config());
}

#[test]
fn add_isolated_server() {
    let home = Home::new();
    let out = home.run(&[
        "upstream",
        "add",
        "--name",
        "fs",
        "--command",
        "npx",
        "--args",
        "-y @modelcontextprotocol/server-filesystem /projects",
        "--isolation",
        "docker",
        "--image",
        "node:22-slim",
        "--network",
        "--mount",
        "/srv/projects:/projects:ro",
        "--memory",
        "1g",
        "--cpus",
        "1.5",
        "--pids",
        "128",
    ]);
    snapshot!(home, "add_isolated", out);
    snapshot!(home, "add_isolated_config", home.config());
}

#[test]
fn add_errors() {
    let home = Home::new();
    home.write_config("[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n");
    let before = home.config();
    let cases: &[(&str, &[&str])] = &[
        (
            "add_duplicate_name",
            &[
                "upstream",
                "add",
                "--name",
                "time",
                "--command",
                "uvx",
                "--args",
                "mcp-server-time",
            ],
        ),
        (
            "add_bad_env",
            &[
                "upstream",
                "add",
                "--name",
                "x",
                "--command",
                "x",
                "--env",
                "TOKEN",
            ],
        ),
        (
            "add_env_without_name",
            &[
                "upstream",
                "add",
                "--name",
                "x",
                "--command",
                "x",
                "--env",
                "=value",
            ],
        ),
        (
            "add_bad_header",
            &[
                "upstream",
                "add",
                "--name",
                "x",
                "--url",
                "http://127.0.0.1:9/mcp",
                "--header",
                "Authorization: Bearer t",
            ],
        ),
        (
            "add_neither_command_nor_url",
            &["upstream", "add", "--name", "x"],
        ),
        (
            "add_command_and_url",
            &[
                "upstream",
                "add",
                "--name",
                "x",
                "--command",
                "x",
                "--url",
                "http://127.0.0.1:9/mcp",
            ],
        ),
        (
            "add_bad_name",
            &["upstream", "add", "--name", "my server", "--command", "x"],
        ),
        (
            "add_bad_transport",
            &[
                "upstream",
                "add",
                "--name",
                "x",
                "--url",
                "http://127.0.0.1:9/mcp",
                "--transport",
                "websocket",
            ],
        ),
        (
            "add_sse_for_a_command",
            &[
                "upstream",
                "add",
                "--name",
                "x",
                "--command",
                "x",
                "--transport",
                "sse",
            ],
        ),
        (
            "add_unclosed_quote",
            &[
                "upstream",
                "add",
                "--name",
                "x",
                "--command",
                "x",
                "--args",
                "\"open",
            ],
        ),
        (
            "add_bad_url",
            &["upstream", "add", "--name", "x", "--url", "127.0.0.1:9/mcp"],
        ),
        (
            "add_zero_timeout",
            &[
                "upstream",
                "add",
                "--name",
                "x",
                "--command",
                "x",
                "--timeout",
                "0",
            ],
        ),
        (
            "add_bad_isolation",
            &[
                "upstream",
                "add",
                "--name",
                "x",
                "--command",
                "npx",
                "--isolation",
                "vm",
            ],
        ),
        (
            "add_isolated_unknown_runtime",
            &[
                "upstream",
                "add",
                "--name",
                "x",
                "--command",
                "./server",
                "--isolation",
                "docker",
            ],
        ),
        (
            "add_network_without_isolation",
            &[
                "upstream",
                "add",
                "--name",
                "x",
                "--command",
                "npx",
                "--network",
            ],
        ),
        (
            "add_isolated_bad_mount",
            &[
                "upstream",
                "add",
                "--name",
                "x",
                "--command",
                "npx",
                "--isolation",
                "docker",
                "--mount",
                "projects:/projects",
            ],
        ),
    ];
    for (name, args) in cases {
        let out = home.run(args);
        assert!(out.starts_with("success: false"), "{name}: {out}");
        snapshot!(home, *name, out);
        assert_eq!(home.config(), before, "{name} changed the config");
    }
}

/// An `add` that fails leaves no trace: a name recorded as added by a person
/// would let a later hand edit under that name start without approval.
#[test]
fn a_failed_add_records_nothing() {
    let home = Home::new();
    let out = home.run(&["upstream", "add", "--name", "x", "--url", "127.0.0.1:9/mcp"]);
    assert!(out.starts_with("success: false"), "{out}");
    let out = home.run(&["upstream", "approve", "--name", "x"]);
    assert!(
        out.starts_with("success: false") && out.contains("not known to Portcullis"),
        "{out}"
    );
}

#[test]
fn add_help() {
    let home = Home::new();
    snapshot!(home, "add_help", home.run(&["upstream", "add", "--help"]));
    snapshot!(home, "upstream_help", home.run(&["upstream", "--help"]));
}

// ---------------------------------------------------------------------------
// Editing a hand-written file
// ---------------------------------------------------------------------------

const HAND_WRITTEN: &str = r#"# My Portcullis setup. Edited by hand, and by `portcullis upstream`.

[gateway]
listen = "127.0.0.1:7331"   # the default, written out
timeout = 60                # seconds per call

# Clock, for agents that forget what day it is.
[servers.time]
command = "uvx"
args = ["mcp-server-time", "--local-timezone", "Europe/Paris"]  # pinned zone

# The repository I work on most.
[servers.git]
command = "uvx"
args = ["mcp-server-git", "--repository", "/home/me/src/app"]
enabled = true  # flip to false when not needed

# Trailing notes stay at the end.
"#;

#[test]
fn edits_keep_comments_and_order() {
    let home = Home::new();
    home.write_config(HAND_WRITTEN);
    let mut transcript = String::new();
    for args in [
        &[
            "upstream",
            "add",
            "--name",
            "everything",
            "--command",
            "npx",
            "--args",
            "-y @modelcontextprotocol/server-everything",
        ][..],
        &["upstream", "disable", "--name", "git"],
        &["upstream", "disable", "--name", "time"],
        &["upstream", "enable", "--name", "time"],
        &["upstream", "remove", "--name", "everything"],
        &[
            "upstream",
            "add",
            "--name",
            "fetch",
            "--command",
            "uvx",
            "--args",
            "mcp-server-fetch",
        ],
    ] {
        transcript.push_str(&format!(
            "$ portcullis {}\n{}\n",
            args.join(" "),
            home.run(args)
        ));
    }
    snapshot!(home, "edit_transcript", transcript);
    snapshot!(home, "edit_config", home.config());
}

#[test]
fn remove_and_unknown_server() {
    let home = Home::new();
    home.write_config("# My servers.\n\n# The clock.\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n\n# The repository.\n[servers.git]\ncommand = \"uvx\"\nargs = [\"mcp-server-git\"]\n");
    snapshot!(
        home,
        "remove_unknown",
        home.run(&["upstream", "remove", "--name", "github"])
    );
    snapshot!(
        home,
        "enable_unknown",
        home.run(&["upstream", "enable", "--name", "github"])
    );
    snapshot!(
        home,
        "remove",
        home.run(&["upstream", "remove", "--name", "time"])
    );
    snapshot!(home, "remove_config", home.config());
    home.run(&["upstream", "remove", "--name", "git"]);
    snapshot!(
        home,
        "remove_unknown_when_empty",
        home.run(&["upstream", "remove", "--name", "git"])
    );
}

// ---------------------------------------------------------------------------
// upstream list (no gateway running)
// ---------------------------------------------------------------------------

#[test]
fn list_without_a_gateway() {
    let home = Home::new();
    snapshot!(home, "list_no_config", home.run(&["upstream", "list"]));
    snapshot!(
        home,
        "list_no_config_json",
        home.run(&["upstream", "list", "--json"])
    );
    home.write_config(
        r#"[servers.everything]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-everything"]

[servers.remote]
url = "https://mcp.example.com/mcp"

[servers.time]
command = "uvx"
args = ["mcp-server-time"]
enabled = false

[servers.legacy]
url = "http://127.0.0.1:9/sse"
transport = "sse"
"#,
    );
    snapshot!(home, "list", home.run(&["upstream", "list"]));
    snapshot!(home, "list_json", home.run(&["upstream", "list", "--json"]));
}

/// `upstream list` shows servers in the order of the file, as the gateway starts them.
#[test]
fn list_keeps_file_order() {
    let home = Home::new();
    home.write_config("[servers.zeta]\ncommand = \"z\"\n\n[servers.alpha]\ncommand = \"a\"\n\n[servers.mid]\ncommand = \"m\"\n");
    let names: Vec<String> = home
        .json(&["upstream", "list", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["zeta", "alpha", "mid"]);
}

#[test]
fn a_stale_runtime_file_is_ignored() {
    let home = Home::new();
    home.write_config("[servers.time]\ncommand = \"uvx\"\n");
    // A gateway that died without cleaning up: its pid is gone.
    let mut gone = Command::new("true").spawn().expect("spawn true");
    let pid = gone.id();
    gone.wait().unwrap();
    home.file("gateway.json", &format!(r#"{{"pid": {pid}, "mcp_url": "http://127.0.0.1:9/mcp", "api_url": "http://127.0.0.1:9/api/v1"}}"#));
    home.file("admin.token", &"0".repeat(64));
    let list = home.json(&["upstream", "list", "--json"]);
    assert_eq!(list[0]["state"], "pending", "{list}"); // read offline: never approved
}

#[test]
fn a_live_pid_with_no_gateway_behind_it_is_explained() {
    let home = Home::new();
    home.write_config("[servers.time]\ncommand = \"uvx\"\n");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // This test's own pid is alive, but nothing listens on the port.
    home.file("gateway.json", &format!(r#"{{"pid": {}, "mcp_url": "http://127.0.0.1:{port}/mcp", "api_url": "http://127.0.0.1:{port}/api/v1"}}"#, std::process::id()));
    home.file("admin.token", &"0".repeat(64));
    let out = home.run(&["upstream", "list"]);
    assert!(out.starts_with("success: false"), "{out}");
    assert!(
        out.contains("did not answer") && out.contains("gateway.json"),
        "{out}"
    );
}

// ---------------------------------------------------------------------------
// upstream import
// ---------------------------------------------------------------------------

#[test]
fn import_claude_desktop() {
    let home = Home::new();
    let file = home.file(
        "claude_desktop_config.json",
        r#"{
  "mcpServers": {
    "github": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-github"],
      "env": { "GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_your_token_here" }
    },
    "time": { "command": "uvx", "args": ["mcp-server-time", "--local-timezone", "UTC"] },
    "filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"]
    }
  },
  "globalShortcut": ""
}"#,
    );
    snapshot!(
        home,
        "import_claude",
        home.run(&["upstream", "import", file.to_str().unwrap()])
    );
    snapshot!(home, "import_claude_config", home.config());
    // Importing again adds nothing and says why.
    snapshot!(
        home,
        "import_claude_again",
        home.run(&["upstream", "import", file.to_str().unwrap()])
    );
}

#[test]
fn import_cursor() {
    let home = Home::new();
    home.write_config("# mine\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n");
    let file = home.file(
        "mcp.json",
        r#"{
  "mcpServers": {
    "time": { "command": "uvx", "args": ["mcp-server-time"] },
    "linear": { "url": "https://mcp.linear.app/sse" },
    "internal.api": {
      "url": "http://127.0.0.1:8080/mcp",
      "headers": { "Authorization": "Bearer ${env:API_TOKEN}" }
    },
    "env-user": { "command": "node", "args": ["${workspaceFolder}/server.js"], "env": { "KEY": "${env:KEY}" } },
    "paused": { "command": "uvx", "args": ["mcp-server-fetch"], "disabled": true }
  }
}"#,
    );
    snapshot!(
        home,
        "import_cursor",
        home.run(&["upstream", "import", file.to_str().unwrap()])
    );
    snapshot!(home, "import_cursor_config", home.config());
}

#[test]
fn import_vscode() {
    let home = Home::new();
    let file = home.file(
        "vscode-mcp.json",
        r#"{
  "inputs": [{ "type": "promptString", "id": "github-token", "description": "GitHub token", "password": true }],
  "servers": {
    "github": {
      "type": "http",
      "url": "https://api.githubcopilot.com/mcp/",
      "headers": { "Authorization": "Bearer ${input:github-token}" }
    },
    "time": { "type": "stdio", "command": "uvx", "args": ["mcp-server-time"] },
    "old-sse": { "type": "sse", "url": "http://127.0.0.1:3001/sse" }
  }
}"#,
    );
    snapshot!(
        home,
        "import_vscode",
        home.run(&["upstream", "import", file.to_str().unwrap()])
    );
    snapshot!(home, "import_vscode_config", home.config());
}

#[test]
fn import_errors() {
    let home = Home::new();
    let cases = [
        ("import_not_json", "{ \"mcpServers\": { \"a\": "),
        ("import_unknown_format", r#"{ "tools": { "servers": {} } }"#),
        (
            "import_unknown_type",
            r#"{ "servers": { "ws": { "type": "websocket", "url": "ws://127.0.0.1:9" } } }"#,
        ),
        (
            "import_no_command_or_url",
            r#"{ "mcpServers": { "empty": { "args": ["x"] } } }"#,
        ),
    ];
    for (name, text) in cases {
        let file = home.file(&format!("{name}.json"), text);
        let out = home.run(&["upstream", "import", file.to_str().unwrap()]);
        assert!(out.starts_with("success: false"), "{name}: {out}");
        snapshot!(home, name, out);
    }
    snapshot!(
        home,
        "import_missing_file",
        home.run(&["upstream", "import", "no-such-file.json"])
    );
    assert!(
        !home.config_path().exists(),
        "a failed import wrote a config"
    );
}

// ---------------------------------------------------------------------------
// A broken config file
// ---------------------------------------------------------------------------

#[test]
fn broken_config_is_reported_with_line_and_column_and_left_alone() {
    let home = Home::new();
    let broken = "[gateway]\nlisten = \"127.0.0.1:7331\"\n\n[servers.time]\ncommand = \"uvx\nargs = [\"mcp-server-time\"]\n";
    home.write_config(broken);
    snapshot!(home, "syntax_error_list", home.run(&["upstream", "list"]));
    snapshot!(
        home,
        "syntax_error_add",
        home.run(&["upstream", "add", "--name", "x", "--command", "x"])
    );
    assert_eq!(home.config(), broken);

    home.write_config("[servers.time]\ncommand = \"uvx\"\nargz = [\"mcp-server-time\"]\n");
    snapshot!(home, "unknown_field", home.run(&["upstream", "list"]));

    home.write_config("[servers.time]\ncommand = \"uvx\"\nurl = \"http://127.0.0.1:9/mcp\"\n");
    snapshot!(home, "invalid_server", home.run(&["upstream", "list"]));
}

// ---------------------------------------------------------------------------
// With a gateway running
// ---------------------------------------------------------------------------

/// A `portcullis serve` child, stopped (SIGTERM, then SIGKILL) when dropped.
struct Serve {
    child: Child,
    banner: String,
}

impl Serve {
    fn start(home: &Home) -> Self {
        let log =
            std::fs::File::create(home.path().join("serve.stderr")).expect("create serve.stderr");
        // Without NO_COLOR: the log must be plain because it goes to a file.
        let mut child = home
            .command(&["serve", "--listen", "127.0.0.1:0"])
            .env_remove("NO_COLOR")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut serve = Self {
            child,
            banner: String::new(),
        };
        // The banner ends with the stdio snippet.
        loop {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    let last = line.contains(r#""args": ["stdio"]"#);
                    serve.banner.push_str(&line);
                    serve.banner.push('\n');
                    if last {
                        break;
                    }
                }
                Err(e) => panic!(
                    "serve printed no complete banner ({e}); got:\n{}",
                    serve.banner
                ),
            }
        }
        let port = serve
            .banner
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|p| p.parse().ok());
        home.ports
            .borrow_mut()
            .push(port.expect("the banner names the port"));
        serve
    }

    fn stop(&mut self) -> std::process::ExitStatus {
        // SAFETY: sends SIGTERM to our own child.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait serve") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return self.child.wait().expect("wait serve");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls until `ok` holds for the output of `args`, and returns that output.
fn wait_for(home: &Home, args: &[&str], what: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = home.run(args);
        if ok(&out) {
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last output:\n{out}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn list_and_add_talk_to_a_running_gateway() {
    let home = Home::new();
    home.write_config("[servers.missing]\ncommand = \"/nonexistent/portcullis-test-server\"\n\n[servers.off]\ncommand = \"true\"\nenabled = false\n");
    let mut serve = Serve::start(&home);
    snapshot!(home, "serve_banner", serve.banner.clone());
    assert!(home.path().join("gateway.json").exists());

    // A server that appeared in the config file by hand waits for a person's approval.
    let list = wait_for(
        &home,
        &["upstream", "list"],
        "`missing` to be pending",
        |o| o.contains("pending"),
    );
    snapshot!(home, "live_list_pending", list);
    snapshot!(
        home,
        "live_approve",
        home.run(&["upstream", "approve", "--name", "missing"])
    );

    // Once approved it starts, and the missing program is reported by the running gateway.
    let list = wait_for(&home, &["upstream", "list"], "`missing` to back off", |o| {
        o.contains("backoff")
    });
    snapshot!(home, "live_list", list);
    // `off` was never approved, so it shows `pending` rather than `disabled`.
    let json = home.json(&["upstream", "list", "--json"]);
    assert_eq!(json[1]["state"], "pending", "{json}");

    // An edit through the CLI is applied by the running gateway.
    snapshot!(
        home,
        "live_add",
        home.run(&[
            "upstream",
            "add",
            "--name",
            "later",
            "--command",
            "/nonexistent/later",
            "--disabled"
        ])
    );
    wait_for(
        &home,
        &["upstream", "list", "--json"],
        "the gateway to pick up `later`",
        |o| o.contains(r#""name": "later""#),
    );
    home.run(&["upstream", "remove", "--name", "later"]);
    wait_for(
        &home,
        &["upstream", "list", "--json"],
        "the gateway to drop `later`",
        |o| !o.contains(r#""name": "later""#),
    );

    let status = serve.stop();
    assert!(status.success(), "serve exited with {status}");
    assert!(
        !home.path().join("gateway.json").exists(),
        "serve left gateway.json behind"
    );
    assert!(home.path().join("admin.token").exists());
    // Its log, written to a file, is plain text.
    let log = std::fs::read_to_string(home.path().join("serve.stderr")).unwrap();
    assert!(log.contains("INFO") && !log.contains('\x1b'), "{log}");
}

/// A config as JSON, to assert on its values.
fn toml_to_json(text: &str) -> Value {
    let value: toml::Value = toml::from_str(text).expect("valid TOML");
    serde_json::to_value(value).expect("TOML as JSON")
}
