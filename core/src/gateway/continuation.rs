//! A 2026-07-28 client in front of a handshake-era upstream: the upstream's
//! server-to-client requests (sampling, elicitation, roots) become an
//! `input_required` result, and the client's retry carries the answers back.
//!
//! The upstream call keeps running in the gateway while the client is asked:
//! 1. The call is forwarded as usual. When the upstream sends a request that
//!    the routing rule gives to this call, the gateway waits 50 ms for more
//!    (an upstream may ask several things at once), parks the call and
//!    answers the client `{"resultType": "input_required", "inputRequests":
//!    {key: request}, "requestState": token}`.
//! 2. The client retries the same method with `inputResponses` and the
//!    `requestState`. The gateway finds the parked call by its token, answers
//!    the upstream's requests with those responses and goes on waiting: for
//!    the final result, or for the next requests (another round).
//! 3. A response missing from the retry is asked for again; keys the gateway
//!    did not ask for are ignored; a token it did not issue (or one that
//!    expired with the call's timeout, or one for another method or name) is
//!    refused with -32602.
//!
//! Keys are `<kind>-<hash>`: the kind (`elicitation`, `sampling`, `roots`)
//! and eight hex digits of a hash of the request, so the same request gets
//! the same key. A retry without `requestState` but with `inputResponses`
//! (the spec's stateless retry) runs the call again and answers the
//! upstream's requests from those responses when their keys match.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, oneshot};

use super::session::InputAsk;
use super::{Gateway, GatewayError, Session};
use crate::protocol::modern::Rejection;
use crate::protocol::{to_raw, ErrorCode, Message};
use crate::upstream::{UpstreamError, UpstreamHandle};

/// How the gateway's own `requestState` tokens start (an upstream's pass through).
pub(super) const TOKEN_PREFIX: &str = "pcs1.";

/// How long to wait for more requests after the first, before asking the client.
const GATHER: Duration = Duration::from_millis(50);

type Answer = Pin<Box<dyn Future<Output = Result<Message, UpstreamError>> + Send>>;

/// A call whose client was asked for input.
pub(crate) struct Continuation {
    gw: Gateway,
    session: Arc<Session>,
    method: String,
    name: Option<String>,
    upstream: UpstreamHandle,
    upstream_id: u64,
    answer: Answer,
    input: mpsc::Receiver<InputAsk>,
    asks: Vec<InputAsk>,
    inflight_key: Option<String>,
    progress_token: Option<String>,
    deadline: Instant,
    finished: bool,
}

impl Drop for Continuation {
    fn drop(&mut self) {
        if let Some(key) = &self.inflight_key {
            self.session.inflight.lock().remove(key);
        }
        if let Some(t) = &self.progress_token {
            self.gw.inner.clients.progress.forget(t);
        }
        self.session.parked.store(false, Ordering::Relaxed);
        self.gw.inner.clients.sessions.remove(self.session.id());
        if !self.finished {
            // The client went away or never came back: stop the upstream's work.
            let (upstream, id) = (self.upstream.clone(), self.upstream_id);
            self.gw.inner.life.tasks.spawn(async move {
                upstream
                    .cancel_request(id, "the client did not finish the exchange")
                    .await;
            });
        }
    }
}

/// The calls waiting for a client's retry, by `requestState`.
pub(crate) type Parked = std::collections::HashMap<String, Continuation>;

