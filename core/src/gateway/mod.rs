//! The gateway: one typed API over upstreams, sessions and the merged tool
//! list. The MCP endpoints (HTTP and stdio), the admin API, the CLI and the
//! desktop app all call it; none of them re-implements an operation.

mod activity;
mod admission;
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
mod listeners;
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
mod state;
mod subscriptions;
mod surface;
mod tools;
mod traces;
mod trust;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Paths, Settings};
use crate::isolation::DockerRuntime;
use crate::protocol::Message;
use crate::search::SearchIndex;
use crate::store::Store;
use crate::trust::{ServerOrigin, ServerState};
use crate::upstream::{groups_dir, ProcessGroups, UpstreamContext, UpstreamHandle, UpstreamState};

pub use admission::{Admission, Caller, Door, Refusal};
pub use client_tokens::{add_client, list_clients, remove_client, ClientView, NewClient};
pub use clients::ClientSetups;
pub(crate) use eras::{era_of, EraSigns};
pub use error::GatewayError;
pub use listen::Listener;
pub use metrics::CallRate;
pub use preferences::Preferences;
pub(crate) use profiles::View;
pub use profiles::{check_profile, profile_views, put_profile, remove_profile, ProfileView};
pub use registry::{RegistryAdded, RegistryServerView};
pub use secrets::{list_secrets, secret_uses, SecretSet, SecretView};
pub use server_view::ServerView;
pub use servers::{ServerEditor, ServersAdded};
pub(crate) use session::Queued;
pub use session::{ClientInfo, Era, Session, SessionTransport};
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
    /// Held while a config is applied, so two edits apply one after the other.
    pub(crate) reload: tokio::sync::Mutex<()>,
    /// Approvals, pins, activity: the store decides, the gateway enforces.
    pub(crate) store: Arc<Store>,
    /// What the store decided, as the gateway checks it on every call.
    pub(crate) trust: RwLock<trust::TrustView>,
    pub(crate) upstreams: state::Upstreams,
    pub(crate) clients: state::Clients,
    pub(crate) bus: state::Bus,
    pub(crate) launch: state::Launch,
    pub(crate) observe: state::Observe,
    pub(crate) life: state::Life,
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
            reload: tokio::sync::Mutex::new(()),
            store,
            trust: RwLock::new(trust::TrustView::default()),
            upstreams: state::Upstreams::new(index),
            clients: state::Clients::new(settings.limits.queue_bytes),
            bus: state::Bus {
                events,
                call_events,
                upstream_events,
                calls,
            },
            launch: state::Launch {
                docker: DockerRuntime::new(&paths_data),
                groups: Arc::new(ProcessGroups::new(groups_dir(&paths_data))),
                oauth,
                secrets,
                connector,
            },
            observe: state::Observe {
                metrics: metrics::Metrics::default(),
                telemetry,
            },
            life: state::Life {
                tasks: TaskTracker::new(),
                cancel: CancellationToken::new(),
                paused: std::sync::atomic::AtomicBool::new(false),
            },
        });
        inner.clients.tokens.reload(&inner.store);
        let gw = Self { inner };
        // Process groups an earlier gateway on this home left running (it was killed) go now.
        let groups = gw.inner.launch.groups.clone();
        gw.inner
            .life
            .tasks
            .spawn(async move { groups.sweep().await });
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
            let docker = gw.inner.launch.docker.clone();
            gw.inner
                .life
                .tasks
                .spawn(async move { docker.sweep().await });
        }
        let g = gw.clone();
        gw.inner
            .life
            .tasks
            .spawn(async move { events::run(g, upstream_rx).await });
        let g = gw.clone();
        gw.inner
            .life
            .tasks
            .spawn(async move { g.expire_sessions().await });
        let g = gw.clone();
        gw.inner
            .life
            .tasks
            .spawn(async move { activity::write_calls(g, calls_rx).await });
        let g = gw.clone();
        gw.inner
            .life
            .tasks
            .spawn(async move { g.follow_store().await });
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
            events: self.inner.bus.upstream_events.clone(),
            client_capabilities: client_capabilities(),
            docker: self.inner.launch.docker.clone(),
            oauth: self.inner.launch.oauth.clone(),
            groups: self.inner.launch.groups.clone(),
            secrets: self.inner.launch.secrets.clone(),
            connector: self.inner.launch.connector.clone(),
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
                UpstreamHandle::idle(server, ctx, tools, &self.inner.life.cancel)
            }
            (ServerState::Trusted, None) => {
                UpstreamHandle::start(server, ctx, &self.inner.life.tasks, &self.inner.life.cancel)
            }
            (ServerState::Pending, _) => {
                tracing::info!(server = name, "not started: it waits for approval (portcullis upstream approve --name {name})");
                UpstreamHandle::held(server, ctx, UpstreamState::Pending, &self.inner.life.cancel)
            }
            (ServerState::Blocked, _) => {
                UpstreamHandle::held(server, ctx, UpstreamState::Blocked, &self.inner.life.cancel)
            }
        };
        self.inner.upstreams.handles.write().insert(name, handle);
    }

    /// The current settings.
    pub fn settings(&self) -> Arc<Settings> {
        self.inner.settings.read().clone()
    }

    /// Where the gateway keeps its files.
    pub fn paths(&self) -> &Paths {
        &self.inner.paths
    }

    /// Live events for the UI, the admin API and the tray: everything but
    /// [`GatewayEvent::CallFinished`] (see [`Gateway::subscribe_calls`]).
    pub fn subscribe(&self) -> broadcast::Receiver<GatewayEvent> {
        self.inner.bus.events.subscribe()
    }

    /// [`GatewayEvent::CallFinished`] for every tool call. Apart from the
    /// other events: one per call would wake every subscriber that ignores it.
    pub fn subscribe_calls(&self) -> broadcast::Receiver<GatewayEvent> {
        self.inner.bus.call_events.subscribe()
    }

    pub(crate) fn emit(&self, event: GatewayEvent) {
        let channel = match event {
            GatewayEvent::CallFinished { .. } => &self.inner.bus.call_events,
            _ => &self.inner.bus.events,
        };
        let _ = channel.send(event);
    }

    /// Publishes an event from a front end (e.g. a rejected config edit).
    pub fn emit_event(&self, event: GatewayEvent) {
        self.emit(event);
    }

    pub(crate) fn upstream(&self, name: &str) -> Option<UpstreamHandle> {
        self.inner.upstreams.handles.read().get(name).cloned()
    }

    pub(crate) fn upstream_handles(&self) -> Vec<UpstreamHandle> {
        self.inner
            .upstreams
            .handles
            .read()
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
        self.inner.launch.oauth.complete(query).await
    }

    /// The gateway listens at `addr` (its sign-in callback is there).
    pub(crate) fn set_listen_addr(&self, addr: std::net::SocketAddr) {
        self.inner.launch.oauth.set_listen_addr(addr);
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
        self.inner.upstreams.table.read().clone()
    }

    /// Applies new settings: servers that were added start, removed ones
    /// stop, changed ones restart; the rest and every session are untouched.
    pub async fn apply_settings(&self, new: Settings) {
        let _serial = self.inner.reload.lock().await;
        let old = self.settings();
        *self.inner.settings.write() = Arc::new(new.clone());
        self.inner
            .clients
            .sessions
            .budget()
            .set_limit(new.limits.queue_bytes);
        if old.telemetry != new.telemetry {
            tracing::warn!(
                "[telemetry] changed: the new settings take effect when the gateway next starts"
            );
        }
        // A changed server stays listed, as restarting, until its new handle
        // takes its place; a removed one leaves the list now.
        let mut stops = Vec::new();
        {
            let mut handles = self.inner.upstreams.handles.write();
            for (name, server) in &old.servers {
                match new.servers.get(name) {
                    Some(kept) if kept == server => {}
                    Some(_) => {
                        if let Some(h) = handles.get(name) {
                            h.mark_replaced();
                            stops.push(h.clone());
                        }
                    }
                    None => stops.extend(handles.shift_remove(name)),
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
            let mut ups = self.inner.upstreams.handles.write();
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
        let old = self.inner.upstreams.handles.read().get(name).cloned();
        if let Some(h) = old {
            h.mark_replaced();
            h.stop().await;
        }
        self.start_upstream(settings);
        let order = self.settings();
        self.inner
            .upstreams
            .handles
            .write()
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
            .life
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
        self.inner
            .life
            .paused
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The token that ends the gateway's tasks.
    pub fn cancellation(&self) -> CancellationToken {
        self.inner.life.cancel.clone()
    }

    /// The tracker that owns the gateway's tasks (for front ends to add theirs).
    pub fn tasks(&self) -> &TaskTracker {
        &self.inner.life.tasks
    }

    /// Stops every upstream (reaping their processes) and waits for every task, up to `deadline`.
    pub async fn shutdown(&self, deadline: Duration) {
        let handles = self.upstream_handles();
        let stop_all = futures::future::join_all(handles.iter().map(UpstreamHandle::stop));
        let _ = tokio::time::timeout(deadline, stop_all).await;
        self.inner.life.cancel.cancel();
        self.inner.life.tasks.close();
        let _ = tokio::time::timeout(deadline, self.inner.life.tasks.wait()).await;
        // A supervisor stopped in the middle of a start leaves its cleanup
        // (a half-made container and its network) to its upstream's tasks.
        let cleanup = futures::future::join_all(handles.iter().map(UpstreamHandle::drained));
        let _ = tokio::time::timeout(deadline, cleanup).await;
        self.inner.observe.telemetry.stop(deadline).await;
    }
}
