//! A downstream session: one client connected to the gateway.
//!
//! What waits for a client is bounded in bytes as well as in count: each
//! queued message is charged to its session's budget and to the budget all
//! sessions share ([`QueueBudget`]), and the charge is given back when the
//! message leaves the queue (sent, or dropped with the session). A message
//! that would pass either budget is dropped and counted, with a warning.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::config::SurfaceMode;
use crate::protocol::Message;

/// One server-to-client request waiting for the client's answer (a
/// stateless-era call asks it through its session: `continuation.rs`).
pub(crate) struct InputAsk {
    pub(crate) key: String,
    pub(crate) method: String,
    pub(crate) params: Value,
    pub(crate) reply: oneshot::Sender<Value>,
}

/// How many server-initiated messages wait for a client's GET stream.
const OUTBOUND_QUEUE: usize = 1024;

/// The bytes waiting for all clients together, against `[limits] queue_bytes`.
#[derive(Debug)]
pub(crate) struct QueueBudget {
    used: AtomicUsize,
    limit: AtomicUsize,
    dropped: AtomicU64,
}

impl QueueBudget {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            used: AtomicUsize::new(0),
            limit: AtomicUsize::new(limit),
            dropped: AtomicU64::new(0),
        })
    }

    /// A new limit (from a reloaded config); what is queued stays.
    /// Bytes queued for clients now, all sessions together.
    pub(crate) fn used(&self) -> usize {
        self.used.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn set_limit(&self, limit: usize) {
        self.limit.store(limit, Ordering::Relaxed);
    }
}

/// Takes `bytes` from `counter` unless that would pass `limit`.
fn reserve(counter: &AtomicUsize, bytes: usize, limit: usize) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
            (used + bytes <= limit).then_some(used + bytes)
        })
        .is_ok()
}

/// A message in a session's queue, with the bytes it holds of both budgets;
/// they are given back when it leaves the queue, however it leaves.
pub(crate) struct Queued {
    /// The message.
    pub(crate) msg: Message,
    bytes: usize,
    session: Arc<AtomicUsize>,
    global: Arc<QueueBudget>,
}

impl Queued {
    /// The message, leaving the queue: its bytes are given back now.
    pub(crate) fn into_message(mut self) -> Message {
        std::mem::take(&mut self.msg)
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.session.fetch_sub(self.bytes, Ordering::AcqRel);
        self.global.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// About how many bytes a message takes while it waits (its JSON text).
fn weight(msg: &Message) -> usize {
    let parts = [&msg.id, &msg.params, &msg.result, &msg.error]
        .into_iter()
        .flatten()
        .map(|p| p.get().len())
        .sum::<usize>();
    let extra = msg
        .extra
        .iter()
        .map(|(k, v)| k.len() + v.get().len())
        .sum::<usize>();
    64 + msg.method.as_ref().map_or(0, String::len) + parts + extra
}

/// The endpoint a session came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionTransport {
    /// Streamable HTTP on `/mcp` (sessions there are capped by `[limits] max_sessions`).
    Http,
    /// `portcullis stdio`: the one session of the client that started it.
    Stdio,
}

impl SessionTransport {
    /// `tcp` or `pipe`, as OpenTelemetry names it (`network.transport`).
    pub fn network(self) -> &'static str {
        match self {
            Self::Http => "tcp",
            Self::Stdio => "pipe",
        }
    }
}

/// Which protocol era a session speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// `initialize` and a session that lives across requests (2025-11-25 and earlier).
    Legacy,
    /// One stateless request (2026-07-28): capabilities and version travel in its `_meta`.
    Modern,
}

/// One client session.
pub struct Session {
    id: String,
    transport: SessionTransport,
    era: Era,
    pub(super) client: RwLock<ClientInfo>,
    /// The client its bearer token names, once the endpoint checked it.
    caller: std::sync::OnceLock<Arc<str>>,
    /// The profile it was opened for, if any.
    profile: std::sync::OnceLock<Arc<str>>,
    outbound: mpsc::Sender<Queued>,
    outbound_rx: Mutex<Option<mpsc::Receiver<Queued>>>,
    /// Bytes in `outbound` now, against `queue_limit`.
    queued: Arc<AtomicUsize>,
    queue_limit: usize,
    budget: Arc<QueueBudget>,
    /// Messages dropped because a budget was full.
    dropped: AtomicU64,
    pub(super) inflight: Mutex<HashMap<String, Inflight>>,
    /// Requests (by the client's id) waiting for a free slot at a server
    /// with `max_concurrent`: a cancellation takes them out of the queue.
    pub(super) waiting: Mutex<HashMap<String, tokio_util::sync::CancellationToken>>,
    pub(super) client_requests: Mutex<HashMap<String, oneshot::Sender<Message>>>,
    next_request: AtomicU64,
    pub(super) last_active: Mutex<Instant>,
    /// The level the client asked for with `logging/setLevel` (or, in the
    /// stateless era, with its request's `_meta`).
    pub(super) log_level: Mutex<Option<super::logging::Threshold>>,
    /// Stateless era: answers the client already gave (`inputResponses`
    /// without `requestState`), by key.
    pub(super) prefilled: Mutex<serde_json::Map<String, Value>>,
    /// Stateless era: the method and name the request was made with, before
    /// the gateway renamed anything for the upstream.
    pub(super) origin: Mutex<Option<(String, Option<String>)>>,
    /// Stateless era: its call waits for the client's retry.
    pub(super) parked: AtomicBool,
    surface: SurfaceMode,
}