/// Forwards a call of a 2026-07-28 session and drives it until it ends or needs input.
pub(super) async fn start(
    gw: &Gateway,
    session: &Arc<Session>,
    server: &str,
    msg: Message,
    progress_token: Option<String>,
    related: Option<mpsc::Sender<Message>>,
) -> Result<Message, GatewayError> {
    let upstream = gw
        .upstream(server)
        .ok_or_else(|| GatewayError::UnknownServer {
            name: server.to_owned(),
        })?;
    // The client's own method and name (the gateway renames tools for the upstream).
    let (method, name) = session
        .origin
        .lock()
        .clone()
        .unwrap_or_else(|| (msg.method().to_owned(), None));
    let key = msg.id_key().map(str::to_owned);
    let call = upstream.start_forward(msg).await?;
    let (tx, input) = mpsc::channel(16);
    session.track_inflight(
        key.as_deref(),
        server,
        call.upstream_id,
        related.clone(),
        Some(tx),
    );
    let timeout = upstream.settings().call_timeout;
    let c = Continuation {
        gw: gw.clone(),
        session: session.clone(),
        method,
        name,
        upstream_id: call.upstream_id,
        upstream: upstream.clone(),
        answer: Box::pin(call.wait(timeout)),
        input,
        asks: Vec::new(),
        inflight_key: key,
        progress_token,
        deadline: Instant::now() + timeout,
        finished: false,
    };
    drive(c).await
}

/// Waits for the upstream's answer or its next requests.
async fn drive(mut c: Continuation) -> Result<Message, GatewayError> {
    // Requests that came while the call was parked are asked first.
    while let Ok(ask) = c.input.try_recv() {
        c.asks.push(ask);
    }
    if c.asks.is_empty() {
        tokio::select! {
            answer = &mut c.answer => {
                c.finished = true;
                return Ok(answer?);
            }
            ask = c.input.recv() => match ask {
                Some(ask) => c.asks.push(ask),
                None => {
                    c.finished = true;
                    return Ok((&mut c.answer).await?);
                }
            },
        }
        while let Ok(Some(ask)) = tokio::time::timeout(GATHER, c.input.recv()).await {
            c.asks.push(ask);
        }
    }
    Ok(park(c))
}

/// Parks the call and answers the client with what it must provide.
fn park(c: Continuation) -> Message {
    let token = format!("{TOKEN_PREFIX}{}", uuid::Uuid::new_v4().simple());
    let requests: Map<String, Value> = c
        .asks
        .iter()
        .map(|a| {
            (
                a.key.clone(),
                json!({ "method": a.method, "params": a.params }),
            )
        })
        .collect();
    c.session.parked.store(true, Ordering::Relaxed);
    let result =
        json!({ "resultType": "input_required", "inputRequests": requests, "requestState": token });
    let gw = c.gw.clone();
    gw.inner.clients.parked.lock().insert(token, c);
    Message {
        result: Some(to_raw(&result)),
        ..Message::default()
    }
}

