//! The gateway over stdio, for clients that can only spawn a command: one
//! session, one JSON-RPC message per line. Requests are handled
//! concurrently, so a `notifications/cancelled` reaches a call in flight.
//! A request whose `_meta` carries a protocol version is a stateless
//! (2026-07-28) request and is served as one. A `subscriptions/listen`
//! request opens a stream whose notifications go out on stdout, tagged with
//! its subscription id, until the client cancels that request
//! (`notifications/cancelled`) or closes stdin.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::gateway::{Admission, Gateway, SessionTransport};
use crate::protocol::{raw, ErrorCode, Kind, Message};
use crate::transport::{Line, LineReader};

/// How many messages the reader takes from one read before it lets the
/// runtime run what they started. Everything here shares one thread: without
/// a break, a burst of requests is all parsed before the first is forwarded,
/// and the upstream idles meanwhile. Handing off every few messages lets it
/// work on the first ones while the rest are read (64 calls in flight:
/// 130k → 194k calls/s; a break after every message costs more than it gains).
const HAND_OFF_AFTER: usize = 16;

/// Whether a request speaks the stateless era, by the gateway's one rule
/// (over stdio only the message says).
fn is_stateless(msg: &Message) -> bool {
    crate::gateway::era_of(Some(msg), crate::gateway::EraSigns::default())
        == crate::gateway::Era::Modern
}

/// The process's stdin, to pass to [`serve_stdio`].
pub type ProcessInput = Box<dyn AsyncRead + Unpin + Send>;
/// The process's stdout, to pass to [`serve_stdio`].
pub type ProcessOutput = Box<dyn AsyncWrite + Unpin + Send>;

/// This process's stdin and stdout for [`serve_stdio`].
///
/// A client that spawns the gateway talks to it over pipes. Those are
/// driven by the reactor directly: tokio's own stdin and stdout hand every
/// read and write to a blocking thread, two thread hand-offs per message.
/// Anything else (a terminal, a file), and a stdout that is also stderr
/// (non-blocking mode would be shared with the log), keeps tokio's. The
/// pipes are put in non-blocking mode, which is shared with any other
/// process holding the same pipe ends (a client that spawned the gateway
/// holds the other ends only).
pub fn process_stdio() -> (ProcessInput, ProcessOutput) {
    let input: ProcessInput = match dup_pipe(std::io::stdin().as_fd())
        .and_then(|fd| pipe::Receiver::from_owned_fd(fd).ok())
    {
        Some(rx) => Box::new(rx),
        None => Box::new(tokio::io::stdin()),
    };
    let shares_stderr = same_file(std::io::stdout().as_fd(), std::io::stderr().as_fd());
    let output: ProcessOutput = match (!shares_stderr)
        .then(|| dup_pipe(std::io::stdout().as_fd()))
        .flatten()
        .and_then(|fd| pipe::Sender::from_owned_fd(fd).ok())
    {
        Some(tx) => Box::new(tx),
        None => Box::new(tokio::io::stdout()),
    };
    (input, output)
}

/// A duplicate of `fd` when it is a pipe (or FIFO).
fn dup_pipe(fd: std::os::fd::BorrowedFd<'_>) -> Option<OwnedFd> {
    let kind = stat(fd)?.st_mode & libc::S_IFMT;
    (kind == libc::S_IFIFO)
        .then(|| fd.try_clone_to_owned().ok())
        .flatten()
}

fn same_file(a: std::os::fd::BorrowedFd<'_>, b: std::os::fd::BorrowedFd<'_>) -> bool {
    match (stat(a), stat(b)) {
        (Some(a), Some(b)) => (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino),
        _ => false,
    }
}

fn stat(fd: std::os::fd::BorrowedFd<'_>) -> Option<libc::stat> {
    use std::os::fd::AsRawFd;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a `stat` into the buffer on success and reads only the descriptor.
    let rc = unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) };
    // SAFETY: initialised by the successful call above.
    (rc == 0).then(|| unsafe { st.assume_init() })
}

