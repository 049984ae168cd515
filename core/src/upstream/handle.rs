//! The cheap handle callers hold, and the state it shares with the supervisor.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Tool, UpstreamError, UpstreamEvent, UpstreamInfo, UpstreamState, UpstreamStatus};
use crate::config::ServerSettings;
use crate::isolation::DockerRuntime;
use crate::oauth::{OAuthClient, OAuthContext};
use crate::protocol::{raw, to_raw, ErrorCode, LogLevel, Message};
use crate::transport::{ProcessGroups, StderrLog};

/// How long a call waits for an upstream that is still starting.
pub const START_WAIT: Duration = Duration::from_secs(60);

/// What every upstream needs from the gateway.
#[derive(Clone)]
pub(crate) struct UpstreamContext {
    pub(crate) logs: PathBuf,
    pub(crate) max_message_bytes: usize,
    pub(crate) events: mpsc::Sender<UpstreamEvent>,
    /// Capabilities the gateway declares to upstreams.
    pub(crate) client_capabilities: serde_json::Value,
    /// Takes progress and log notifications on the reader task itself, so they reach
    /// the client before the response they belong to.
    pub(crate) progress: Arc<dyn Fn(Message) + Send + Sync>,
    /// The Docker client for isolated servers (contacted only when one starts).
    pub(crate) docker: DockerRuntime,
    /// OAuth toward HTTP upstreams (tokens, flows waiting for their callback).
    pub(crate) oauth: Arc<OAuthContext>,
    /// Where stdio upstreams' process groups are recorded while they run.
    pub(crate) groups: Arc<ProcessGroups>,
    /// Looks up the secrets a server's environment or headers name.
    pub(crate) secrets: crate::secrets::Secrets,
    /// Whether a client holds a server open (a resource subscription): it is
    /// then not stopped for idleness.
    pub(crate) held_open: Arc<dyn Fn(&str) -> bool + Send + Sync>,
    /// Where an isolated server's egress proxy reports a refused host.
    pub(crate) egress_refused: crate::isolation::RefusalSink,
    /// Connects servers in this process (the gateway's in-process tests).
    pub(crate) connector: Option<crate::transport::Connector>,
}

/// The requests in flight on one connection.
pub(super) type PendingMap = Mutex<HashMap<u64, oneshot::Sender<Message>>>;

/// One live connection: where to write and who waits for what.
pub(super) struct Live {
    pub(super) tx: mpsc::Sender<Message>,
    pub(super) pending: Arc<PendingMap>,
}

pub(super) struct Shared {
    pub(super) settings: ServerSettings,
    pub(super) ctx: UpstreamContext,
    pub(super) live: RwLock<Option<Arc<Live>>>,
    pub(super) next_id: AtomicU64,
    pub(super) status: watch::Sender<UpstreamStatus>,
    pub(super) info: RwLock<UpstreamInfo>,
    pub(super) tools: RwLock<Arc<Vec<Tool>>>,
    pub(super) stderr: Arc<StderrLog>,
    pub(super) refresh: Notify,
    /// A call timed out while it was ready: the supervisor pings it to see
    /// whether it still answers. `stall` says which call.
    pub(super) stalled: Notify,
    pub(super) stall: Mutex<Option<String>>,
    /// The log level it was last set to (forgotten when it restarts).
    pub(super) log_level: Mutex<Option<LogLevel>>,
    /// `protocol = "auto"` found that this upstream does not survive `server/discover`.
    pub(super) no_discover: std::sync::atomic::AtomicBool,
    /// Its settings changed or its approval did: it stops, and a new handle takes its place.
    pub(super) replaced: std::sync::atomic::AtomicBool,
    /// Stateless era: the resource URIs clients subscribed to here.
    pub(super) resource_subscriptions: Mutex<Vec<String>>,
    /// Stateless era: the id of the gateway's listen stream, and a counter for the next.
    pub(super) listen_id: Mutex<Option<String>>,
    pub(super) listen_seq: AtomicU64,
    /// Signs in to an HTTP upstream that asks for OAuth.
    pub(super) oauth: Option<Arc<OAuthClient>>,
    pub(super) cancel: CancellationToken,
    pub(super) tasks: TaskTracker,
    /// `max_concurrent` and `max_queue`, when set.
    pub(super) slots: Option<super::slots::Slots>,
    /// When a request was last sent (`idle_stop` counts from it).
    pub(super) last_request: Mutex<std::time::Instant>,
}

