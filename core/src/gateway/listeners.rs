//! The open `subscriptions/listen` streams (the stateless era's way to hear
//! about changes) and the one way a change notification reaches them:
//! [`notify`], tagged with the stream's subscription id. Opening a stream
//! is `listen.rs`.

use std::collections::{HashMap, HashSet};

use serde_json::value::RawValue;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::Gateway;
use crate::protocol::modern;
use crate::protocol::{to_raw, Message};

/// How many notifications wait for a slow listener before new ones are dropped.
pub(super) const QUEUE: usize = 256;

/// What one listen stream asked for, as honoured.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Filter {
    pub(super) tools: bool,
    pub(super) prompts: bool,
    pub(super) resources: bool,
    pub(super) uris: Vec<String>,
}

pub(crate) struct Entry {
    pub(super) id: Box<RawValue>,
    pub(super) filter: Filter,
    pub(super) tx: mpsc::Sender<Message>,
}

/// Open listen streams, by an internal key.
pub(crate) type Listeners = HashMap<String, Entry>;

pub(super) fn tagged(method: &str, params: Option<&Value>, id: &RawValue) -> Message {
    let mut p = params
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let meta = p.entry("_meta").or_insert_with(|| json!({}));
    if let Some(m) = meta.as_object_mut() {
        m.insert(
            modern::META_SUBSCRIPTION_ID.into(),
            serde_json::from_str(id.get()).unwrap_or(Value::Null),
        );
    }
    Message::notification(method, Some(to_raw(&p)))
}

/// Delivers a change notification to the listen streams that asked for it.
pub(super) fn notify(gw: &Gateway, msg: &Message, subscribers: Option<&HashSet<String>>) {
    let params: Option<Value> = msg.params_as().ok().flatten();
    let listeners = gw.inner.clients.listeners.lock();
    for (key, entry) in listeners.iter() {
        let wanted = match msg.method() {
            "notifications/tools/list_changed" => entry.filter.tools,
            "notifications/prompts/list_changed" => entry.filter.prompts,
            "notifications/resources/list_changed" => entry.filter.resources,
            "notifications/resources/updated" => subscribers.is_some_and(|s| s.contains(key)),
            _ => false,
        };
        if wanted
            && entry
                .tx
                .try_send(tagged(msg.method(), params.as_ref(), &entry.id))
                .is_err()
        {
            tracing::warn!("a subscriptions/listen stream is behind; a notification was dropped");
        }
    }
}