/// What the client said about itself in `initialize`.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The negotiated protocol version.
    pub protocol_version: String,
    /// `clientInfo.name`.
    pub name: String,
    /// `clientInfo.version`.
    pub version: String,
    /// The client's declared capabilities.
    pub capabilities: Value,
}

/// A request of this session that an upstream is working on.
pub(super) struct Inflight {
    pub(super) server: String,
    pub(super) upstream_id: u64,
    pub(super) related: Option<mpsc::Sender<Message>>,
    pub(super) started: Instant,
    /// Stateless era: where the upstream's requests for this call go (they become `input_required`).
    pub(super) input: Option<mpsc::Sender<InputAsk>>,
}

/// The most recent call of a session on one upstream: when it started, its stream, its input channel.
pub(super) type LatestCall = (
    Instant,
    Option<mpsc::Sender<Message>>,
    Option<mpsc::Sender<InputAsk>>,
);

impl Session {
    /// A slot at `upstream` for this session's request `msg`, if the server
    /// has `max_concurrent`; while it waits, a cancellation of the request
    /// takes it out of the queue.
    pub(super) async fn take_slot(
        &self,
        upstream: &crate::upstream::UpstreamHandle,
        msg: &Message,
    ) -> Result<Option<crate::upstream::Slot>, super::GatewayError> {
        if upstream.load().is_none() {
            return Ok(None);
        }
        let cancel = tokio_util::sync::CancellationToken::new();
        let key = msg.id_key().map(str::to_owned);
        let waiting = || self.waiting.lock();
        if let Some(k) = &key {
            waiting().insert(k.clone(), cancel.clone());
        }
        let slot = upstream.slot(&cancel).await;
        if let Some(k) = &key {
            waiting().remove(k);
        }
        Ok(slot?)
    }

    /// Records the client's request `key` as forwarded to `server` as
    /// `upstream_id`, so a cancellation or a server's request can find it.
    pub(super) fn track_inflight(
        &self,
        key: Option<&str>,
        server: &str,
        upstream_id: u64,
        related: Option<mpsc::Sender<Message>>,
        input: Option<mpsc::Sender<InputAsk>>,
    ) {
        let Some(key) = key else {
            return;
        };
        self.inflight.lock().insert(
            key.to_owned(),
            Inflight {
                server: server.to_owned(),
                upstream_id,
                related,
                started: Instant::now(),
                input,
            },
        );
    }

    pub(super) fn new(
        id: String,
        transport: SessionTransport,
        era: Era,
        surface: SurfaceMode,
        queue_limit: usize,
        budget: Arc<QueueBudget>,
    ) -> Arc<Self> {
        let (outbound, rx) = mpsc::channel(OUTBOUND_QUEUE);
        Arc::new(Self {
            id,
            transport,
            era,
            client: RwLock::new(ClientInfo::default()),
            caller: std::sync::OnceLock::new(),
            profile: std::sync::OnceLock::new(),
            outbound,
            outbound_rx: Mutex::new(Some(rx)),
            queued: Arc::default(),
            queue_limit,
            budget,
            dropped: AtomicU64::new(0),
            inflight: Mutex::default(),
            waiting: Mutex::default(),
            client_requests: Mutex::default(),
            next_request: AtomicU64::new(1),
            last_active: Mutex::new(Instant::now()),
            log_level: Mutex::new(None),
            prefilled: Mutex::default(),
            origin: Mutex::new(None),
            parked: AtomicBool::new(false),
            surface,
        })
    }

    /// The session id (`Mcp-Session-Id`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Binds the session to the client a bearer token named and the
    /// profile it came in for (once: later requests of the session must come
    /// from the same client, for the same profile).
    pub(crate) fn admit(&self, admission: &super::Admission) {
        if let Some(caller) = &admission.caller {
            let _ = self.caller.set(caller.clone());
        }
        if let Some(profile) = &admission.profile {
            let _ = self.profile.set(profile.clone());
        }
    }

    /// The client its bearer token names, if it sent one.
    pub fn caller(&self) -> Option<&str> {
        self.caller.get().map(|c| &**c)
    }

