//! The legacy HTTP+SSE transport (MCP 2024-11-05): a GET opens an event
//! stream whose first `endpoint` event names the URL to POST messages to;
//! answers arrive as `message` events on the stream.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::Method;
use tokio::sync::oneshot;

use super::auth_retry;
use super::link::{base_headers, fail, read_bounded, Link};
use super::sse_codec::SseParser;
use super::TransportError;
use crate::protocol::Message;

/// A connected legacy SSE session.
pub(super) struct LegacySse {
    link: Arc<Link>,
    endpoint: reqwest::Url,
}

impl LegacySse {
    /// Opens the stream and waits for the `endpoint` event, signing in on
    /// the way (`auth_retry.rs`).
    pub(super) async fn connect(
        link: Arc<Link>,
        url: reqwest::Url,
    ) -> Result<Self, TransportError> {
        let mut h = base_headers(&link, "GET", url.as_str());
        h.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        let resp = auth_retry::send(&link, Method::GET, &url, h, None).await?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let body = read_bounded(resp, 64 * 1024).await.unwrap_or_default();
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

    /// POSTs one message, signing in on the way like the stream's GET; a
    /// failure is reported to the waiting caller.
    pub(super) async fn send(&self, msg: &Message) {
        let l = &self.link;
        let mut h = base_headers(l, "POST", self.endpoint.as_str());
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        crate::telemetry::copy_to_headers(msg.params.as_deref(), &mut h);
        let body = Some(msg.to_bytes().into());
        let result = match auth_retry::send(l, Method::POST, &self.endpoint, h, body).await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => {
                let status = r.status().as_u16();
                let body = read_bounded(r, 64 * 1024).await.unwrap_or_default();
                let body = String::from_utf8_lossy(&body);
                Err(TransportError::Status {
                    url: self.endpoint.to_string(),
                    status,
                    body: body.chars().take(300).collect(),
                })
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            fail(l, msg, &e);
        }
    }
}
