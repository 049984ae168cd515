//! Handles one client message: the MCP methods the gateway answers itself
//! (initialize, ping, tools/list), the ones it routes (tools/call), and
//! passthrough of everything else.

use std::sync::Arc;

use indexmap::IndexMap;
use opentelemetry::KeyValue;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::session::{Era, InflightGuard};
use super::{
    arguments, catalog, eras, logging, subscriptions, surface, Gateway, GatewayError, Session, View,
};
use crate::config::SurfaceMode;
use crate::protocol::{negotiate, raw, to_raw, Kind, Message};
use crate::telemetry::CallSpan;
use crate::trust::Callability;
use crate::upstream::UpstreamState;

/// Tools per `tools/list` page.
const PAGE_SIZE: usize = 500;
/// How long `initialize` and the first lists wait for upstreams that are
/// still starting, so a client that connects right after `serve` sees their
/// capabilities and tools (later changes reach it as `list_changed`).
const STARTUP_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// Where a caller whose arguments do not match finds the schema, by surface.
const DIRECT_HINT: &str = "tools/list shows the tool's input schema";
const SEARCH_HINT: &str = "describe_tool shows the schema";
const META_HINT: &str = "tools/list shows the schemas of search_tools, describe_tool and call_tool";

pub(super) async fn handle(
    gw: &Gateway,
    session: &Arc<Session>,
    msg: Message,
    related: Option<mpsc::Sender<Message>>,
) -> Option<Message> {
    session.touch();
    match msg.kind() {
        Kind::Response => {
            let waiter = msg
                .id_key()
                .and_then(|k| serde_json::from_str::<String>(k).ok())
                .and_then(|k| session.client_requests.lock().remove(&k));
            match waiter {
                Some(tx) => {
                    let _ = tx.send(msg);
                }
                None => tracing::debug!(
                    session = session.id(),
                    "a response to an unknown request {:?}",
                    msg.id_key()
                ),
            }
            None
        }
        Kind::Notification => {
            notification(gw, session, msg).await;
            None
        }
        Kind::Request => {
            let id = msg.id.clone().unwrap_or_else(|| raw("null"));
            Some(match request(gw, session, msg, related).await {
                Ok(mut resp) => {
                    resp.id = Some(id);
                    resp
                }
                Err(e) => {
                    Message::error_response(id, e.rpc_code().code(), &e.rpc_message(), e.rpc_data())
                }
            })
        }
    }
}

async fn notification(gw: &Gateway, session: &Arc<Session>, msg: Message) {
    match msg.method() {
        "notifications/initialized" => {}
        "notifications/cancelled" => {
            let Ok(Some(params)) = msg.params_as::<Value>() else {
                return;
            };
            let Some(request_id) = params.get("requestId") else {
                return;
            };
            let key = request_id.to_string();
            let found = session
                .inflight
                .lock()
                .get(&key)
                .map(|f| (f.server.clone(), f.upstream_id));
            if let Some((server, upstream_id)) = found {
                let reason = params
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("cancelled by the client");
                if let Some(h) = gw.upstream(&server) {
                    h.cancel_request(upstream_id, reason).await;
                }
            } else if let Some(waiting) = session.waiting.lock().get(&key) {
                // Not sent yet: it leaves the queue and never reaches the server.
                waiting.cancel();
            }
        }
        "notifications/roots/list_changed" => {
            for h in gw.upstream_handles() {
                let _ = h.send(msg.clone()).await;
            }
        }
        method => {
            // A notification outside MCP goes only where `passthrough` lets it.
            if let Some(h) =
                passthrough_target(gw, &gw.view(session), method).and_then(|s| gw.upstream(&s))
            {
                let _ = h.send(msg).await;
            } else {
                tracing::debug!(method, "dropping a client notification no server accepts");
            }
        }
    }
}

/// Methods a paused gateway still answers: they reach no upstream on an agent's behalf.
const ANSWERED_WHILE_PAUSED: &[&str] = &[
    "initialize",
    "server/discover",
    "ping",
    "tools/list",
    "logging/setLevel",
];

/// Refuses `method` while the person has paused the gateway.
pub(super) fn refuse_if_paused(gw: &Gateway, method: &str) -> Result<(), GatewayError> {
    if gw.is_paused() && !ANSWERED_WHILE_PAUSED.contains(&method) {
        return Err(GatewayError::Paused {
            method: method.to_owned(),
        });
    }
    Ok(())
}