/// Serves one session on `input`/`output` until `input` ends or the gateway
/// stops, seeing what `admission` lets it (`portcullis stdio --profile`).
pub async fn serve_stdio<R, W>(gw: &Gateway, admission: Admission, input: R, output: W)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    // Only HTTP sessions count against `max_sessions`: this one always opens.
    let Ok(session) = gw.open_session(SessionTransport::Stdio, &admission) else {
        return;
    };
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
                        Some(q) => if tx.send(q.into_message()).await.is_err() { break },
                        None => break,
                    },
                }
            }
        });
    }
    let requests = TaskTracker::new();
    // Open listen streams by their request's id (JSON text), for cancelling.
    let mut listens: HashMap<String, CancellationToken> = HashMap::new();
    let listening = CancellationToken::new();
    let mut lines = LineReader::new(input, limit);
    let cancel = gw.cancellation();
    let mut since_hand_off = 0usize;
    loop {
        if since_hand_off == HAND_OFF_AFTER {
            since_hand_off = 0;
            tokio::task::yield_now().await;
        }
        since_hand_off += 1;
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
                let _ = out_tx
                    .send(Message::error_response(
                        raw("null"),
                        ErrorCode::ParseError.code(),
                        &e.to_string(),
                        None,
                    ))
                    .await;
                continue;
            }
        };
        if msg.kind() == Kind::Request
            && msg.method() == "subscriptions/listen"
            && is_stateless(&msg)
        {
            let key = msg.id_key().unwrap_or("null").to_owned();
            let stop = listening.child_token();
            listens.insert(key, stop.clone());
            listen(gw, msg, out_tx.clone(), &requests, stop).await;
        } else if msg.kind() == Kind::Request && is_stateless(&msg) {
            // A 2026-07-28 request: its notifications go out on the same pipe.
            let (gw, tx, admission) = (gw.clone(), out_tx.clone(), admission.clone());
            requests.spawn(async move {
                let answer = gw
                    .handle_modern(msg, None, &admission, Some(tx.clone()))
                    .await;
                let _ = tx.send(answer).await;
            });
        } else if msg.kind() == Kind::Request {
            let (gw, session, tx) = (gw.clone(), session.clone(), out_tx.clone());
            requests.spawn(async move {
                // Related messages (progress) go straight to the output, so
                // they stay ahead of the answer they precede upstream.
                // Boxed: the task stays small, the large future gets a plain allocation.
                if let Some(answer) = Box::pin(gw.handle(&session, msg, Some(tx.clone()))).await {
                    let _ = tx.send(answer).await;
                }
            });
        } else if let Some(stop) = cancelled_request(&msg).and_then(|id| listens.remove(&id)) {
            // The end of a listen stream: nothing more is sent for it.
            stop.cancel();
        } else {
            if msg.method() == "notifications/cancelled" {
                // Its request may have come in the same read, its task not run yet: once
                // polled it is in flight (forwarded and registered), and can be cancelled.
                tokio::task::yield_now().await;
            }
            gw.handle(&session, msg, None).await;
        }
    }
    listening.cancel();
    requests.close();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), requests.wait()).await;
    gw.close_session(session.id()).await;
    done.cancel();
    drop(out_tx);
    let _ = writer.await;
}

/// Opens a `subscriptions/listen` stream whose notifications go to `out`
/// until `stop`; a refusal is answered at once.
async fn listen(
    gw: &Gateway,
    msg: Message,
    out: mpsc::Sender<Message>,
    tasks: &TaskTracker,
    stop: CancellationToken,
) {
    let mut listener = match gw.listen(msg, None).await {
        Ok(l) => l,
        Err(answer) => {
            let _ = out.send(answer).await;
            return;
        }
    };
    tasks.spawn(async move {
        loop {
            let next = tokio::select! {
                () = stop.cancelled() => break,
                m = listener.next() => m,
            };
            let Some(m) = next else { break };
            if out.send(m).await.is_err() {
                break;
            }
        }
    });
}

/// The request id (JSON text) a `notifications/cancelled` names.
fn cancelled_request(msg: &Message) -> Option<String> {
    if msg.kind() != Kind::Notification || msg.method() != "notifications/cancelled" {
        return None;
    }
    let params: serde_json::Value = msg.params_as().ok().flatten()?;
    Some(params.get("requestId")?.to_string())
}
