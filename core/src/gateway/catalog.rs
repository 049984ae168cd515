//! Resources, resource templates and prompts of every upstream, merged.
//!
//! Rules (see also `docs/PROTOCOL.md`):
//! - Lists are paginated across upstreams with opaque cursors: a cursor names
//!   the upstream to continue with and that upstream's own cursor.
//! - Prompt names get the same `<server><separator><prompt>` rule as tools.
//! - Resource URIs pass through unchanged. A read, subscribe or completion
//!   for a URI goes to the upstream that listed it (the first in config order
//!   if several did); a URI nobody listed goes to the upstream with the
//!   longest matching resource-template prefix, else to each upstream that
//!   offers resources in config order until one answers without an error.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::items::Shown;
use super::{Gateway, GatewayError, View};
use crate::protocol::{to_raw, Message, NameMap};
use crate::trust::ItemKind;
use crate::upstream::{UpstreamHandle, UpstreamState};

/// What the gateway learned from lists, to route later requests.
#[derive(Default)]
pub(crate) struct Catalog {
    resource_owner: HashMap<String, String>,
    template_prefixes: Vec<(String, String)>,
    prompts: HashMap<String, (String, String)>,
}

/// Which list and where its items are.
#[derive(Clone, Copy)]
pub(super) struct ListKind {
    pub(super) method: &'static str,
    pub(super) key: &'static str,
    pub(super) capability: &'static str,
}

pub(super) const RESOURCES: ListKind = ListKind {
    method: "resources/list",
    key: "resources",
    capability: "resources",
};
pub(super) const TEMPLATES: ListKind = ListKind {
    method: "resources/templates/list",
    key: "resourceTemplates",
    capability: "resources",
};
pub(super) const PROMPTS: ListKind = ListKind {
    method: "prompts/list",
    key: "prompts",
    capability: "prompts",
};

impl ListKind {
    /// The kind of item the list holds.
    fn item_kind(self) -> ItemKind {
        match self.key {
            "resources" => ItemKind::Resource,
            "resourceTemplates" => ItemKind::ResourceTemplate,
            _ => ItemKind::Prompt,
        }
    }
}

/// A resource in the list's shape only: its URI (as its name too) and type,
/// none of the text its server wrote about it.
fn shape(resource: &Value) -> IndexMap<String, Box<RawValue>> {
    let mut out = IndexMap::new();
    if let Some(uri) = resource.get("uri") {
        out.insert("uri".to_owned(), to_raw(uri));
        out.insert("name".to_owned(), to_raw(uri));
    }
    if let Some(m) = resource.get("mimeType") {
        out.insert("mimeType".to_owned(), to_raw(m));
    }
    out
}

fn capable(gw: &Gateway, view: &View, capability: &str) -> Vec<UpstreamHandle> {
    gw.upstream_handles()
        .into_iter()
        .filter(|h| {
            view.server(h.name())
                && h.status().state == UpstreamState::Ready
                && h.info().capabilities.get(capability).is_some()
        })
        .collect()
}

fn encode_cursor(server: &str, cursor: Option<&str>) -> String {
    let text = json!({ "s": server, "c": cursor }).to_string();
    let hex: String = text.bytes().map(|b| format!("{b:02x}")).collect();
    format!("pc1.{hex}")
}

fn decode_cursor(cursor: &str) -> Option<(String, Option<String>)> {
    let hex = cursor.strip_prefix("pc1.")?;
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    let v: Value = serde_json::from_slice(&bytes?).ok()?;
    Some((
        v.get("s")?.as_str()?.to_owned(),
        v.get("c").and_then(Value::as_str).map(str::to_owned),
    ))
}

