//! Serving 2026-07-28 (stateless) clients on the same router as session
//! clients.
//!
//! Each request is checked against the era's envelope rules
//! (`protocol::modern::classify`), then handled by a session that lives for
//! that request only and carries the request's capabilities, client info and
//! log level. Its result gets `resultType` and, for lists and reads, caching
//! hints. `server/discover` is answered by the gateway. A server-to-client
//! request that an upstream sends during the call becomes an
//! `input_required` result (see `continuation.rs`). Methods of the handshake
//! era (`initialize`, `ping`, `logging/setLevel`, `resources/subscribe`…) do
//! not exist here and get -32601.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::session::{ClientInfo, Era};
use super::{continuation, router, Admission, Gateway, GatewayError, Session};
use crate::protocol::modern::{self, Envelope, RoutingHeaders};
use crate::protocol::{raw, to_raw, ErrorCode, Message};

/// What the gateway says about itself on every modern result.
pub(super) fn server_info() -> Value {
    json!({ "name": "portcullis", "title": "Portcullis MCP gateway", "version": env!("CARGO_PKG_VERSION") })
}

impl Gateway {
    /// Handles one 2026-07-28 request and returns its response (a result or
    /// an error). `headers` are the HTTP routing headers when it came over
    /// HTTP; `related` receives the notifications that belong to it
    /// (progress, and log messages when it opted in).
    pub async fn handle_modern(
        &self,
        msg: Message,
        headers: Option<&RoutingHeaders>,
        admission: &Admission,
        related: Option<mpsc::Sender<Message>>,
    ) -> Message {
        let id = msg.id.clone().unwrap_or_else(|| raw("null"));
        let method = msg.method().to_owned();
        let answer = match self.prepare_modern(&msg, headers) {
            Err(rejection) => Err(rejection),
            Ok((params, envelope)) => {
                self.dispatch_modern(msg, params, envelope, admission, related)
                    .await
            }
        };
        match answer {
            Ok(mut resp) => {
                resp.id = Some(id);
                if let Some(result) = resp.result.as_deref() {
                    if let Ok(mut map) = serde_json::from_str::<Map<String, Value>>(result.get()) {
                        modern::stamp_result(&method, &mut map, &server_info());
                        resp.result = Some(to_raw(&map));
                    }
                }
                resp
            }
            Err(e) => Message::error_response(id, e.code, &e.message, e.data),
        }
    }

    /// Parses and checks the envelope; the params come back as a value.
    fn prepare_modern(
        &self,
        msg: &Message,
        headers: Option<&RoutingHeaders>,
    ) -> Result<(Map<String, Value>, Envelope), modern::Rejection> {
        let params: Value = msg
            .params_as()
            .map_err(|e| {
                rejection(
                    ErrorCode::InvalidParams,
                    format!("params must be an object: {e}"),
                )
            })?
            .unwrap_or(Value::Null);
        let envelope = modern::classify(msg.method(), Some(&params), headers);
        // The argument headers are headers: checked after the envelope, before the version.
        let before_headers =
            matches!(&envelope, Err(r) if r.code != ErrorCode::UnsupportedVersion.code());
        if let (Some(headers), "tools/call", false) = (headers, msg.method(), before_headers) {
            self.check_param_headers(&params, headers)?;
        }
        let envelope = envelope?;
        let Value::Object(params) = params else {
            return Err(rejection(
                ErrorCode::InvalidParams,
                "params must be an object".into(),
            ));
        };
        if let Some(responses) = params.get("inputResponses") {
            continuation::check_responses(responses)?;
        }
        Ok((params, envelope))
    }

    /// The `Mcp-Param-*` headers of a call against its arguments, for a
    /// listed tool whose schema annotates arguments with `x-mcp-header`.
    fn check_param_headers(
        &self,
        params: &Value,
        headers: &RoutingHeaders,
    ) -> Result<(), modern::Rejection> {
        let Some(name) = params.get("name").and_then(Value::as_str) else {
            return Ok(());
        };
        let schema = {
            let table = self.table();
            let Some(raw) = table
                .entries()
                .iter()
                .find(|e| e.name == name)
                .and_then(|e| e.tool.fields.get("inputSchema"))
            else {
                return Ok(());
            };
            if !raw.get().contains("x-mcp-header") {
                return Ok(());
            }
            serde_json::from_str::<Value>(raw.get()).unwrap_or(Value::Null)
        };
        let arguments = params.get("arguments").unwrap_or(&Value::Null);
        modern::check_param_headers(&schema, arguments, &headers.params)
            .map_err(|why| rejection(ErrorCode::HeaderMismatch, why))
    }

