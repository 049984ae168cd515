//! Configuration errors, each with a hint that says what to do.

use std::path::PathBuf;

/// What went wrong reading, validating or editing the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither `PORTCULLIS_HOME` nor a home directory is known.
    #[error("cannot find a home directory for the config")]
    NoHome,
    /// The file could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// "read", "write", ...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown or mistyped fields.
    #[error("{} line {line}, column {column}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A value is well-formed but not allowed.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
        /// What to do.
        hint: String,
    },
    /// No server of that name is configured.
    #[error("no server named `{name}` in {}{}", path.display(), known_list(known))]
    UnknownServer {
        /// The name asked for.
        name: String,
        /// The file.
        path: PathBuf,
        /// The names that exist.
        known: Vec<String>,
    },
    /// No profile of that name is configured.
    #[error("no profile named `{name}` in {}{}", path.display(), known_list(known))]
    UnknownProfile {
        /// The name asked for.
        name: String,
        /// The file.
        path: PathBuf,
        /// The names that exist.
        known: Vec<String>,
    },
    /// A server of that name exists already.
    #[error("a server named `{name}` exists already in {}", path.display())]
    DuplicateServer {
        /// The name.
        name: String,
        /// The file.
        path: PathBuf,
    },
    /// An import file is not in a known format.
    #[error("cannot import {}: {message}", path.display())]
    Import {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        " (none are configured)".into()
    } else {
        format!(" (configured: {})", known.join(", "))
    }
}

impl ConfigError {
    /// A syntax error at a byte offset of `text`.
    pub(crate) fn syntax(
        path: &std::path::Path,
        text: &str,
        offset: Option<usize>,
        message: &str,
    ) -> Self {
        let offset = offset.unwrap_or(0).min(text.len());
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Self::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message: message.trim().to_owned(),
        }
    }
}

impl crate::hint::Hinted for ConfigError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::NoHome => Some("set PORTCULLIS_HOME to a folder Portcullis may use".to_owned()),
            Self::Syntax { .. } => Some("fix the file; the gateway keeps its last good configuration until then".to_owned()),
            Self::Invalid { hint, .. } => Some(hint.clone()),
            Self::UnknownServer { .. } => Some("`portcullis upstream list` shows the configured servers".to_owned()),
            Self::UnknownProfile { .. } => Some("`portcullis profile list` shows the profiles".to_owned()),
            Self::DuplicateServer { name, .. } => Some(format!("choose another --name, or `portcullis upstream remove --name {name}` first")),
            Self::Import { .. } => Some("give an MCP client's config: `mcpServers` (Claude Desktop, Cursor, Cline, Continue…), `servers` (VS Code), `context_servers` (Zed), `mcp` (opencode), `[mcp_servers]` (Codex) or `extensions` (Goose)".to_owned()),
            _ => None,
        }
    }
}
