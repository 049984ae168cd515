//! What each client needs to reach Portcullis.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::EnvVars;
use crate::store::UnixMillis;

/// An MCP client Portcullis knows how to configure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Client {
    /// Claude Desktop: starts `portcullis stdio` (it runs commands only).
    #[serde(rename = "claude-desktop")]
    ClaudeDesktop,
    /// Cursor: connects to the HTTP endpoint.
    #[serde(rename = "cursor")]
    Cursor,
    /// VS Code (user-level `mcp.json`): connects to the HTTP endpoint.
    #[serde(rename = "vscode")]
    VsCode,
    /// Claude Code (user scope, `~/.claude.json`): connects over HTTP.
    #[serde(rename = "claude-code")]
    ClaudeCode,
    /// Windsurf (`~/.codeium/windsurf/mcp_config.json`): connects over HTTP.
    #[serde(rename = "windsurf")]
    Windsurf,
    /// Gemini CLI (`~/.gemini/settings.json`): connects over HTTP.
    #[serde(rename = "gemini-cli")]
    GeminiCli,
    /// LM Studio (`~/.lmstudio/mcp.json`): connects over HTTP.
    #[serde(rename = "lm-studio")]
    LmStudio,
}

impl Client {
    /// Every client, in the order they are shown.
    pub const ALL: [Client; 7] = [
        Client::ClaudeDesktop,
        Client::Cursor,
        Client::VsCode,
        Client::ClaudeCode,
        Client::Windsurf,
        Client::GeminiCli,
        Client::LmStudio,
    ];

    /// Its id in URLs: `claude-desktop`, `cursor`, `vscode`, `claude-code`,
    /// `windsurf`, `gemini-cli`, `lm-studio`.
    pub fn id(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "claude-desktop",
            Client::Cursor => "cursor",
            Client::VsCode => "vscode",
            Client::ClaudeCode => "claude-code",
            Client::Windsurf => "windsurf",
            Client::GeminiCli => "gemini-cli",
            Client::LmStudio => "lm-studio",
        }
    }

    /// The client of an id.
    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.id() == id)
    }

    /// Its name for people.
    pub fn label(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "Claude Desktop",
            Client::Cursor => "Cursor",
            Client::VsCode => "VS Code",
            Client::ClaudeCode => "Claude Code",
            Client::Windsurf => "Windsurf",
            Client::GeminiCli => "Gemini CLI",
            Client::LmStudio => "LM Studio",
        }
    }

    /// The member of its config file that holds MCP servers.
    pub fn key(self) -> &'static str {
        match self {
            Client::VsCode => "servers",
            _ => "mcpServers",
        }
    }

    /// Its config file, given the home and per-user config folders.
    pub(crate) fn config_path(self, home: &Path, config_dir: &Path) -> PathBuf {
        match self {
            Client::ClaudeDesktop => config_dir.join("Claude").join("claude_desktop_config.json"),
            Client::Cursor => home.join(".cursor").join("mcp.json"),
            Client::VsCode => config_dir.join("Code").join("User").join("mcp.json"),
            Client::ClaudeCode => home.join(".claude.json"),
            Client::Windsurf => home
                .join(".codeium")
                .join("windsurf")
                .join("mcp_config.json"),
            Client::GeminiCli => home.join(".gemini").join("settings.json"),
            Client::LmStudio => home.join(".lmstudio").join("mcp.json"),
        }
    }

    /// The `portcullis` entry for this client.
    pub fn entry(self, target: &Target) -> Value {
        match self {
            Client::ClaudeDesktop => {
                let mut entry =
                    json!({ "command": target.exe.display().to_string(), "args": ["stdio"] });
                if let Some(home) = &target.home {
                    entry["env"] = json!({ EnvVars::PORTCULLIS_HOME: home.display().to_string() });
                }
                entry
            }
            Client::Cursor | Client::LmStudio => json!({ "url": target.mcp_url }),
            Client::VsCode | Client::ClaudeCode => json!({ "type": "http", "url": target.mcp_url }),
            Client::Windsurf => json!({ "serverUrl": target.mcp_url }),
            // Gemini CLI reads `url` as an SSE endpoint; `httpUrl` is streamable HTTP.
            Client::GeminiCli => json!({ "httpUrl": target.mcp_url }),
        }
    }

    /// The whole snippet: `{"<key>": {"portcullis": <entry>}}`.
    pub fn snippet(self, target: &Target) -> Value {
        json!({ self.key(): { "portcullis": self.entry(target) } })
    }

    fn note(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "Claude Desktop starts programs only: it runs a gateway of its own over stdin/stdout, with the same config, servers and approvals.",
            Client::Cursor => "Cursor connects to this gateway over HTTP; restart Cursor or reload its MCP settings after a change.",
            Client::VsCode => "VS Code connects to this gateway over HTTP, from every workspace (the user-level mcp.json).",
            Client::ClaudeCode => "Claude Code connects over HTTP in every project (user scope); `claude mcp list` shows it.",
            Client::Windsurf => "Windsurf connects over HTTP; refresh the MCP servers in its Cascade panel after a change.",
            Client::GeminiCli => "Gemini CLI connects over HTTP (`httpUrl`); start a new session after a change.",
            Client::LmStudio => "LM Studio connects over HTTP; it reloads its mcp.json when the file changes.",
        }
    }
}

