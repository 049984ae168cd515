//! Streamable HTTP at `/mcp`: POST carries client messages (answered as JSON,
//! or as an SSE stream once the request has related messages to deliver),
//! GET opens the stream of server-initiated messages, DELETE ends a session.
//! Sessions are named by `Mcp-Session-Id`; an unknown id gets 404. Every
//! request passes the loopback Host/Origin check first.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::stream::{self, Stream};
use tokio::sync::mpsc;

use super::answer::{answer_streaming, event, json_response, SESSION_HEADER};
use super::{check_local, OriginPolicy};
use crate::config::SurfaceMode;
use crate::gateway::{Admission, Door, Gateway, GatewayError, Session, SessionTransport};
use crate::protocol::{raw, ErrorCode, Kind, Message, ParseError};

/// A running HTTP endpoint.
pub struct HttpServer {
    /// The address it listens on (with the real port when 0 was asked for).
    pub addr: SocketAddr,
}

/// Binds `addr`, serves `/mcp` (and `extra`, e.g. the admin API) until the
/// gateway is cancelled. The task lives in the gateway's tracker.
pub async fn serve_http(
    gw: &Gateway,
    addr: SocketAddr,
    extra: Router,
) -> Result<HttpServer, GatewayError> {
    let app = Router::new()
        .route("/mcp", get(get_stream).post(post).delete(delete))
        .route("/mcp/direct", get(get_stream).post(post).delete(delete))
        .route("/mcp/search", get(get_stream).post(post).delete(delete))
        .route(
            "/mcp/p/{profile}",
            get(get_stream).post(post).delete(delete),
        )
        .route(
            "/mcp/p/{profile}/direct",
            get(get_stream).post(post).delete(delete),
        )
        .route(
            "/mcp/p/{profile}/search",
            get(get_stream).post(post).delete(delete),
        )
        .with_state(gw.clone())
        .merge(extra);
    listen(gw, addr, app).await
}

/// For a gateway without an HTTP endpoint (`portcullis stdio`): listens on
/// a loopback port the system picks, only for the browser coming back from
/// an OAuth sign-in to an HTTP upstream, until the gateway is cancelled.
pub async fn serve_sign_in_callback(gw: &Gateway) -> Result<HttpServer, GatewayError> {
    listen(gw, SocketAddr::from(([127, 0, 0, 1], 0)), Router::new()).await
}

/// Binds `addr` and serves `app` with the OAuth callback, behind the loopback check.
async fn listen(gw: &Gateway, addr: SocketAddr, app: Router) -> Result<HttpServer, GatewayError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AddrInUse => GatewayError::PortInUse { addr },
            _ => GatewayError::Listen { addr, source },
        })?;
    let local = listener
        .local_addr()
        .map_err(|source| GatewayError::Listen { addr, source })?;
    gw.set_listen_addr(local);
    let app = Router::new()
        .route(crate::oauth::CALLBACK_PATH, get(oauth_callback))
        .with_state(gw.clone())
        .merge(app)
        .layer(middleware::from_fn_with_state(
            (gw.clone(), local.port()),
            local_only,
        ));
    let g = gw.clone();
    gw.tasks()
        .spawn(async move { super::connections::serve(g, listener, app).await });
    Ok(HttpServer { addr: local })
}

