//! The gateway: one typed API over upstreams, sessions and the merged tool
//! list. The MCP endpoints (HTTP and stdio), the admin API, the CLI and the
//! desktop app all call it; none of them re-implements an operation.

mod activity;
mod arguments;
mod catalog;
mod client_tokens;
mod clients;
mod continuation;
mod eras;
mod error;
mod events;
#[cfg(test)]
mod in_process_tests;
mod items;
mod listen;
mod logging;
mod metrics;
mod modern;
mod on_demand;
mod preferences;
mod profiles;
#[cfg(test)]
mod profiles_tests;
mod progress;
mod registry;
mod router;
mod secrets;
mod server_view;
mod servers;
mod session;
mod sessions;
mod subscriptions;
mod surface;
mod tools;
mod traces;
mod trust;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use indexmap::IndexMap;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Paths, Settings};
use crate::isolation::DockerRuntime;
use crate::protocol::Message;
use crate::search::SearchIndex;
use crate::store::{CallRecord, Store};
use crate::trust::{ServerOrigin, ServerState};
use crate::upstream::{
    groups_dir, ProcessGroups, UpstreamContext, UpstreamEvent, UpstreamHandle, UpstreamState,
};

pub use client_tokens::{
    add_client, list_clients, remove_client, Caller, ClientView, NewClient, Refusal,
};
pub use clients::ClientSetups;
pub(crate) use eras::{era_of, EraSigns};
pub use error::GatewayError;
pub use listen::Listener;
pub use metrics::CallRate;
pub use preferences::Preferences;
pub(crate) use profiles::View;
pub use profiles::{
    check_profile, profile_views, put_profile, remove_profile, Admission, Door, ProfileView,
};
pub use registry::{RegistryAdded, RegistryServerView};
pub use secrets::{list_secrets, secret_uses, SecretSet, SecretView};
pub use server_view::ServerView;
pub use servers::{ServerEditor, ServersAdded};
pub(crate) use session::Queued;
pub use session::{ClientInfo, Era, Session};
pub use tools::ToolEntry;
use tools::ToolTable;
pub use trust::{Decision, ToolDetail};

/// Something a person (or the UI) may want to know about, as it happens.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum GatewayEvent {
    /// A server started, failed, backed off or stopped.
    ServerStateChanged {
        /// Server name.
        server: String,
        /// Its new state.
        state: UpstreamState,
    },
    /// A server's tools were (re)listed.
    ToolsChanged {
        /// Server name.
        server: String,
        /// How many tools it has.
        count: usize,
    },
    /// The configuration was reloaded.
    ConfigReloaded,
    /// The config file changed but could not be used.
    ConfigRejected {
        /// What was wrong.
        error: String,
    },
    /// New tools wait for a person's approval.
    ToolsPending {
        /// Server name.
        server: String,
        /// Their upstream names.
        tools: Vec<String>,
    },
    /// Approved tools changed their definition and are held again.
    ToolsModified {
        /// Server name.
        server: String,
        /// Their upstream names.
        tools: Vec<String>,
    },
    /// A server's instructions, prompts, resources or templates wait for a
    /// person's approval (new, changed, or changed again while waiting).
    ItemsPending {
        /// Server name.
        server: String,
        /// Each as `kind:name`.
        items: Vec<String>,
    },
    /// Definitions waiting for a person changed while they waited: anything
    /// showing them must show the new ones (approving the old is refused).
    PendingRedefined {
        /// Server name.
        server: String,
        /// Their upstream names.
        tools: Vec<String>,
    },
    /// The person paused or resumed the gateway.
    PauseChanged {
        /// Whether it is paused now.
        paused: bool,
    },
    /// A tool call finished.
    CallFinished {
        /// Server name.
        server: String,
        /// Upstream tool name.
        tool: String,
        /// `ok`, `error` or `blocked`.
        outcome: String,
        /// How long it took.
        duration_ms: u64,
    },
}

/// How the gateway ranks tools for agents: BM25 fused with the built-in
/// embedding model (BENCHMARKS.md, "Hybrid search"), the same for the index
/// on disk and the in-memory one used when that cannot open. A binary
/// without the model ranks with BM25 and says so once.
const SEARCH_MODE: crate::search::SearchMode = crate::search::SearchMode::Hybrid;

