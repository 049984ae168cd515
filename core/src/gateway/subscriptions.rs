//! Resource subscriptions, shared by every client of one upstream connection.
//!
//! An upstream sees one client (the gateway), so subscriptions are counted:
//! the first session that subscribes to a URI makes the gateway subscribe
//! upstream, the last one that unsubscribes (or ends) makes it unsubscribe.
//! `notifications/resources/updated` reaches only the sessions subscribed to
//! that URI (or to a URI it lies under, as the spec allows servers to notify
//! about sub-resources). A stateless (2026-07-28) upstream has no
//! `resources/subscribe`: the gateway renews its own `subscriptions/listen`
//! there with the URIs subscribed at that upstream instead.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use super::{catalog, Gateway, GatewayError, Session};
use crate::protocol::{to_raw, Message};

/// Who subscribed to what, and where the upstream subscription lives.
#[derive(Default)]
pub(crate) struct Subscriptions {
    /// URI → ids of the sessions subscribed to it.
    by_uri: HashMap<String, HashSet<String>>,
    /// URI → the upstream the gateway subscribed at.
    upstream: HashMap<String, String>,
}

impl Subscriptions {
    /// Ids of the sessions that should hear about a change to `uri`.
    pub(super) fn subscribers_of(&self, uri: &str) -> HashSet<String> {
        let mut out = HashSet::new();
        for (subscribed, ids) in &self.by_uri {
            if uri == subscribed
                || (uri.starts_with(subscribed.as_str()) && subscribed.ends_with('/'))
            {
                out.extend(ids.iter().cloned());
            }
        }
        out
    }

    /// Adds `subscriber` to `uri`'s subscribers, and, when given, records
    /// `server` as where the gateway subscribed to it.
    fn add(&mut self, uri: &str, subscriber: &str, server: Option<String>) {
        self.by_uri
            .entry(uri.to_owned())
            .or_default()
            .insert(subscriber.to_owned());
        if let Some(server) = server {
            self.upstream.insert(uri.to_owned(), server);
        }
    }
}

/// Whether a client is subscribed to a resource of `server` (which keeps it
/// from being stopped for idleness).
pub(super) fn holds(gw: &Gateway, server: &str) -> bool {
    subscriptions(gw).upstream.values().any(|s| s == server)
}

/// The gateway's subscriptions, locked.
fn subscriptions(gw: &Gateway) -> parking_lot::MutexGuard<'_, Subscriptions> {
    gw.inner.clients.subscriptions.lock()
}

fn uri_of(msg: &Message) -> Result<String, GatewayError> {
    msg.params_as::<Value>()
        .ok()
        .flatten()
        .and_then(|p| p.get("uri").and_then(Value::as_str).map(str::to_owned))
        .ok_or_else(|| {
            GatewayError::InvalidParams(format!("{} needs a string `uri`", msg.method()))
        })
}

fn empty_result() -> Message {
    Message {
        result: Some(to_raw(&serde_json::json!({}))),
        ..Message::default()
    }
}

/// `resources/subscribe`: subscribes upstream only for the first subscriber.
pub(super) async fn subscribe(
    gw: &Gateway,
    session: &Arc<Session>,
    msg: Message,
) -> Result<Message, GatewayError> {
    let uri = uri_of(&msg)?;
    subscribe_uri(gw, &gw.view(session), session.id(), &uri, &msg).await
}

/// The URIs subscribed at one upstream.
fn uris_at(gw: &Gateway, server: &str) -> Vec<String> {
    let subs = subscriptions(gw);
    let mut uris: Vec<String> = subs
        .upstream
        .iter()
        .filter(|(_, s)| *s == server)
        .map(|(u, _)| u.clone())
        .collect();
    uris.sort();
    uris
}

/// A stateless upstream hears about subscriptions through the gateway's listen stream.
async fn renew_listen(gw: &Gateway, server: &str) -> Result<(), GatewayError> {
    if let Some(h) = gw.upstream(server).filter(|h| h.is_stateless()) {
        h.set_resource_subscriptions(uris_at(gw, server)).await?;
    }
    Ok(())
}