/// What clients connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The MCP endpoint, e.g. `http://127.0.0.1:7331/mcp`.
    pub mcp_url: String,
    /// The `portcullis` binary, for clients that start a command.
    pub exe: PathBuf,
    /// `PORTCULLIS_HOME` to pass to a gateway the client starts, when this one has it.
    pub home: Option<PathBuf>,
}

impl Target {
    /// The endpoint at `mcp_url`, with this process's binary and environment.
    pub fn new(mcp_url: impl Into<String>) -> Self {
        let home = std::env::var_os(EnvVars::PORTCULLIS_HOME)
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        Self {
            mcp_url: mcp_url.into(),
            exe: portcullis_exe(),
            home,
        }
    }
}

/// The `portcullis` binary: this one, or the one beside this program (the
/// desktop app ships both), or whatever `portcullis` the PATH finds.
fn portcullis_exe() -> PathBuf {
    let name = format!("portcullis{}", std::env::consts::EXE_SUFFIX);
    match std::env::current_exe() {
        Ok(me) if me.file_name().is_some_and(|n| n == name.as_str()) => me,
        Ok(me) => me
            .parent()
            .map(|d| d.join(&name))
            .filter(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from(&name)),
        Err(_) => PathBuf::from(name),
    }
}

/// Whether a client's config has Portcullis in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientStatus {
    /// The config file does not exist.
    NoFile,
    /// The file exists without a `portcullis` entry.
    NotInstalled,
    /// The file has exactly this snippet's entry.
    Installed,
    /// The file has a `portcullis` entry that differs (another port, binary…).
    Different,
    /// The file is not JSON Portcullis can read.
    Unreadable,
}

/// How to undo the last install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoInfo {
    /// The file as it was before, or none when Portcullis created it.
    pub backup: Option<PathBuf>,
    /// When Portcullis wrote the file.
    pub installed_at: UnixMillis,
}

/// One client, as the Connect page shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientSetup {
    /// Its id.
    pub client: Client,
    /// Its name.
    pub label: &'static str,
    /// Its config file.
    pub path: PathBuf,
    /// The snippet, pretty-printed, to paste by hand.
    pub snippet: String,
    /// Whether the file has it.
    pub status: ClientStatus,
    /// Set while the last install can be undone.
    pub undo: Option<UndoInfo>,
    /// What to know about this client.
    pub note: &'static str,
}

impl ClientSetup {
    pub(crate) fn new(
        client: Client,
        target: &Target,
        path: PathBuf,
        status: ClientStatus,
        undo: Option<UndoInfo>,
    ) -> Self {
        let snippet = serde_json::to_string_pretty(&client.snippet(target)).unwrap_or_default();
        Self {
            client,
            label: client.label(),
            path,
            snippet,
            status,
            undo,
            note: client.note(),
        }
    }
}

/// The snippets for common clients, as `portcullis serve` prints them.
pub fn terminal_snippets(target: &Target) -> String {
    let (mcp_url, exe) = (&target.mcp_url, target.exe.display());
    format!(
        "\nAdd Portcullis to your MCP client:\n\
         \n  Cursor (~/.cursor/mcp.json), Claude Code, and other clients that speak HTTP:\n    {{\"mcpServers\": {{\"portcullis\": {{\"url\": \"{mcp_url}\"}}}}}}\n\
         \n  VS Code (.vscode/mcp.json):\n    {{\"servers\": {{\"portcullis\": {{\"type\": \"http\", \"url\": \"{mcp_url}\"}}}}}}\n\
         \n  Claude Desktop and clients that only start commands:\n    {{\"mcpServers\": {{\"portcullis\": {{\"command\": \"{exe}\", \"args\": [\"stdio\"]}}}}}}\n"
    )
}
