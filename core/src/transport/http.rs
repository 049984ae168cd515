//! HTTP upstreams: streamable HTTP (one POST per message, answers as JSON or
//! as an SSE stream, a GET stream for server-initiated messages, the session
//! in `Mcp-Session-Id`), the legacy HTTP+SSE transport, and `auto`, which
//! tries streamable HTTP with the first message (the `initialize`) and falls
//! back to SSE when the server answers 400, 404 or 405, as the spec advises.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use indexmap::IndexMap;
use parking_lot::Mutex;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::auth_retry;
use super::link::{base_headers, fail, read_bounded, Link, ToolSchemas};
use super::sse::LegacySse;
use super::sse_codec::SseParser;
use super::{CloseSignal, Connection, Inbound, TransportError};
use crate::config::TransportKind;
use crate::oauth::OAuthClient;
use crate::protocol::{modern, ErrorCode, Kind, Message};

const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";

/// What to connect to.
pub(crate) struct HttpOptions<'a> {
    pub(crate) server: &'a str,
    pub(crate) tool_schemas: ToolSchemas,
    pub(crate) url: &'a str,
    pub(crate) headers: &'a IndexMap<String, String>,
    pub(crate) kind: TransportKind,
    pub(crate) max_message_bytes: usize,
    /// Signs in when the server asks for OAuth.
    pub(crate) auth: Option<Arc<OAuthClient>>,
}

enum Mode {
    Undecided,
    Streamable,
    Sse(LegacySse),
}

/// Connects an HTTP upstream. SSE connects now; streamable HTTP on the first message.
pub(crate) async fn connect_http(
    opts: HttpOptions<'_>,
    inbound: Inbound,
    tasks: &TaskTracker,
    parent: &CancellationToken,
) -> Result<Connection, TransportError> {
    let url = reqwest::Url::parse(opts.url).map_err(|e| TransportError::Protocol {
        url: opts.url.to_owned(),
        message: e.to_string(),
    })?;
    let mut headers = HeaderMap::new();
    for (k, v) in opts.headers {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| TransportError::Protocol {
            url: opts.url.to_owned(),
            message: format!("`{k}` is not a valid header name"),
        })?;
        let value = HeaderValue::from_str(v).map_err(|_| TransportError::Protocol {
            url: opts.url.to_owned(),
            message: format!("the value of header `{k}` is not valid"),
        })?;
        headers.insert(name, value);
    }
    let http = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(super::POOL_IDLE)
        .redirect(same_origin_redirects())
        .build()
        .map_err(|e| TransportError::Unreachable {
            url: opts.url.to_owned(),
            message: e.to_string(),
        })?;
    let cancel = parent.child_token();
    let (signal, closed) = CloseSignal::new();
    let link = Arc::new(Link {
        server: opts.server.to_owned(),
        url,
        http,
        headers,
        limit: opts.max_message_bytes,
        inbound,
        signal,
        tasks: tasks.clone(),
        cancel: cancel.clone(),
        tool_schemas: opts.tool_schemas,
        auth: opts.auth,
        session: Mutex::new(None),
        version: Mutex::new(None),
    });
    let mut mode = match opts.kind {
        TransportKind::Sse => Mode::Sse(LegacySse::connect(link.clone(), link.url.clone()).await?),
        TransportKind::StreamableHttp => Mode::Streamable,
        _ => Mode::Undecided,
    };
    let (tx, mut rx) = mpsc::channel::<Message>(256);
    let l = link.clone();
    tasks.spawn(async move {
        loop {
            let msg = tokio::select! {
                () = l.cancel.cancelled() => break,
                msg = rx.recv() => match msg { Some(m) => m, None => break },
            };
            match &mode {
                Mode::Undecided => match post_streamable(&l, &msg).await {
                    // Only the handshake decides the transport: a 2026-07-28 probe
                    // (`server/discover`) refused by an older server is just refused.
                    Err(TransportError::Status {
                        status: 400 | 404 | 405,
                        ..
                    }) if msg.method() == "initialize" => {
                        tracing::info!(
                            server = l.server,
                            "no streamable HTTP at {}; trying the legacy SSE transport",
                            l.url
                        );
                        match LegacySse::connect(l.clone(), l.url.clone()).await {
                            Ok(sse) => {
                                sse.send(&msg).await;
                                mode = Mode::Sse(sse);
                            }
                            Err(e) => fail(&l, &msg, &e),
                        }
                    }
                    Err(e) => fail(&l, &msg, &e),
                    Ok(()) => {
                        if msg.method() == "initialize" || stateless_version(&msg).is_some() {
                            mode = Mode::Streamable;
                        }
                    }
                },
                Mode::Streamable => {
                    if matches!(msg.method(), "initialize" | "notifications/initialized") {
                        // Handshakes go in order: the server must have seen `initialized`
                        // (and registered what it registers then) before the next request
                        // reaches it, so wait for its 202 before sending anything else.
                        if let Err(e) = post_streamable(&l, &msg).await {
                            fail(&l, &msg, &e);
                        }
                    } else {
                        let l2 = l.clone();
                        l.tasks.spawn(async move {
                            if let Err(e) = post_streamable(&l2, &msg).await {
                                fail(&l2, &msg, &e);
                            }
                        });
                    }
                }
                Mode::Sse(sse) => sse.send(&msg).await,
            }
        }
        // End the session politely.
        let session = l.session.lock().clone();
        if let Some(id) = session {
            let req = l
                .http
                .delete(l.url.clone())
                .headers(base_headers(&l, "DELETE", l.url.as_str()))
                .header(SESSION_HEADER, id);
            let _ = tokio::time::timeout(Duration::from_secs(2), req.send()).await;
        }
        l.signal.close("the connection was closed");
    });
    Ok(Connection {
        tx,
        closed,
        cancel,
        pid: None,
    })
}

