//! MCP clients pointed at Portcullis: the `portcullis` entry Claude
//! Desktop, Cursor, VS Code, Claude Code, Windsurf, Gemini CLI, LM Studio,
//! Codex, Zed, Cline, Continue, opencode and Goose each need, and writing it
//! into that client's own config file, in its own syntax.
//!
//! Writing is careful: only the `portcullis` entry is added or replaced;
//! everything else in the file stays as the person wrote it, comments
//! included (JSON with comments through a syntax tree, `json.rs`; Codex's
//! TOML through `toml_edit`, `toml.rs`; YAML by a narrow textual edit,
//! `yaml.rs`), and every edit is parsed again and checked before it is
//! written (`format.rs`): a file Portcullis cannot read is never
//! overwritten. The file as it was is kept as a timestamped backup beside
//! it; the write is atomic. `undo` restores the backup, but only while the
//! file is still exactly what Portcullis wrote, so it never loses an edit
//! made since. Where each client's file is, per platform, is `paths.rs`; the
//! bearer tokens clients present on `/mcp` are made and hashed in `token.rs`.

mod client;
mod format;
mod install;
mod json;
mod paths;
mod snippet;
mod target;
mod token;
mod toml;
mod yaml;

pub use client::Client;
pub(crate) use client::ENTRY_NAME;
pub use install::{ClientError, ClientFiles, Installed, Undone};
pub use snippet::{terminal_snippets, ClientSetup, ClientStatus, UndoInfo};
pub use target::Target;
pub use token::{check_client_name, new_token, token_hash, TOKEN_PREFIX};

/// Why a file could not be read or edited.
#[derive(Debug, Clone, PartialEq, Eq)]
enum EditError {
    /// The file does not parse, or its servers are not where they should be.
    Unreadable(String),
    /// The edit would have changed more than the entry.
    Unverified(String),
}