/// One merged page of a list.
pub(super) async fn list(
    gw: &Gateway,
    view: &View,
    kind: ListKind,
    msg: &Message,
) -> Result<Box<RawValue>, GatewayError> {
    let params: IndexMap<String, Box<RawValue>> =
        msg.params_as().ok().flatten().unwrap_or_default();
    let upstreams = capable(gw, view, kind.capability);
    let (mut index, mut cursor) = match params
        .get("cursor")
        .and_then(|c| serde_json::from_str::<String>(c.get()).ok())
    {
        None => (0, None),
        Some(c) => {
            let (server, inner) = decode_cursor(&c).ok_or_else(|| {
                GatewayError::InvalidParams(format!(
                    "invalid cursor `{c}`: pass the nextCursor of the previous page"
                ))
            })?;
            let i = upstreams.iter().position(|h| h.name() == server).ok_or_else(|| GatewayError::InvalidParams(format!("the cursor names server `{server}`, which is gone; list again from the start")))?;
            (i, inner)
        }
    };
    let settings = gw.settings();
    let mut items: Vec<Box<RawValue>> = Vec::new();
    while let Some(h) = upstreams.get(index) {
        let mut p = params.clone();
        match &cursor {
            Some(c) => p.insert("cursor".into(), to_raw(c)),
            None => p.shift_remove("cursor"),
        };
        let answer = h.request(kind.method, Some(to_raw(&p))).await;
        let (page_items, next) = match answer {
            Ok(resp) if resp.error.is_none() => read_page(&resp, kind.key),
            Ok(resp) => {
                tracing::warn!(
                    server = h.name(),
                    "{} failed: {}",
                    kind.method,
                    resp.error.as_ref().map_or("", |e| e.get())
                );
                (Vec::new(), None)
            }
            Err(e) => {
                tracing::warn!(server = h.name(), "{} failed: {e}", kind.method);
                (Vec::new(), None)
            }
        };
        // Only what a person approved reaches the client (see `items.rs`).
        let item_kind = kind.item_kind();
        let mut held = Vec::new();
        for item in page_items {
            let value: Value = serde_json::to_value(&item).unwrap_or(Value::Null);
            let item = match gw.shown(h.name(), item_kind, &value) {
                Shown::Whole => item,
                Shown::Shape => shape(&value),
                Shown::Hidden => {
                    held.push(value);
                    continue;
                }
            };
            items.push(adopt(
                gw,
                h.name(),
                kind,
                item,
                &settings.separator,
                settings.prefix,
            ));
        }
        gw.see_items(h.name(), item_kind, held);
        match next {
            Some(n) => {
                cursor = Some(n);
                if !items.is_empty() {
                    return Ok(page(
                        kind.key,
                        items,
                        Some(encode_cursor(h.name(), cursor.as_deref())),
                    ));
                }
            }
            None => {
                index += 1;
                cursor = None;
                if !items.is_empty() {
                    return Ok(page(
                        kind.key,
                        items,
                        upstreams
                            .get(index)
                            .map(|next| encode_cursor(next.name(), None)),
                    ));
                }
            }
        }
    }
    Ok(page(kind.key, items, None))
}

/// A list result whose items stay byte for byte as the upstreams sent them.
pub(super) fn page(key: &str, items: Vec<Box<RawValue>>, next: Option<String>) -> Box<RawValue> {
    let mut out: IndexMap<&str, Box<RawValue>> = IndexMap::new();
    out.insert(key, to_raw(&items));
    if let Some(n) = next {
        out.insert("nextCursor", to_raw(&n));
    }
    to_raw(&out)
}

fn read_page(resp: &Message, key: &str) -> (Vec<IndexMap<String, Box<RawValue>>>, Option<String>) {
    let Some(result) = resp.result.as_deref() else {
        return (Vec::new(), None);
    };
    let Ok(fields) = serde_json::from_str::<IndexMap<String, Box<RawValue>>>(result.get()) else {
        return (Vec::new(), None);
    };
    let items = fields
        .get(key)
        .and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or_default();
    let next = fields
        .get("nextCursor")
        .and_then(|c| serde_json::from_str::<String>(c.get()).ok());
    (items, next)
}

/// Records where an item came from and renames prompts.
fn adopt(
    gw: &Gateway,
    server: &str,
    kind: ListKind,
    mut item: IndexMap<String, Box<RawValue>>,
    sep: &str,
    prefix: bool,
) -> Box<RawValue> {
    let text = |k: &str| {
        item.get(k)
            .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
    };
    let mut catalog = gw.inner.upstreams.catalog.lock();
    match kind.key {
        "resources" => {
            if let Some(uri) = text("uri") {
                catalog
                    .resource_owner
                    .entry(uri)
                    .or_insert_with(|| server.to_owned());
            }
        }
        "resourceTemplates" => {
            if let Some(t) = text("uriTemplate") {
                let prefix = t.split('{').next().unwrap_or("").to_owned();
                if !catalog
                    .template_prefixes
                    .iter()
                    .any(|(p, s)| *p == prefix && s == server)
                {
                    catalog.template_prefixes.push((prefix, server.to_owned()));
                }
            }
        }
        _ => {
            if let Some(name) = text("name") {
                let map = NameMap::build([(server, name.as_str())], sep, prefix);
                if let Some(down) = map.downstream(server, &name) {
                    catalog
                        .prompts
                        .insert(down.to_owned(), (server.to_owned(), name.clone()));
                    item.insert("name".into(), to_raw(down));
                }
            }
        }
    }
    to_raw(&item)
}

