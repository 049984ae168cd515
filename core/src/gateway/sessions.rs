//! The open client sessions, by id, and the byte budget their outbound
//! queues share: who is connected, the cap on HTTP sessions and whom it
//! evicts, and which sessions sat idle too long. One owner for the map, so
//! the rules about it (eviction, idleness) are written once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use super::session::{Era, QueueBudget, Session, SessionTransport};
use super::{continuation, subscriptions, Admission, Gateway, GatewayError};

/// The open sessions.
pub(crate) struct Sessions {
    by_id: RwLock<HashMap<String, Arc<Session>>>,
    /// Bytes queued for all sessions together (`[limits] queue_bytes`).
    budget: Arc<QueueBudget>,
}

impl Sessions {
    /// None open, sharing a budget of `queue_bytes`.
    pub(crate) fn new(queue_bytes: usize) -> Self {
        Self {
            by_id: RwLock::default(),
            budget: QueueBudget::new(queue_bytes),
        }
    }

    /// The budget the sessions' outbound queues share.
    pub(crate) fn budget(&self) -> &Arc<QueueBudget> {
        &self.budget
    }

    /// A session by id.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.read().get(id).cloned()
    }

    /// Every open session.
    pub(crate) fn all(&self) -> Vec<Arc<Session>> {
        self.read().values().cloned().collect()
    }

    /// Adds `session`. At `max_http` HTTP sessions, a new HTTP session ends
    /// the longest-idle one with nothing in flight and no stream open (it is
    /// returned, for its subscriptions to be released); when every one is
    /// busy the new one is refused.
    pub(crate) fn open(
        &self,
        session: Arc<Session>,
        max_http: usize,
    ) -> Result<Option<Arc<Session>>, GatewayError> {
        let mut sessions = self.write();
        let mut evicted = None;
        let http = |s: &&Arc<Session>| s.transport() == SessionTransport::Http;
        if session.transport() == SessionTransport::Http
            && sessions.values().filter(http).count() >= max_http
        {
            let victim = sessions
                .values()
                .filter(|s| http(s) && s.is_evictable())
                .min_by_key(|s| *s.last_active.lock())
                .map(|s| s.id().to_owned());
            let Some(victim) = victim else {
                tracing::warn!(
                    limit = max_http,
                    "refused a new session: every session is busy"
                );
                return Err(GatewayError::TooManySessions { limit: max_http });
            };
            evicted = sessions.remove(&victim);
        }
        sessions.insert(session.id().to_owned(), session);
        Ok(evicted)
    }

    /// Registers a stateless request's session for the life of its request.
    pub(crate) fn register(&self, session: Arc<Session>) {
        self.write().insert(session.id().to_owned(), session);
    }

    /// Takes a session out; the removed one, if it was open.
    pub(crate) fn remove(&self, id: &str) -> Option<Arc<Session>> {
        self.write().remove(id)
    }

    /// The HTTP sessions idle for longer than `limit` with no stream open.
    pub(crate) fn idle(&self, limit: Duration) -> Vec<String> {
        self.read()
            .values()
            .filter(|s| {
                s.transport() == SessionTransport::Http
                    && !s.is_streaming()
                    && s.last_active.lock().elapsed() > limit
            })
            .map(|s| s.id().to_owned())
            .collect()
    }

    fn read(&self) -> parking_lot::RwLockReadGuard<'_, HashMap<String, Arc<Session>>> {
        self.by_id.read()
    }

    fn write(&self) -> parking_lot::RwLockWriteGuard<'_, HashMap<String, Arc<Session>>> {
        self.by_id.write()
    }
}

impl Gateway {
    /// Opens a client session for a request let in as `admission` (its
    /// client, profile and surface).
    ///
    /// HTTP sessions are capped by `[limits] max_sessions`: at the cap the
    /// longest-idle session with no request in flight and no open stream is
    /// ended to make room; when every session is busy the new one is refused.
    pub fn open_session(
        &self,
        transport: SessionTransport,
        admission: &Admission,
    ) -> Result<Arc<Session>, GatewayError> {
        let settings = self.settings();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let session = Session::new(
            id,
            transport,
            Era::Legacy,
            admission.surface,
            settings.limits.session_queue_bytes,
            self.inner.clients.sessions.budget().clone(),
        );
        session.admit(admission);
        let evicted = self
            .inner
            .clients
            .sessions
            .open(session.clone(), settings.limits.max_sessions)?;
        if let Some(old) = evicted {
            tracing::info!(
                session = old.id(),
                "ended the longest-idle session to make room for a new one (max_sessions)"
            );
            subscriptions::release_session(self, old.id());
        }
        Ok(session)
    }

