//! The MCP clients Portcullis knows, and what each needs to reach it: the
//! `portcullis` entry, in the shape of that client's own config file.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::format::Layout;
use super::target::Target;
use crate::config::EnvVars;

/// An MCP client Portcullis knows how to configure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// Codex (`~/.codex/config.toml`, TOML): connects over HTTP.
    #[serde(rename = "codex")]
    Codex,
    /// Zed (`settings.json`, JSON with comments): connects over HTTP.
    #[serde(rename = "zed")]
    Zed,
    /// Cline (VS Code extension, `cline_mcp_settings.json`): connects over HTTP.
    #[serde(rename = "cline")]
    Cline,
    /// Continue (`~/.continue/config.yaml`, YAML): connects over HTTP.
    #[serde(rename = "continue")]
    Continue,
    /// opencode (`~/.config/opencode/opencode.json`): connects over HTTP.
    #[serde(rename = "opencode")]
    OpenCode,
    /// Goose (`config.yaml`, YAML): connects over HTTP.
    #[serde(rename = "goose")]
    Goose,
}

/// The name of Portcullis's own entry in every client's config.
pub(crate) const ENTRY_NAME: &str = "portcullis";

impl Client {
    /// Every client, in the order they are shown.
    pub const ALL: [Client; 13] = [
        Client::ClaudeDesktop,
        Client::Cursor,
        Client::VsCode,
        Client::ClaudeCode,
        Client::Windsurf,
        Client::GeminiCli,
        Client::LmStudio,
        Client::Codex,
        Client::Zed,
        Client::Cline,
        Client::Continue,
        Client::OpenCode,
        Client::Goose,
    ];

