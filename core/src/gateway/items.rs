//! Holding everything else a server says to the model: its instructions,
//! prompts, resources and resource templates (see `trust::ItemKind`).
//!
//! Rules (README, "What is held"):
//! - The gateway reads a server's items when it becomes ready and whenever
//!   it says its prompts or resources changed, and records them in the
//!   store; new and changed ones wait for a person, with findings.
//! - Agents see an item only while its server is trusted and a person
//!   approved exactly its current definition: instructions are left out of
//!   `initialize`, prompts and templates out of their lists, and
//!   `prompts/get` of a held prompt is refused without a word of its text.
//! - Resources, whose lists can be long and change often: a listed
//!   resource a person approved is shown as it is; one whose URI a
//!   approved resource template of the same server produces is shown in
//!   the list's shape only (its `uri` as its name, its `mimeType`; none of
//!   the server's name, title or description for it) and may be read; any
//!   other is neither listed nor read. So approving a template approves the
//!   URIs it produces, not the text that comes with each.
//! - Completions are answered only for an approved prompt or template.

use std::collections::HashMap;

use serde_json::Value;

use super::{Gateway, GatewayError, GatewayEvent};
use crate::protocol::Message;
use crate::store::{ItemStatus, PendingItem};
use crate::trust::{template_matches, Actor, HighFindings, ItemKind, ReviewedItem, ToolState};
use crate::upstream::UpstreamState;

/// Most items of one kind read from a server when it becomes ready.
const MAX_ITEMS: usize = 5000;
/// Most pages read for one list.
const MAX_PAGES: usize = 50;

/// What the store decided about a server's items, cached for the hot path.
#[derive(Default, Clone)]
pub(crate) struct ItemView {
    items: HashMap<(ItemKind, String), (ToolState, Option<String>)>,
}

impl ItemView {
    pub(crate) fn from_store(infos: Vec<crate::store::ItemInfo>) -> Self {
        ItemView {
            items: infos
                .into_iter()
                .map(|i| ((i.kind, i.name), (i.state, i.approved_hash)))
                .collect(),
        }
    }

    /// Whether a person approved exactly this definition.
    pub(crate) fn approved_hash(&self, kind: ItemKind, key: &str, hash: &str) -> bool {
        matches!(self.items.get(&(kind, key.to_owned())), Some((ToolState::Approved, Some(h))) if h == hash)
    }

    /// Whether the item's latest definition is the approved one.
    pub(crate) fn approved(&self, kind: ItemKind, key: &str) -> bool {
        matches!(
            self.items.get(&(kind, key.to_owned())),
            Some((ToolState::Approved, _))
        )
    }

    /// Whether the server lists `uri` or a template that produces it, in
    /// any state: what a refusal may call held rather than unknown.
    fn knows_uri(&self, uri: &str) -> bool {
        self.items.keys().any(|(kind, key)| match kind {
            ItemKind::Resource => key == uri,
            ItemKind::ResourceTemplate => template_matches(key, uri),
            _ => false,
        })
    }

    fn templates(&self) -> impl Iterator<Item = &str> {
        self.items.iter().filter_map(|((kind, key), (state, _))| {
            (*kind == ItemKind::ResourceTemplate && *state == ToolState::Approved)
                .then_some(key.as_str())
        })
    }
}

/// How an item of a server may reach agents.
pub(super) enum Shown {
    /// As the server sent it.
    Whole,
    /// A resource in the list's shape only (`uri`, `name` = uri, `mimeType`).
    Shape,
    /// Not at all.
    Hidden,
}

impl Gateway {
    fn item_view(&self, server: &str) -> Option<ItemView> {
        let view = self.inner.trust.read();
        if !view.server_trusted(server) {
            return None;
        }
        Some(view.items(server))
    }

    /// How `item` (of `kind`, listed by `server`) may be shown to agents.
    pub(super) fn shown(&self, server: &str, kind: ItemKind, item: &Value) -> Shown {
        let Some(view) = self.item_view(server) else {
            return Shown::Hidden;
        };
        let Some(key) = kind.key(item) else {
            return Shown::Hidden;
        };
        if view.approved_hash(kind, &key, &kind.hash(item)) {
            return Shown::Whole;
        }
        if kind == ItemKind::Resource && view.templates().any(|t| template_matches(t, &key)) {
            return Shown::Shape;
        }
        Shown::Hidden
    }