fn request_headers(link: &Link, method: &str) -> HeaderMap {
    let mut h = base_headers(link, method, link.url.as_str());
    h.insert(
        ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(s) = link.session.lock().as_deref() {
        if let Ok(v) = HeaderValue::from_str(s) {
            h.insert(SESSION_HEADER, v);
        }
    }
    if let Some(v) = link.version.lock().as_deref() {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(VERSION_HEADER, v);
        }
    }
    h
}

/// The protocol version a stateless (2026-07-28) request names in its `_meta`.
fn stateless_version(msg: &Message) -> Option<String> {
    let params = msg
        .params
        .as_ref()
        .filter(|p| modern::mentions_protocol_version(p.get()))?;
    let value: serde_json::Value = serde_json::from_str(params.get()).ok()?;
    value
        .get("_meta")?
        .get(modern::META_PROTOCOL_VERSION)?
        .as_str()
        .map(str::to_owned)
}

/// The headers of one POST: a stateless request's own version, method and
/// name (`Mcp-Name`, base64-wrapped when it is not printable ASCII).
fn message_headers(link: &Link, msg: &Message) -> HeaderMap {
    let mut h = request_headers(link, "POST");
    crate::telemetry::copy_to_headers(msg.params.as_deref(), &mut h);
    let Some(version) = stateless_version(msg) else {
        return h;
    };
    if let Ok(v) = HeaderValue::from_str(&version) {
        h.insert(VERSION_HEADER, v);
    }
    if let Ok(v) = HeaderValue::from_str(msg.method()) {
        h.insert(modern::HEADER_METHOD, v);
    }
    let params: serde_json::Value = msg.params_as().ok().flatten().unwrap_or_default();
    let name =
        modern::name_param(msg.method()).and_then(|k| params.get(k)?.as_str().map(str::to_owned));
    if let Some(name) = name {
        if let Ok(v) = HeaderValue::from_str(&modern::encode_header_value(&name)) {
            h.insert(modern::HEADER_NAME, v);
        }
        if msg.method() == "tools/call" {
            if let Some(schema) = (link.tool_schemas)(&name) {
                for (k, v) in modern::param_headers(
                    &schema,
                    params.get("arguments").unwrap_or(&serde_json::Value::Null),
                ) {
                    if let (Ok(k), Ok(v)) = (
                        HeaderName::from_bytes(k.as_bytes()),
                        HeaderValue::from_str(&v),
                    ) {
                        h.insert(k, v);
                    }
                }
            }
        }
    }
    h
}

