//! The gateway over stdio, for clients that can only spawn a command: one
//! session, one JSON-RPC message per line. Requests are handled
//! concurrently, so a `notifications/cancelled` reaches a call in flight.

use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};

use crate::gateway::Gateway;
use crate::protocol::{raw, ErrorCode, Kind, Message};

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
    if let Some(mut outbound) = session.take_outbound() {
        let tx = out_tx.clone();
        let cancel = gw.cancellation();
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
    let mut lines = FramedRead::new(input, LinesCodec::new_with_max_length(limit));
    let cancel = gw.cancellation();
    loop {
        let line = tokio::select! {
            () = cancel.cancelled() => break,
            l = lines.next() => l,
        };
        let line = match line {
            Some(Ok(line)) => line,
            Some(Err(LinesCodecError::MaxLineLengthExceeded)) => {
                let err = Message::error_response(raw("null"), ErrorCode::InvalidRequest.code(), &format!("message larger than the {limit}-byte limit (raise `max_message_bytes` in [gateway] if this is expected)"), None);
                let _ = out_tx.send(err).await;
                continue;
            }
            Some(Err(LinesCodecError::Io(_))) | None => break,
        };
        if line.trim().is_empty() {
            continue;
        }
        let msg = match Message::parse(line.as_bytes(), limit) {
            Ok(m) => m,
            Err(e) => {
                let _ = out_tx.send(Message::error_response(raw("null"), ErrorCode::ParseError.code(), &e.to_string(), None)).await;
                continue;
            }
        };
        if msg.kind() == Kind::Request {
            let (gw, session, tx) = (gw.clone(), session.clone(), out_tx.clone());
            requests.spawn(async move {
                if let Some(answer) = gw.handle(&session, msg, None).await {
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
    drop(out_tx);
    let _ = writer.await;
}
