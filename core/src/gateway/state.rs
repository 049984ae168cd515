//! The gateway's state, as the few components `Inner` holds: each groups
//! what one part of the gateway owns and changes together, so a reader
//! finds, say, everything that routes back to a client in one place.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use indexmap::IndexMap;
use parking_lot::{Mutex, RwLock};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::tools::ToolTable;
use super::{
    arguments, catalog, client_tokens, continuation, listeners, metrics, progress, sessions,
    subscriptions, GatewayEvent,
};
use crate::isolation::DockerRuntime;
use crate::search::SearchIndex;
use crate::store::CallRecord;
use crate::upstream::{ProcessGroups, UpstreamEvent, UpstreamHandle};

/// The servers and what they offer agents.
pub(crate) struct Upstreams {
    /// Each configured server's handle, in config order.
    pub(crate) handles: RwLock<IndexMap<String, UpstreamHandle>>,
    /// Every server's tools under the names agents see.
    pub(crate) table: RwLock<Arc<ToolTable>>,
    /// Their resources, templates and prompts.
    pub(crate) catalog: Mutex<catalog::Catalog>,
    /// For each server, at which of its starts (its restart count) its
    /// items were last read.
    pub(crate) items_read: Mutex<HashMap<String, u32>>,
    /// The compiled input schemas calls are checked against.
    pub(crate) validators: arguments::Validators,
    /// The tool search index.
    pub(crate) index: Arc<SearchIndex>,
}

impl Upstreams {
    pub(super) fn new(index: SearchIndex) -> Self {
        Self {
            handles: RwLock::new(IndexMap::new()),
            table: RwLock::new(Arc::new(ToolTable::default())),
            catalog: Mutex::default(),
            items_read: Mutex::default(),
            validators: arguments::Validators::default(),
            index: Arc::new(index),
        }
    }
}

/// The clients, and what routes messages back to them.
pub(crate) struct Clients {
    /// The open client sessions and the queue budget they share.
    pub(crate) sessions: sessions::Sessions,
    /// The client tokens `/mcp` accepts.
    pub(crate) tokens: client_tokens::ClientTokens,
    /// The rewritten progress tokens of requests in flight.
    pub(crate) progress: progress::ProgressRoutes,
    /// Stateless-era calls waiting for their client's retry, by `requestState`.
    pub(crate) parked: Mutex<continuation::Parked>,
    /// Open `subscriptions/listen` streams.
    pub(crate) listeners: Mutex<listeners::Listeners>,
    /// Who subscribed to which resource.
    pub(crate) subscriptions: Mutex<subscriptions::Subscriptions>,
}

impl Clients {
    pub(super) fn new(queue_bytes: usize) -> Self {
        Self {
            sessions: sessions::Sessions::new(queue_bytes),
            tokens: client_tokens::ClientTokens::default(),
            progress: progress::ProgressRoutes::default(),
            parked: Mutex::default(),
            listeners: Mutex::default(),
            subscriptions: Mutex::default(),
        }
    }
}

/// Where what happens is announced, and the calls recorded.
pub(crate) struct Bus {
    /// Changes the front ends follow (servers, tools, approvals).
    pub(crate) events: broadcast::Sender<GatewayEvent>,
    /// `CallFinished` only: one per call, so only those who follow calls wake for them.
    pub(crate) call_events: broadcast::Sender<GatewayEvent>,
    /// What upstreams report, to the event loop (`events.rs`).
    pub(crate) upstream_events: mpsc::Sender<UpstreamEvent>,
    /// Finished calls, to the activity log's writer.
    pub(crate) calls: mpsc::Sender<CallRecord>,
}

/// What starting a server needs besides its config.
pub(crate) struct Launch {
    pub(crate) docker: DockerRuntime,
    /// The records of the stdio upstreams' process groups (swept at start).
    pub(crate) groups: Arc<ProcessGroups>,
    pub(crate) oauth: Arc<crate::oauth::OAuthContext>,
    /// Secrets the servers' environments and headers name, and OAuth's.
    pub(crate) secrets: crate::secrets::Secrets,
    /// Connects servers in this process (in-process tests only).
    pub(crate) connector: Option<crate::transport::Connector>,
}

/// What is measured, and where it goes.
pub(crate) struct Observe {
    /// Counters and histograms for `/metrics`.
    pub(crate) metrics: metrics::Metrics,
    /// Where spans of calls go (`[telemetry]`), if anywhere.
    pub(crate) telemetry: crate::telemetry::Telemetry,
}

/// The gateway's tasks and whether it serves.
pub(crate) struct Life {
    /// Every task the gateway spawns.
    pub(crate) tasks: TaskTracker,
    /// Cancelled when the gateway stops.
    pub(crate) cancel: CancellationToken,
    /// While set, agents' requests are refused before they reach an upstream.
    pub(crate) paused: AtomicBool,
}
