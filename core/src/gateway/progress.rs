//! Progress tokens: a client's `_meta.progressToken` is rewritten to one
//! unique in the gateway before its request goes upstream, and the way back
//! (the session, the request's own stream, the client's own token) is kept
//! until the request ends, so many clients can share one upstream
//! connection and each hears only its own progress.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use indexmap::IndexMap;
use parking_lot::Mutex;
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::sync::mpsc;

use super::Session;
use crate::protocol::{to_raw, Message};

/// Where a rewritten progress token leads back to.
struct Route {
    session: Weak<Session>,
    token: Box<RawValue>,
    related: Option<mpsc::Sender<Message>>,
}

/// Where a progress notification goes: the session, the request's own
/// stream, and the params with the client's token.
pub(super) type ProgressTarget = (Arc<Session>, Option<mpsc::Sender<Message>>, Box<RawValue>);

/// The rewritten tokens of the requests in flight.
#[derive(Default)]
pub(crate) struct ProgressRoutes {
    routes: Mutex<HashMap<String, Route>>,
    next: AtomicU64,
}

impl ProgressRoutes {
    /// Rewrites `_meta.progressToken` of `msg` to a gateway-unique token and
    /// remembers the way back; the new token, if the request had one.
    pub(super) fn route(
        &self,
        session: &Arc<Session>,
        msg: &mut Message,
        related: Option<mpsc::Sender<Message>>,
    ) -> Option<String> {
        let params = msg.params.as_ref()?;
        static PROGRESS_TOKEN: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new("progressToken"));
        PROGRESS_TOKEN.find(params.get().as_bytes())?;
        let mut value: IndexMap<String, Box<RawValue>> = serde_json::from_str(params.get()).ok()?;
        let mut meta: IndexMap<String, Box<RawValue>> =
            serde_json::from_str(value.get("_meta")?.get()).ok()?;
        let original = meta.get("progressToken")?.clone();
        // Tokens are strings or integers; anything else is passed on as it is.
        if !matches!(
            serde_json::from_str::<Value>(original.get()),
            Ok(Value::String(_) | Value::Number(_))
        ) {
            return None;
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let token = format!("portcullis-progress-{n}");
        meta.insert("progressToken".into(), to_raw(&token));
        value.insert("_meta".into(), to_raw(&meta));
        msg.params = Some(to_raw(&value));
        self.routes.lock().insert(
            token.clone(),
            Route {
                session: Arc::downgrade(session),
                token: original,
                related,
            },
        );
        Some(token)
    }

    /// For an upstream's progress notification: where it goes, with the
    /// client's own token.
    pub(super) fn back(&self, msg: &Message) -> Option<ProgressTarget> {
        let mut params: IndexMap<String, Box<RawValue>> =
            serde_json::from_str(msg.params.as_ref()?.get()).ok()?;
        let token: String = serde_json::from_str(params.get("progressToken")?.get()).ok()?;
        let routes = self.routes.lock();
        let route = routes.get(&token)?;
        let session = route.session.upgrade()?;
        params.insert("progressToken".into(), route.token.clone());
        Some((session, route.related.clone(), to_raw(&params)))
    }

    /// Sends the progress of `token` to `related` from now on (a parked
    /// call's retry has a stream of its own).
    pub(super) fn redirect(&self, token: &str, related: Option<mpsc::Sender<Message>>) {
        if let Some(route) = self.routes.lock().get_mut(token) {
            route.related = related;
        }
    }

    /// Forgets `token`: its request ended.
    pub(super) fn forget(&self, token: &str) {
        self.routes.lock().remove(token);
    }
}

/// Forgets a request's token when the request ends, however it ends.
pub(super) struct Guard<'a> {
    routes: &'a ProgressRoutes,
    token: Option<String>,
}

impl<'a> Guard<'a> {
    pub(super) fn new(routes: &'a ProgressRoutes, token: Option<String>) -> Self {
        Self { routes, token }
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if let Some(t) = &self.token {
            self.routes.forget(t);
        }
    }
}