    async fn dispatch_modern(
        &self,
        msg: Message,
        mut params: Map<String, Value>,
        envelope: Envelope,
        admission: &Admission,
        related: Option<mpsc::Sender<Message>>,
    ) -> Result<Message, modern::Rejection> {
        let method = msg.method().to_owned();
        if modern::REMOVED_METHODS.contains(&method.as_str()) || method == "subscriptions/listen" {
            let why = if method == "subscriptions/listen" {
                "it needs the streaming HTTP endpoint"
            } else {
                "it does not exist in 2026-07-28"
            };
            return Err(rejection(
                ErrorCode::MethodNotFound,
                format!("method `{method}` is not offered: {why}"),
            ));
        }
        if method == "server/discover" {
            return Ok(Message {
                result: Some(to_raw(&discover(
                    self,
                    &self.view_for(admission.profile.as_deref()),
                ))),
                ..Message::default()
            });
        }
        // A resumed call (requestState) would reach the upstream too.
        router::refuse_if_paused(self, &method).map_err(into_rejection)?;
        let name = modern::name_param(&method)
            .and_then(|k| params.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned);
        match params.get("requestState") {
            // The gateway's own state: a call parked for this client's answers.
            Some(Value::String(token)) if token.starts_with(continuation::TOKEN_PREFIX) => {
                let token = token.clone();
                let responses = params.remove("inputResponses");
                return continuation::resume(
                    self,
                    &token,
                    &method,
                    name.as_deref(),
                    responses,
                    related,
                )
                .await
                .map_err(into_rejection);
            }
            Some(Value::String(_) | Value::Null) | None => {}
            Some(_) => {
                return Err(rejection(
                    ErrorCode::InvalidParams,
                    "requestState must be a string".into(),
                ))
            }
        }
        // Anything else (the envelope, an upstream's own requestState and
        // inputResponses) is adapted per upstream when the request is forwarded.
        let session = self.modern_session(&envelope, admission);
        *session.origin.lock() = Some((method.clone(), name));
        let forwarded = Message {
            params: Some(to_raw(&params)),
            ..msg
        };
        let _registered = Registered {
            gw: self,
            session: &session,
        };
        router::request(self, &session, forwarded, related)
            .await
            .map_err(into_rejection)
    }

    /// A session for one request, registered so that upstream requests during its call find it.
    fn modern_session(&self, envelope: &Envelope, admission: &Admission) -> Arc<Session> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let session = Session::new(
            id,
            crate::gateway::SessionTransport::Http,
            Era::Modern,
            admission.surface,
            0,
            self.inner.clients.sessions.budget().clone(),
        );
        session.admit(admission);
        let info = envelope.client_info.clone().unwrap_or(Value::Null);
        *session.client.write() = ClientInfo {
            protocol_version: envelope.protocol_version.clone(),
            name: info
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            version: info
                .get("version")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            capabilities: envelope.capabilities.clone(),
        };
        // Without an opt-in, no log message reaches this request.
        *session.log_level.lock() = Some(super::logging::requested(envelope.log_level.as_deref()));
        self.inner.clients.sessions.register(session.clone());
        session
    }
}

/// Unregisters a request's session when the request ends, however it ends,
/// unless its call is parked (the continuation unregisters it then).
struct Registered<'a> {
    gw: &'a Gateway,
    session: &'a Arc<Session>,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        if !self.session.is_parked() {
            self.gw.inner.clients.sessions.remove(self.session.id());
        }
    }
}

fn rejection(code: ErrorCode, message: String) -> modern::Rejection {
    modern::Rejection {
        code: code.code(),
        message,
        data: None,
    }
}

fn into_rejection(e: GatewayError) -> modern::Rejection {
    modern::Rejection {
        code: e.rpc_code().code(),
        message: e.rpc_message(),
        data: e.rpc_data(),
    }
}

/// `server/discover`: the versions the gateway serves and the capabilities of what is behind it.
fn discover(gw: &Gateway, view: &super::View) -> Value {
    let (capabilities, instructions) = router::server_capabilities(gw, view);
    let mut result = json!({
        "supportedVersions": modern::MODERN_VERSIONS,
        "capabilities": capabilities,
        "serverInfo": server_info(),
    });
    if let Some(text) = instructions {
        result["instructions"] = Value::String(text);
    }
    result
}
