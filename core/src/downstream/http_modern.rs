//! Streamable HTTP for 2026-07-28 clients: one self-contained POST per
//! request, no `Mcp-Session-Id`, no GET stream.
//!
//! A POST is taken as stateless when its `MCP-Protocol-Version` header names
//! a version that is not a handshake-era one (unknown versions included, so
//! they get the era's version error), or when it has no version header, no
//! session and a request whose `_meta` carries a protocol version. Errors get
//! the HTTP status the spec ties to their code (400 for malformed requests,
//! 404 for unknown methods). Notifications are acknowledged with 202 and
//! dropped: the era defines none from client to server (a client cancels by
//! closing its stream, which ends the call here too).
//! `subscriptions/listen` answers with an event stream that starts with
//! `notifications/subscriptions/acknowledged`.

use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use super::answer::{answer_streaming, json_response};
use crate::gateway::{era_of, Admission, Era, EraSigns, Gateway};
use crate::protocol::modern::{self, RoutingHeaders};
use crate::protocol::{http_status_for, raw, ErrorCode, Kind, Message};

/// Whether an HTTP request (a POST's `msgs`, none for a GET or DELETE)
/// belongs to the stateless era, by the gateway's one rule.
pub(super) fn is_modern(headers: &HeaderMap, msgs: &[Message]) -> bool {
    let signs = EraSigns {
        version_header: headers
            .get(modern::HEADER_VERSION)
            .and_then(|v| v.to_str().ok()),
        in_session: headers.contains_key("mcp-session-id"),
    };
    let lone = match msgs {
        [m] => Some(m),
        _ => None,
    };
    era_of(lone, signs) == Era::Modern
}

fn routing_headers(headers: &HeaderMap) -> Result<RoutingHeaders, String> {
    for name in [
        modern::HEADER_VERSION,
        modern::HEADER_METHOD,
        modern::HEADER_NAME,
    ] {
        if headers.get_all(name).iter().count() > 1 {
            return Err(format!("the {name} header appears more than once"));
        }
    }
    let get = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut params: Vec<(String, String)> = Vec::new();
    for (name, value) in headers {
        let Some(suffix) = name.as_str().strip_prefix(modern::HEADER_PARAM_PREFIX) else {
            continue;
        };
        if params.iter().any(|(n, _)| n == suffix) {
            return Err(format!("the {name} header appears more than once"));
        }
        let value = value.to_str().map_err(|_| {
            format!("the {name} header is not visible ASCII: wrap other text as =?base64?…?=")
        })?;
        params.push((suffix.to_owned(), value.to_owned()));
    }
    Ok(RoutingHeaders {
        version: get(modern::HEADER_VERSION),
        method: get(modern::HEADER_METHOD),
        name: get(modern::HEADER_NAME),
        params,
    })
}

fn error(
    id: Option<Box<serde_json::value::RawValue>>,
    code: ErrorCode,
    message: &str,
    data: Option<serde_json::Value>,
) -> Response {
    let msg = Message::error_response(
        id.unwrap_or_else(|| raw("null")),
        code.code(),
        message,
        data,
    );
    let mut resp = json_response(msg.to_bytes(), None);
    *resp.status_mut() = status_of(&msg);
    resp
}

fn status_of(msg: &Message) -> StatusCode {
    let code = msg
        .error
        .as_ref()
        .and_then(|e| serde_json::from_str::<serde_json::Value>(e.get()).ok())
        .and_then(|e| e.get("code").and_then(serde_json::Value::as_i64));
    code.map_or(StatusCode::OK, |c| {
        StatusCode::from_u16(http_status_for(c)).unwrap_or(StatusCode::OK)
    })
}

/// One stateless POST.
pub(super) async fn post(
    gw: Gateway,
    admission: Admission,
    headers: HeaderMap,
    msgs: Vec<Message>,
    batch: bool,
) -> Response {
    let [msg] = <[Message; 1]>::try_from(msgs).unwrap_or_else(|_| [Message::default()]);
    if batch || msg.kind() == Kind::Response || msg.method.is_none() {
        return error(None, ErrorCode::InvalidRequest, "a 2026-07-28 POST carries exactly one request or notification, not a batch or a response", None);
    }
    let routing = match routing_headers(&headers) {
        Ok(r) => r,
        Err(why) => return error(msg.id.clone(), ErrorCode::HeaderMismatch, &why, None),
    };
    if msg.kind() == Kind::Notification {
        let version = routing
            .version
            .as_deref()
            .unwrap_or(modern::MODERN_VERSIONS[0]);
        if !modern::is_modern(version) {
            let r = modern::unsupported_version(version);
            let msg = Message::error_response(raw("null"), r.code, &r.message, r.data);
            let mut resp = json_response(msg.to_bytes(), None);
            *resp.status_mut() = StatusCode::BAD_REQUEST;
            return resp;
        }
        return StatusCode::ACCEPTED.into_response();
    }
    // Over HTTP the headers must agree with the body; a client that sent none at all is held to the body alone.
    let checked = (routing.version.is_some() || routing.method.is_some()).then_some(routing);
    if msg.method() == "subscriptions/listen" {
        return listen(gw, msg, checked).await;
    }
    let (tx, rx) = mpsc::channel::<Message>(64);
    answer_streaming(
        async move {
            Some(
                gw.handle_modern(msg, checked.as_ref(), &admission, Some(tx))
                    .await,
            )
        },
        rx,
        None,
        status_of,
    )
    .await
}

/// `subscriptions/listen`: an event stream of the notifications the client asked for.
async fn listen(gw: Gateway, msg: Message, headers: Option<RoutingHeaders>) -> Response {
    let id = msg.id.clone();
    match gw.listen(msg, headers.as_ref()).await {
        Err(answer) => {
            let status = status_of(&answer);
            let mut resp = json_response(answer.to_bytes(), None);
            *resp.status_mut() = status;
            resp
        }
        Ok(listener) => {
            let _ = id;
            let stream = futures::stream::unfold(listener, |mut l| async move {
                l.next().await.map(|m| {
                    (
                        Ok::<_, std::convert::Infallible>(
                            Event::default().event("message").data(m.to_json_string()),
                        ),
                        l,
                    )
                })
            });
            Sse::new(stream)
                .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
                .into_response()
        }
    }
}

/// GET and DELETE do not exist for stateless clients.
pub(super) fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(axum::http::header::ALLOW, "POST")],
    )
        .into_response()
}