pub(crate) struct Inner {
    pub(crate) paths: Paths,
    pub(crate) settings: RwLock<Arc<Settings>>,
    pub(crate) upstreams: RwLock<IndexMap<String, UpstreamHandle>>,
    /// The open client sessions and the queue budget they share.
    pub(crate) sessions: sessions::Sessions,
    pub(crate) table: RwLock<Arc<ToolTable>>,
    pub(crate) events: broadcast::Sender<GatewayEvent>,
    /// `CallFinished` only: one per call, so only those who follow calls wake for them.
    pub(crate) call_events: broadcast::Sender<GatewayEvent>,
    pub(crate) upstream_events: mpsc::Sender<UpstreamEvent>,
    /// The rewritten progress tokens of requests in flight.
    pub(crate) progress: progress::ProgressRoutes,
    pub(crate) tasks: TaskTracker,
    pub(crate) cancel: CancellationToken,
    pub(crate) reload: tokio::sync::Mutex<()>,
    pub(crate) catalog: Mutex<catalog::Catalog>,
    /// Stateless-era calls waiting for their client's retry, by `requestState`.
    pub(crate) parked: Mutex<continuation::Parked>,
    /// Open `subscriptions/listen` streams.
    pub(crate) listeners: Mutex<listen::Listeners>,
    /// Who subscribed to which resource.
    pub(crate) subscriptions: Mutex<subscriptions::Subscriptions>,
    pub(crate) store: Arc<Store>,
    pub(crate) index: Arc<SearchIndex>,
    pub(crate) trust: RwLock<trust::TrustView>,
    pub(crate) validators: arguments::Validators,
    /// For each server, at which of its starts (its restart count) its
    /// items were last read.
    pub(crate) items_read: Mutex<HashMap<String, u32>>,
    pub(crate) calls: mpsc::Sender<CallRecord>,
    /// While set, agents' requests are refused before they reach an upstream.
    pub(crate) paused: std::sync::atomic::AtomicBool,
    pub(crate) docker: DockerRuntime,
    /// The records of the stdio upstreams' process groups (swept at start).
    pub(crate) groups: Arc<ProcessGroups>,
    pub(crate) oauth: Arc<crate::oauth::OAuthContext>,
    /// Secrets the servers' environments and headers name, and OAuth's.
    pub(crate) secrets: crate::secrets::Secrets,
    /// Counters and histograms for `/metrics`.
    pub(crate) metrics: metrics::Metrics,
    /// Where spans of calls go (`[telemetry]`), if anywhere.
    pub(crate) telemetry: crate::telemetry::Telemetry,
    /// Connects servers in this process (in-process tests only).
    pub(crate) connector: Option<crate::transport::Connector>,
    /// The client tokens `/mcp` accepts.
    pub(crate) client_tokens: client_tokens::ClientTokens,
}

/// The gateway. Clones share one gateway.
#[derive(Clone)]
pub struct Gateway {
    pub(crate) inner: Arc<Inner>,
}

/// Capabilities the gateway declares to upstreams, so that servers offer
/// their sampling, elicitation and roots features; such requests are routed
/// to a client that declared the same capability (see the protocol notes).
fn client_capabilities() -> serde_json::Value {
    serde_json::json!({ "roots": { "listChanged": true }, "sampling": {}, "elicitation": { "form": {}, "url": {} } })
}

