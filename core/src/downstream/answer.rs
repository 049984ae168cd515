//! How the HTTP endpoint answers a POST: plain JSON, or, once something
//! related to the request (progress, a server-to-client request) comes
//! before its answer, an event stream that ends with the answer. Both
//! eras' handlers (`http.rs`, `http_modern.rs`) answer through it.

use std::collections::VecDeque;
use std::convert::Infallible;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream;
use tokio::sync::mpsc;

use crate::protocol::Message;

/// The header that carries a 2025-era session's id.
pub(super) const SESSION_HEADER: &str = "mcp-session-id";

pub(super) fn json_response(body: Vec<u8>, session: Option<&str>) -> Response {
    let mut resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    add_session_header(&mut resp, session);
    resp
}

fn add_session_header(resp: &mut Response, session: Option<&str>) {
    if let Some(Ok(v)) = session.map(HeaderValue::from_str) {
        resp.headers_mut().insert(SESSION_HEADER, v);
    }
}

/// Answers one request: as plain JSON unless something related (progress,
/// a server-to-client request) arrives before the answer, then as an event
/// stream that ends with the answer. `status` picks the HTTP status of a
/// plain JSON answer.
pub(super) async fn answer_streaming<F>(
    answer: F,
    mut rx: mpsc::Receiver<Message>,
    session_header: Option<String>,
    status: fn(&Message) -> StatusCode,
) -> Response
where
    F: std::future::Future<Output = Option<Message>> + Send + 'static,
{
    let mut answer = Box::pin(answer);
    // Related messages first: an upstream's progress is queued on `rx` just
    // before its answer resolves `answer`, and both are often ready at once;
    // answering first would drop what is queued.
    let first = tokio::select! {
        biased;
        Some(m) = rx.recv() => m,
        a = &mut answer => {
            let code = a.as_ref().map_or(StatusCode::OK, status);
            let mut resp = json_response(a.map(|m| m.to_bytes()).unwrap_or_default(), session_header.as_deref());
            *resp.status_mut() = code;
            return resp;
        }
    };
    let queued = VecDeque::from([first]);
    let state = Streaming::Running(answer, rx, queued);
    let events = stream::unfold(state, |state| async move {
        let mut state = state;
        loop {
            state = match state {
                Streaming::Running(answer, rx, mut queued) if !queued.is_empty() => {
                    let m = queued.pop_front()?;
                    return Some((
                        Ok::<_, Infallible>(event(&m)),
                        Streaming::Running(answer, rx, queued),
                    ));
                }
                Streaming::Running(mut answer, mut rx, queued) => tokio::select! {
                    biased;
                    m = rx.recv() => match m {
                        Some(m) => return Some((Ok(event(&m)), Streaming::Running(answer, rx, queued))),
                        None => Streaming::Draining((&mut answer).await.into_iter().collect()),
                    },
                    a = &mut answer => {
                        // Deliver what is still queued before the final answer.
                        let mut rest = VecDeque::new();
                        while let Ok(m) = rx.try_recv() {
                            rest.push_back(m);
                        }
                        rest.extend(a);
                        Streaming::Draining(rest)
                    }
                },
                Streaming::Draining(mut rest) => {
                    let m = rest.pop_front()?;
                    return Some((Ok(event(&m)), Streaming::Draining(rest)));
                }
            };
        }
    });
    let mut resp = Sse::new(events).into_response();
    add_session_header(&mut resp, session_header.as_deref());
    resp
}

/// The state of a POST answered as an event stream.
enum Streaming<F> {
    Running(
        std::pin::Pin<Box<F>>,
        mpsc::Receiver<Message>,
        VecDeque<Message>,
    ),
    Draining(VecDeque<Message>),
}

pub(super) fn event(m: &Message) -> Event {
    Event::default().event("message").data(m.to_json_string())
}