pub(super) async fn request(
    gw: &Gateway,
    session: &Arc<Session>,
    msg: Message,
    related: Option<mpsc::Sender<Message>>,
) -> Result<Message, GatewayError> {
    refuse_if_paused(gw, msg.method())?;
    if matches!(
        msg.method(),
        "initialize" | "resources/list" | "resources/templates/list" | "prompts/list"
    ) {
        // Capabilities and lists are only complete once upstreams have started.
        gw.wait_for_starting(STARTUP_WAIT).await;
    }
    match msg.method() {
        "initialize" => Ok(ok(initialize(gw, session, &msg)?)),
        "ping" => Ok(ok(json!({}))),
        "tools/list" => match session.surface() {
            SurfaceMode::Search => Ok(ok(json!({ "tools": surface::search_mode_tools() }))),
            SurfaceMode::Direct => {
                gw.wait_for_starting(STARTUP_WAIT).await;
                tools_list(gw, &gw.view(session), &msg).map(ok_raw)
            }
        },
        "tools/call" => {
            let span = super::traces::call_span(gw, session, &msg);
            let result = tools_call(gw, session, msg, related, span.as_ref()).await;
            super::traces::finish(span, &result);
            result
        }
        // Everything but tools/call is boxed: an async fn is as large as its largest branch,
        // and the future of every request is allocated (and moved) whole.
        "resources/list" => {
            Box::pin(catalog::list(gw, &gw.view(session), catalog::RESOURCES, &msg))
                .await
                .map(ok_raw)
        }
        "resources/templates/list" => {
            Box::pin(catalog::list(gw, &gw.view(session), catalog::TEMPLATES, &msg))
                .await
                .map(ok_raw)
        }
        "prompts/list" => Box::pin(catalog::list(gw, &gw.view(session), catalog::PROMPTS, &msg))
            .await
            .map(ok_raw),
        "resources/read" => Box::pin(resource_read(gw, session, msg, related)).await,
        "resources/subscribe" | "resources/unsubscribe"
            if !uri_readable(gw, &gw.view(session), &msg) =>
        {
            let uri = msg
                .params_as::<Value>()
                .ok()
                .flatten()
                .and_then(|p| p.get("uri").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            Err(catalog::uri_held(gw, &gw.view(session), &uri))
        }
        "resources/subscribe" => Box::pin(subscriptions::subscribe(gw, session, msg)).await,
        "resources/unsubscribe" => Box::pin(subscriptions::unsubscribe(gw, session, msg)).await,
        "prompts/get" => {
            let (server, msg) = rename_param(gw, &gw.view(session), msg, &["name"])?;
            Box::pin(forward(gw, session, &server, msg, related)).await
        }

        "completion/complete" => Box::pin(completion(gw, session, msg, related)).await,
        "logging/setLevel" => {
            Box::pin(logging::set_level(gw, session, msg.params.as_deref())).await?;
            Ok(ok(json!({})))
        }
        method => match passthrough_target(gw, &gw.view(session), method) {
            Some(server) => Box::pin(forward(gw, session, &server, msg, related)).await,
            None => Err(GatewayError::MethodNotFound {
                method: method.to_owned(),
                why: "Portcullis passes on only the MCP methods it knows; a person can let clients send this one to a trusted server with `passthrough = [\"METHOD\"]` in its [servers.NAME] table".into(),
            }),
        },
    }
}

/// The server a method outside MCP goes to: the first (in config order)
/// ready, trusted server whose config lists it in `passthrough`. Nobody
/// else ever sees a method Portcullis does not know.
fn passthrough_target(gw: &Gateway, view: &View, method: &str) -> Option<String> {
    gw.upstream_handles()
        .into_iter()
        .filter(|h| view.server(h.name()))
        .filter(|h| h.settings().passthrough.iter().any(|m| m == method))
        .filter(|h| h.status().state == UpstreamState::Ready)
        .find(|h| gw.inner.trust.read().server_trusted(h.name()))
        .map(|h| h.name().to_owned())
}

fn ok(value: Value) -> Message {
    ok_raw(to_raw(&value))
}

fn ok_raw(result: Box<RawValue>) -> Message {
    Message {
        result: Some(result),
        ..Message::default()
    }
}

fn initialize(gw: &Gateway, session: &Arc<Session>, msg: &Message) -> Result<Value, GatewayError> {
    // The session keeps what the client says about itself for its whole life.
    let size = msg.params.as_ref().map_or(0, |p| p.get().len());
    let limit = gw.settings().limits.max_session_bytes;
    if size > limit {
        return Err(GatewayError::InvalidParams(format!("initialize: the client's parameters are {size} bytes, more than a session may keep ({limit} bytes); send smaller capabilities and clientInfo, or raise `max_session_bytes` in [limits]")));
    }
    let params: Value = msg
        .params_as()
        .map_err(|e| GatewayError::InvalidParams(format!("initialize: {e}")))?
        .unwrap_or(Value::Null);
    let version = negotiate(params.get("protocolVersion").and_then(Value::as_str));
    {
        let mut client = session.client.write();
        client.protocol_version = version.to_owned();
        client.name = params
            .pointer("/clientInfo/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        client.version = params
            .pointer("/clientInfo/version")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        client.capabilities = params.get("capabilities").cloned().unwrap_or(Value::Null);
    }
    let (capabilities, instructions) = server_capabilities(gw, &gw.view(session));
    let mut result = json!({
        "protocolVersion": version,
        "capabilities": capabilities,
        "serverInfo": { "name": "portcullis", "title": "Portcullis MCP gateway", "version": env!("CARGO_PKG_VERSION") },
    });
    if let Some(text) = instructions {
        result["instructions"] = Value::String(text);
    }
    Ok(result)
}

/// What the gateway offers, from what the upstreams `view` shows offer, and their instructions.
pub(super) fn server_capabilities(gw: &Gateway, view: &View) -> (Value, Option<String>) {
    let mut capabilities = json!({ "tools": { "listChanged": true } });
    let mut instructions = Vec::new();
    for h in gw
        .upstream_handles()
        .into_iter()
        .filter(|h| view.server(h.name()))
    {
        let info = h.info();
        let caps = &info.capabilities;
        if caps.get("logging").is_some() {
            capabilities["logging"] = json!({});
        }
        if caps.get("completions").is_some() {
            capabilities["completions"] = json!({});
        }
        if caps.get("prompts").is_some() {
            capabilities["prompts"] = json!({ "listChanged": true });
        }
        if let Some(r) = caps.get("resources") {
            let subscribe = r.get("subscribe").and_then(Value::as_bool).unwrap_or(false)
                || capabilities
                    .pointer("/resources/subscribe")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
            capabilities["resources"] = json!({ "listChanged": true, "subscribe": subscribe });
        }
        if let Some(exp) = info
            .capabilities
            .get("experimental")
            .and_then(Value::as_object)
        {
            for (k, v) in exp {
                capabilities["experimental"][k] = v.clone();
            }
        }
        // Only instructions a person approved, word for word, reach agents.
        if let Some(text) = info.instructions {
            if gw.approved_instructions(h.name(), &text) {
                instructions.push(format!("{}: {}", h.name(), text));
            }
        }
    }
    (
        capabilities,
        (!instructions.is_empty()).then(|| instructions.join("\n\n")),
    )
}

fn tools_list(gw: &Gateway, view: &View, msg: &Message) -> Result<Box<RawValue>, GatewayError> {
    let cursor = msg
        .params_as::<Value>()
        .ok()
        .flatten()
        .and_then(|p| p.get("cursor").and_then(Value::as_str).map(str::to_owned));
    let offset = match cursor {
        None => 0,
        Some(c) => c
            .strip_prefix("pc:")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                GatewayError::InvalidParams(format!(
                    "invalid cursor `{c}`: pass the nextCursor of the previous page"
                ))
            })?,
    };
    let table = gw.table();
    let (tools, next) = table.page(offset, PAGE_SIZE, |e| view.tool(&e.server, &e.tool.name));
    Ok(catalog::page(
        "tools",
        tools,
        next.map(|n| format!("pc:{n}")),
    ))
}

