//! The gateway's reaction to what upstreams do: re-merge tool lists and tell
//! clients, route notifications, and carry server-to-client requests to the
//! client that should answer them.
//!
//! Routing rule for server-to-client requests (sampling, elicitation, roots;
//! see `docs/PROTOCOL.md`, which states it for people):
//! 1. Calls in flight on that upstream: the request goes to the session of
//!    the most recent of them, on that call's own response stream when it
//!    has one. When that session's client did not declare the matching
//!    capability, the upstream gets an error: another client must not answer
//!    for a call it did not make (its answer would reach the caller).
//! 2. No call in flight: the most recently active session whose client
//!    declared the capability (a handshake-era session: a 2026-07-28 client
//!    can only be asked within its own request).
//! 3. Nobody: the upstream gets an error that says so.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::session::Era;
use super::session::InputAsk;
use super::{Gateway, GatewayEvent, Session};
use crate::protocol::{to_raw, ErrorCode, Message};
use crate::upstream::UpstreamEvent;

pub(super) async fn run(gw: Gateway, mut rx: mpsc::Receiver<UpstreamEvent>) {
    loop {
        let event = tokio::select! {
            () = gw.inner.life.cancel.cancelled() => return,
            e = rx.recv() => match e { Some(e) => e, None => return },
        };
        match event {
            UpstreamEvent::ToolsChanged { server, observed } => {
                gw.observe_tools(&server).await;
                super::on_demand::remember_tools(&gw, &server);
                rebuild_tools(&gw);
                if let Some(observed) = observed {
                    let _ = observed.send(());
                }
                let count = gw.upstream(&server).map_or(0, |h| h.tools().len());
                gw.emit(GatewayEvent::ToolsChanged { server, count });
            }
            UpstreamEvent::StateChanged { server } => {
                if let Some(h) = gw.upstream(&server) {
                    let state = h.status().state;
                    if state == crate::upstream::UpstreamState::Ready {
                        // A restarted upstream forgot the level clients asked for.
                        let g = gw.clone();
                        gw.inner
                            .life
                            .tasks
                            .spawn(async move { super::logging::apply(&g).await });
                        // What it says to the model besides tools is held too: read it now.
                        let (g, s) = (gw.clone(), server.clone());
                        gw.inner
                            .life
                            .tasks
                            .spawn(async move { g.observe_items(&s).await });
                    }
                    gw.emit(GatewayEvent::ServerStateChanged { server, state });
                }
            }
            UpstreamEvent::Notification { server, msg } => route_notification(&gw, &server, msg),
            UpstreamEvent::Request { server, msg } => {
                let g = gw.clone();
                gw.inner
                    .life
                    .tasks
                    .spawn(async move { route_request(&g, &server, msg).await });
            }
        }
    }
}

/// Re-merges the tool lists; tells every client when what it sees changed.
pub(super) fn rebuild_tools(gw: &Gateway) {
    let settings = gw.settings();
    let servers: Vec<_> = gw
        .upstream_handles()
        .iter()
        .map(|h| (h.name().to_owned(), h.tools()))
        .collect();
    let table = {
        let trust = gw.inner.trust.read();
        super::ToolTable::build(&servers, &settings.separator, settings.prefix, |s, t| {
            trust.callability(s, t).is_callable()
        })
    };
    let changed = {
        let mut current = gw.inner.upstreams.table.write();
        let changed = current.fingerprint != table.fingerprint;
        *current = Arc::new(table);
        changed
    };
    if changed {
        tell_list_changed(gw);
    }
}

/// After a decision on some tools of `server`: only their entries of the
/// merged table are looked at again, whatever the number of tools.
pub(super) fn retable_decided(gw: &Gateway, server: &str, tools: &[&str]) {
    let changed = {
        let mut current = gw.inner.upstreams.table.write();
        let table = {
            let trust = gw.inner.trust.read();
            current.decided(server, tools, |s, t| trust.callability(s, t).is_callable())
        };
        let changed = current.fingerprint != table.fingerprint;
        *current = Arc::new(table);
        changed
    };
    if changed {
        tell_list_changed(gw);
    }
}