/// A handle to one upstream. Clones share the same upstream.
#[derive(Clone)]
pub struct UpstreamHandle(pub(super) Arc<Shared>);

/// A request sent to an upstream, not yet answered.
pub struct PendingCall {
    /// The id the upstream knows the request by.
    pub upstream_id: u64,
    method: String,
    rx: oneshot::Receiver<Message>,
    handle: UpstreamHandle,
}

impl UpstreamHandle {
    /// Tells the gateway `event`; a full queue drops it, with a warning.
    pub(super) fn notify(&self, event: UpstreamEvent) {
        if let Err(tokio::sync::mpsc::error::TrySendError::Full(_)) =
            self.0.ctx.events.try_send(event)
        {
            tracing::warn!(
                server = self.name(),
                "gateway event queue full; an upstream event was dropped"
            );
        }
    }

    /// Starts the upstream's supervisor in `tasks`.
    pub(crate) fn start(
        settings: ServerSettings,
        ctx: UpstreamContext,
        tasks: &TaskTracker,
        parent: &CancellationToken,
    ) -> Self {
        let handle = Self::new(settings, ctx, UpstreamState::Starting, parent);
        let h = handle.clone();
        tasks.spawn(async move { super::supervisor::supervise(h).await });
        handle
    }

    /// A server that starts on the first request (`start = "on-demand"`):
    /// until then it lists `tools` (what it listed when it last ran) and is
    /// [`UpstreamState::Idle`].
    pub(crate) fn idle(
        settings: ServerSettings,
        ctx: UpstreamContext,
        tools: Vec<Tool>,
        parent: &CancellationToken,
    ) -> Self {
        let handle = Self::new(settings, ctx, UpstreamState::Idle, parent);
        *handle.0.tools.write() = Arc::new(tools);
        handle
    }

    /// Its status as it changes.
    pub fn subscribe_status(&self) -> watch::Receiver<UpstreamStatus> {
        self.0.status.subscribe()
    }

    /// Starts an idle server; whether this call started it.
    pub fn wake(&self) -> bool {
        let mut woke = false;
        self.0.status.send_if_modified(|s| {
            if s.state == UpstreamState::Idle {
                s.state = UpstreamState::Starting;
                woke = true;
            }
            woke
        });
        if woke {
            tracing::info!(server = self.name(), "starting on demand");
            let h = self.clone();
            self.0
                .tasks
                .spawn(async move { super::supervisor::supervise(h).await });
        }
        woke
    }

    /// A handle to a server that is not started (waiting for approval, blocked).
    pub(crate) fn held(
        settings: ServerSettings,
        ctx: UpstreamContext,
        state: UpstreamState,
        parent: &CancellationToken,
    ) -> Self {
        Self::new(settings, ctx, state, parent)
    }