/// A params key, borrowed from the request's text unless it has escapes.
#[derive(PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(transparent)]
struct Key<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);

impl Key<'static> {
    const fn of(key: &'static str) -> Self {
        Key(std::borrow::Cow::Borrowed(key))
    }
}

impl std::borrow::Borrow<str> for Key<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// A `tools/call`, inside its span (`trace`) when traces are sent.
pub(super) async fn tools_call(
    gw: &Gateway,
    session: &Arc<Session>,
    msg: Message,
    related: Option<mpsc::Sender<Message>>,
    trace: Option<&CallSpan>,
) -> Result<Message, GatewayError> {
    // The params are read in place: values stay slices of the request's text, and only
    // the rewritten name (and call_tool's arguments) are new. Both outlive the map.
    let (arguments_raw, name_raw): (Box<RawValue>, Box<RawValue>);
    let params_text = msg.params.as_deref().map_or("null", RawValue::get);
    let mut params: IndexMap<Key<'_>, &RawValue> = serde_json::from_str::<Option<_>>(params_text)
        .map_err(|e| {
            GatewayError::InvalidParams(format!(
                "tools/call params must be an object with a `name`: {e}"
            ))
        })?
        .ok_or_else(|| {
            GatewayError::InvalidParams("tools/call needs params with a `name`".into())
        })?;
    let mut name: String = params
        .get("name")
        .and_then(|n| serde_json::from_str(n.get()).ok())
        .ok_or_else(|| GatewayError::InvalidParams("tools/call needs a string `name`".into()))?;
    let search = session.surface() == SurfaceMode::Search;
    let view = gw.view(session);
    if search && gw.table().resolve(&name).is_none() {
        let args = arguments::or_empty(
            params
                .get("arguments")
                .and_then(|a| serde_json::from_str(a.get()).ok()),
        );
        if let Some(schema) = surface::meta_schema(&name) {
            let schema = schema.to_string();
            if let Err(invalid) = gw
                .inner
                .upstreams
                .validators
                .check(&name, &schema, &args, META_HINT)
            {
                return Ok(ok(invalid.tool_result()));
            }
        }
        match name.as_str() {
            surface::SEARCH_TOOLS => {
                return Box::pin(surface::search_tools(gw, &view, &args))
                    .await
                    .map(ok)
            }
            surface::DESCRIBE_TOOL => return surface::describe_tool(gw, &view, &args).map(ok),
            surface::CALL_TOOL => {
                let target = args
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        GatewayError::InvalidParams(
                            "call_tool needs a string `name` from search_tools".into(),
                        )
                    })?
                    .to_owned();
                let inner = args.get("arguments").cloned().unwrap_or_else(|| json!({}));
                arguments_raw = to_raw(&inner);
                params.insert(Key::of("arguments"), &arguments_raw);
                name = target;
            }
            _ => {}
        }
    }
    let Some(target) = gw.table().resolve(&name).cloned() else {
        return held_elsewhere(gw, &view, session, &name);
    };
    // Outside the session's profile a tool does not exist.
    if !view.tool(&target.server, &target.tool) {
        return Err(GatewayError::UnknownTool { name });
    }
    if let Some(trace) = trace {
        trace.set(KeyValue::new("portcullis.server", target.server.clone()));
        trace.set(KeyValue::new("portcullis.tool", target.tool.clone()));
    }
    let started = std::time::Instant::now();
    let request_bytes = msg.params.as_ref().map_or(0, |p| p.get().len()) as u64;
    let callability = gw.callability(&target.server, &target.tool);
    let result = if callability.is_callable() {
        // Only a callable tool's schema judges (a held one is refused below, saying
        // why); a call that does not match it never leaves the gateway.
        let schema = gw.table().input_schema(&name).map(|s| s.get().to_owned());
        if let Some(schema) = schema {
            let args = arguments::or_empty(
                params
                    .get("arguments")
                    .and_then(|a| serde_json::from_str(a.get()).ok()),
            );
            let hint = if search { SEARCH_HINT } else { DIRECT_HINT };
            if let Err(invalid) = gw
                .inner
                .upstreams
                .validators
                .check(&name, &schema, &args, hint)
            {
                return Ok(ok(invalid.tool_result()));
            }
        }
        name_raw = to_raw(&target.tool);
        params.insert(Key::of("name"), &name_raw);
        let forwarded = to_raw(&params);
        drop(params);
        let msg = Message {
            params: Some(forwarded),
            ..msg
        };
        let ready = super::on_demand::before_call(
            gw,
            session,
            &target,
            &name,
            &msg,
            related.as_ref(),
            trace,
        );
        match ready.await {
            Ok(()) => {
                super::traces::to_upstream(trace, gw, &target, msg, |msg| {
                    forward(gw, session, &target.server, msg, related)
                })
                .await
            }
            Err(e) => Err(e),
        }
    } else {
        Err(GatewayError::not_callable(
            &name,
            &callability,
            &target.server,
            &target.tool,
        ))
    };
    super::activity::record_call(
        gw,
        session,
        &target.server,
        &target.tool,
        started,
        request_bytes,
        &result,
    );
    result
}