/// Tells the clients that list tools directly that the list changed.
fn tell_list_changed(gw: &Gateway) {
    // Search-mode sessions always see the same three tools.
    let msg = Message::notification("notifications/tools/list_changed", None);
    for s in sessions(gw)
        .into_iter()
        .filter(|s| s.surface() == crate::config::SurfaceMode::Direct)
    {
        s.push(msg.clone(), None);
    }
    super::listeners::notify(gw, &msg, None);
}

pub(super) fn sessions(gw: &Gateway) -> Vec<Arc<Session>> {
    gw.inner.clients.sessions.all()
}

fn broadcast(gw: &Gateway, msg: &Message) {
    for s in sessions(gw) {
        s.push(msg.clone(), None);
    }
}

/// Progress and log messages, routed on the upstream's reader task so that
/// they reach a call's stream before the answer that follows them.
pub(super) fn route_inline(gw: &Gateway, server: &str, msg: Message) {
    match msg.method() {
        "notifications/progress" => route_progress(gw, msg),
        _ => route_notification(gw, server, msg),
    }
}

/// A progress notification to the session (and request stream) it belongs to.
pub(super) fn route_progress(gw: &Gateway, mut msg: Message) {
    if let Some((session, related, params)) = gw.inner.clients.progress.back(&msg) {
        msg.params = Some(params);
        session.push(msg, related.as_ref());
    }
}

fn route_notification(gw: &Gateway, server: &str, msg: Message) {
    match msg.method() {
        "notifications/resources/updated" => {
            let uri = msg
                .params_as::<serde_json::Value>()
                .ok()
                .flatten()
                .and_then(|p| p.get("uri").and_then(|u| u.as_str()).map(str::to_owned))
                .unwrap_or_default();
            let ids = gw.inner.clients.subscriptions.lock().subscribers_of(&uri);
            for s in sessions(gw).into_iter().filter(|s| ids.contains(s.id())) {
                s.push(msg.clone(), None);
            }
            super::listeners::notify(gw, &msg, Some(&ids));
        }
        "notifications/message" => route_log(gw, server, &msg),
        "notifications/prompts/list_changed" | "notifications/resources/list_changed" => {
            // Read the new lists for the person; clients refetch through the filter.
            let (g, s) = (gw.clone(), server.to_owned());
            gw.inner
                .life
                .tasks
                .spawn(async move { g.observe_items(&s).await });
            broadcast(gw, &msg);
            super::listeners::notify(gw, &msg, None);
        }
        method => {
            tracing::trace!(server, method, "forwarding a notification to every session");
            broadcast(gw, &msg);
            super::listeners::notify(gw, &msg, None);
        }
    }
}

/// A log message from an upstream (the rule in `logging.rs`): to the caller
/// whose call on that upstream is the most recent, when there is one; else to
/// the sessions that asked for log messages with `logging/setLevel`. Either
/// way only where the message meets the session's level.
fn route_log(gw: &Gateway, server: &str, msg: &Message) {
    let level = super::logging::level_of(msg);
    let threshold = |s: &Session| *s.log_level.lock();
    let all = sessions(gw);
    let caller = all
        .iter()
        .filter_map(|s| s.latest_inflight_on(server).map(|(t, r, _)| (t, s, r)))
        .max_by_key(|(t, _, _)| *t);
    if let Some((_, s, related)) = caller {
        // A stateless request hears only what its own stream carries.
        if super::logging::passes(level, threshold(s))
            && (related.is_some() || s.era() == Era::Legacy)
        {
            s.push(msg.clone(), related.as_ref());
        }
        return;
    }
    for s in all.iter().filter(|s| s.era() == Era::Legacy) {
        // Only sessions that asked with `logging/setLevel` (a threshold of their own).
        let asked = threshold(s);
        if asked.is_some() && super::logging::passes(level, asked) {
            s.push(msg.clone(), None);
        }
    }
}

fn capability_for(method: &str) -> Option<&'static str> {
    match method {
        "sampling/createMessage" => Some("sampling"),
        "elicitation/create" => Some("elicitation"),
        "roots/list" => Some("roots"),
        _ => None,
    }
}

/// Who answers a request from an upstream.
pub(super) enum Pick {
    /// This session, on this stream when there is one (and, for a stateless
    /// session, through its call's input channel).
    Session(
        Arc<Session>,
        Option<mpsc::Sender<Message>>,
        Option<mpsc::Sender<InputAsk>>,
    ),
    /// Nobody: the upstream gets this explanation.
    Nobody(String),
}

