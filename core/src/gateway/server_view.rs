//! A server as a person sees it (`upstream list`, the Servers page, the
//! tray): its state, what it runs, its last error and stderr, its load and
//! recent calls.

use serde::Serialize;

use super::{metrics, Gateway};
use crate::upstream::UpstreamState;

/// A server as a person sees it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ServerView {
    /// Its name.
    pub name: String,
    /// `stdio`, `streamable-http`, `sse`, `auto`, or `docker` (stdio in a container).
    pub transport: String,
    /// What it runs (the command line) or where it connects (the URL).
    #[serde(default)]
    pub launch: String,
    /// Lifecycle state.
    pub state: UpstreamState,
    /// How many tools it lists.
    pub tools: usize,
    /// The last error.
    pub last_error: Option<String>,
    /// The last lines of its stderr.
    pub stderr_tail: Vec<String>,
    /// Its stderr log.
    pub log: String,
    /// How many times it was restarted.
    pub restarts: u32,
    /// Why it was last restarted: the error that ended its last run (kept
    /// once it serves again).
    #[serde(default)]
    pub restart_reason: Option<String>,
    /// The protocol version it speaks.
    pub protocol_version: Option<String>,
    /// The process id of a running stdio server.
    pub pid: Option<u32>,
    /// Where a person signs in, while the server waits for that (OAuth).
    #[serde(default)]
    pub sign_in_url: Option<String>,
    /// Whether, since it last started, the gateway has read and recorded
    /// its instructions, prompts, resources and templates (so those that
    /// wait for approval are in the pending list).
    #[serde(default)]
    pub items_read: bool,
    /// For a server with `max_concurrent`: requests running and waiting for a slot.
    #[serde(default)]
    pub load: Option<crate::upstream::Load>,
    /// Its tool calls of the last minute: how many, and their median duration.
    #[serde(default)]
    pub calls: metrics::CallRate,
}

impl Gateway {
    /// Every configured server with its state.
    pub fn servers(&self) -> Vec<ServerView> {
        self.upstream_handles()
            .iter()
            .map(|h| {
                let status = h.status();
                let info = h.info();
                ServerView {
                    name: h.name().to_owned(),
                    transport: h.settings().label().to_owned(),
                    launch: h.settings().transport.summary(),
                    state: if h.is_replaced() {
                        UpstreamState::Restarting
                    } else {
                        status.state
                    },
                    tools: h.tools().len(),
                    last_error: status.last_error,
                    stderr_tail: h.stderr_tail(),
                    log: h.log_path().display().to_string(),
                    restarts: status.restarts,
                    restart_reason: status.restart_reason,
                    protocol_version: (!info.protocol_version.is_empty())
                        .then_some(info.protocol_version),
                    pid: status.pid,
                    sign_in_url: status.sign_in_url,
                    items_read: status.state == UpstreamState::Ready
                        && self.inner.upstreams.items_read.lock().get(h.name())
                            == Some(&status.restarts),
                    load: h.load(),
                    calls: self.inner.observe.metrics.rate(h.name()),
                }
            })
            .collect()
    }
}