/// A name no running server lists. A tool of a blocked or pending server (its
/// server is not running, but the index knows the tool from earlier runs) is
/// refused as not callable, saying why and how a person can allow it, and
/// logged as blocked; any other name is unknown.
fn held_elsewhere(
    gw: &Gateway,
    view: &View,
    session: &Session,
    name: &str,
) -> Result<Message, GatewayError> {
    let Some((server, def)) = surface::find_doc(gw, view, name) else {
        // A server waiting for sign-in has listed nothing yet: say that, not "unknown".
        let settings = gw.settings();
        let waiting = gw.upstream_handles().into_iter().find(|h| {
            view.server(h.name())
                && h.status().state == UpstreamState::NeedsSignIn
                && (!settings.prefix
                    || name
                        .strip_prefix(h.name())
                        .is_some_and(|rest| rest.starts_with(settings.separator.as_str())))
        });
        if let Some(h) = waiting {
            return Err(GatewayError::Upstream(h.unavailable_error()));
        }
        return Err(GatewayError::UnknownTool {
            name: name.to_owned(),
        });
    };
    let tool = def
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(name)
        .to_owned();
    let callability = gw.callability(&server, &tool);
    if !matches!(
        callability,
        Callability::ServerBlocked | Callability::ServerPending
    ) {
        return Err(GatewayError::UnknownTool {
            name: name.to_owned(),
        });
    }
    let result = Err(GatewayError::not_callable(
        name,
        &callability,
        &server,
        &tool,
    ));
    super::activity::record_call(
        gw,
        session,
        &server,
        &tool,
        std::time::Instant::now(),
        0,
        &result,
    );
    result
}

