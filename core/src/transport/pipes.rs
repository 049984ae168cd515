//! The three pumps of a stdio-like upstream, shared by the child-process
//! transport and the container transport: messages to its stdin, JSON-RPC
//! lines from its stdout, and stderr lines to its log. Each runs in the
//! caller's `TaskTracker` and ends when the connection is cancelled.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{CloseSignal, Inbound, Line, LineReader, StderrLog};
use crate::protocol::Message;

/// How long a closed pipe waits for the exit status to be known.
const EXIT_STATUS_WAIT: Duration = Duration::from_millis(300);
/// The longest stderr line kept whole.
const MAX_STDERR_LINE: usize = 64 * 1024;

/// Writes one line per message; batches consecutive messages into one write.
pub(crate) fn spawn_writer<W>(
    tasks: &TaskTracker,
    cancel: CancellationToken,
    signal: CloseSignal,
    stdin: W,
    mut rx: mpsc::Receiver<Message>,
) where
    W: AsyncWrite + Unpin + Send + 'static,
{
    tasks.spawn(async move {
        let mut stdin = tokio::io::BufWriter::new(stdin);
        loop {
            let msg = tokio::select! {
                () = cancel.cancelled() => break,
                msg = rx.recv() => match msg { Some(m) => m, None => break },
            };
            let mut buf = msg.to_bytes();
            buf.push(b'\n');
            let mut ok = stdin.write_all(&buf).await.is_ok();
            while ok {
                match rx.try_recv() {
                    Ok(more) => {
                        let mut b = more.to_bytes();
                        b.push(b'\n');
                        ok = stdin.write_all(&b).await.is_ok();
                    }
                    Err(_) => break,
                }
            }
            if !ok || stdin.flush().await.is_err() {
                close_pipe(&signal, "its stdin was closed").await;
                break;
            }
        }
    });
}

/// Reads stdout lines and hands each JSON-RPC message to `inbound`.
pub(crate) fn spawn_reader<R>(
    tasks: &TaskTracker,
    cancel: CancellationToken,
    signal: CloseSignal,
    server: String,
    limit: usize,
    stdout: R,
    inbound: Inbound,
) where
    R: AsyncRead + Unpin + Send + 'static,
{
    tasks.spawn(async move {
        let mut lines = LineReader::new(stdout, limit);
        loop {
            let line = tokio::select! {
                () = cancel.cancelled() => break,
                line = lines.next() => line,
            };
            match line {
                Ok(Line::Text(line)) => {
                    let trimmed = line.trim_ascii();
                    if trimmed.is_empty() {
                        continue;
                    }
                    match Message::parse(trimmed, limit)
                        .or_else(|e| salvage(trimmed, limit).ok_or(e))
                    {
                        Ok(msg) => inbound(msg),
                        Err(e) => tracing::warn!(
                            server,
                            "ignoring a line on stdout that is not JSON-RPC ({e}): {}",
                            super::printable(preview(&String::from_utf8_lossy(trimmed)))
                        ),
                    }
                }
                Ok(Line::TooLong(n)) => tracing::warn!(
                    server,
                    "dropped a {n}-byte message over the {limit}-byte limit from stdout"
                ),
                Err(e) => {
                    close_pipe(&signal, format!("reading its stdout failed: {e}")).await;
                    break;
                }
                Ok(Line::Eof) => {
                    close_pipe(&signal, "it closed its stdout").await;
                    break;
                }
            }
        }
    });
}

/// Writes stderr lines to the log. The receiver resolves once stderr ended,
/// so whoever reports the exit can wait (briefly) for its last lines.
pub(crate) fn spawn_stderr<R>(
    tasks: &TaskTracker,
    cancel: CancellationToken,
    stderr: R,
    log: Arc<StderrLog>,
) -> oneshot::Receiver<()>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let (done_tx, done) = oneshot::channel::<()>();
    tasks.spawn(async move {
        let _done = done_tx;
        let mut lines = LineReader::new(stderr, MAX_STDERR_LINE);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                line = lines.next() => match line {
                    Ok(Line::Text(line)) => log.push(&String::from_utf8_lossy(&line)),
                    Ok(Line::TooLong(n)) => log.push(&format!("[a {n}-byte line was left out]")),
                    _ => break,
                },
            }
        }
    });
    done
}

/// A closed pipe usually means the process is exiting: give the reaper a
/// moment to report how (exit status, signal), which says more.
async fn close_pipe(signal: &CloseSignal, reason: impl Into<String>) {
    tokio::time::sleep(EXIT_STATUS_WAIT).await;
    signal.close(reason);
}

/// A line that is not UTF-8 read with its bad bytes replaced (U+FFFD), as
/// JSON text must be; `None` when it is UTF-8 (its parse error stands).
fn salvage(line: &[u8], limit: usize) -> Option<Message> {
    match String::from_utf8_lossy(line) {
        std::borrow::Cow::Owned(text) => Message::parse(text.as_bytes(), limit).ok(),
        std::borrow::Cow::Borrowed(_) => None,
    }
}

fn preview(text: &str) -> &str {
    let mut end = text.len().min(200);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_that_is_not_utf8_is_read_with_replacement_characters() {
        let line = b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"text\":\"caf\xe9\"}}";
        assert!(Message::parse(line, 1024).is_err());
        let msg = salvage(line, 1024).expect("salvaged");
        assert_eq!(
            msg.result.expect("a result").get(),
            "{\"text\":\"caf\u{fffd}\"}"
        );
        assert!(
            salvage(b"{not json}", 1024).is_none(),
            "a UTF-8 line keeps its parse error"
        );
    }
}