/// Where the authorization server sends the browser back after a sign-in.
/// Needs no token: the `state` it carries names a flow the gateway started.
async fn oauth_callback(
    State(gw): State<Gateway>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let page = |status: StatusCode, title: &str, text: &str| {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let body = format!(
            "<!doctype html><meta charset=utf-8><title>Portcullis: {}</title><h1>{}</h1><p>{}</p>",
            esc(title),
            esc(title),
            esc(text).replace('\n', "<br>")
        );
        (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response()
    };
    match gw.complete_sign_in(&query).await {
        Ok(server) => page(
            StatusCode::OK,
            "Signed in",
            &format!("Portcullis is signed in to `{server}`. You can close this window."),
        ),
        Err(e) => page(StatusCode::BAD_REQUEST, "Sign-in failed", &e.to_string()),
    }
}

async fn local_only(
    State((gw, port)): State<(Gateway, u16)>,
    req: Request,
    next: Next,
) -> Response {
    let policy = OriginPolicy::new(port, &gw.settings().allowed_origins);
    match check_local(req.headers(), &policy) {
        Ok(()) => next.run(req).await,
        Err((status, message)) => {
            (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
        }
    }
}

fn rpc_error(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let body = Message::error_response(raw("null"), code.code(), message, None).to_bytes();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The door a request came in by, from its path: `/mcp`, `/mcp/direct`,
/// `/mcp/search`, `/mcp/p/NAME` and `/mcp/p/NAME/direct|search`.
fn door_of(uri: &Uri) -> Door {
    let rest = uri.path().trim_start_matches("/mcp");
    let surface_of = |s: &str| match s {
        "direct" => Some(SurfaceMode::Direct),
        "search" => Some(SurfaceMode::Search),
        _ => None,
    };
    match rest.strip_prefix("/p/") {
        Some(profile) => {
            let (name, surface) = profile.split_once('/').unwrap_or((profile, ""));
            Door {
                profile: Some(name.to_owned()),
                surface: surface_of(surface),
            }
        }
        None => Door {
            profile: None,
            surface: surface_of(rest.trim_start_matches('/')),
        },
    }
}

/// Lets the request in by `door` (its client by its token, its profile),
/// or the 401, 403 or 404 that refuses it.
#[allow(
    clippy::result_large_err,
    reason = "the refusal is the handler's answer, returned at once"
)]
fn admit(gw: &Gateway, headers: &HeaderMap, door: &Door) -> Result<Admission, Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    gw.admit(bearer, door).map_err(|refusal| {
        let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::UNAUTHORIZED);
        let mut resp = rpc_error(
            status,
            ErrorCode::InvalidRequest,
            &crate::hint::with_hint(&refusal),
        );
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"portcullis\""),
            );
        }
        resp
    })
}

/// The session the request names, if it belongs to the client and profile
/// it was let in as: a session is used by the client that opened it, at the
/// profile it was opened for.
#[allow(
    clippy::result_large_err,
    reason = "the refusal is the handler's answer, returned at once"
)]
fn session_of(
    gw: &Gateway,
    headers: &HeaderMap,
    admission: &Admission,
) -> Result<Arc<Session>, Response> {
    let Some(id) = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) else {
        return Err(rpc_error(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, "missing Mcp-Session-Id header: send `initialize` first and echo the session id it returns"));
    };
    let session = gw.session(id).ok_or_else(|| {
        rpc_error(
            StatusCode::NOT_FOUND,
            ErrorCode::InvalidRequest,
            "unknown or expired session: start a new one with `initialize`",
        )
    })?;
    if !session.admits(admission) {
        return Err(rpc_error(
            StatusCode::FORBIDDEN,
            ErrorCode::InvalidRequest,
            &other_session(&session),
        ));
    }
    Ok(session)
}

/// Why a request may not use `session`.
fn other_session(session: &Session) -> String {
    let door = session
        .profile()
        .map_or_else(|| "/mcp".to_owned(), |p| format!("/mcp/p/{p}"));
    format!("this session was opened at {door} with another client token or for another profile: send the token that opened it to {door}, or start a new session with `initialize`")
}