async fn post_streamable(link: &Arc<Link>, msg: &Message) -> Result<(), TransportError> {
    let resp = auth_retry::send(
        link,
        reqwest::Method::POST,
        &link.url,
        message_headers(link, msg),
        Some(msg.to_bytes().into()),
    )
    .await?;
    let status = resp.status();
    if msg.method() == "initialize" && status.is_success() {
        if let Some(id) = resp
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
        {
            *link.session.lock() = Some(id.to_owned());
        }
    }
    if status == reqwest::StatusCode::NOT_FOUND && link.session.lock().is_some() {
        link.signal.close("the server ended the session (HTTP 404)");
        return Err(TransportError::Status {
            url: link.url.to_string(),
            status: 404,
            body: "session not found".into(),
        });
    }
    if !status.is_success() {
        let body = read_bounded(resp, link.limit).await.unwrap_or_default();
        let body = String::from_utf8_lossy(&body);
        // A JSON-RPC error for this very request (2026-07-28 servers answer errors with 4xx) is the answer.
        if let Ok(answer) = Message::parse(body.as_bytes(), link.limit) {
            if answer.kind() == Kind::Response
                && answer.id.is_some()
                && answer.id_key() == msg.id_key()
                && msg.kind() == Kind::Request
            {
                deliver(link, answer, false);
                return Ok(());
            }
        }
        return Err(TransportError::Status {
            url: link.url.to_string(),
            status: status.as_u16(),
            body: body.chars().take(300).collect(),
        });
    }
    if status == reqwest::StatusCode::ACCEPTED {
        if msg.method() == "notifications/initialized" {
            open_get_stream(link.clone());
        }
        return Ok(());
    }
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("text/event-stream") {
        let l = link.clone();
        let is_init = msg.method() == "initialize";
        let awaited = (msg.kind() == Kind::Request)
            .then(|| msg.id.clone())
            .flatten();
        let stream = async move {
            let end = read_sse(&l, resp, is_init, awaited.as_deref()).await;
            if let (Some(id), false) = (awaited, end.answered) {
                resume(&l, id, end).await;
            }
        };
        if is_init {
            stream.await;
        } else {
            link.tasks.spawn(stream);
        }
    } else if content_type.starts_with("application/json") {
        let body =
            read_bounded(resp, link.limit)
                .await
                .map_err(|message| TransportError::Protocol {
                    url: link.url.to_string(),
                    message,
                })?;
        let (msgs, _) =
            Message::parse_many(&body, link.limit).map_err(|e| TransportError::Protocol {
                url: link.url.to_string(),
                message: e.to_string(),
            })?;
        for m in msgs {
            deliver(link, m, msg.method() == "initialize");
        }
    } else if msg.kind() == Kind::Request {
        return Err(TransportError::Protocol {
            url: link.url.to_string(),
            message: format!(
                "answered with content type `{content_type}`, not JSON or an event stream"
            ),
        });
    }
    if msg.method() == "notifications/initialized" {
        open_get_stream(link.clone());
    }
    Ok(())
}

fn deliver(link: &Link, m: Message, is_init: bool) {
    if is_init {
        if let Ok(Some(v)) = m
            .result
            .as_deref()
            .map(|r| serde_json::from_str::<serde_json::Value>(r.get()))
            .transpose()
        {
            if let Some(pv) = v.get("protocolVersion").and_then(|p| p.as_str()) {
                *link.version.lock() = Some(pv.to_owned());
            }
        }
    }
    (link.inbound)(m);
}

/// How an SSE stream ended: whether it carried the awaited response, and where to resume.
struct StreamEnd {
    answered: bool,
    last_id: Option<String>,
    retry_ms: Option<u64>,
}

async fn read_sse(
    link: &Link,
    resp: reqwest::Response,
    is_init: bool,
    awaited: Option<&serde_json::value::RawValue>,
) -> StreamEnd {
    let mut parser = SseParser::new(link.limit);
    let mut body = resp.bytes_stream();
    let mut answered = false;
    loop {
        let chunk = tokio::select! {
            () = link.cancel.cancelled() => break,
            chunk = body.next() => chunk,
        };
        let Some(Ok(chunk)) = chunk else { break };
        match parser.feed(&chunk) {
            Ok(events) => {
                for ev in events {
                    if !(ev.event.is_empty() || ev.event == "message") || ev.data.trim().is_empty()
                    {
                        continue;
                    }
                    match Message::parse(ev.data.as_bytes(), link.limit) {
                        Ok(m) => {
                            answered |= m.kind() == Kind::Response
                                && awaited.is_some_and(|id| m.id_key() == Some(id.get()));
                            deliver(link, m, is_init);
                        }
                        Err(e) => tracing::warn!(
                            server = link.server,
                            "ignoring an SSE event that is not JSON-RPC: {e}"
                        ),
                    }
                }
            }
            Err(_) => {
                tracing::warn!(
                    server = link.server,
                    "an SSE event passed the {}-byte limit; closing that stream",
                    link.limit
                );
                break;
            }
        }
    }
    StreamEnd {
        answered,
        last_id: parser.last_id,
        retry_ms: parser.retry_ms,
    }
}