/// Picks the session that should answer a request from `server` (the rule in the module doc).
pub(super) fn pick_session(gw: &Gateway, server: &str, method: &str) -> Pick {
    let all = sessions(gw);
    let cap = capability_for(method);
    let declared = |s: &Session| cap.is_none_or(|c| s.has_capability(c));
    let busy: Vec<_> = all
        .iter()
        .filter_map(|s| {
            s.latest_inflight_on(server)
                .map(|(t, r, i)| (t, s.clone(), r, i))
        })
        .collect();
    if !busy.is_empty() {
        // The most recent call is the likeliest cause; if its client cannot answer, nobody
        // else may answer for it.
        return match busy.into_iter().max_by_key(|(t, _, _, _)| *t).filter(|(_, s, _, _)| declared(s)) {
            Some((_, s, related, input)) => Pick::Session(s, related, input),
            None => Pick::Nobody(format!(
                "the client whose call is in flight on `{server}` did not declare the `{}` capability, so it cannot answer `{method}`",
                cap.unwrap_or(method)
            )),
        };
    }
    all.into_iter()
        .filter(|s| s.era() == Era::Legacy && declared(s))
        .max_by_key(|s| *s.last_active.lock())
        .map_or_else(|| Pick::Nobody(format!("no client connected to Portcullis declared the `{}` capability, so none can answer `{method}` now", cap.unwrap_or(method))), |s| Pick::Session(s, None, None))
}

async fn route_request(gw: &Gateway, server: &str, msg: Message) {
    let Some(upstream) = gw.upstream(server) else {
        return;
    };
    let Some(upstream_id) = msg.id.clone() else {
        return;
    };
    let method = msg.method().to_owned();
    let reply = match pick_session(gw, server, &method) {
        Pick::Nobody(why) => {
            tracing::info!(server, "refusing the upstream's `{method}`: {why}");
            Message::error_response(upstream_id, ErrorCode::MethodNotFound.code(), &why, None)
        }
        Pick::Session(session, _, input) if session.era() == Era::Modern => {
            let timeout = upstream.settings().call_timeout;
            let asked = match input {
                Some(input) => tokio::select! {
                    () = gw.inner.life.cancel.cancelled() => return,
                    a = super::continuation::ask(&session, input, &msg, timeout) => a,
                },
                None => Err(format!("a 2026-07-28 client can only be asked for input during tools/call, prompts/get or resources/read, so `{method}` cannot reach it")),
            };
            match asked {
                Ok(answer) => Message::response(upstream_id, to_raw(&answer)),
                Err(why) => Message::error_response(
                    upstream_id,
                    ErrorCode::RequestTimeout.code(),
                    &why,
                    None,
                ),
            }
        }
        Pick::Session(session, related, _) => {
            let timeout = upstream.settings().call_timeout;
            let answer = tokio::select! {
                () = gw.inner.life.cancel.cancelled() => return,
                a = ask_client(&session, related.as_ref(), msg, timeout) => a,
            };
            match answer {
                Ok(mut resp) => {
                    resp.id = Some(upstream_id);
                    resp
                }
                Err(why) => Message::error_response(
                    upstream_id,
                    ErrorCode::RequestTimeout.code(),
                    &why,
                    None,
                ),
            }
        }
    };
    if let Err(e) = upstream.send(reply).await {
        tracing::warn!(server, "could not answer the upstream's `{method}`: {e}");
    }
}

/// Sends a request to a handshake-era client (on `related`, the stream of
/// the call it belongs to, when there is one) and waits for its response.
pub(super) async fn ask_client(
    session: &Session,
    related: Option<&mpsc::Sender<Message>>,
    msg: Message,
    timeout: std::time::Duration,
) -> Result<Message, String> {
    let method = msg.method().to_owned();
    let id = session.next_request_id();
    let (tx, rx) = tokio::sync::oneshot::channel();
    session.client_requests.lock().insert(id.clone(), tx);
    session.push(
        Message {
            id: Some(to_raw(&id)),
            ..msg
        },
        related,
    );
    let answer = tokio::time::timeout(timeout, rx).await;
    session.client_requests.lock().remove(&id);
    match answer {
        Ok(Ok(resp)) => Ok(resp),
        _ => Err(format!(
            "the client did not answer `{method}` within {} s",
            timeout.as_secs()
        )),
    }
}