/// Whether a request says its body is JSON (`application/json`, parameters allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// Reads the body with a running count, refusing it as soon as it passes
/// `limit` bytes (or when its Content-Length says it will) without holding more.
async fn read_body(
    headers: &HeaderMap,
    body: axum::body::Body,
    limit: usize,
) -> Result<Bytes, Response> {
    use futures::StreamExt;
    let too_large = |size: String| {
        rpc_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::InvalidRequest,
            &format!("the request body of {size} bytes is larger than the limit of {limit} bytes (raise `max_message_bytes` in [gateway] if this is expected)"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > limit as u64) {
        return Err(too_large(n.to_string()));
    }
    let mut buf = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| {
            rpc_error(
                StatusCode::BAD_REQUEST,
                ErrorCode::ParseError,
                &format!("the request body could not be read: {e}"),
            )
        })?;
        if buf.len() + chunk.len() > limit {
            return Err(too_large(format!("more than {limit}")));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

async fn post(State(gw): State<Gateway>, req: Request) -> Response {
    // A client that sends W3C trace context in its headers: its request runs in that trace.
    match crate::telemetry::remote_parent(&gw.inner.observe.telemetry, req.headers()) {
        Some(parent) => {
            use opentelemetry::context::FutureExt as _;
            post_in(gw, req).with_context(parent).await
        }
        None => post_in(gw, req).await,
    }
}

async fn post_in(gw: Gateway, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    // Who calls, by which door, before anything is read: a refused request costs nothing.
    let admission = match admit(&gw, &headers, &door_of(&parts.uri)) {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    if !is_json(&headers) {
        let mut resp = rpc_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::InvalidRequest,
            "a POST to the MCP endpoint must have `Content-Type: application/json`",
        );
        resp.headers_mut()
            .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        return resp;
    }
    let settings = gw.settings();
    let limit = settings.max_message_bytes;
    let body_timeout = settings.limits.body_timeout;
    let body = match tokio::time::timeout(body_timeout, read_body(&headers, body, limit)).await {
        Ok(Ok(b)) => b,
        Ok(Err(resp)) => return resp,
        Err(_) => {
            return rpc_error(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::InvalidRequest,
                &format!(
                    "the request body did not arrive within {} s (`body_timeout` in [limits])",
                    body_timeout.as_secs_f64()
                ),
            )
        }
    };
    let (msgs, batch) = match Message::parse_many(&body, limit) {
        Ok(parsed) => parsed,
        Err(e @ ParseError::TooLarge { .. }) => {
            return rpc_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::InvalidRequest,
                &e.to_string(),
            )
        }
        Err(e @ ParseError::Json(_)) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                ErrorCode::ParseError,
                &e.to_string(),
            )
        }
        Err(e @ (ParseError::Invalid(_) | ParseError::TooDeep { .. })) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidRequest,
                &e.to_string(),
            )
        }
    };
    if msgs.len() > settings.limits.max_batch {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            &format!(
                "a batch of {} messages is larger than the limit of {} (raise `max_batch` in [limits], or send fewer at a time)",
                msgs.len(),
                settings.limits.max_batch
            ),
        );
    }
    if super::http_modern::is_modern(&headers, &msgs) {
        return super::http_modern::post(gw, admission, headers, msgs, batch).await;
    }
    let is_init = msgs
        .iter()
        .any(|m| m.method() == "initialize" && m.kind() == Kind::Request);
    if is_init {
        if batch {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidRequest,
                "`initialize` must be sent alone, not in a batch",
            );
        }
        let session = match gw.open_session(SessionTransport::Http, &admission) {
            Ok(s) => s,
            Err(e) => {
                return rpc_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    e.rpc_code(),
                    &e.rpc_message(),
                )
            }
        };
        let Some(msg) = msgs.into_iter().next() else {
            return StatusCode::ACCEPTED.into_response();
        };
        // A refused `initialize` leaves no session behind.
        let answer = gw.handle(&session, msg, None).await;
        if answer.as_ref().is_none_or(|a| a.error.is_some()) {
            gw.close_session(session.id()).await;
            return json_response(answer.map(|a| a.to_bytes()).unwrap_or_default(), None);
        }
        return json_response(
            answer.map(|a| a.to_bytes()).unwrap_or_default(),
            Some(session.id()),
        );
    }
    let session = match session_of(&gw, &headers, &admission) {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let requests = msgs.iter().filter(|m| m.kind() == Kind::Request).count();
    if requests == 0 {
        for m in msgs {
            gw.handle(&session, m, None).await;
        }
        return StatusCode::ACCEPTED.into_response();
    }
    if batch {
        use futures::StreamExt;
        // At most `batch_concurrency` of a batch run upstream at once; answers keep their order.
        let answers: Vec<Option<Message>> = stream::iter(msgs)
            .map(|m| gw.handle(&session, m, None))
            .buffered(settings.limits.batch_concurrency)
            .collect()
            .await;
        let answers: Vec<String> = answers
            .into_iter()
            .flatten()
            .map(|m| m.to_json_string())
            .collect();
        return json_response(format!("[{}]", answers.join(",")).into_bytes(), None);
    }
    let Some(msg) = msgs.into_iter().next() else {
        return StatusCode::ACCEPTED.into_response();
    };
    let (tx, rx) = mpsc::channel::<Message>(64);
    let s2 = session.clone();
    answer_streaming(
        async move { gw.handle(&s2, msg, Some(tx)).await },
        rx,
        None,
        |_| StatusCode::OK,
    )
    .await
}

