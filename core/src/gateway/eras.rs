//! Where a client and an upstream of different protocol eras meet.
//!
//! | client ↓ upstream → | handshake era | stateless (2026-07-28) |
//! | --- | --- | --- |
//! | handshake era | as is | envelope stamped from the session; `input_required` fulfilled by asking the client, then retried |
//! | stateless | envelope stripped; server-to-client requests become `input_required` (`continuation.rs`) | as is, `requestState` and `inputResponses` included |
//!
//! A handshake-era client's request to a stateless upstream carries the
//! capabilities the client declared at `initialize` and, when it set one with
//! `logging/setLevel`, its log level. When the upstream answers
//! `input_required`, the gateway sends each embedded request to that client
//! (on the call's own stream), then repeats the request with the answers as
//! `inputResponses` and the upstream's `requestState`, for at most 10 rounds.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::{events, Era, Gateway, GatewayError, Session};
use crate::protocol::modern::{
    self, META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_LOG_LEVEL, META_PROTOCOL_VERSION,
};
use crate::protocol::{raw, to_raw, Message};
use crate::upstream::UpstreamHandle;

/// How many `input_required` rounds a handshake-era client is carried through.
const MAX_ROUNDS: usize = 10;

/// What a client's message says about its era outside its body: over HTTP,
/// its `MCP-Protocol-Version` header and whether it names a session (over
/// stdio, neither).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EraSigns<'a> {
    /// The `MCP-Protocol-Version` header.
    pub(crate) version_header: Option<&'a str>,
    /// Whether it names a handshake-era session (`Mcp-Session-Id`).
    pub(crate) in_session: bool,
}

/// The era a client's message belongs to: the one rule of every endpoint.
/// A version header decides (a handshake-era version, else the stateless
/// era: unknown versions too, so they get that era's version error); else
/// a named session is the handshake era; else a lone request other than
/// `initialize` whose `_meta` names a protocol version is stateless.
/// `msg` is `None` for a batch, a GET or a DELETE.
pub(crate) fn era_of(msg: Option<&Message>, signs: EraSigns<'_>) -> Era {
    if let Some(version) = signs.version_header {
        return if crate::protocol::SUPPORTED_VERSIONS.contains(&version) {
            Era::Legacy
        } else {
            Era::Modern
        };
    }
    if signs.in_session {
        return Era::Legacy;
    }
    let stateless = msg.is_some_and(|m| {
        m.kind() == crate::protocol::Kind::Request
            && m.method() != "initialize"
            && m.params
                .as_ref()
                .is_some_and(|p| modern::mentions_protocol_version(p.get()))
    });
    if stateless {
        Era::Modern
    } else {
        Era::Legacy
    }
}

fn params_of(msg: &Message) -> Map<String, Value> {
    msg.params_as().ok().flatten().unwrap_or_default()
}

/// A stateless client's request for a handshake-era upstream: without the
/// envelope; its `inputResponses` kept for the continuation to answer from.
pub(super) fn for_handshake_upstream(session: &Session, msg: &mut Message) {
    let mut params = params_of(msg);
    if params.is_empty() {
        return;
    }
    if let Some(Value::Object(meta)) = params.get_mut("_meta") {
        meta.retain(|k, _| !k.starts_with("io.modelcontextprotocol/"));
        if meta.is_empty() {
            params.remove("_meta");
        }
    }
    params.remove("requestState");
    if let Some(Value::Object(answers)) = params.remove("inputResponses") {
        session.prefilled.lock().extend(answers);
    }
    msg.params = Some(to_raw(&params));
}

/// A handshake-era client's request for a stateless upstream: the envelope from its session.
pub(super) fn for_stateless_upstream(session: &Session, msg: &mut Message) {
    let client = session.client();
    let mut params = params_of(msg);
    let meta = params.entry("_meta").or_insert_with(|| json!({}));
    if let Some(m) = meta.as_object_mut() {
        m.insert(
            META_PROTOCOL_VERSION.into(),
            json!(modern::MODERN_VERSIONS[0]),
        );
        let caps = if client.capabilities.is_object() {
            client.capabilities.clone()
        } else {
            json!({})
        };
        m.entry(META_CLIENT_CAPABILITIES).or_insert(caps);
        if !client.name.is_empty() {
            m.entry(META_CLIENT_INFO)
                .or_insert_with(|| json!({ "name": client.name, "version": client.version }));
        }
        if let Some(super::logging::Threshold::From(level)) = *session.log_level.lock() {
            m.entry(META_LOG_LEVEL).or_insert(json!(level.as_str()));
        }
    }
    msg.params = Some(to_raw(&params));
}

fn input_required(resp: &Message) -> Option<Map<String, Value>> {
    let result: Map<String, Value> = serde_json::from_str(resp.result.as_deref()?.get()).ok()?;
    (result.get("resultType").and_then(Value::as_str) == Some("input_required")).then_some(result)
}