    /// Its id in URLs: `claude-desktop`, `cursor`, `vscode`, `claude-code`,
    /// `windsurf`, `gemini-cli`, `lm-studio`, `codex`, `zed`, `cline`,
    /// `continue`, `opencode`, `goose`.
    pub fn id(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "claude-desktop",
            Client::Cursor => "cursor",
            Client::VsCode => "vscode",
            Client::ClaudeCode => "claude-code",
            Client::Windsurf => "windsurf",
            Client::GeminiCli => "gemini-cli",
            Client::LmStudio => "lm-studio",
            Client::Codex => "codex",
            Client::Zed => "zed",
            Client::Cline => "cline",
            Client::Continue => "continue",
            Client::OpenCode => "opencode",
            Client::Goose => "goose",
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
            Client::Codex => "Codex",
            Client::Zed => "Zed",
            Client::Cline => "Cline",
            Client::Continue => "Continue",
            Client::OpenCode => "opencode",
            Client::Goose => "Goose",
        }
    }

    /// How its config file holds MCP servers.
    pub(super) fn layout(self) -> Layout {
        match self {
            Client::VsCode => Layout::Json { key: "servers" },
            Client::ClaudeDesktop
            | Client::Cursor
            | Client::ClaudeCode
            | Client::Windsurf
            | Client::GeminiCli
            | Client::LmStudio
            | Client::Cline => Layout::Json { key: "mcpServers" },
            Client::Zed => Layout::Json {
                key: "context_servers",
            },
            Client::OpenCode => Layout::Json { key: "mcp" },
            Client::Codex => Layout::Toml { key: "mcp_servers" },
            // A config.yaml Continue reads must have these three (its
            // `configYamlSchema`); Continue writes them when it creates one.
            Client::Continue => Layout::YamlList {
                key: "mcpServers",
                preamble: "name: Local Config\nversion: 1.0.0\nschema: v1\n",
            },
            Client::Goose => Layout::YamlMap { key: "extensions" },
        }
    }

    /// The `portcullis` entry for this client. Every client but Claude
    /// Desktop speaks streamable HTTP, so they get the URL, and the client
    /// token as an `Authorization` header when the target has one.
    pub fn entry(self, target: &Target) -> Value {
        let mut entry = self.bare_entry(target);
        if let (Some(token), Some(key)) = (&target.token, self.headers_key()) {
            let headers = json!({ "Authorization": format!("Bearer {token}") });
            match key {
                // Continue puts headers in `requestOptions`.
                "requestOptions" => entry[key] = json!({ "headers": headers }),
                _ => entry[key] = headers,
            }
        }
        entry
    }

    /// Where the entry keeps HTTP headers (none for a client that starts a command).
    fn headers_key(self) -> Option<&'static str> {
        match self {
            Client::ClaudeDesktop => None,
            // openai/codex `McpServerTransportConfig::StreamableHttp { http_headers }`.
            Client::Codex => Some("http_headers"),
            // continuedev/continue config-yaml `requestOptions.headers`.
            Client::Continue => Some("requestOptions"),
            _ => Some("headers"),
        }
    }

    /// `entry` without its headers: two entries that differ only in their
    /// token are the same install.
    pub(super) fn without_headers(self, entry: &Value) -> Value {
        let mut entry = entry.clone();
        if let (Some(key), Some(map)) = (self.headers_key(), entry.as_object_mut()) {
            map.remove(key);
        }
        entry
    }

    fn bare_entry(self, target: &Target) -> Value {
        let url = &target.mcp_url;
        match self {
            Client::ClaudeDesktop => {
                let mut args = vec!["stdio".to_owned()];
                if let Some(profile) = &target.profile {
                    args.extend(["--profile".to_owned(), profile.clone()]);
                }
                let mut entry =
                    json!({ "command": target.exe.display().to_string(), "args": args });
                if let Some(home) = &target.home {
                    entry["env"] = json!({ EnvVars::PORTCULLIS_HOME: home.display().to_string() });
                }
                entry
            }
            // Codex and Zed take a table with only `url` as streamable HTTP.
            Client::Cursor | Client::LmStudio | Client::Codex | Client::Zed => {
                json!({ "url": url })
            }
            Client::VsCode | Client::ClaudeCode => json!({ "type": "http", "url": url }),
            Client::Windsurf => json!({ "serverUrl": url }),
            // Gemini CLI reads `url` as an SSE endpoint; `httpUrl` is streamable HTTP.
            Client::GeminiCli => json!({ "httpUrl": url }),
            // Cline reads an untyped `url` as SSE (cline/cline src/services/mcp/schemas.ts).
            Client::Cline => json!({ "type": "streamableHttp", "url": url }),
            Client::Continue => {
                json!({ "name": ENTRY_NAME, "type": "streamable-http", "url": url })
            }
            Client::OpenCode => json!({ "type": "remote", "url": url, "enabled": true }),
            // Goose's `ExtensionEntry`: `enabled` beside the `ExtensionConfig`
            // tagged by `type`, whose `name` and `description` are required.
            Client::Goose => json!({
                "enabled": true,
                "type": "streamable_http",
                "name": ENTRY_NAME,
                "description": "Portcullis: the approved tools of your MCP servers",
                "uri": url,
                "timeout": 300,
            }),
        }
    }

    pub(super) fn note(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "Claude Desktop starts programs only: it runs a gateway of its own over stdin/stdout, with the same config, servers and approvals.",
            Client::Cursor => "Cursor connects to this gateway over HTTP; restart Cursor or reload its MCP settings after a change.",
            Client::VsCode => "VS Code connects to this gateway over HTTP, from every workspace (the user-level mcp.json).",
            Client::ClaudeCode => "Claude Code connects over HTTP in every project (user scope); `claude mcp list` shows it.",
            Client::Windsurf => "Windsurf connects over HTTP; refresh the MCP servers in its Cascade panel after a change.",
            Client::GeminiCli => "Gemini CLI connects over HTTP (`httpUrl`); start a new session after a change.",
            Client::LmStudio => "LM Studio connects over HTTP; it reloads its mcp.json when the file changes.",
            Client::Codex => "Codex (CLI, IDE extension and app) connects over streamable HTTP; `codex mcp list` shows it. Comments in config.toml are kept.",
            Client::Zed => "Zed's agent connects over HTTP (`context_servers`); comments in settings.json are kept.",
            Client::Cline => "Cline connects over streamable HTTP (the config of the Cline extension in VS Code).",
            Client::Continue => "Continue connects over streamable HTTP (`mcpServers` in config.yaml); comments are kept.",
            Client::OpenCode => "opencode connects over HTTP (a `remote` server under `mcp`); comments in opencode.jsonc are kept.",
            Client::Goose => "Goose connects over streamable HTTP (an extension in config.yaml); start a new session after a change.",
        }
    }
}