/// Subscribes `subscriber` (a session or a listen stream) to `uri`.
pub(super) async fn subscribe_uri(
    gw: &Gateway,
    view: &super::View,
    subscriber: &str,
    uri: &str,
    msg: &Message,
) -> Result<Message, GatewayError> {
    {
        let mut subs = subscriptions(gw);
        if subs.upstream.contains_key(uri) {
            subs.add(uri, subscriber, None);
            return Ok(empty_result());
        }
    }
    // A stateless upstream has no resources/subscribe: its owner learns through listen.
    if let Some(owner) = catalog::resource_targets(gw, view, uri)
        .into_iter()
        .next()
        .filter(|h| h.is_stateless())
    {
        subscriptions(gw).add(uri, subscriber, Some(owner.name().to_owned()));
        renew_listen(gw, owner.name()).await?;
        return Ok(empty_result());
    }
    let (server, resp) = catalog::by_uri(gw, view, uri, msg).await?;
    if resp.error.is_none() {
        subscriptions(gw).add(uri, subscriber, Some(server));
    }
    Ok(resp)
}

/// `resources/unsubscribe`: unsubscribes upstream once nobody is left.
pub(super) async fn unsubscribe(
    gw: &Gateway,
    session: &Arc<Session>,
    msg: Message,
) -> Result<Message, GatewayError> {
    let uri = uri_of(&msg)?;
    let release = {
        let mut subs = subscriptions(gw);
        let now_empty = match subs.by_uri.get_mut(&uri) {
            Some(ids) => {
                ids.remove(session.id());
                ids.is_empty()
            }
            None => true,
        };
        if now_empty {
            subs.by_uri.remove(&uri);
            subs.upstream.remove(&uri)
        } else {
            return Ok(empty_result());
        }
    };
    match release.and_then(|server| gw.upstream(&server)) {
        Some(h) if h.is_stateless() => {
            renew_listen(gw, h.name()).await?;
            Ok(empty_result())
        }
        Some(h) => Ok(h
            .request("resources/unsubscribe", msg.params.clone())
            .await?),
        // Never subscribed through the gateway: let the owner answer.
        None => Ok(catalog::by_uri(gw, &gw.view(session), &uri, &msg).await?.1),
    }
}

/// Drops an ended session's subscriptions; unsubscribes upstream where it was the last.
pub(super) fn release_session(gw: &Gateway, id: &str) {
    let released: Vec<(String, String)> = {
        let mut subs = subscriptions(gw);
        let mut gone = Vec::new();
        subs.by_uri.retain(|uri, ids| {
            ids.remove(id);
            if ids.is_empty() {
                gone.push(uri.clone());
            }
            !ids.is_empty()
        });
        gone.into_iter()
            .filter_map(|uri| subs.upstream.remove(&uri).map(|server| (uri, server)))
            .collect()
    };
    for (uri, server) in released {
        let Some(h) = gw.upstream(&server) else {
            continue;
        };
        if h.is_stateless() {
            let g = gw.clone();
            gw.inner.life.tasks.spawn(async move {
                if let Err(e) = renew_listen(&g, &server).await {
                    tracing::debug!(
                        server,
                        "renewing the listen stream after the last subscriber of {uri} left: {e}"
                    );
                }
            });
            continue;
        }
        gw.inner.life.tasks.spawn(async move {
            if let Err(e) = h
                .request(
                    "resources/unsubscribe",
                    Some(to_raw(&serde_json::json!({ "uri": uri }))),
                )
                .await
            {
                tracing::debug!(
                    server = h.name(),
                    "resources/unsubscribe after the last subscriber left: {e}"
                );
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_resources_reach_subscribers_of_their_parent() {
        let mut s = Subscriptions::default();
        s.by_uri
            .entry("file:///a/".into())
            .or_default()
            .insert("s1".into());
        s.by_uri
            .entry("file:///a/b".into())
            .or_default()
            .insert("s2".into());
        s.by_uri
            .entry("file:///ab".into())
            .or_default()
            .insert("s3".into());
        let mut got: Vec<_> = s.subscribers_of("file:///a/b").into_iter().collect();
        got.sort();
        assert_eq!(got, ["s1", "s2"]);
        assert!(s.subscribers_of("file:///a").is_empty());
    }
}
