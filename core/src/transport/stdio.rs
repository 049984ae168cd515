//! A stdio upstream: a child process in its own process group, one JSON-RPC
//! message per line on stdin and stdout, stderr to a bounded log. The group is
//! recorded (`groups.rs`) until it is stopped, so that a gateway that dies
//! without stopping it has it stopped by the next one.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::groups::{signal_group, ProcessGroups};
use super::{pipes, CloseSignal, Connection, Inbound, StderrLog, TransportError};
use crate::protocol::Message;

/// How long a child gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);
/// How long the reaper waits for the last stderr lines of an exited child.
const STDERR_DRAIN: Duration = Duration::from_millis(200);

/// What to run.
pub(crate) struct StdioOptions<'a> {
    pub(crate) server: &'a str,
    pub(crate) command: &'a str,
    pub(crate) args: &'a [String],
    pub(crate) env: &'a IndexMap<String, String>,
    /// Whether the child gets `env` only, and none of the gateway's variables.
    pub(crate) clear_env: bool,
    pub(crate) cwd: Option<&'a PathBuf>,
    pub(crate) max_message_bytes: usize,
    /// Where the child's process group is recorded while it runs.
    pub(crate) groups: &'a ProcessGroups,
}

/// Makes the child get SIGKILL when the gateway dies, however it dies (even
/// by SIGKILL, which leaves no chance to stop it): Linux's parent-death
/// signal. The signal follows the thread that started the child; these are
/// the runtime's worker threads, which live as long as the gateway.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    // SAFETY: getpid is async-signal-safe.
    let gateway = unsafe { libc::getpid() };
    // SAFETY: between fork and exec the closure calls only async-signal-safe
    // functions (prctl, getppid, _exit) and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The gateway died before the signal was armed: go now.
            if libc::getppid() != gateway {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

/// Starts the child and the tasks that pump its pipes.
pub(crate) fn spawn_stdio(
    opts: StdioOptions<'_>,
    stderr_log: Arc<StderrLog>,
    inbound: Inbound,
    tasks: &TaskTracker,
    parent: &CancellationToken,
) -> Result<Connection, TransportError> {
    if let Some(cwd) = opts.cwd {
        if !cwd.is_dir() {
            return Err(TransportError::NoCwd { path: cwd.clone() });
        }
    }
    let mut cmd = Command::new(opts.command);
    if opts.clear_env {
        cmd.env_clear();
    }
    cmd.args(opts.args)
        .envs(opts.env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(cwd) = opts.cwd {
        cmd.current_dir(cwd);
    }
    die_with_parent(&mut cmd);
    let mut child = cmd.spawn().map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => TransportError::CommandNotFound {
            command: opts.command.to_owned(),
        },
        _ => TransportError::Spawn {
            command: opts.command.to_owned(),
            source,
        },
    })?;
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(TransportError::Spawn {
            command: opts.command.to_owned(),
            source: std::io::Error::other("pipes missing"),
        });
    };
    let cancel = parent.child_token();
    let (signal, closed) = CloseSignal::new();
    let (tx, rx) = mpsc::channel::<Message>(256);
    pipes::spawn_writer(tasks, cancel.clone(), signal.clone(), stdin, rx);
    pipes::spawn_reader(
        tasks,
        cancel.clone(),
        signal.clone(),
        opts.server.to_owned(),
        opts.max_message_bytes,
        stdout,
        inbound,
    );
    // The reaper waits (briefly) for the last stderr lines.
    let stderr_done = pipes::spawn_stderr(tasks, cancel.clone(), stderr, stderr_log);

    // Reaper: waits for exit, or terminates the group on cancel.
    let c = cancel.clone();
    let pid = child.id();
    let record = pid.and_then(|pid| opts.groups.record(pid));
    tasks.spawn(async move {
        let status = tokio::select! {
            status = child.wait() => status,
            () = c.cancelled() => stop_child(&mut child).await,
        };
        // Its last stderr lines belong in the error that reports the exit.
        let _ = tokio::time::timeout(STDERR_DRAIN, stderr_done).await;
        // Grandchildren (npx starts node, uvx starts python) go with it.
        if let Some(pid) = pid {
            signal_group(pid, libc::SIGKILL);
        }
        if let Some(record) = record {
            record.remove();
        }
        let reason = match status {
            Ok(s) => match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
                (Some(code), _) => format!("it exited with status {code}"),
                (None, Some(sig)) => format!("it was killed by signal {sig}"),
                _ => "it exited".to_owned(),
            },
            Err(e) => format!("waiting for it failed: {e}"),
        };
        signal.close(reason);
        // Whatever is left of the group (grandchildren) goes too.
        c.cancel();
    });
    Ok(Connection {
        tx,
        closed,
        cancel,
        pid,
    })
}

/// SIGTERM to the whole process group, SIGKILL after the grace period, then reap.
async fn stop_child(child: &mut Child) -> std::io::Result<std::process::ExitStatus> {
    if let Some(pid) = child.id() {
        signal_group(pid, libc::SIGTERM);
        if let Ok(status) = tokio::time::timeout(GRACE, child.wait()).await {
            signal_group(pid, libc::SIGKILL);
            return status;
        }
        signal_group(pid, libc::SIGKILL);
    }
    let _ = child.start_kill();
    child.wait().await
}
