//! What the Connect page shows: where clients connect, and for each client
//! its snippet and whether its config has it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::client::Client;
use super::target::Target;
use crate::store::UnixMillis;

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