impl Gateway {
    /// Starts the gateway and every enabled upstream, concurrently.
    pub fn start(paths: Paths, settings: Settings) -> Result<Self, GatewayError> {
        // The data folder holds tokens and upstream output: its owner's alone.
        crate::config::private_files::private_dir(&paths.data).map_err(|source| {
            GatewayError::Io {
                path: paths.data.display().to_string(),
                source,
            }
        })?;
        let store =
            Arc::new(Store::open(paths.database()).map_err(|error| GatewayError::Store { error })?);
        let index = match SearchIndex::open_with(&paths.index(), SEARCH_MODE) {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(
                    "the search index at {} cannot be used ({e}); searching in memory this run",
                    paths.index().display()
                );
                SearchIndex::in_memory_with(SEARCH_MODE).map_err(GatewayError::Search)?
            }
        };
        Ok(Self::start_with(paths, settings, store, index, None))
    }

    /// Starts the gateway over `store` and `index`, connecting servers with
    /// `connector` when one is given.
    pub(crate) fn start_with(
        paths: Paths,
        settings: Settings,
        store: Arc<Store>,
        index: SearchIndex,
        connector: Option<crate::transport::Connector>,
    ) -> Self {
        let (events, _) = broadcast::channel(1024);
        let (call_events, _) = broadcast::channel(1024);
        let (upstream_events, upstream_rx) = mpsc::channel(4096);
        let (calls, calls_rx) = mpsc::channel(8192);
        let paths_data = paths.data.clone();
        let secrets = crate::secrets::Secrets::open(&paths, store.clone());
        let oauth = crate::oauth::OAuthContext::new(secrets.clone());
        let settings = secrets::move_plain_secrets(&paths, &secrets, &oauth, settings);
        let telemetry = crate::telemetry::Telemetry::configured(&settings.telemetry, &secrets);
        let inner = Arc::new(Inner {
            paths,
            settings: RwLock::new(Arc::new(settings.clone())),
            upstreams: RwLock::new(IndexMap::new()),
            sessions: sessions::Sessions::new(settings.limits.queue_bytes),
            table: RwLock::new(Arc::new(ToolTable::default())),
            events,
            call_events,
            upstream_events,
            progress: progress::ProgressRoutes::default(),
            tasks: TaskTracker::new(),
            cancel: CancellationToken::new(),
            reload: tokio::sync::Mutex::new(()),
            catalog: Mutex::default(),
            parked: Mutex::default(),
            listeners: Mutex::default(),
            subscriptions: Mutex::default(),
            store,
            index: Arc::new(index),
            trust: RwLock::new(trust::TrustView::default()),
            validators: arguments::Validators::default(),
            items_read: Mutex::default(),
            calls,
            paused: std::sync::atomic::AtomicBool::new(false),
            docker: DockerRuntime::new(&paths_data),
            groups: Arc::new(ProcessGroups::new(groups_dir(&paths_data))),
            oauth,
            secrets,
            metrics: metrics::Metrics::default(),
            telemetry,
            connector,
            client_tokens: client_tokens::ClientTokens::default(),
        });
        inner.client_tokens.reload(&inner.store);
        let gw = Self { inner };
        // Process groups an earlier gateway on this home left running (it was killed) go now.
        let groups = gw.inner.groups.clone();
        gw.inner.tasks.spawn(async move { groups.sweep().await });
        for server in settings.servers.values() {
            gw.start_upstream(server.clone());
        }
        // Servers that sleep until a call (on demand) list their tools from now.
        events::rebuild_tools(&gw);
        // Containers an earlier gateway on this home left behind (it was killed) go now.
        if settings
            .servers
            .values()
            .any(|s| matches!(s.isolation, crate::config::Isolation::Docker(_)))
        {
            let docker = gw.inner.docker.clone();
            gw.inner.tasks.spawn(async move { docker.sweep().await });
        }
        let g = gw.clone();
        gw.inner
            .tasks
            .spawn(async move { events::run(g, upstream_rx).await });
        let g = gw.clone();
        gw.inner
            .tasks
            .spawn(async move { g.expire_sessions().await });
        let g = gw.clone();
        gw.inner
            .tasks
            .spawn(async move { activity::write_calls(g, calls_rx).await });
        let g = gw.clone();
        gw.inner.tasks.spawn(async move { g.follow_store().await });
        gw
    }

    fn start_upstream(&self, server: crate::config::ServerSettings) {
        let launch = trust::launch_fingerprint(&server);
        let registered = self
            .inner
            .store
            .register_server(&server.name, ServerOrigin::ConfigFile);
        let state =
            match registered.and_then(|_| self.inner.store.check_launch(&server.name, &launch)) {
                Ok(info) => info.state,
                Err(e) => {
                    tracing::error!(
                        server = server.name,
                        "reading its approval failed ({e}); keeping it stopped"
                    );
                    ServerState::Pending
                }
            };
        self.refresh_trust(&server.name);
        let settings = self.settings();
        let ctx = UpstreamContext {
            logs: self.inner.paths.logs(),
            max_message_bytes: settings.max_message_bytes,
            events: self.inner.upstream_events.clone(),
            client_capabilities: client_capabilities(),
            docker: self.inner.docker.clone(),
            oauth: self.inner.oauth.clone(),
            groups: self.inner.groups.clone(),
            secrets: self.inner.secrets.clone(),
            connector: self.inner.connector.clone(),
            egress_refused: {
                let weak = Arc::downgrade(&self.inner);
                Arc::new(move |refusal| {
                    if let Some(inner) = weak.upgrade() {
                        activity::record_egress_refusal(&Gateway { inner }, refusal);
                    }
                })
            },
            held_open: {
                let weak = Arc::downgrade(&self.inner);
                Arc::new(move |server: &str| {
                    weak.upgrade()
                        .is_some_and(|inner| subscriptions::holds(&Gateway { inner }, server))
                })
            },
            progress: {
                let weak = Arc::downgrade(&self.inner);
                let name = server.name.clone();
                Arc::new(move |msg: Message| {
                    if let Some(inner) = weak.upgrade() {
                        events::route_inline(&Gateway { inner }, &name, msg);
                    }
                })
            },
        };
        let name = server.name.clone();
        // On demand: a server that listed its tools before sleeps until a call needs it.
        let known = (state == ServerState::Trusted
            && server.enabled
            && server.start == crate::config::StartMode::OnDemand)
            .then(|| on_demand::cached_tools(&self.inner.paths, &name))
            .flatten();
        let handle = match (state, known) {
            (ServerState::Trusted, Some(tools)) => {
                tracing::info!(
                    server = name,
                    "not started: it starts on the first call (start = \"on-demand\")"
                );
                UpstreamHandle::idle(server, ctx, tools, &self.inner.cancel)
            }
            (ServerState::Trusted, None) => {
                UpstreamHandle::start(server, ctx, &self.inner.tasks, &self.inner.cancel)
            }
            (ServerState::Pending, _) => {
                tracing::info!(server = name, "not started: it waits for approval (portcullis upstream approve --name {name})");
                UpstreamHandle::held(server, ctx, UpstreamState::Pending, &self.inner.cancel)
            }
            (ServerState::Blocked, _) => {
                UpstreamHandle::held(server, ctx, UpstreamState::Blocked, &self.inner.cancel)
            }
        };
        self.inner
            .upstreams
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name, handle);
    }

    /// The current settings.
    pub fn settings(&self) -> Arc<Settings> {
        self.inner
            .settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Where the gateway keeps its files.
    pub fn paths(&self) -> &Paths {
        &self.inner.paths
    }

    /// Live events for the UI, the admin API and the tray: everything but
    /// [`GatewayEvent::CallFinished`] (see [`Gateway::subscribe_calls`]).
    pub fn subscribe(&self) -> broadcast::Receiver<GatewayEvent> {
        self.inner.events.subscribe()
    }

    /// [`GatewayEvent::CallFinished`] for every tool call. Apart from the
    /// other events: one per call would wake every subscriber that ignores it.
    pub fn subscribe_calls(&self) -> broadcast::Receiver<GatewayEvent> {
        self.inner.call_events.subscribe()
    }

    pub(crate) fn emit(&self, event: GatewayEvent) {
        let channel = match event {
            GatewayEvent::CallFinished { .. } => &self.inner.call_events,
            _ => &self.inner.events,
        };
        let _ = channel.send(event);
    }

    /// Publishes an event from a front end (e.g. a rejected config edit).
    pub fn emit_event(&self, event: GatewayEvent) {
        self.emit(event);
    }

    pub(crate) fn upstream(&self, name: &str) -> Option<UpstreamHandle> {
        self.inner
            .upstreams
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    pub(crate) fn upstream_handles(&self) -> Vec<UpstreamHandle> {
        self.inner
            .upstreams
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Starts signing in to the HTTP server `name` (or joins the sign-in that
    /// waits) and returns the URL a person opens; the server starts once the
    /// authorization server has sent the browser back to the gateway. `None`:
    /// no person is needed (the client credentials grant signed in already).
    pub async fn sign_in(&self, name: &str) -> Result<Option<String>, GatewayError> {
        let handle = self
            .upstream(name)
            .ok_or_else(|| GatewayError::UnknownServer {
                name: name.to_owned(),
            })?;
        handle
            .sign_in()
            .await
            .map_err(|source| GatewayError::SignIn {
                server: name.to_owned(),
                source,
            })
    }

    /// The browser came back to `/oauth/callback` with `query`: finishes that
    /// sign-in and returns the server's name.
    pub async fn complete_sign_in(
        &self,
        query: &HashMap<String, String>,
    ) -> Result<String, crate::OAuthError> {
        self.inner.oauth.complete(query).await
    }

    /// The gateway listens at `addr` (its sign-in callback is there).
    pub(crate) fn set_listen_addr(&self, addr: std::net::SocketAddr) {
        self.inner.oauth.set_listen_addr(addr);
    }

    /// Waits (at most `limit`) until no upstream is starting for the first time.
    pub async fn wait_for_starting(&self, limit: Duration) {
        let all = self.upstream_handles();
        let waits = all.iter().map(|h| h.wait_first_start());
        let _ = tokio::time::timeout(limit, futures::future::join_all(waits)).await;
        // The merged table is rebuilt by the event loop; make sure it is current.
        events::rebuild_tools(self);
    }

    /// Every tool as clients see it, in server order.
    pub fn tools(&self) -> Vec<ToolEntry> {
        self.table()
            .entries()
            .iter()
            .map(|e| ToolEntry::clone(e))
            .collect()
    }

    pub(crate) fn table(&self) -> Arc<ToolTable> {
        self.inner
            .table
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Applies new settings: servers that were added start, removed ones
    /// stop, changed ones restart; the rest and every session are untouched.
    pub async fn apply_settings(&self, new: Settings) {
        let _serial = self.inner.reload.lock().await;
        let old = self.settings();
        *self
            .inner
            .settings
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(new.clone());
        self.inner
            .sessions
            .budget()
            .set_limit(new.limits.queue_bytes);
        if old.telemetry != new.telemetry {
            tracing::warn!(
                "[telemetry] changed: the new settings take effect when the gateway next starts"
            );
        }
        let mut stops = Vec::new();
        for (name, server) in &old.servers {
            if new.servers.get(name) != Some(server) {
                if let Some(h) = self
                    .inner
                    .upstreams
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .shift_remove(name)
                {
                    stops.push(h);
                }
            }
        }
        for h in &stops {
            tracing::info!(
                server = h.name(),
                "stopping (its configuration changed or it was removed)"
            );
            h.stop().await;
        }
        for (name, server) in &new.servers {
            if old.servers.get(name) != Some(server) {
                tracing::info!(server = name, "starting (new or changed configuration)");
                self.start_upstream(server.clone());
            }
        }
        // Keep file order.
        {
            let mut ups = self
                .inner
                .upstreams
                .write()
                .unwrap_or_else(|p| p.into_inner());
            ups.sort_by_cached_key(|k, _| new.servers.get_index_of(k).unwrap_or(usize::MAX));
        }
        events::rebuild_tools(self);
        self.emit(GatewayEvent::ConfigReloaded);
    }

    /// Stops a server and starts it again as its approval now says.
    pub(crate) async fn restart_upstream(&self, name: &str) {
        let _serial = self.inner.reload.lock().await;
        let Some(settings) = self.settings().servers.get(name).cloned() else {
            return;
        };
        let old = self
            .inner
            .upstreams
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned();
        if let Some(h) = old {
            h.stop().await;
        }
        self.start_upstream(settings);
        let order = self.settings();
        self.inner
            .upstreams
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .sort_by_cached_key(|k, _| order.servers.get_index_of(k).unwrap_or(usize::MAX));
    }

    /// Handles one message from a client. Returns the response for a
    /// request; `related` receives messages that belong to this request
    /// (progress, server-to-client requests) while it is in flight.
    pub async fn handle(
        &self,
        session: &Arc<Session>,
        msg: Message,
        related: Option<mpsc::Sender<Message>>,
    ) -> Option<Message> {
        router::handle(self, session, msg, related).await
    }

    /// Pauses (`true`) or resumes the gateway; returns whether that changed anything.
    ///
    /// Paused means no request of an agent reaches an upstream: `tools/call`
    /// (search-mode tools included), resources, prompts and completions are
    /// answered with [`GatewayError::Paused`]. `initialize`, `ping` and
    /// `tools/list` still answer, so clients stay connected; upstreams keep
    /// running, so resuming is instant. The pause lasts until resumed or until
    /// the gateway stops.
    pub fn set_paused(&self, paused: bool) -> bool {
        let was = self
            .inner
            .paused
            .swap(paused, std::sync::atomic::Ordering::SeqCst);
        if was != paused {
            tracing::info!(
                "{}",
                if paused {
                    "paused: agents' requests are refused until resumed"
                } else {
                    "resumed"
                }
            );
            self.emit(GatewayEvent::PauseChanged { paused });
        }
        was != paused
    }

    /// Whether the gateway is paused (see [`Gateway::set_paused`]).
    pub fn is_paused(&self) -> bool {
        self.inner.paused.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The token that ends the gateway's tasks.
    pub fn cancellation(&self) -> CancellationToken {
        self.inner.cancel.clone()
    }

    /// The tracker that owns the gateway's tasks (for front ends to add theirs).
    pub fn tasks(&self) -> &TaskTracker {
        &self.inner.tasks
    }

    /// Stops every upstream (reaping their processes) and waits for every task, up to `deadline`.
    pub async fn shutdown(&self, deadline: Duration) {
        let handles = self.upstream_handles();
        let stop_all = futures::future::join_all(handles.iter().map(UpstreamHandle::stop));
        let _ = tokio::time::timeout(deadline, stop_all).await;
        self.inner.cancel.cancel();
        self.inner.tasks.close();
        let _ = tokio::time::timeout(deadline, self.inner.tasks.wait()).await;
        // A supervisor stopped in the middle of a start leaves its cleanup
        // (a half-made container and its network) to its upstream's tasks.
        let cleanup = futures::future::join_all(handles.iter().map(UpstreamHandle::drained));
        let _ = tokio::time::timeout(deadline, cleanup).await;
        self.inner.telemetry.stop(deadline).await;
    }
}