    fn new(
        settings: ServerSettings,
        ctx: UpstreamContext,
        state: UpstreamState,
        parent: &CancellationToken,
    ) -> Self {
        let stderr = Arc::new(StderrLog::new(&ctx.logs, &settings.name));
        let (status, _) = watch::channel(UpstreamStatus {
            state,
            ..UpstreamStatus::default()
        });
        let oauth = match &settings.transport {
            crate::config::TransportSettings::Http { url, .. } => Some(OAuthClient::new(
                ctx.oauth.clone(),
                &settings.name,
                url,
                settings.oauth.clone(),
            )),
            crate::config::TransportSettings::Stdio { .. } => None,
        };
        let slots = settings.concurrency.map(super::slots::Slots::new);
        let handle = Self(Arc::new(Shared {
            last_request: Mutex::new(std::time::Instant::now()),
            slots,
            settings,
            ctx,
            live: RwLock::new(None),
            next_id: AtomicU64::new(1),
            status,
            info: RwLock::new(UpstreamInfo::default()),
            tools: RwLock::new(Arc::new(Vec::new())),
            stderr,
            refresh: Notify::new(),
            stalled: Notify::new(),
            replaced: std::sync::atomic::AtomicBool::new(false),
            stall: Mutex::new(None),
            log_level: Mutex::new(None),
            no_discover: std::sync::atomic::AtomicBool::new(false),
            resource_subscriptions: Mutex::default(),
            listen_id: Mutex::new(None),
            listen_seq: AtomicU64::new(1),
            oauth,
            cancel: parent.child_token(),
            tasks: TaskTracker::new(),
        }));
        if let Some(oauth) = &handle.0.oauth {
            let weak = Arc::downgrade(&handle.0);
            oauth.observe(Arc::new(move |url: Option<String>| {
                let Some(shared) = weak.upgrade() else { return };
                shared.status.send_modify(|s| {
                    match (&url, s.state) {
                        (Some(_), UpstreamState::Starting | UpstreamState::Backoff) => {
                            s.state = UpstreamState::NeedsSignIn;
                        }
                        (None, UpstreamState::NeedsSignIn) => s.state = UpstreamState::Starting,
                        _ => {}
                    }
                    s.sign_in_url = url;
                });
                let _ = shared.ctx.events.try_send(UpstreamEvent::StateChanged {
                    server: shared.settings.name.clone(),
                });
            }));
        }
        handle
    }

    /// Starts a sign-in (or joins the one waiting) and returns where a person
    /// signs in (`None`: signed in without one, with client credentials).
    pub async fn sign_in(&self) -> Result<Option<String>, crate::oauth::OAuthError> {
        match &self.0.oauth {
            Some(oauth) => oauth.sign_in().await,
            None => Err(crate::oauth::OAuthError::Incomplete {
                server: self.name().to_owned(),
                message: "it runs a command; only HTTP servers sign in".into(),
            }),
        }
    }

    /// The server's name.
    pub fn name(&self) -> &str {
        &self.0.settings.name
    }

    /// Its settings.
    pub fn settings(&self) -> &ServerSettings {
        &self.0.settings
    }

    /// Stateless era: sets the resources to hear about and renews the listen stream.
    pub(crate) async fn set_resource_subscriptions(
        &self,
        uris: Vec<String>,
    ) -> Result<(), UpstreamError> {
        *self.0.resource_subscriptions.lock() = uris;
        if self.is_stateless() && self.status().state == UpstreamState::Ready {
            super::stateless::listen(self).await?;
        }
        Ok(())
    }

    /// Whether it speaks the stateless era (2026-07-28) with the gateway.
    pub fn is_stateless(&self) -> bool {
        crate::protocol::modern::is_modern(&self.0.info.read().protocol_version)
    }

    /// A snapshot of its status.
    pub fn status(&self) -> UpstreamStatus {
        self.0.status.borrow().clone()
    }

    /// Says that it is about to stop for a new handle to take its place
    /// (its settings or approval changed): views show it as
    /// [`UpstreamState::Restarting`] until then, and requests are told so.
    pub(crate) fn mark_replaced(&self) {
        self.0.replaced.store(true, Ordering::SeqCst);
    }

    /// Whether it stops for a new handle to take its place ([`Self::mark_replaced`]).
    pub fn is_replaced(&self) -> bool {
        self.0.replaced.load(Ordering::SeqCst)
    }

    /// What it said in its handshake.
    pub fn info(&self) -> UpstreamInfo {
        self.0.info.read().clone()
    }

    /// Its tools as last listed.
    pub fn tools(&self) -> Arc<Vec<Tool>> {
        self.0.tools.read().clone()
    }

    /// The last lines of its stderr.
    pub fn stderr_tail(&self) -> Vec<String> {
        self.0.stderr.tail()
    }