/// Carries a handshake-era client through a stateless upstream's `input_required` rounds.
pub(super) async fn fulfil(
    gw: &Gateway,
    session: &Arc<Session>,
    upstream: &UpstreamHandle,
    request: &Message,
    mut resp: Message,
    related: Option<&mpsc::Sender<Message>>,
) -> Result<Message, GatewayError> {
    let timeout = upstream.settings().call_timeout;
    for _ in 0..MAX_ROUNDS {
        let Some(result) = input_required(&resp) else {
            return Ok(resp);
        };
        let mut answers = Map::new();
        for (key, asked) in result
            .get("inputRequests")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
        {
            let method = asked
                .get("method")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let params = asked.get("params").cloned().map(|p| to_raw(&p));
            let question = Message::request(raw("null"), method.clone(), params);
            let answer = tokio::select! {
                () = gw.inner.life.cancel.cancelled() => return Err(GatewayError::ShuttingDown { what: method.clone() }),
                a = events::ask_client(session, related, question, timeout) => a,
            };
            let answer = answer.map_err(|why| GatewayError::InputNotGiven {
                server: upstream.name().to_owned(),
                why: format!("the client did not answer `{method}`: {why}"),
            })?;
            match (answer.result, answer.error) {
                (Some(r), _) => {
                    answers.insert(key, serde_json::from_str(r.get()).unwrap_or(Value::Null));
                }
                (None, Some(e)) => {
                    let error: Value = serde_json::from_str(e.get()).unwrap_or(Value::Null);
                    let text = error
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("an error");
                    return Err(GatewayError::InputNotGiven {
                        server: upstream.name().to_owned(),
                        why: format!("the client answered `{method}` with an error: {text}"),
                    });
                }
                (None, None) => {
                    return Err(GatewayError::InputNotGiven {
                        server: upstream.name().to_owned(),
                        why: format!("the client's answer to `{method}` is empty"),
                    })
                }
            }
        }
        let mut params = params_of(request);
        params.insert("inputResponses".into(), Value::Object(answers));
        match result.get("requestState") {
            Some(state) => params.insert("requestState".into(), state.clone()),
            None => params.remove("requestState"),
        };
        let retry = Message {
            params: Some(to_raw(&params)),
            ..request.clone()
        };
        resp = upstream.start_forward(retry).await?.wait(timeout).await?;
    }
    Err(GatewayError::InputNotGiven {
        server: upstream.name().to_owned(),
        why: format!("it still wanted input after {MAX_ROUNDS} rounds"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SurfaceMode;

    #[test]
    fn envelopes_are_stripped_and_stamped() {
        let s = Session::new(
            "s".into(),
            crate::gateway::SessionTransport::Http,
            super::super::session::Era::Modern,
            SurfaceMode::Direct,
            1 << 20,
            super::super::session::QueueBudget::new(1 << 20),
        );
        let mut m = Message::request(
            raw("1"),
            "tools/call",
            Some(raw(
                r#"{"name":"t","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","progressToken":1},"inputResponses":{"k":{"action":"accept"}},"requestState":"x"}"#,
            )),
        );
        for_handshake_upstream(&s, &mut m);
        assert_eq!(
            m.params_as::<Value>().unwrap().unwrap(),
            json!({ "name": "t", "_meta": { "progressToken": 1 } })
        );
        assert_eq!(s.prefilled.lock()["k"], json!({ "action": "accept" }));

        let legacy = Session::new(
            "l".into(),
            crate::gateway::SessionTransport::Http,
            super::super::session::Era::Legacy,
            SurfaceMode::Direct,
            1 << 20,
            super::super::session::QueueBudget::new(1 << 20),
        );
        legacy.client.write().capabilities = json!({ "sampling": {} });
        *legacy.log_level.lock() = Some(super::super::logging::Threshold::From(
            crate::protocol::LogLevel::Info,
        ));
        let mut m = Message::request(raw("2"), "tools/call", Some(raw(r#"{"name":"t"}"#)));
        for_stateless_upstream(&legacy, &mut m);
        let p: Value = m.params_as().unwrap().unwrap();
        assert_eq!(
            p["_meta"][META_CLIENT_CAPABILITIES],
            json!({ "sampling": {} })
        );
        assert_eq!(p["_meta"][META_LOG_LEVEL], "info");
        assert_eq!(p["_meta"][META_PROTOCOL_VERSION], "2026-07-28");
    }

    #[test]
    fn one_rule_tells_the_era_of_every_endpoint() {
        let modern = Message::parse(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
            1 << 20,
        )
        .unwrap();
        let plain = Message::parse(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            1 << 20,
        )
        .unwrap();
        let init = Message::parse(
            br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2026-07-28"}}"#,
            1 << 20,
        )
        .unwrap();
        let none = EraSigns::default();
        // Over stdio only the message says.
        assert_eq!(era_of(Some(&modern), none), Era::Modern);
        assert_eq!(era_of(Some(&plain), none), Era::Legacy);
        assert_eq!(era_of(Some(&init), none), Era::Legacy);
        // A version header decides; an unknown version is the stateless era's to refuse.
        let header = |v| EraSigns {
            version_header: Some(v),
            in_session: false,
        };
        assert_eq!(era_of(Some(&plain), header("2026-07-28")), Era::Modern);
        assert_eq!(era_of(None, header("2099-01-01")), Era::Modern);
        assert_eq!(era_of(Some(&modern), header("2025-11-25")), Era::Legacy);
        // A named session is the handshake era; a batch or a GET has no body to read.
        let session = EraSigns {
            version_header: None,
            in_session: true,
        };
        assert_eq!(era_of(Some(&modern), session), Era::Legacy);
        assert_eq!(era_of(None, none), Era::Legacy);
    }
}