    /// The profile it sees, if any.
    pub fn profile(&self) -> Option<&str> {
        self.profile.get().map(|c| &**c)
    }

    /// Whether a request let in as `admission` may use this session: the
    /// same client, for the same profile.
    pub fn admits(&self, admission: &super::Admission) -> bool {
        self.caller() == admission.caller.as_deref()
            && self.profile() == admission.profile.as_deref()
    }

    /// The endpoint it came through.
    pub fn transport(&self) -> SessionTransport {
        self.transport
    }

    /// The protocol era it speaks.
    pub fn era(&self) -> Era {
        self.era
    }

    /// The tool surface this session sees.
    pub fn surface(&self) -> SurfaceMode {
        self.surface
    }

    /// What the client said about itself.
    pub fn client(&self) -> ClientInfo {
        self.client.read().clone()
    }

    /// Takes the stream of server-initiated messages (one reader at a time).
    pub(crate) fn take_outbound(&self) -> Option<mpsc::Receiver<Queued>> {
        self.outbound_rx.lock().take()
    }

    /// Whether a client currently reads the stream of server-initiated messages.
    pub fn is_streaming(&self) -> bool {
        self.outbound_rx.lock().is_none()
    }

    /// Gives the stream back when its reader goes away.
    pub(crate) fn return_outbound(&self, rx: mpsc::Receiver<Queued>) {
        *self.outbound_rx.lock() = Some(rx);
    }

    /// Queues a message for the client: on `related` (its request's own
    /// stream) when there is room, else on the session's queue for its GET
    /// stream, within the byte budgets; else drops it, counted, with a
    /// warning. A stateless-era session has only its request's stream.
    pub(super) fn push(&self, msg: Message, related: Option<&mpsc::Sender<Message>>) {
        let msg = match related {
            Some(r) => match r.try_send(msg) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(m) | mpsc::error::TrySendError::Closed(m)) => m,
            },
            None => msg,
        };
        if self.era == Era::Modern {
            return;
        }
        let bytes = weight(&msg);
        if !reserve(&self.queued, bytes, self.queue_limit) {
            return self.drop_one("its queue holds `session_queue_bytes` already");
        }
        let global_limit = self.budget.limit.load(Ordering::Relaxed);
        if !reserve(&self.budget.used, bytes, global_limit) {
            self.queued.fetch_sub(bytes, Ordering::AcqRel);
            return self.drop_one("the clients' queues hold `queue_bytes` already");
        }
        let queued = Queued {
            msg,
            bytes,
            session: self.queued.clone(),
            global: self.budget.clone(),
        };
        if self.outbound.try_send(queued).is_err() {
            self.drop_one("its queue holds 1024 messages already");
        }
    }

    /// Counts a dropped message; warns on the first and then every 1000th.
    fn drop_one(&self, why: &str) {
        let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.budget.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if n == 1 || n.is_multiple_of(1000) {
            tracing::warn!(
                session = self.id,
                dropped = n,
                dropped_all_sessions = total,
                "a message for the client was dropped: {why} (its client does not read its stream fast enough)"
            );
        }
    }

    /// Messages dropped for this session because a budget was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Whether the session may be ended to make room: no request in flight,
    /// no question to its client pending, no stream open.
    pub(super) fn is_evictable(&self) -> bool {
        !self.is_streaming()
            && self.inflight.lock().is_empty()
            && self.client_requests.lock().is_empty()
    }

    /// A fresh id for a request the gateway sends to the client.
    pub(super) fn next_request_id(&self) -> String {
        format!(
            "portcullis-{}",
            self.next_request.fetch_add(1, Ordering::Relaxed)
        )
    }

    pub(super) fn touch(&self) {
        *self.last_active.lock() = Instant::now();
    }

    pub(super) fn has_capability(&self, key: &str) -> bool {
        self.client.read().capabilities.get(key).is_some()
    }

    /// The most recent request of this session in flight on `server`.
    pub(super) fn latest_inflight_on(&self, server: &str) -> Option<LatestCall> {
        let inflight = self.inflight.lock();
        inflight
            .values()
            .filter(|f| f.server == server)
            .max_by_key(|f| f.started)
            .map(|f| (f.started, f.related.clone(), f.input.clone()))
    }

    /// Whether its call waits for the client's retry (stateless era).
    pub(super) fn is_parked(&self) -> bool {
        self.parked.load(Ordering::Relaxed)
    }
}

/// Removes a request from the session's in-flight map when it ends, however it ends.
pub(super) struct InflightGuard<'a> {
    pub(super) session: &'a Session,
    pub(super) key: Option<String>,
}

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        if let Some(key) = &self.key {
            self.session.inflight.lock().remove(key);
        }
    }
}