/// Sends a request to one upstream on behalf of a session and waits for the
/// answer, mapping ids and progress tokens and honouring cancellation.
async fn forward(
    gw: &Gateway,
    session: &Arc<Session>,
    server: &str,
    mut msg: Message,
    related: Option<mpsc::Sender<Message>>,
) -> Result<Message, GatewayError> {
    let upstream = gw
        .upstream(server)
        .ok_or_else(|| GatewayError::UnknownServer {
            name: server.to_owned(),
        })?;
    let stateless = upstream.is_stateless();
    match (session.era(), stateless) {
        (Era::Modern, false) => eras::for_handshake_upstream(session, &mut msg),
        (Era::Legacy, true) => eras::for_stateless_upstream(session, &mut msg),
        _ => {}
    }
    // A server with `max_concurrent`: wait for a slot (a cancellation takes
    // the request out of the queue), held until the answer came.
    let _slot = session.take_slot(&upstream, &msg).await?;
    let token = gw
        .inner
        .clients
        .progress
        .route(session, &mut msg, related.clone());
    if session.era() == Era::Modern
        && !stateless
        && crate::protocol::modern::INPUT_METHODS.contains(&msg.method())
    {
        // The upstream may ask this client for input: the call may outlive this request.
        return Box::pin(super::continuation::start(
            gw, session, server, msg, token, related,
        ))
        .await;
    }
    let _token_guard = super::progress::Guard::new(&gw.inner.clients.progress, token);
    // A handshake-era client cannot read `input_required`: the gateway answers it for the client.
    let retry = (session.era() == Era::Legacy && stateless).then(|| (msg.clone(), related.clone()));
    let key = msg.id_key().map(str::to_owned);
    let call = upstream.start_forward(msg).await?;
    session.track_inflight(key.as_deref(), server, call.upstream_id, related, None);
    let _guard = InflightGuard { session, key };
    let resp = call.wait(upstream.settings().call_timeout).await?;
    match retry {
        Some((request, related)) => {
            eras::fulfil(gw, session, &upstream, &request, resp, related.as_ref()).await
        }
        None => Ok(resp),
    }
}

