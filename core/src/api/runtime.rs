//! `gateway.json`: where a running gateway can be reached, so the CLI asks
//! it instead of guessing from the config file.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Which front end runs a gateway.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServedBy {
    /// `portcullis serve` in a terminal (files written before this field existed say nothing: this).
    #[default]
    Serve,
    /// The desktop app, in the tray.
    Desktop,
}

impl std::fmt::Display for ServedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Serve => "`portcullis serve`",
            Self::Desktop => "the Portcullis app",
        })
    }
}

/// What a running gateway writes about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuntimeFile {
    /// Its process id.
    pub pid: u32,
    /// Which front end runs it.
    #[serde(default)]
    pub served_by: ServedBy,
    /// The MCP endpoint.
    pub mcp_url: String,
    /// The admin API base, e.g. `http://127.0.0.1:7331/api/v1`.
    pub api_url: String,
}

impl RuntimeFile {
    /// Writes the file.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        crate::config::private_files::write_atomic(
            path,
            &serde_json::to_vec_pretty(self).unwrap_or_default(),
        )
    }

    /// Reads the file if there is one and its process is alive.
    pub fn read(path: &Path) -> Option<Self> {
        let rt: Self = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        // SAFETY: signal 0 only checks that the process exists.
        let alive =
            libc::pid_t::try_from(rt.pid).is_ok_and(|pid| unsafe { libc::kill(pid, 0) } == 0);
        alive.then_some(rt)
    }

    /// Removes the file if it still names this process.
    pub fn remove(path: &Path) {
        if Self::read(path).is_some_and(|rt| rt.pid == std::process::id()) {
            let _ = std::fs::remove_file(path);
        }
    }
}
