//! Upstream errors: each names the server and, where it helps, quotes the
//! tail of its stderr and says what to do.

use std::time::Duration;

use crate::hint::Hinted;
use crate::isolation::IsolationError;
use crate::transport::TransportError;

/// Why a request to an upstream failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The upstream is not running (stopped, failed, waiting to restart).
    #[error("upstream `{server}` is not available: {reason}{}", tail(stderr))]
    Unavailable {
        /// Server name.
        server: String,
        /// Why.
        reason: String,
        /// Its last stderr lines.
        stderr: Vec<String>,
        /// What to do.
        hint: String,
    },
    /// The upstream went away while the request was in flight.
    #[error(
        "upstream `{server}` stopped while handling `{method}`: {reason}{}",
        tail(stderr)
    )]
    Died {
        /// Server name.
        server: String,
        /// The method in flight.
        method: String,
        /// Why it stopped.
        reason: String,
        /// Its last stderr lines.
        stderr: Vec<String>,
        /// Its log file.
        log: String,
    },
    /// No answer within the timeout.
    #[error("upstream `{server}` did not answer `{method}` within {} s", after.as_secs_f64())]
    Timeout {
        /// Server name.
        server: String,
        /// The method.
        method: String,
        /// The timeout.
        after: Duration,
    },
    /// The upstream could not be started or reached.
    #[error("upstream `{server}`: {source}")]
    Transport {
        /// Server name.
        server: String,
        /// The cause.
        source: TransportError,
    },
    /// Its container could not be started (Docker unavailable, image missing…).
    #[error("upstream `{server}`: {source}")]
    Isolation {
        /// Server name.
        server: String,
        /// The cause, with a hint.
        source: IsolationError,
    },
    /// A secret its environment or headers name could not be read: it is
    /// not started (or connected) without it.
    #[error("upstream `{server}` was not started: {source}")]
    Secret {
        /// Server name.
        server: String,
        /// Which secret and why, with a hint.
        source: Box<crate::secrets::SecretError>,
    },
    /// The upstream started but its `initialize` failed.
    #[error("upstream `{server}` failed its handshake: {message}{}", tail(stderr))]
    Handshake {
        /// Server name.
        server: String,
        /// What went wrong.
        message: String,
        /// Its last stderr lines.
        stderr: Vec<String>,
    },
    /// It has `max_concurrent` requests running and `max_queue` waiting.
    #[error("upstream `{server}` is busy: {running} request(s) running and {waiting} waiting (max_concurrent = {max_concurrent}, max_queue = {max_queue})")]
    Busy {
        /// Server name.
        server: String,
        /// Requests holding a slot.
        running: usize,
        /// Requests waiting for one.
        waiting: usize,
        /// Its `max_concurrent`.
        max_concurrent: usize,
        /// Its `max_queue`.
        max_queue: usize,
    },
    /// The client cancelled a request while it waited for a slot: it never
    /// reached the upstream.
    #[error("the request was cancelled while it waited for a free slot at upstream `{server}`; it was not sent")]
    CancelledWaiting {
        /// Server name.
        server: String,
    },
    /// The gateway is shutting down.
    #[error("the gateway is shutting down")]
    ShuttingDown,
}

fn tail(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n  stderr (last lines):");
    for l in lines.iter().rev().take(8).rev() {
        out.push_str("\n  | ");
        out.push_str(l);
    }
    out
}

impl Hinted for UpstreamError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Unavailable { hint, .. } => Some(hint.clone()),
            Self::Transport { source, .. } => source.hint(),
            Self::Isolation { source, .. } => source.hint(),
            Self::Secret { source, .. } => source.hint(),
            Self::Died { log, .. } => Some(format!("Portcullis restarts it; see the log at {log}")),
            Self::Timeout { server, .. } => Some(format!("raise `timeout` under [servers.{server}] if it needs longer")),
            Self::Handshake { .. } => Some("run its command by hand to see what it prints".to_owned()),
            Self::Busy { server, .. } => Some(format!("try again in a moment, or raise max_concurrent or max_queue under [servers.{server}]")),
            _ => None,
        }
    }
}