    /// The log level it was last set to with `logging/setLevel`.
    pub fn log_level(&self) -> Option<LogLevel> {
        *self.0.log_level.lock()
    }

    pub(crate) fn set_log_level(&self, level: Option<LogLevel>) {
        *self.0.log_level.lock() = level;
    }

    /// Its stderr log file.
    pub fn log_path(&self) -> PathBuf {
        self.0.stderr.path().to_path_buf()
    }

    /// A slot for one client request when the server has `max_concurrent`
    /// (`None` when it has no limit): waits in its queue, at most the
    /// server's call timeout or until `cancel`; refused at once as busy when
    /// the queue is full. Hold it until the answer came.
    pub async fn slot(
        &self,
        cancel: &CancellationToken,
    ) -> Result<Option<super::Slot>, UpstreamError> {
        match &self.0.slots {
            None => Ok(None),
            Some(slots) => slots
                .take(self.name(), cancel, self.0.settings.call_timeout)
                .await
                .map(Some),
        }
    }

    /// Requests running and waiting, for a server with `max_concurrent`.
    pub fn load(&self) -> Option<super::Load> {
        self.0.slots.as_ref().map(super::slots::Slots::load)
    }

    /// Sends a request; the answer is awaited with [`PendingCall::wait`].
    pub async fn start_request(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<PendingCall, UpstreamError> {
        let live = self.live().await?;
        self.send_request(&live, Message::request(raw("null"), method, params))
            .await
    }

    /// Forwards a client's request as it is (envelope members the gateway
    /// does not know included), under an id of this upstream's own.
    pub async fn start_forward(&self, msg: Message) -> Result<PendingCall, UpstreamError> {
        let live = self.live().await?;
        self.send_request(&live, msg).await
    }

    /// Sends a request and waits for the answer with the server's timeout.
    pub async fn request(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<Message, UpstreamError> {
        let call = self.start_request(method, params).await?;
        call.wait(self.0.settings.call_timeout).await
    }

    /// Sends a notification (or a response to the upstream's own request).
    pub async fn send(&self, msg: Message) -> Result<(), UpstreamError> {
        let live = self.live().await?;
        live.tx
            .send(msg)
            .await
            .map_err(|_| self.died("a notification"))
    }

    /// Like `start_request`, during the handshake (before the upstream is ready).
    pub(super) async fn start_request_live(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<PendingCall, UpstreamError> {
        let live = self.connected()?;
        self.send_request(&live, Message::request(raw("null"), method, params))
            .await
    }

    /// Like `request`, during the handshake.
    pub(super) async fn request_live(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<Message, UpstreamError> {
        let call = self.start_request_live(method, params).await?;
        call.wait(self.0.settings.call_timeout).await
    }

    /// Like `send`, during the handshake.
    pub(super) async fn send_live(&self, msg: Message) -> Result<(), UpstreamError> {
        let live = self.connected()?;
        live.tx
            .send(msg)
            .await
            .map_err(|_| self.died("a notification"))
    }

    async fn send_request(
        &self,
        live: &Live,
        mut msg: Message,
    ) -> Result<PendingCall, UpstreamError> {
        if self.is_stateless() {
            super::stateless::stamp(&mut msg, &self.0.ctx.client_capabilities);
        }
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        // Only a server that may be stopped for idleness pays for the clock.
        if self.0.settings.idle_stop.is_some() {
            *self.0.last_request.lock() = std::time::Instant::now();
        }
        let (tx, rx) = oneshot::channel();
        live.pending.lock().insert(id, tx);
        msg.id = Some(to_raw(&id));
        let method = msg.method().to_owned();
        // The queue is rarely full: the await (a large future) is boxed off the common path.
        let sent = match live.tx.try_send(msg) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(msg)) => {
                Box::pin(live.tx.send(msg)).await.map_err(|_| ())
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(()),
        };
        if sent.is_err() {
            live.pending.lock().remove(&id);
            return Err(self.died(&method));
        }
        Ok(PendingCall {
            upstream_id: id,
            method,
            rx,
            handle: self.clone(),
        })
    }

    /// Asks the upstream to stop working on a request.
    pub async fn cancel_request(&self, upstream_id: u64, reason: &str) {
        if let Ok(live) = self.connected() {
            let waiter = live.pending.lock().remove(&upstream_id);
            if let Some(tx) = waiter {
                // Answer the caller now, saying what happened: a dropped sender would
                // read as "the upstream stopped", which it did not.
                let message = format!(
                    "the request to upstream `{}` was cancelled: {reason}",
                    self.name()
                );
                let _ = tx.send(Message::error_response(
                    to_raw(&upstream_id),
                    ErrorCode::RequestTimeout.code(),
                    &message,
                    None,
                ));
            }
            let params = serde_json::json!({ "requestId": upstream_id, "reason": reason });
            let _ = live
                .tx
                .send(Message::notification(
                    "notifications/cancelled",
                    Some(to_raw(&params)),
                ))
                .await;
        }
    }

    /// Returns once the first start has finished (successfully or not).
    pub async fn wait_first_start(&self) {
        let mut rx = self.0.status.subscribe();
        let _ = rx
            .wait_for(|s| s.state != UpstreamState::Starting || s.restarts > 0)
            .await;
    }

    /// Re-lists its tools now.
    pub fn refresh_tools(&self) {
        self.0.refresh.notify_one();
    }

    /// Waits for its tasks again, once it is stopped: what its supervisor
    /// handed them while it stopped (a container's removal) ends too.
    pub(crate) async fn drained(&self) {
        self.0.tasks.close();
        self.0.tasks.wait().await;
    }

    /// Stops it: ends the connection, reaps the process, waits for its tasks.
    pub async fn stop(&self) {
        self.0.cancel.cancel();
        self.0.tasks.close();
        self.0.tasks.wait().await;
        if matches!(
            self.status().state,
            UpstreamState::Pending
                | UpstreamState::Blocked
                | UpstreamState::Disabled
                | UpstreamState::Idle
        ) {
            return;
        }
        let mut rx = self.0.status.subscribe();
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            rx.wait_for(|s| s.state == UpstreamState::Stopped),
        )
        .await;
    }

    /// The connection, whether or not the handshake is done.
    fn connected(&self) -> Result<Arc<Live>, UpstreamError> {
        self.0.live.read().clone().ok_or_else(|| self.unavailable())
    }

    /// Whether it has a connection (handshaking or ready).
    pub(crate) fn is_connected(&self) -> bool {
        self.connected().is_ok()
    }

    /// The connection once the upstream is ready.
    fn live_now(&self) -> Result<Arc<Live>, UpstreamError> {
        if self.0.status.borrow().state != UpstreamState::Ready {
            return Err(self.unavailable());
        }
        self.connected()
    }

    async fn live(&self) -> Result<Arc<Live>, UpstreamError> {
        self.wake();
        if self.0.status.borrow().state == UpstreamState::Starting {
            // Boxed: a rare wait, kept out of the size of every call's future.
            Box::pin(async {
                let mut rx = self.0.status.subscribe();
                let _ = tokio::time::timeout(
                    START_WAIT,
                    rx.wait_for(|s| s.state != UpstreamState::Starting),
                )
                .await;
            })
            .await;
        }
        self.live_now()
    }

    /// Why it cannot take a request now, with what to do about it.
    pub(crate) fn unavailable_error(&self) -> UpstreamError {
        self.unavailable()
    }

    fn unavailable(&self) -> UpstreamError {
        if self.is_replaced() {
            return UpstreamError::Unavailable {
                server: self.name().to_owned(),
                reason: "it is restarting with its new settings".to_owned(),
                stderr: self.stderr_tail(),
                hint: "try again in a moment".to_owned(),
            };
        }
        if self.0.cancel.is_cancelled() {
            return UpstreamError::ShuttingDown;
        }
        let status = self.status();
        let name = self.name();
        let (reason, hint) = match status.state {
            UpstreamState::Disabled => ("it is disabled".to_owned(), format!("enable it: set `enabled = true` under [servers.{name}]")),
            UpstreamState::Starting => ("it is still starting".to_owned(), "try again in a moment".to_owned()),
            UpstreamState::Stopped => ("it was stopped".to_owned(), "check it with `portcullis upstream list`".to_owned()),
            UpstreamState::Pending => ("it waits for a person's approval".to_owned(), format!("approve it with `portcullis upstream approve --name {name}`, or in the Portcullis window")),
            UpstreamState::Blocked => ("a person blocked it".to_owned(), format!("unblock it with `portcullis upstream approve --name {name}`")),
            UpstreamState::NeedsSignIn => (
                format!("it needs sign-in at {}", status.sign_in_url.clone().unwrap_or_default()),
                format!("open that URL in a browser, or run `portcullis upstream login --name {name}`"),
            ),
            _ => {
                let when = status.retry_at.and_then(|t| t.duration_since(std::time::SystemTime::now()).ok()).map_or(String::new(), |d| format!(" (next try in {:.1} s)", d.as_secs_f64()));
                (
                    format!("{}{when}", status.last_error.clone().unwrap_or_else(|| "it is restarting".into())),
                    format!("Portcullis keeps retrying; its log is {}", self.0.stderr.path().display()),
                )
            }
        };
        UpstreamError::Unavailable {
            server: name.to_owned(),
            reason,
            stderr: self.stderr_tail(),
            hint,
        }
    }

    /// A call timed out: if it is serving, the supervisor checks that it still answers.
    fn timed_out(&self, method: &str, after: Duration) {
        if self.0.status.borrow().state != UpstreamState::Ready {
            return;
        }
        *self.0.stall.lock() = Some(format!(
            "`{method}` timed out after {} s",
            after.as_secs_f64()
        ));
        self.0.stalled.notify_one();
    }

    fn died(&self, method: &str) -> UpstreamError {
        if self.0.cancel.is_cancelled() {
            return UpstreamError::ShuttingDown;
        }
        let reason = self
            .status()
            .last_error
            .unwrap_or_else(|| "the connection closed".into());
        UpstreamError::Died {
            server: self.name().to_owned(),
            method: method.to_owned(),
            reason,
            stderr: self.stderr_tail(),
            log: self.0.stderr.path().display().to_string(),
        }
    }
}

impl PendingCall {
    /// Waits for the answer; on timeout the upstream is told to cancel.
    pub async fn wait(self, timeout: Duration) -> Result<Message, UpstreamError> {
        match tokio::time::timeout(timeout, self.rx).await {
            Ok(Ok(msg)) => Ok(msg),
            // The failure paths are boxed: they would otherwise set the size of every call's future.
            Ok(Err(_)) => {
                // The connection ended: give the supervisor a moment to record why.
                let handle = &self.handle;
                Box::pin(async move {
                    let mut rx = handle.0.status.subscribe();
                    let _ = tokio::time::timeout(
                        Duration::from_millis(200),
                        rx.wait_for(|s| s.state != UpstreamState::Ready),
                    )
                    .await;
                })
                .await;
                Err(self.handle.died(&self.method))
            }
            Err(_) => {
                self.handle.timed_out(&self.method, timeout);
                Box::pin(
                    self.handle
                        .cancel_request(self.upstream_id, "timed out in the gateway"),
                )
                .await;
                Err(UpstreamError::Timeout {
                    server: self.handle.name().to_owned(),
                    method: self.method,
                    after: timeout,
                })
            }
        }
    }
}

impl PendingCall {
    /// Whether any answer came (an error is an answer too); `false` when the
    /// connection ended first. No timeout: the caller bounds it.
    pub(super) async fn answered(self) -> bool {
        self.rx.await.is_ok()
    }
}

/// `{}` as params.
pub(super) fn empty_params() -> Box<RawValue> {
    raw("{}")
}