/// Whether a GET or DELETE comes from a stateless-era client (which has neither).
fn stateless(headers: &HeaderMap) -> bool {
    super::http_modern::is_modern(headers, &[])
}

async fn get_stream(State(gw): State<Gateway>, uri: Uri, headers: HeaderMap) -> Response {
    if stateless(&headers) {
        return super::http_modern::method_not_allowed();
    }
    let accepts = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !accepts.contains("text/event-stream") {
        return rpc_error(
            StatusCode::NOT_ACCEPTABLE,
            ErrorCode::InvalidRequest,
            "the GET stream needs `Accept: text/event-stream`",
        );
    }
    let admission = match admit(&gw, &headers, &door_of(&uri)) {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    let session = match session_of(&gw, &headers, &admission) {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let Some(rx) = session.take_outbound() else {
        return rpc_error(
            StatusCode::CONFLICT,
            ErrorCode::InvalidRequest,
            "this session already has a GET stream open",
        );
    };
    let stream = OutboundStream {
        rx: Some(rx),
        session: session.clone(),
    };
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// The GET stream; gives the queue back to the session when the client goes.
struct OutboundStream {
    rx: Option<mpsc::Receiver<crate::gateway::Queued>>,
    session: Arc<Session>,
}

impl Stream for OutboundStream {
    type Item = Result<Event, Infallible>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        match self.rx.as_mut() {
            Some(rx) => rx.poll_recv(cx).map(|q| q.map(|q| Ok(event(&q.msg)))),
            None => std::task::Poll::Ready(None),
        }
    }
}

impl Drop for OutboundStream {
    fn drop(&mut self) {
        if let Some(rx) = self.rx.take() {
            self.session.return_outbound(rx);
        }
    }
}

async fn delete(State(gw): State<Gateway>, uri: Uri, headers: HeaderMap) -> Response {
    if stateless(&headers) {
        return super::http_modern::method_not_allowed();
    }
    let Some(id) = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) else {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "missing Mcp-Session-Id header",
        );
    };
    // Only the client that opened a session may end it, at its door.
    let admission = match admit(&gw, &headers, &door_of(&uri)) {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    if let Some(session) = gw.session(id).filter(|s| !s.admits(&admission)) {
        return rpc_error(
            StatusCode::FORBIDDEN,
            ErrorCode::InvalidRequest,
            &other_session(&session),
        );
    }
    if gw.close_session(id).await {
        StatusCode::OK.into_response()
    } else {
        rpc_error(
            StatusCode::NOT_FOUND,
            ErrorCode::InvalidRequest,
            "unknown or expired session",
        )
    }
}