/// How many times a request's stream is resumed before its caller is told it was lost.
const RESUME_ATTEMPTS: u32 = 5;

/// A request's event stream ended before its response: after the server's
/// `retry` delay, resume with a GET carrying `Last-Event-ID`, as the
/// streamable HTTP transport specifies; a caller whose response never comes
/// gets an error instead of waiting for its timeout.
async fn resume(link: &Arc<Link>, id: Box<serde_json::value::RawValue>, mut end: StreamEnd) {
    for _ in 0..RESUME_ATTEMPTS {
        let delay = Duration::from_millis(end.retry_ms.unwrap_or(1000));
        tokio::select! {
            () = link.cancel.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        let mut h = request_headers(link, "GET");
        h.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        h.remove(CONTENT_TYPE);
        if let Some(Ok(v)) = end.last_id.as_deref().map(HeaderValue::from_str) {
            h.insert("last-event-id", v);
        }
        match link.http.get(link.url.clone()).headers(h).send().await {
            Ok(r) if r.status().is_success() => {
                let next = read_sse(link, r, false, Some(&id)).await;
                if next.answered {
                    return;
                }
                end = StreamEnd {
                    answered: false,
                    last_id: next.last_id.or(end.last_id),
                    retry_ms: next.retry_ms.or(end.retry_ms),
                };
            }
            Ok(r) => {
                tracing::debug!(
                    server = link.server,
                    "resuming a response stream: GET answered {}",
                    r.status()
                );
                break;
            }
            Err(e) => tracing::debug!(
                server = link.server,
                "resuming a response stream failed: {e}"
            ),
        }
    }
    let message = format!(
        "upstream `{}` closed the response stream before answering, and it could not be resumed",
        link.server
    );
    (link.inbound)(Message::error_response(
        id,
        ErrorCode::UpstreamUnavailable.code(),
        &message,
        None,
    ));
}

/// The standalone GET stream for server-initiated messages; reopened when it drops.
fn open_get_stream(link: Arc<Link>) {
    let tasks = link.tasks.clone();
    tasks.spawn(async move {
        let mut delay = Duration::from_millis(250);
        loop {
            if link.cancel.is_cancelled() {
                return;
            }
            let mut h = request_headers(&link, "GET");
            h.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
            h.remove(CONTENT_TYPE);
            let resp = tokio::select! {
                () = link.cancel.cancelled() => return,
                r = link.http.get(link.url.clone()).headers(h).send() => r,
            };
            match resp {
                Ok(r) if r.status() == reqwest::StatusCode::METHOD_NOT_ALLOWED => return,
                // Without a session, 404 only says there is no GET stream here (stateless servers).
                Ok(r)
                    if r.status() == reqwest::StatusCode::NOT_FOUND
                        && link.session.lock().is_none() =>
                {
                    return
                }
                Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => {
                    link.signal
                        .close("the server ended the session (HTTP 404 on the GET stream)");
                    return;
                }
                Ok(r) if r.status().is_success() => {
                    delay = Duration::from_millis(250);
                    read_sse(&link, r, false, None).await;
                }
                Ok(r) => {
                    tracing::debug!(server = link.server, "GET stream answered {}", r.status());
                }
                Err(e) => tracing::debug!(server = link.server, "GET stream failed: {e}"),
            }
            tokio::select! {
                () = link.cancel.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    });
}

/// Redirects are followed only within the server's own origin: the
/// configured headers (API keys, tokens) go with every request, and the
/// HTTP client strips only the standard credential headers on its own. A
/// redirect elsewhere is not followed; the call fails with its 3xx status.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if same && attempt.previous().len() < 10 {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}
