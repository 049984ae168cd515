//! What clients are pointed at: the endpoint, and the binary and
//! environment of a gateway a client starts itself.

use std::path::PathBuf;

use crate::config::EnvVars;

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