/// The upstreams `view` shows that should get a request about `uri`, in
/// order of preference.
pub(super) fn resource_targets(gw: &Gateway, view: &View, uri: &str) -> Vec<UpstreamHandle> {
    match resource_owner(gw, uri).and_then(|o| gw.upstream(&o)) {
        Some(h) if view.server(h.name()) => vec![h],
        Some(_) => Vec::new(),
        None => capable(gw, view, "resources"),
    }
}

/// The server that lists `uri`, or offers the template with the longest
/// prefix of it, approved or not.
fn resource_owner(gw: &Gateway, uri: &str) -> Option<String> {
    let catalog = gw.inner.upstreams.catalog.lock();
    catalog.resource_owner.get(uri).cloned().or_else(|| {
        catalog
            .template_prefixes
            .iter()
            .filter(|(p, _)| !p.is_empty() && uri.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, s)| s.clone())
    })
}

/// Where a downstream prompt name leads, if `view` shows its server.
pub(super) fn resolve_prompt(gw: &Gateway, view: &View, name: &str) -> Option<(String, String)> {
    resolve_any_prompt(gw, name).filter(|(server, _)| view.server(server))
}

fn resolve_any_prompt(gw: &Gateway, name: &str) -> Option<(String, String)> {
    if let Some(found) = gw.inner.upstreams.catalog.lock().prompts.get(name).cloned() {
        return Some(found);
    }
    let settings = gw.settings();
    if !settings.prefix {
        return gw
            .upstream_handles()
            .first()
            .map(|h| (h.name().to_owned(), name.to_owned()));
    }
    let (server, prompt) = name.split_once(settings.separator.as_str())?;
    gw.upstream(server)
        .map(|_| (server.to_owned(), prompt.to_owned()))
}

/// The refusal for a URI no approved resource or template covers.
/// The refusal for a URI agents may not use: held when a server lists it or
/// offers a template for it (naming that server, nothing of its text), else
/// not found (SEP-2164: -32602 with the URI in `data`), since no server
/// offers it at all.
pub(super) fn uri_held(gw: &Gateway, view: &View, uri: &str) -> GatewayError {
    let owner = resource_owner(gw, uri).or_else(|| gw.uri_known_by(uri));
    match owner.filter(|o| view.server(o)) {
        Some(owner) => gw.item_held(&format!("resource `{uri}`"), &owner),
        None => GatewayError::ResourceNotFound {
            uri: uri.to_owned(),
        },
    }
}

/// Sends a request about a resource URI, trying the candidates in order.
pub(super) async fn by_uri(
    gw: &Gateway,
    view: &View,
    uri: &str,
    msg: &Message,
) -> Result<(String, Message), GatewayError> {
    let targets: Vec<UpstreamHandle> = resource_targets(gw, view, uri)
        .into_iter()
        .filter(|h| gw.uri_allowed(h.name(), uri))
        .collect();
    if targets.is_empty() {
        return Err(uri_held(gw, view, uri));
    }
    let mut last = None;
    for h in &targets {
        match h.request(msg.method(), msg.params.clone()).await {
            Ok(resp) if resp.error.is_none() || targets.len() == 1 => {
                return Ok((h.name().to_owned(), resp))
            }
            Ok(resp) => last = Some(Ok(resp)),
            Err(e) => last = Some(Err(e)),
        }
    }
    match last {
        Some(Ok(resp)) => Ok((String::new(), resp)),
        Some(Err(e)) => Err(e.into()),
        None => Err(GatewayError::MethodNotFound {
            method: msg.method().to_owned(),
            why: "no upstream offers resources".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_roundtrip_and_reject_garbage() {
        let c = encode_cursor("every thing", Some("abc\"1"));
        assert_eq!(
            decode_cursor(&c),
            Some(("every thing".into(), Some("abc\"1".into())))
        );
        assert_eq!(
            decode_cursor(&encode_cursor("s", None)),
            Some(("s".into(), None))
        );
        assert_eq!(decode_cursor("pc1.zz"), None);
        assert_eq!(decode_cursor("nope"), None);
    }
}
