//! Client transports to upstream servers: a child process over stdio,
//! streamable HTTP, and the legacy HTTP+SSE transport.
//!
//! Each `connect_*` returns a [`Connection`]: a bounded sender for outgoing
//! messages and a `closed` receiver that says why the connection ended.
//! Incoming messages are handed to the caller's [`Inbound`] sink on the
//! reader task, so a response reaches its waiting caller without an extra
//! hop. Every task a transport starts lives in the caller's `TaskTracker`
//! and ends when the connection's `CancellationToken` is cancelled; a child
//! process is then terminated, killed after a grace period, and reaped.

mod auth_retry;
mod error;
mod escape;
mod groups;
mod http;
mod lines;
mod link;
mod pipes;
mod sse;
mod sse_codec;
mod stderr;
mod stdio;

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::protocol::Message;

pub use error::TransportError;
pub(crate) use escape::printable;
pub(crate) use groups::{gateway_alive, gateway_id, groups_dir, ProcessGroups};
pub(crate) use http::{connect_http, HttpOptions};
pub(crate) use lines::{Line, LineReader};
pub(crate) use link::ToolSchemas;
pub(crate) use pipes::{spawn_reader, spawn_stderr, spawn_writer};
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use sse_codec::SseParser;
pub use stderr::StderrLog;
pub(crate) use stdio::{spawn_stdio, StdioOptions};

/// Where a transport hands each incoming message.
pub(crate) type Inbound = Arc<dyn Fn(Message) + Send + Sync>;

/// Connects a server by name in this process instead of by its transport
/// settings (`None`: as they say). The gateway's in-process tests play MCP
/// servers over a pair of channels with it; nothing else sets one.
pub(crate) type Connector = Arc<dyn Fn(&str, Inbound) -> Option<Connection> + Send + Sync>;

/// How long an idle HTTP connection to an upstream (or its authorization
/// server) is kept for reuse. Node's HTTP server, which most MCP servers run
/// on, closes an idle keep-alive connection after 5 s; reusing one just as it
/// does fails the request with a reset ("connection closed before message
/// completed"). Dropping ours first avoids that race.
pub(crate) const POOL_IDLE: std::time::Duration = std::time::Duration::from_secs(4);

/// A live connection to an upstream.
pub(crate) struct Connection {
    /// Messages to send, in order.
    pub(crate) tx: mpsc::Sender<Message>,
    /// Resolves with the reason once the connection has ended.
    pub(crate) closed: oneshot::Receiver<String>,
    /// Cancelling it ends the connection (and stops the child).
    pub(crate) cancel: CancellationToken,
    /// The child's process id, for a stdio upstream.
    pub(crate) pid: Option<u32>,
}

/// Reports the first reason a connection ended; later ones are ignored.
#[derive(Clone)]
pub(crate) struct CloseSignal(Arc<parking_lot::Mutex<Option<oneshot::Sender<String>>>>);

impl CloseSignal {
    pub(crate) fn new() -> (Self, oneshot::Receiver<String>) {
        let (tx, rx) = oneshot::channel();
        (Self(Arc::new(parking_lot::Mutex::new(Some(tx)))), rx)
    }

    pub(crate) fn close(&self, reason: impl Into<String>) {
        if let Some(tx) = self.0.lock().take() {
            let _ = tx.send(reason.into());
        }
    }
}