/// A read goes to the upstream that owns the URI (as a call of this session
/// when one upstream is known, so it may ask the client for input).
async fn resource_read(
    gw: &Gateway,
    session: &Arc<Session>,
    msg: Message,
    related: Option<mpsc::Sender<Message>>,
) -> Result<Message, GatewayError> {
    let uri = msg
        .params_as::<Value>()
        .ok()
        .flatten()
        .and_then(|p| p.get("uri").and_then(Value::as_str).map(str::to_owned))
        .ok_or_else(|| GatewayError::InvalidParams("resources/read needs a string `uri`".into()))?;
    let view = gw.view(session);
    if !uri_readable(gw, &view, &msg) {
        return Err(catalog::uri_held(gw, &view, &uri));
    }
    match catalog::resource_targets(gw, &view, &uri).as_slice() {
        [only] => {
            let server = only.name().to_owned();
            forward(gw, session, &server, msg, related).await
        }
        _ => Ok(catalog::by_uri(gw, &view, &uri, &msg).await?.1),
    }
}

/// Whether some server `view` shows that may answer for the request's
/// `uri` lets agents read it.
fn uri_readable(gw: &Gateway, view: &View, msg: &Message) -> bool {
    let Some(uri) = msg
        .params_as::<Value>()
        .ok()
        .flatten()
        .and_then(|p| p.get("uri").and_then(Value::as_str).map(str::to_owned))
    else {
        return false;
    };
    catalog::resource_targets(gw, view, &uri)
        .iter()
        .any(|h| gw.uri_allowed(h.name(), &uri))
}

/// Rewrites a prompt name (at the JSON path `path`) to the upstream's own name.
fn rename_param(
    gw: &Gateway,
    view: &View,
    msg: Message,
    path: &[&str],
) -> Result<(String, Message), GatewayError> {
    let mut params: Value = msg
        .params_as()
        .map_err(|e| GatewayError::InvalidParams(format!("{}: {e}", msg.method())))?
        .unwrap_or(Value::Null);
    let pointer = format!("/{}", path.join("/"));
    let name = params
        .pointer(&pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| {
            GatewayError::InvalidParams(format!(
                "{} needs a string `{}`",
                msg.method(),
                path.join(".")
            ))
        })?
        .to_owned();
    let (server, upstream_name) = catalog::resolve_prompt(gw, view, &name).ok_or_else(|| {
        GatewayError::InvalidParams(format!(
            "unknown prompt `{name}`: prompts/list shows the prompts there are"
        ))
    })?;
    // A prompt no person approved is refused, saying nothing of it.
    if !gw.prompt_allowed(&server, &upstream_name) {
        return Err(gw.item_held(&format!("prompt `{name}`"), &server));
    }
    if let Some(slot) = params.pointer_mut(&pointer) {
        *slot = Value::String(upstream_name);
    }
    Ok((
        server,
        Message {
            params: Some(to_raw(&params)),
            ..msg
        },
    ))
}

/// `completion/complete` goes where its `ref` leads.
async fn completion(
    gw: &Gateway,
    session: &Arc<Session>,
    msg: Message,
    related: Option<mpsc::Sender<Message>>,
) -> Result<Message, GatewayError> {
    let params: Value = msg.params_as().ok().flatten().unwrap_or(Value::Null);
    let view = gw.view(session);
    match params.pointer("/ref/type").and_then(Value::as_str) {
        Some("ref/prompt") => {
            let (server, msg) = rename_param(gw, &view, msg, &["ref", "name"])?;
            forward(gw, session, &server, msg, related).await
        }
        Some("ref/resource") => {
            let uri = params
                .pointer("/ref/uri")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let (_, resp) = catalog::by_uri(gw, &view, &uri, &msg).await?;
            Ok(resp)
        }
        _ => Err(GatewayError::InvalidParams(
            "completion/complete needs `ref` of type ref/prompt or ref/resource".into(),
        )),
    }
}
