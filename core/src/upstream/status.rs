//! What a person (and the gateway) can see of an upstream.

use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;

/// The lifecycle of an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum UpstreamState {
    /// Configured with `enabled = false`.
    Disabled,
    /// Connecting and handshaking.
    Starting,
    /// Serving.
    Ready,
    /// Failed; waiting before the next try.
    Backoff,
    /// Stopped by the gateway.
    Stopped,
    /// Its settings or its approval changed: its old process stops and a new
    /// one starts in its place. Only views show it; the handle that stops
    /// goes through its own states.
    Restarting,
    /// Not started: it waits for a person's approval.
    Pending,
    /// Not started: a person blocked it.
    Blocked,
    /// Waits for a person to sign in (OAuth) at `sign_in_url`.
    NeedsSignIn,
    /// Not running (`start = "on-demand"`): its approved tools are listed,
    /// and the first request that needs it starts it.
    Idle,
}

/// A snapshot of an upstream's status.
#[derive(Debug, Clone, Serialize)]
pub struct UpstreamStatus {
    /// Lifecycle state.
    pub state: UpstreamState,
    /// The last error, with the stderr tail when there is one.
    pub last_error: Option<String>,
    /// How many times it was restarted.
    pub restarts: u32,
    /// Why it was last restarted (kept once it serves again).
    pub restart_reason: Option<String>,
    /// The process id of a running stdio upstream.
    pub pid: Option<u32>,
    /// Where a person signs in, while the upstream waits for that.
    pub sign_in_url: Option<String>,
    /// When the next try is due, while backing off.
    #[serde(skip)]
    pub retry_at: Option<SystemTime>,
}

impl Default for UpstreamStatus {
    fn default() -> Self {
        Self {
            state: UpstreamState::Starting,
            last_error: None,
            restarts: 0,
            restart_reason: None,
            pid: None,
            sign_in_url: None,
            retry_at: None,
        }
    }
}

/// What the upstream said about itself in its handshake.
#[derive(Debug, Clone, Default)]
pub struct UpstreamInfo {
    /// The protocol version it agreed to.
    pub protocol_version: String,
    /// Its `serverInfo`.
    pub server_info: Value,
    /// Its `capabilities`.
    pub capabilities: Value,
    /// Its `instructions`.
    pub instructions: Option<String>,
}