/// A retry with `requestState`: answers the parked call's requests and goes on.
pub(super) async fn resume(
    gw: &Gateway,
    token: &str,
    method: &str,
    name: Option<&str>,
    responses: Option<Value>,
    related: Option<mpsc::Sender<Message>>,
) -> Result<Message, GatewayError> {
    let parked = gw.inner.clients.parked.lock().remove(token);
    let Some(mut c) = parked.filter(|c| c.deadline > Instant::now()) else {
        return Err(GatewayError::InvalidParams("requestState was not issued by Portcullis, was altered, or expired: send the request again without requestState and inputResponses".into()));
    };
    if c.method != method || c.name.as_deref() != name {
        let what = format!(
            "requestState belongs to `{}`{}, not to this request",
            c.method,
            c.name
                .as_deref()
                .map(|n| format!(" of `{n}`"))
                .unwrap_or_default()
        );
        // Put it back: the right retry may still come.
        gw.inner.clients.parked.lock().insert(token.to_owned(), c);
        return Err(GatewayError::InvalidParams(what));
    }
    let mut answers = match responses {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let mut missing = Vec::new();
    for ask in std::mem::take(&mut c.asks) {
        match answers.remove(&ask.key) {
            Some(answer) => {
                let _ = ask.reply.send(answer);
            }
            None => missing.push(ask),
        }
    }
    if let Some(t) = &c.progress_token {
        gw.inner.clients.progress.redirect(t, related.clone());
    }
    if let Some(k) = &c.inflight_key {
        if let Some(f) = c.session.inflight.lock().get_mut(k) {
            f.related = related;
        }
    }
    c.asks = missing;
    drive(c).await
}

/// `inputResponses` must be an object of objects (each a result of the request it answers).
pub(super) fn check_responses(responses: &Value) -> Result<(), Rejection> {
    let invalid = |message: String| Rejection {
        code: ErrorCode::InvalidParams.code(),
        message,
        data: None,
    };
    let map = responses.as_object().ok_or_else(|| {
        invalid(
            "inputResponses must be an object mapping each inputRequests key to its result".into(),
        )
    })?;
    for (k, v) in map {
        if !v.is_object() {
            return Err(invalid(format!(
                "inputResponses.{k} must be an object (the result of the request it answers)"
            )));
        }
    }
    Ok(())
}

/// The key of a request: its kind and a hash of its content.
pub(super) fn key_for(method: &str, params: &Value) -> String {
    let kind = match method {
        "elicitation/create" => "elicitation",
        "sampling/createMessage" => "sampling",
        "roots/list" => "roots",
        other => other.rsplit('/').next().unwrap_or("input"),
    };
    let mut hash: u32 = 0x811c_9dc5;
    for b in method.bytes().chain(params.to_string().bytes()) {
        hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("{kind}-{hash:08x}")
}

/// Asks a 2026-07-28 client for input during its call; returns the answer for the upstream.
pub(super) async fn ask(
    session: &Session,
    input: mpsc::Sender<InputAsk>,
    msg: &Message,
    timeout: Duration,
) -> Result<Value, String> {
    let method = msg.method().to_owned();
    let mut params: Value = msg.params_as().ok().flatten().unwrap_or_else(|| json!({}));
    // The upstream's own `_meta` (its progress token, say) means nothing to the client.
    if let Some(p) = params.as_object_mut() {
        p.remove("_meta");
    }
    let key = key_for(&method, &params);
    if let Some(answer) = session.prefilled.lock().remove(&key) {
        return Ok(answer);
    }
    let (reply, rx) = oneshot::channel();
    input
        .send(InputAsk {
            key,
            method: method.clone(),
            params,
            reply,
        })
        .await
        .map_err(|_| format!("the call that caused `{method}` has ended"))?;
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(_)) => Err(format!(
            "the client did not answer `{method}`: its call ended"
        )),
        Err(_) => Err(format!(
            "the client did not answer `{method}` within {} s",
            timeout.as_secs()
        )),
    }
}

/// Drops parked calls whose time is up (their upstream requests are cancelled).
pub(super) fn expire(gw: &Gateway) {
    let now = Instant::now();
    let expired: Vec<Continuation> = {
        let mut parked = gw.inner.clients.parked.lock();
        let keys: Vec<String> = parked
            .iter()
            .filter(|(_, c)| c.deadline <= now)
            .map(|(k, _)| k.clone())
            .collect();
        keys.into_iter().filter_map(|k| parked.remove(&k)).collect()
    };
    drop(expired);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_say_what_they_ask() {
        let a = key_for("elicitation/create", &json!({ "message": "name?" }));
        assert_eq!(
            a,
            key_for("elicitation/create", &json!({ "message": "name?" }))
        );
        assert!(a.starts_with("elicitation-") && a.len() == "elicitation-".len() + 8);
        assert_ne!(
            a,
            key_for("elicitation/create", &json!({ "message": "age?" }))
        );
        assert!(key_for("roots/list", &json!({})).starts_with("roots-"));
    }

    #[test]
    fn responses_must_be_objects() {
        assert!(check_responses(&json!({ "k": { "action": "accept" } })).is_ok());
        assert_eq!(
            check_responses(&json!({ "k": 12345 })).unwrap_err().code,
            -32602
        );
        assert_eq!(check_responses(&Value::Null).unwrap_err().code, -32602);
    }
}
