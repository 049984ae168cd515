//! A downstream session: one client connected to the gateway.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::config::SurfaceMode;
use crate::protocol::Message;

/// How many server-initiated messages wait for a client's GET stream.
const OUTBOUND_QUEUE: usize = 1024;

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
    transport: &'static str,
    era: Era,
    pub(super) client: RwLock<ClientInfo>,
    outbound: mpsc::Sender<Message>,
    outbound_rx: Mutex<Option<mpsc::Receiver<Message>>>,
    pub(super) inflight: Mutex<HashMap<String, Inflight>>,
    pub(super) client_requests: Mutex<HashMap<String, oneshot::Sender<Message>>>,
    next_request: AtomicU64,
    pub(super) last_active: Mutex<Instant>,
    /// The level the client asked for with `logging/setLevel` (or, in the
    /// stateless era, with its request's `_meta`).
    pub(super) log_level: Mutex<Option<String>>,
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
    pub(super) input: Option<mpsc::Sender<super::continuation::InputAsk>>,
}

/// The most recent call of a session on one upstream: when it started, its stream, its input channel.
pub(super) type LatestCall = (
    Instant,
    Option<mpsc::Sender<Message>>,
    Option<mpsc::Sender<super::continuation::InputAsk>>,
);

impl Session {
    pub(super) fn new(
        id: String,
        transport: &'static str,
        era: Era,
        surface: SurfaceMode,
    ) -> Arc<Self> {
        let (outbound, rx) = mpsc::channel(OUTBOUND_QUEUE);
        Arc::new(Self {
            id,
            transport,
            era,
            client: RwLock::new(ClientInfo::default()),
            outbound,
            outbound_rx: Mutex::new(Some(rx)),
            inflight: Mutex::default(),
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

    /// `http` or `stdio`.
    pub fn transport(&self) -> &'static str {
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
        self.client
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Takes the stream of server-initiated messages (one reader at a time).
    pub fn take_outbound(&self) -> Option<mpsc::Receiver<Message>> {
        self.outbound_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Whether a client currently reads the stream of server-initiated messages.
    pub fn is_streaming(&self) -> bool {
        self.outbound_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }

    /// Gives the stream back when its reader goes away.
    pub fn return_outbound(&self, rx: mpsc::Receiver<Message>) {
        *self.outbound_rx.lock().unwrap_or_else(|p| p.into_inner()) = Some(rx);
    }

    /// Queues a message for the client; drops it (with a warning) when the
    /// queue is full. A stateless-era session has only its request's stream.
    pub(super) fn push(&self, msg: Message, related: Option<&mpsc::Sender<Message>>) {
        if let Some(r) = related {
            if r.try_send(msg.clone()).is_ok() {
                return;
            }
        }
        if self.era == Era::Modern {
            return;
        }
        if self.outbound.try_send(msg).is_err() {
            tracing::warn!(
                session = self.id,
                "the client's message queue is full; a message was dropped"
            );
        }
    }

    /// A fresh id for a request the gateway sends to the client.
    pub(super) fn next_request_id(&self) -> String {
        format!(
            "portcullis-{}",
            self.next_request.fetch_add(1, Ordering::Relaxed)
        )
    }

    pub(super) fn touch(&self) {
        *self.last_active.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    pub(super) fn has_capability(&self, key: &str) -> bool {
        self.client
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .capabilities
            .get(key)
            .is_some()
    }

    /// The most recent request of this session in flight on `server`.
    pub(super) fn latest_inflight_on(&self, server: &str) -> Option<LatestCall> {
        let inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
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
            self.session
                .inflight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(key);
        }
    }
}