    /// Ends HTTP sessions that were idle for `[limits] session_idle` with no stream open.
    pub(super) async fn expire_sessions(&self) {
        loop {
            let idle_limit = self.settings().limits.session_idle;
            let every = (idle_limit / 2).clamp(Duration::from_millis(100), Duration::from_secs(60));
            tokio::select! {
                () = self.inner.life.cancel.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            continuation::expire(self);
            for id in self.inner.clients.sessions.idle(idle_limit) {
                tracing::debug!(session = id, "ending an idle session");
                self.close_session(&id).await;
            }
        }
    }

    /// A session by id.
    pub fn session(&self, id: &str) -> Option<Arc<Session>> {
        self.inner.clients.sessions.get(id)
    }

    /// Ends a session; its requests in flight are cancelled upstream.
    pub async fn close_session(&self, id: &str) -> bool {
        let Some(session) = self.inner.clients.sessions.remove(id) else {
            return false;
        };
        subscriptions::release_session(self, id);
        let inflight: Vec<(String, u64)> = session
            .inflight
            .lock()
            .values()
            .map(|f| (f.server.clone(), f.upstream_id))
            .collect();
        for (server, id) in inflight {
            if let Some(h) = self.upstream(&server) {
                h.cancel_request(id, "the client ended its session").await;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SurfaceMode;
    use crate::gateway::Era;

    fn session(sessions: &Sessions, id: &str, transport: SessionTransport) -> Arc<Session> {
        Session::new(
            id.to_owned(),
            transport,
            Era::Legacy,
            SurfaceMode::Direct,
            1024,
            sessions.budget().clone(),
        )
    }

    #[test]
    fn at_the_cap_the_longest_idle_http_session_makes_room_and_busy_ones_do_not() {
        let sessions = Sessions::new(1 << 20);
        let old = session(&sessions, "old", SessionTransport::Http);
        *old.last_active.lock() -= Duration::from_secs(60);
        let streaming = session(&sessions, "streaming", SessionTransport::Http);
        *streaming.last_active.lock() -= Duration::from_secs(120);
        let _stream = streaming.take_outbound();
        for s in [&old, &streaming] {
            assert!(sessions.open(s.clone(), 2).unwrap().is_none());
        }
        // A stdio session does not count against the cap.
        assert!(sessions
            .open(session(&sessions, "pipe", SessionTransport::Stdio), 2)
            .unwrap()
            .is_none());
        // The streaming one is idler but busy: the old one goes.
        let evicted = sessions
            .open(session(&sessions, "new", SessionTransport::Http), 2)
            .unwrap();
        assert_eq!(evicted.map(|s| s.id().to_owned()).as_deref(), Some("old"));
        assert!(sessions.get("old").is_none() && sessions.get("new").is_some());
        // Now "new" is the only evictable one; once it streams too, nobody makes room.
        let _new_stream = sessions.get("new").unwrap().take_outbound();
        let refused = sessions.open(session(&sessions, "more", SessionTransport::Http), 2);
        assert!(matches!(
            refused,
            Err(GatewayError::TooManySessions { limit: 2 })
        ));
        assert_eq!(sessions.all().len(), 3);
    }

    #[test]
    fn idle_lists_http_sessions_without_a_stream_past_the_limit() {
        let sessions = Sessions::new(1 << 20);
        for (id, transport, idle, stream) in [
            ("idle", SessionTransport::Http, 90, false),
            ("fresh", SessionTransport::Http, 0, false),
            ("streaming", SessionTransport::Http, 90, true),
            ("pipe", SessionTransport::Stdio, 90, false),
        ] {
            let s = session(&sessions, id, transport);
            *s.last_active.lock() -= Duration::from_secs(idle);
            if stream {
                drop(s.take_outbound());
            }
            sessions.register(s);
        }
        assert_eq!(sessions.idle(Duration::from_secs(30)), ["idle"]);
    }
}
