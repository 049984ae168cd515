//! The legacy HTTP+SSE transport (MCP 2024-11-05): a GET opens an event
//! stream whose first `endpoint` event names the URL to POST messages to;
//! answers arrive as `message` events on the stream.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE, WWW_AUTHENTICATE};
use tokio::sync::oneshot;

use super::http::{base_headers, error_chain, fail, put_token, Link};
use super::sse_codec::SseParser;
use super::TransportError;
use crate::protocol::Message;

/// A connected legacy SSE session.
pub(super) struct LegacySse {
    link: Arc<Link>,
    endpoint: reqwest::Url,
}

impl LegacySse {
    /// Opens the stream and waits for the `endpoint` event. A refusal for
    /// want of a sign-in is answered by signing in (refreshing, or waiting
    /// for a person), then opening it again; a few times at most.
    pub(super) async fn connect(
        link: Arc<Link>,
        url: reqwest::Url,
    ) -> Result<Self, TransportError> {
        let mut challenges = 0;
        let resp = loop {
            let mut h = base_headers(&link, "GET", url.as_str());
            h.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
            let sent = match &link.auth {
                Some(auth) => auth.token().await,
                None => None,
            };
            if let (Some(auth), Some(token)) = (&link.auth, &sent) {
                put_token(&mut h, auth, "GET", url.as_str(), token);
            }
            let resp = link
                .http
                .get(url.clone())
                .headers(h)
                .send()
                .await
                .map_err(|e| TransportError::Unreachable {
                    url: url.to_string(),
                    message: error_chain(&e),
                })?;
            let Some(auth) = &link.auth else { break resp };
            let status = resp.status().as_u16();
            let www = resp
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let wants_sign_in = status == 401
                || (status == 403
                    && www
                        .as_deref()
                        .is_some_and(|w| w.contains("insufficient_scope")));
            if !wants_sign_in || challenges >= crate::oauth::MAX_AUTHORIZATIONS {
                if resp.status().is_success() && sent.is_some() {
                    auth.note_success();
                }
                break resp;
            }
            challenges += 1;
            tokio::select! {
                () = link.cancel.cancelled() => return Err(TransportError::Unreachable { url: url.to_string(), message: "the connection was closed while waiting for sign-in".into() }),
                r = auth.on_challenge(status, www.as_deref(), sent.as_deref()) => r?,
            }
        };
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let body = super::http::read_bounded(resp, 64 * 1024)
                .await
                .unwrap_or_default();
            let body = String::from_utf8_lossy(&body);
            return Err(TransportError::Status {
                url: url.to_string(),
                status,
                body: body.chars().take(300).collect(),
            });
        }
        let (endpoint_tx, endpoint_rx) = oneshot::channel::<String>();
        let l = link.clone();
        link.tasks.spawn(async move {
            let mut endpoint_tx = Some(endpoint_tx);
            let mut parser = SseParser::new(l.limit);
            let mut body = resp.bytes_stream();
            loop {
                let chunk = tokio::select! {
                    () = l.cancel.cancelled() => return,
                    c = body.next() => c,
                };
                let Some(Ok(chunk)) = chunk else { break };
                let Ok(events) = parser.feed(&chunk) else {
                    l.signal
                        .close(format!("an SSE event passed the {}-byte limit", l.limit));
                    return;
                };
                for ev in events {
                    match ev.event.as_str() {
                        "endpoint" => {
                            if let Some(tx) = endpoint_tx.take() {
                                let _ = tx.send(ev.data);
                            }
                        }
                        "" | "message" => match Message::parse(ev.data.as_bytes(), l.limit) {
                            Ok(m) => (l.inbound)(m),
                            Err(e) => tracing::warn!(
                                server = l.server,
                                "ignoring an SSE event that is not JSON-RPC: {e}"
                            ),
                        },
                        _ => {}
                    }
                }
            }
            l.signal.close("the server closed the SSE stream");
        });
        let endpoint = tokio::time::timeout(Duration::from_secs(10), endpoint_rx)
            .await
            .map_err(|_| TransportError::Protocol {
                url: url.to_string(),
                message: "no `endpoint` event within 10 s; is this an SSE endpoint?".into(),
            })?
            .map_err(|_| TransportError::Protocol {
                url: url.to_string(),
                message: "the SSE stream ended before its `endpoint` event".into(),
            })?;
        let endpoint = url
            .join(endpoint.trim())
            .map_err(|e| TransportError::Protocol {
                url: url.to_string(),
                message: format!("bad endpoint `{endpoint}`: {e}"),
            })?;
        // The configured headers (secrets) go with every POST: only to the server's own origin.
        if endpoint.origin() != url.origin() {
            return Err(TransportError::Protocol {
                url: url.to_string(),
                message: format!(
                    "its `endpoint` event names {}, another origin than the server's own ({}); Portcullis does not send messages or credentials there",
                    crate::transport::printable(endpoint.as_str()),
                    url.origin().ascii_serialization()
                ),
            });
        }
        Ok(Self { link, endpoint })
    }

    /// POSTs one message; a failure is reported to the waiting caller.
    pub(super) async fn send(&self, msg: &Message) {
        let l = &self.link;
        let mut h = base_headers(l, "POST", self.endpoint.as_str());
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let result = match l
            .http
            .post(self.endpoint.clone())
            .headers(h)
            .body(msg.to_bytes())
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => {
                let status = r.status().as_u16();
                let body = super::http::read_bounded(r, 64 * 1024)
                    .await
                    .unwrap_or_default();
                let body = String::from_utf8_lossy(&body);
                Err(TransportError::Status {
                    url: self.endpoint.to_string(),
                    status,
                    body: body.chars().take(300).collect(),
                })
            }
            Err(e) => Err(TransportError::Unreachable {
                url: self.endpoint.to_string(),
                message: error_chain(&e),
            }),
        };
        if let Err(e) = result {
            fail(l, msg, &e);
        }
    }
}
