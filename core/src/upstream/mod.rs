//! Upstream servers. Each is an actor: one supervisor task owns its process
//! or connection, restarts it with capped, jittered exponential backoff, and
//! keeps its handshake result and tool list; callers hold a cheap
//! [`UpstreamHandle`]. Requests get upstream-local ids and wait on a oneshot
//! that the connection's reader completes directly.

mod error;
mod handle;
mod handshake;
mod slots;
mod stateless;
mod status;
mod supervisor;
mod tool;

use crate::protocol::Message;

/// The process groups of stdio upstreams, recorded so that a gateway stops
/// those an earlier one left running.
pub(crate) use crate::transport::{groups_dir, ProcessGroups};
pub use error::UpstreamError;
pub(crate) use handle::UpstreamContext;
pub use handle::{PendingCall, UpstreamHandle, START_WAIT};
pub use slots::{Load, Slot};
pub use status::{UpstreamInfo, UpstreamState, UpstreamStatus};
pub use tool::Tool;

/// Something an upstream did that the gateway must act on.
#[derive(Debug)]
pub enum UpstreamEvent {
    /// Its tool list was (re)fetched.
    ToolsChanged {
        /// Server name.
        server: String,
        /// Answered (or dropped) once the gateway has recorded and merged the
        /// list: the upstream says it is ready only then, so that whoever sees
        /// it ready sees all of its tools.
        observed: Option<tokio::sync::oneshot::Sender<()>>,
    },
    /// Its state changed (started, failed, backing off, stopped).
    StateChanged {
        /// Server name.
        server: String,
    },
    /// A notification for the clients (progress, logging, resource updates…).
    Notification {
        /// Server name.
        server: String,
        /// The notification, untouched.
        msg: Message,
    },
    /// A request for a client (sampling, elicitation, roots).
    Request {
        /// Server name.
        server: String,
        /// The request with the upstream's own id.
        msg: Message,
    },
}