    /// The server's instructions, if a person approved exactly them.
    pub(super) fn approved_instructions(&self, server: &str, text: &str) -> bool {
        let value = Value::String(text.to_owned());
        matches!(
            self.shown(server, ItemKind::Instructions, &value),
            Shown::Whole
        )
    }

    /// Whether agents may use the prompt `name` of `server`.
    pub(super) fn prompt_allowed(&self, server: &str, name: &str) -> bool {
        self.item_view(server)
            .is_some_and(|v| v.approved(ItemKind::Prompt, name))
    }

    /// Whether agents may read (or subscribe to, or complete) `uri` at `server`.
    pub(super) fn uri_allowed(&self, server: &str, uri: &str) -> bool {
        self.item_view(server).is_some_and(|v| {
            v.approved(ItemKind::Resource, uri)
                || v.approved(ItemKind::ResourceTemplate, uri)
                || v.templates().any(|t| template_matches(t, uri))
        })
    }

    /// The server whose recorded items (approved or held) include `uri` or
    /// a template that produces it.
    pub(super) fn uri_known_by(&self, uri: &str) -> Option<String> {
        let view = self.inner.trust.read();
        self.upstream_handles()
            .into_iter()
            .map(|h| h.name().to_owned())
            .find(|server| view.items(server).knows_uri(uri))
    }

    /// The refusal for an item no person approved: it names what the agent
    /// asked for and the server, nothing of the item's text.
    pub(super) fn item_held(&self, what: &str, server: &str) -> GatewayError {
        GatewayError::NotCallable {
            message: format!("{what} of server `{server}` is waiting for a person's approval; nothing of it is shown or used until then (a person can review it with `portcullis tools pending` or in the Portcullis window)"),
        }
    }

    /// Reads a server's instructions, prompts, resources and templates and
    /// records them; tells people about new and changed ones.
    pub(crate) async fn observe_items(&self, server: &str) {
        let Some(h) = self.upstream(server) else {
            return;
        };
        if h.status().state != UpstreamState::Ready {
            return;
        }
        let info = h.info();
        let mut lists: Vec<(ItemKind, Vec<Value>, bool)> = Vec::new();
        let instructions: Vec<Value> = info
            .instructions
            .clone()
            .map(Value::String)
            .into_iter()
            .collect();
        lists.push((ItemKind::Instructions, instructions, true));
        let caps = &info.capabilities;
        for (kind, capability, method, key) in [
            (ItemKind::Prompt, "prompts", "prompts/list", "prompts"),
            (
                ItemKind::Resource,
                "resources",
                "resources/list",
                "resources",
            ),
            (
                ItemKind::ResourceTemplate,
                "resources",
                "resources/templates/list",
                "resourceTemplates",
            ),
        ] {
            if caps.get(capability).is_none() {
                continue;
            }
            let (items, complete) = read_all(&h, method, key).await;
            lists.push((kind, items, complete));
        }
        let store = self.inner.store.clone();
        let name = server.to_owned();
        let statuses = tokio::task::spawn_blocking(move || {
            let mut out: Vec<ItemStatus> = Vec::new();
            for (kind, items, complete) in lists {
                match store.observe_items(&name, kind, &items, complete) {
                    Ok(s) => out.extend(s),
                    Err(e) => {
                        tracing::error!(server = name, "recording its {kind} items failed: {e}");
                    }
                }
            }
            out
        })
        .await
        .unwrap_or_default();
        self.refresh_trust(server);
        self.inner
            .upstreams
            .items_read
            .lock()
            .insert(server.to_owned(), h.status().restarts);
        self.announce_items(server, &statuses);
    }

    /// Records items seen in a list a client asked for (only those not
    /// known as they are), so a person gets to see them.
    pub(super) fn see_items(&self, server: &str, kind: ItemKind, items: Vec<Value>) {
        if items.is_empty() {
            return;
        }
        let g = self.clone();
        let name = server.to_owned();
        self.inner.life.tasks.spawn(async move {
            let store = g.inner.store.clone();
            let n = name.clone();
            let statuses = tokio::task::spawn_blocking(move || {
                store
                    .observe_items(&n, kind, &items, false)
                    .unwrap_or_default()
            })
            .await
            .unwrap_or_default();
            g.refresh_trust(&name);
            g.announce_items(&name, &statuses);
        });
    }

