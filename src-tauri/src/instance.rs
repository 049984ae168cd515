//! One app per data dir. A second launch (the menu entry clicked again, a
//! `portcullis://` link opened, a login item racing a person) must not fail
//! on the port: it hands its arguments to the running app, which shows its
//! window, and exits.
//!
//! How: the first app holds an exclusive `flock` on `desktop.lock` in the
//! data dir for as long as it runs (the kernel drops it when the process
//! ends, however it ends), and listens on the Unix socket `desktop.sock`
//! beside it (mode 0600). A launch that cannot take the lock connects to the
//! socket, sends one JSON line ([`Launch`]) and reads one back ([`Reply`]).
//! The lock, not the socket, decides who is first, so two launches at once
//! cannot both win, and a socket left by a crash is simply replaced.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::state::Desktop;

/// The largest launch message read, in bytes: arguments, not files.
const MAX_LAUNCH: u64 = 64 * 1024;
/// How long a second launch waits for the first app to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// What a second launch sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Launch {
    /// Its arguments after the options: `portcullis://` links.
    pub args: Vec<String>,
}

/// What the running app answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reply {
    /// The running app's MCP endpoint, when its gateway serves.
    pub mcp_url: Option<String>,
    /// Arguments it did not understand (they are ignored).
    pub ignored: Vec<String>,
}

/// Why the instance check failed.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// The data dir or the lock file cannot be used.
    #[error("cannot use {path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Another app holds the lock but does not answer on its socket.
    #[error(
        "Portcullis is already running (it holds {lock}) but does not answer on {socket}: {reason}"
    )]
    NoAnswer {
        /// The lock file.
        lock: String,
        /// The socket.
        socket: String,
        /// What went wrong.
        reason: String,
    },
}

impl InstanceError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::Io { .. } => {
                "check that the data dir is yours and writable (PORTCULLIS_HOME moves it)".into()
            }
            Self::NoAnswer { lock, .. } => format!(
                "wait a moment and try again; if it hangs, end the process that holds the lock (fuser {lock})"
            ),
        }
    }
}

/// The outcome of a launch.
pub enum Claim {
    /// This is the only app: it serves launches with [`First::serve`].
    First(First),
    /// Another app runs and was told; this one should exit.
    Forwarded(Reply),
}

/// The first app's hold on the data dir.
pub struct First {
    lock: File,
    listener: UnixListener,
    socket: PathBuf,
}

/// Takes the data dir for this app, or hands `launch` to the app that has it.
pub fn claim(data: &Path, launch: &Launch) -> Result<Claim, InstanceError> {
    claim_within(data, launch, ANSWER_WITHIN)
}

fn claim_within(data: &Path, launch: &Launch, wait: Duration) -> Result<Claim, InstanceError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| InstanceError::Io { path, source }
    };
    std::fs::create_dir_all(data).map_err(io(data))?;
    let lock_path = data.join("desktop.lock");
    let socket = data.join("desktop.sock");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io(&lock_path))?;
    // SAFETY: flock on a descriptor this function owns; no memory is shared.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket).map_err(io(&socket))?;
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))
            .map_err(io(&socket))?;
        return Ok(Claim::First(First {
            lock,
            listener,
            socket,
        }));
    }
    let held = std::io::Error::last_os_error();
    if held.raw_os_error() != Some(libc::EWOULDBLOCK) {
        return Err(io(&lock_path)(held));
    }
    forward(&socket, launch, wait)
        .map(Claim::Forwarded)
        .map_err(|reason| InstanceError::NoAnswer {
            lock: lock_path.display().to_string(),
            socket: socket.display().to_string(),
            reason,
        })
}

/// Sends `launch` to the first app; it may still be binding its socket.
fn forward(socket: &Path, launch: &Launch, wait: Duration) -> Result<Reply, String> {
    let deadline = Instant::now() + wait;
    let mut stream = loop {
        match UnixStream::connect(socket) {
            Ok(s) => break s,
            Err(e) if Instant::now() >= deadline => return Err(e.to_string()),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    let left = deadline.saturating_duration_since(Instant::now());
    let timeout = Some(left.max(Duration::from_millis(100)));
    stream
        .set_read_timeout(timeout)
        .and_then(|()| stream.set_write_timeout(timeout))
        .map_err(|e| e.to_string())?;
    let mut line = serde_json::to_vec(launch).map_err(|e| e.to_string())?;
    line.push(b'\n');
    stream.write_all(&line).map_err(|e| e.to_string())?;
    let mut answer = String::new();
    BufReader::new(stream.take(MAX_LAUNCH))
        .read_line(&mut answer)
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&answer).map_err(|e| format!("unreadable answer {answer:?}: {e}"))
}

impl First {
    /// Answers later launches until `cancel`: each one's links are opened
    /// (the window shown at least). Removes the socket when it ends.
    pub fn serve(self, app: &AppHandle, tasks: &TaskTracker, cancel: CancellationToken) {
        let First {
            lock,
            listener,
            socket,
        } = self;
        let listener = listener
            .set_nonblocking(true)
            .and_then(|()| tokio::net::UnixListener::from_std(listener));
        let listener = match listener {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("a second launch will not find this app: {e}");
                // Still the first app: keep the lock until the process ends.
                std::mem::forget(lock);
                return;
            }
        };
        let app = app.clone();
        tasks.spawn(async move {
            loop {
                let stream = tokio::select! {
                    () = cancel.cancelled() => break,
                    s = listener.accept() => s,
                };
                match stream {
                    Ok((stream, _)) => {
                        let answered = tokio::time::timeout(ANSWER_WITHIN, answer(&app, stream));
                        if let Err(e) = answered.await.unwrap_or_else(|_| Err("timed out".into())) {
                            tracing::warn!("a second launch: {e}");
                        }
                    }
                    Err(e) => tracing::warn!("a second launch: {e}"),
                }
            }
            let _ = std::fs::remove_file(&socket);
            // Held until here: until the app quits (or the process ends).
            drop(lock);
        });
    }
}

async fn answer(app: &AppHandle, stream: tokio::net::UnixStream) -> Result<(), String> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    tokio::io::BufReader::new(read.take(MAX_LAUNCH))
        .read_line(&mut line)
        .await
        .map_err(|e| e.to_string())?;
    let launch: Launch =
        serde_json::from_str(&line).map_err(|e| format!("unreadable launch {line:?}: {e}"))?;
    tracing::info!("launched again with {:?}: showing the window", launch.args);
    let ignored = crate::actions::open_links(app, &launch.args);
    let reply = Reply {
        mcp_url: app.state::<Desktop>().server().ok().map(|s| s.mcp_url()),
        ignored,
    };
    let mut out = serde_json::to_vec(&reply).map_err(|e| e.to_string())?;
    out.push(b'\n');
    write.write_all(&out).await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_claim_on_a_data_dir_is_not_first() {
        let dir = std::env::temp_dir().join(format!("portcullis-instance-{}", std::process::id()));
        let launch = Launch { args: vec![] };
        let Ok(Claim::First(first)) = claim(&dir, &launch) else {
            panic!("the first claim should win");
        };
        // Nobody answers on the socket here: the second launch says so.
        let second = claim_within(&dir, &launch, Duration::from_millis(300));
        let Err(InstanceError::NoAnswer { reason, .. }) = second else {
            panic!("the second claim should not win");
        };
        assert!(!reason.is_empty());
        drop(first);
        assert!(matches!(claim(&dir, &launch), Ok(Claim::First(_))));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
