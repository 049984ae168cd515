//! The gateway's reaction to what upstreams do: re-merge tool lists and tell
//! clients, route notifications, and carry server-to-client requests to the
//! client that should answer them.
//!
//! Routing rule for server-to-client requests (sampling, elicitation, roots):
//! the request goes to the session with the most recent call in flight on
//! that upstream (on that call's own response stream when it has one). With
//! no call in flight, it goes to the most recently active session whose
//! client declared the matching capability. With no such session, the
//! upstream gets an error that says so.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::{Gateway, GatewayEvent, Session};
use crate::protocol::{to_raw, ErrorCode, Message};
use crate::upstream::UpstreamEvent;

pub(super) async fn run(gw: Gateway, mut rx: mpsc::Receiver<UpstreamEvent>) {
    loop {
        let event = tokio::select! {
            () = gw.inner.cancel.cancelled() => return,
            e = rx.recv() => match e { Some(e) => e, None => return },
        };
        match event {
            UpstreamEvent::ToolsChanged { server } => {
                gw.observe_tools(&server).await;
                rebuild_tools(&gw);
                let count = gw.upstream(&server).map_or(0, |h| h.tools().len());
                gw.emit(GatewayEvent::ToolsChanged { server, count });
            }
            UpstreamEvent::StateChanged { server } => {
                if let Some(h) = gw.upstream(&server) {
                    gw.emit(GatewayEvent::ServerStateChanged { server, state: h.status().state });
                }
            }
            UpstreamEvent::Notification { server, msg } => route_notification(&gw, &server, msg),
            UpstreamEvent::Request { server, msg } => {
                let g = gw.clone();
                gw.inner.tasks.spawn(async move { route_request(&g, &server, msg).await });
            }
        }
    }
}

/// Re-merges the tool lists; tells every client when what it sees changed.
pub(super) fn rebuild_tools(gw: &Gateway) {
    let settings = gw.settings();
    let servers: Vec<_> = gw.upstream_handles().iter().map(|h| (h.name().to_owned(), h.tools())).collect();
    let table = {
        let trust = gw.inner.trust.read().unwrap_or_else(|p| p.into_inner());
        super::ToolTable::build(&servers, &settings.separator, settings.prefix, |s, t| trust.callability(s, t).is_callable())
    };
    let changed = {
        let mut current = gw.inner.table.write().unwrap_or_else(|p| p.into_inner());
        let changed = current.fingerprint != table.fingerprint;
        *current = Arc::new(table);
        changed
    };
    if changed {
        // Search-mode sessions always see the same three tools.
        let msg = Message::notification("notifications/tools/list_changed", None);
        for s in sessions(gw).into_iter().filter(|s| s.surface() == crate::config::SurfaceMode::Direct) {
            s.push(msg.clone(), None);
        }
    }
}

fn sessions(gw: &Gateway) -> Vec<Arc<Session>> {
    gw.inner.sessions.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
}

fn broadcast(gw: &Gateway, msg: &Message) {
    for s in sessions(gw) {
        s.push(msg.clone(), None);
    }
}

fn route_notification(gw: &Gateway, server: &str, mut msg: Message) {
    if msg.method() == "notifications/progress" {
        if let Some((session, related, params)) = super::router::map_progress_back(gw, &msg) {
            msg.params = Some(params);
            session.push(msg, related.as_ref());
        }
        return;
    }
    if msg.method() == "notifications/resources/updated" {
        let uri = msg.params_as::<serde_json::Value>().ok().flatten().and_then(|p| p.get("uri").and_then(|u| u.as_str()).map(str::to_owned));
        let subscribers = uri.and_then(|u| gw.inner.subscriptions.lock().unwrap_or_else(|p| p.into_inner()).get(&u).cloned());
        if let Some(ids) = subscribers.filter(|s| !s.is_empty()) {
            for s in sessions(gw).into_iter().filter(|s| ids.contains(s.id())) {
                s.push(msg.clone(), None);
            }
            return;
        }
    }
    tracing::trace!(server, method = msg.method(), "forwarding a notification to every session");
    broadcast(gw, &msg);
}

fn capability_for(method: &str) -> Option<&'static str> {
    match method {
        "sampling/createMessage" => Some("sampling"),
        "elicitation/create" => Some("elicitation"),
        "roots/list" => Some("roots"),
        _ => None,
    }
}

/// Picks the session that should answer a request from `server`.
pub(super) fn pick_session(gw: &Gateway, server: &str, method: &str) -> Option<(Arc<Session>, Option<mpsc::Sender<Message>>)> {
    let all = sessions(gw);
    let busy = all.iter().filter_map(|s| s.latest_inflight_on(server).map(|(t, r)| (t, s.clone(), r))).max_by_key(|(t, _, _)| *t);
    if let Some((_, s, related)) = busy {
        return Some((s, related));
    }
    let cap = capability_for(method);
    all.into_iter()
        .filter(|s| cap.is_none_or(|c| s.has_capability(c)))
        .max_by_key(|s| *s.last_active.lock().unwrap_or_else(|p| p.into_inner()))
        .map(|s| (s, None))
}

async fn route_request(gw: &Gateway, server: &str, msg: Message) {
    let Some(upstream) = gw.upstream(server) else { return };
    let Some(upstream_id) = msg.id.clone() else { return };
    let method = msg.method().to_owned();
    let reply = match pick_session(gw, server, &method) {
        None => Message::error_response(upstream_id, ErrorCode::MethodNotFound.code(), &format!("no client connected to Portcullis can answer `{method}` now"), None),
        Some((session, related)) => {
            let id = session.next_request_id();
            let (tx, rx) = tokio::sync::oneshot::channel();
            session.client_requests.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone(), tx);
            let out = Message { id: Some(to_raw(&id)), ..msg };
            session.push(out, related.as_ref());
            let timeout = upstream.settings().call_timeout;
            let answer = tokio::select! {
                () = gw.inner.cancel.cancelled() => return,
                r = tokio::time::timeout(timeout, rx) => r,
            };
            session.client_requests.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
            match answer {
                Ok(Ok(mut resp)) => {
                    resp.id = Some(upstream_id);
                    resp
                }
                _ => Message::error_response(upstream_id, ErrorCode::RequestTimeout.code(), &format!("the client did not answer `{method}` within {} s", timeout.as_secs()), None),
            }
        }
    };
    if let Err(e) = upstream.send(reply).await {
        tracing::warn!(server, "could not answer the upstream's `{method}`: {e}");
    }
}
