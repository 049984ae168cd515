//! What the Connect page shows: where clients connect, and for each client
//! its snippet and whether its config has it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::client::Client;
use crate::config::EnvVars;
use crate::store::UnixMillis;

/// What clients connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The MCP endpoint, e.g. `http://127.0.0.1:7331/mcp`.
    pub mcp_url: String,
    /// The `portcullis` binary, for clients that start a command.
    pub exe: PathBuf,
    /// `PORTCULLIS_HOME` to pass to a gateway the client starts, when this one has it.
    pub home: Option<PathBuf>,
    /// The client token to present on `/mcp` (`Authorization: Bearer`), when
    /// the entry is written with one.
    pub token: Option<String>,
    /// The profile a gateway the client starts serves (`stdio --profile`);
    /// over HTTP the client's token is bound to it instead.
    pub profile: Option<String>,
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
            token: None,
            profile: None,
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
    /// The file is not JSON, TOML or YAML (as the client writes it) that
    /// Portcullis can read.
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
    /// The syntax of that file: `JSON` (comments allowed where the client allows them), `TOML`, `YAML`.
    pub syntax: &'static str,
    /// The snippet, in that syntax, to paste by hand.
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
        let layout = client.layout();
        Self {
            client,
            label: client.label(),
            path,
            syntax: layout.syntax(),
            snippet: layout.snippet(&client.entry(target)),
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