    fn announce_items(&self, server: &str, statuses: &[ItemStatus]) {
        let waiting: Vec<String> = statuses
            .iter()
            .filter(|s| {
                matches!(s.state, ToolState::Pending | ToolState::Changed)
                    && (s.previous != Some(s.state) || s.definition_changed)
            })
            .map(|s| format!("{}:{}", s.kind, s.name))
            .collect();
        if !waiting.is_empty() {
            self.emit(GatewayEvent::ItemsPending {
                server: server.to_owned(),
                items: waiting,
            });
        }
    }

    /// Everything but tools that waits for a person, with findings.
    pub fn pending_items(&self) -> Result<Vec<PendingItem>, GatewayError> {
        self.inner
            .store
            .pending_items()
            .map_err(|error| GatewayError::Store { error })
    }

    /// Approves item definitions a person reviewed; refused, approving
    /// nothing, if any of them changed since (the error names them; the
    /// pending list shows them as they are now), or if any has a
    /// high-severity finding the person did not confirm (`confirm`).
    pub async fn approve_items(
        &self,
        server: &str,
        reviewed: &[ReviewedItem],
        confirm: HighFindings,
        actor: Actor,
    ) -> Result<Vec<ItemStatus>, GatewayError> {
        if self.upstream(server).is_none() {
            return Err(GatewayError::UnknownServer {
                name: server.to_owned(),
            });
        }
        self.observe_items(server).await;
        let result = self
            .inner
            .store
            .approve_items(server, reviewed, confirm, actor);
        self.after_item_decision(server);
        result.map_err(|error| match error {
            crate::store::StoreError::ChangedSinceShown { server, changed } => {
                GatewayError::ChangedSinceShown {
                    server,
                    tools: changed.into_iter().map(|c| c.name).collect(),
                    current: Vec::new(),
                }
            }
            error => GatewayError::Store { error },
        })
    }

    /// Blocks items of a server.
    pub async fn block_items(
        &self,
        server: &str,
        items: &[(ItemKind, String)],
        actor: Actor,
    ) -> Result<Vec<ItemStatus>, GatewayError> {
        if self.upstream(server).is_none() {
            return Err(GatewayError::UnknownServer {
                name: server.to_owned(),
            });
        }
        let result = self.inner.store.block_items(server, items, actor);
        self.after_item_decision(server);
        result.map_err(|error| GatewayError::Store { error })
    }

    /// Clients refetch what they may see now.
    fn after_item_decision(&self, server: &str) {
        self.refresh_trust(server);
        for method in [
            "notifications/prompts/list_changed",
            "notifications/resources/list_changed",
        ] {
            let msg = Message::notification(method, None);
            for s in super::events::sessions(self) {
                s.push(msg.clone(), None);
            }
            super::listeners::notify(self, &msg, None);
        }
    }
}

/// Every page of a list (up to the limits), and whether it was read whole.
async fn read_all(
    h: &crate::upstream::UpstreamHandle,
    method: &str,
    key: &str,
) -> (Vec<Value>, bool) {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let params = match &cursor {
            Some(c) => serde_json::json!({ "cursor": c }),
            None => serde_json::json!({}),
        };
        let resp = match h
            .request(method, Some(crate::protocol::to_raw(&params)))
            .await
        {
            Ok(r) if r.error.is_none() => r,
            _ => return (items, false),
        };
        let result: Value = resp
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r.get()).ok())
            .unwrap_or(Value::Null);
        if let Some(list) = result.get(key).and_then(Value::as_array) {
            items.extend(list.iter().cloned());
        }
        if items.len() >= MAX_ITEMS {
            items.truncate(MAX_ITEMS);
            return (items, false);
        }
        match result.get("nextCursor").and_then(Value::as_str) {
            Some(c) => cursor = Some(c.to_owned()),
            None => return (items, true),
        }
    }
    (items, false)
}
