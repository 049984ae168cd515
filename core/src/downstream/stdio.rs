//! The gateway over stdio, for clients that can only spawn a command: one
//! session, one JSON-RPC message per line. Requests are handled
//! concurrently, so a `notifications/cancelled` reaches a call in flight.
//! A request whose `_meta` carries a protocol version is a stateless
//! (2026-07-28) request and is served as one; `subscriptions/listen` is not
//! offered over stdio yet.

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::gateway::Gateway;
use crate::protocol::{raw, ErrorCode, Kind, Message};
use crate::transport::{Line, LineReader};

/// Whether a request speaks the stateless era (its `_meta` names a
/// protocol version, and it is not `initialize`).
fn is_stateless(msg: &Message) -> bool {
    msg.method() != "initialize" && msg.params.as_ref().is_some_and(|p| p.get().contains(crate::protocol::modern::META_PROTOCOL_VERSION))
}

/// Serves one session on `input`/`output` until `input` ends or the gateway stops.
pub async fn serve_stdio<R, W>(gw: &Gateway, input: R, output: W)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let session = gw.open_session("stdio", None);
    let limit = gw.settings().max_message_bytes;
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(1024);
    let writer = tokio::spawn(async move {
        let mut output = tokio::io::BufWriter::new(output);
        while let Some(m) = out_rx.recv().await {
            let mut bytes = m.to_bytes();
            bytes.push(b'\n');
            if output.write_all(&bytes).await.is_err() {
                break;
            }
            if out_rx.is_empty() && output.flush().await.is_err() {
                break;
            }
        }
        let _ = output.flush().await;
    });
    // Server-initiated messages go out on the same pipe.
    let done = gw.cancellation().child_token();
    let _stop_forwarding = done.clone().drop_guard();
    if let Some(mut outbound) = session.take_outbound() {
        let tx = out_tx.clone();
        let cancel = done.clone();
        gw.tasks().spawn(async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => break,
                    m = outbound.recv() => match m {
                        Some(m) => if tx.send(m).await.is_err() { break },
                        None => break,
                    },
                }
            }
        });
    }
    let requests = tokio_util::task::TaskTracker::new();
    let mut lines = LineReader::new(input, limit);
    let cancel = gw.cancellation();
    loop {
        let line = tokio::select! {
            () = cancel.cancelled() => break,
            l = lines.next() => l,
        };
        let line = match line {
            Ok(Line::Text(line)) => line,
            Ok(Line::TooLong(n)) => {
                let err = Message::error_response(raw("null"), ErrorCode::InvalidRequest.code(), &format!("a message of {n} bytes is larger than the limit of {limit} bytes (raise `max_message_bytes` in [gateway] if this is expected)"), None);
                let _ = out_tx.send(err).await;
                continue;
            }
            Err(_) | Ok(Line::Eof) => break,
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let msg = match Message::parse(&line, limit) {
            Ok(m) => m,
            Err(e) => {
                let _ = out_tx.send(Message::error_response(raw("null"), ErrorCode::ParseError.code(), &e.to_string(), None)).await;
                continue;
            }
        };
        if msg.kind() == Kind::Request && is_stateless(&msg) {
            // A 2026-07-28 request: its notifications go out on the same pipe.
            let (gw, tx) = (gw.clone(), out_tx.clone());
            requests.spawn(async move {
                let answer = gw.handle_modern(msg, None, None, Some(tx.clone())).await;
                let _ = tx.send(answer).await;
            });
        } else if msg.kind() == Kind::Request {
            let (gw, session, tx) = (gw.clone(), session.clone(), out_tx.clone());
            requests.spawn(async move {
                // Related messages (progress) go straight to the output, so
                // they stay ahead of the answer they precede upstream.
                if let Some(answer) = gw.handle(&session, msg, Some(tx.clone())).await {
                    let _ = tx.send(answer).await;
                }
            });
        } else {
            gw.handle(&session, msg, None).await;
        }
    }
    requests.close();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), requests.wait()).await;
    gw.close_session(session.id()).await;
    done.cancel();
    drop(out_tx);
    let _ = writer.await;
}
