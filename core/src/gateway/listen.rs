//! `subscriptions/listen` (2026-07-28): the stateless era's way to hear about
//! changes. The stream starts with `notifications/subscriptions/acknowledged`
//! naming the notification types the gateway will honour (only those it can
//! deliver: tools list changes always, prompt and resource list changes and
//! resource updates when an upstream offers them), then carries only those
//! types, each tagged with `_meta["io.modelcontextprotocol/subscriptionId"]`
//! (the listen request's id). Resource URIs are subscribed upstream with the
//! same counting as `resources/subscribe` (see `subscriptions.rs`); they are
//! released when the stream closes. The open streams and how a
//! notification reaches them are `listeners.rs`.

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::listeners::{tagged, Entry, Filter, QUEUE};
use super::{router, subscriptions, Gateway};
use crate::protocol::modern::{self, RoutingHeaders};
use crate::protocol::{raw, to_raw, Message};

/// An open listen stream. Dropping it ends the subscription.
pub struct Listener {
    first: Option<Message>,
    rx: mpsc::Receiver<Message>,
    gw: Gateway,
    key: String,
}

impl Listener {
    /// The next notification; `None` when the gateway shuts down.
    pub async fn next(&mut self) -> Option<Message> {
        if let Some(m) = self.first.take() {
            return Some(m);
        }
        tokio::select! {
            () = self.gw.inner.life.cancel.cancelled() => None,
            m = self.rx.recv() => m,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.gw.inner.clients.listeners.lock().remove(&self.key);
        subscriptions::release_session(&self.gw, &self.key);
    }
}

fn honoured(gw: &Gateway, asked: &Value) -> Filter {
    let (caps, _) = router::server_capabilities(gw, &super::View::All);
    let flag = |k: &str| asked.get(k).and_then(Value::as_bool).unwrap_or(false);
    let uris: Vec<String> = asked
        .get("resourceSubscriptions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|u| u.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Filter {
        tools: flag("toolsListChanged"),
        prompts: flag("promptsListChanged") && caps.get("prompts").is_some(),
        resources: flag("resourcesListChanged") && caps.get("resources").is_some(),
        uris: if caps
            .pointer("/resources/subscribe")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            uris
        } else {
            Vec::new()
        },
    }
}

fn filter_json(f: &Filter) -> Value {
    let mut out = Map::new();
    if f.tools {
        out.insert("toolsListChanged".into(), json!(true));
    }
    if f.prompts {
        out.insert("promptsListChanged".into(), json!(true));
    }
    if f.resources {
        out.insert("resourcesListChanged".into(), json!(true));
    }
    if !f.uris.is_empty() {
        out.insert("resourceSubscriptions".into(), json!(f.uris));
    }
    Value::Object(out)
}

impl Gateway {
    /// Opens a `subscriptions/listen` stream, or answers why not.
    pub async fn listen(
        &self,
        msg: Message,
        headers: Option<&RoutingHeaders>,
    ) -> Result<Listener, Message> {
        let id = msg.id.clone().unwrap_or_else(|| raw("null"));
        let params: Value = msg.params_as().ok().flatten().unwrap_or(Value::Null);
        if let Err(r) = modern::classify(msg.method(), Some(&params), headers) {
            return Err(Message::error_response(id, r.code, &r.message, r.data));
        }
        let filter = honoured(self, params.get("notifications").unwrap_or(&Value::Null));
        let key = format!("listen-{}", uuid::Uuid::new_v4().simple());
        for uri in &filter.uris {
            let sub = Message::request(
                raw("null"),
                "resources/subscribe",
                Some(to_raw(&json!({ "uri": uri }))),
            );
            if let Err(e) =
                subscriptions::subscribe_uri(self, &super::View::All, &key, uri, &sub).await
            {
                tracing::debug!("listen: subscribing to {uri} failed: {e}");
            }
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let ack = tagged(
            "notifications/subscriptions/acknowledged",
            Some(&json!({ "notifications": filter_json(&filter) })),
            &id,
        );
        self.inner
            .clients
            .listeners
            .lock()
            .insert(key.clone(), Entry { id, filter, tx });
        Ok(Listener {
            first: Some(ack),
            rx,
            gw: self.clone(),
            key,
        })
    }
}
