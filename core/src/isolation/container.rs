//! The container transport: an isolated server's stdio, attached through
//! the Docker API, yields the same [`Connection`] as a child process.
//!
//! Order: the image must exist (it is never pulled), then the container is
//! created, attached (before it starts, so no output is lost) and started.
//! From creation on, the container is removed on every path: when it exits,
//! when the connection is cancelled (stop with a grace period, then remove),
//! when starting fails, and when the starting future is dropped. A server
//! with an allow list gets its own egress proxy, reached through the relay
//! that runs its command (`container_egress.rs`); they go with the container.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bollard::container::{AttachContainerResults, LogOutput};
use bollard::errors::Error as BollardError;
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use bollard::Docker;
use futures::StreamExt;
use indexmap::IndexMap;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::container_egress::{self, SocketFolder};
use super::docker::engine_error;
use super::egress_proxy::RefusalSink;
use super::spec::{create_body, ContainerSpec};
use super::{DockerRuntime, IsolationError};
use crate::config::{DockerSettings, Network};
use crate::protocol::Message;
use crate::transport::{
    spawn_reader, spawn_stderr, spawn_writer, CloseSignal, Connection, Inbound, StderrLog,
};

/// Seconds between SIGTERM and SIGKILL when a container is stopped.
const GRACE_SECS: i32 = 2;
/// How long the reaper waits for the last stderr lines of an exited container.
const STDERR_DRAIN: Duration = Duration::from_millis(200);
/// Buffer between the demultiplexed attach stream and the line readers.
const PIPE_BYTES: usize = 64 * 1024;

/// What to run, and where.
pub(crate) struct ContainerOptions<'a> {
    pub(crate) server: &'a str,
    pub(crate) command: &'a str,
    pub(crate) args: &'a [String],
    pub(crate) env: &'a IndexMap<String, String>,
    pub(crate) cwd: Option<&'a PathBuf>,
    pub(crate) settings: &'a DockerSettings,
    pub(crate) max_message_bytes: usize,
    /// Where its egress proxy reports what it refused.
    pub(crate) refused: &'a RefusalSink,
}

/// Creates, attaches and starts the container, and the tasks that pump its stdio.
pub(crate) async fn spawn_container(
    opts: ContainerOptions<'_>,
    runtime: &DockerRuntime,
    stderr_log: Arc<StderrLog>,
    inbound: Inbound,
    tasks: &TaskTracker,
    parent: &CancellationToken,
) -> Result<Connection, IsolationError> {
    let docker = runtime.client().await?;
    let image = &opts.settings.image;
    match docker.inspect_image(image).await {
        Ok(_) => {}
        Err(BollardError::DockerResponseServerError {
            status_code: 404, ..
        }) => {
            return Err(IsolationError::ImageMissing {
                image: image.clone(),
                hint: super::image::how_to_get(image),
            });
        }
        Err(e) => return Err(engine_error("inspect the image", e)),
    }
    // Docker would report these too, less plainly.
    if let Some(m) = opts.settings.mounts.iter().find(|m| !m.host.exists()) {
        return Err(IsolationError::MountMissing {
            path: m.host.clone(),
        });
    }
    let home = dirs::home_dir();
    for m in &opts.settings.mounts {
        if let Some(why) = super::mounts::refusal(&m.host, home.as_deref(), runtime.data()) {
            return Err(IsolationError::DangerousMount {
                path: m.host.clone(),
                why,
            });
        }
    }
    let name = format!("portcullis-{}-{:08x}", opts.server, rand::random::<u32>());
    // With an allow list: its proxy, and the relay that reaches it.
    let egress = match &opts.settings.network {
        Network::Allow(list) => Some((
            container_egress::prepare(runtime.data(), &name)?,
            list.clone(),
        )),
        Network::Off | Network::On => None,
    };
    let spec = ContainerSpec {
        command: opts.command,
        args: opts.args,
        env: opts.env,
        cwd: opts.cwd.map(PathBuf::as_path),
        settings: opts.settings,
        labels: runtime.labels(opts.server),
        user: Some(opts.settings.user.clone().unwrap_or_else(|| {
            // SAFETY: getuid and getgid cannot fail.
            let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
            super::spec::default_user(uid, gid)
        })),
        egress: egress.as_ref().map(|(e, _)| &e.mounts),
    };
    // The engine's work runs as a task, and what it made is guarded at once:
    // a start abandoned while it is under way (the gateway stopping) leaves
    // the guard to remove it.
    let (made_tx, made_rx) = tokio::sync::oneshot::channel();
    let (engine, body, tracker) = (docker.clone(), create_body(spec), tasks.clone());
    let options = CreateContainerOptionsBuilder::default().name(&name).build();
    tasks.spawn(async move {
        let made = engine
            .create_container(Some(options), body)
            .await
            .map(|created| Guard {
                docker: engine.clone(),
                id: created.id,
                folder: None,
                tasks: tracker,
                armed: true,
            });
        let _ = made_tx.send(made);
    });
    let mut guard = made_rx
        .await
        .map_err(|_| IsolationError::Engine {
            action: "create the container",
            message: "the request was abandoned".into(),
        })?
        .map_err(|e| engine_error("create the container", e))?;
    // From here on the proxy's folder goes with the container, on every path.
    let egress = egress.map(|(e, list)| {
        guard.folder = Some(e.folder);
        (e.proxy, list)
    });
    let id = guard.id.clone();
    let attach = AttachContainerOptionsBuilder::default()
        .stdin(true)
        .stdout(true)
        .stderr(true)
        .stream(true)
        .build();
    let AttachContainerResults { output, input } = docker
        .attach_container(&id, Some(attach))
        .await
        .map_err(|e| engine_error("attach to the container", e))?;
    docker
        .start_container(&id, None)
        .await
        .map_err(|e| engine_error("start the container", e))?;

    let cancel = parent.child_token();
    if let Some((proxy, list)) = egress {
        proxy.serve(
            opts.server.to_owned(),
            list,
            opts.refused.clone(),
            tasks,
            cancel.clone(),
        );
    }
    let (signal, closed) = CloseSignal::new();
    let (tx, rx) = mpsc::channel::<Message>(256);
    let (mut out_w, out_r) = tokio::io::duplex(PIPE_BYTES);
    let (mut err_w, err_r) = tokio::io::duplex(PIPE_BYTES);

    // Demultiplexes the attach stream into stdout and stderr pipes.
    let c = cancel.clone();
    let server = opts.server.to_owned();
    tasks.spawn(async move {
        let mut output = output;
        loop {
            let item = tokio::select! {
                () = c.cancelled() => break,
                item = output.next() => item,
            };
            match item {
                Some(Ok(LogOutput::StdOut { message } | LogOutput::Console { message })) => {
                    if out_w.write_all(&message).await.is_err() {
                        break;
                    }
                }
                // A stderr reader that is gone must not stop stdout.
                Some(Ok(LogOutput::StdErr { message })) => drop(err_w.write_all(&message).await),
                Some(Ok(LogOutput::StdIn { .. })) => {}
                Some(Err(e)) => {
                    tracing::warn!(server, "reading the container's output failed: {e}");
                    break;
                }
                None => break,
            }
        }
    });
    spawn_writer(tasks, cancel.clone(), signal.clone(), input, rx);
    spawn_reader(
        tasks,
        cancel.clone(),
        signal.clone(),
        opts.server.to_owned(),
        opts.max_message_bytes,
        out_r,
        inbound,
    );
    let stderr_done = spawn_stderr(tasks, cancel.clone(), err_r, stderr_log);

    // Reaper: waits for the container to exit, or stops it on cancel; then removes it.
    let c = cancel.clone();
    let memory = opts.settings.memory;
    let missing = format!("`{}` was not found in the image `{image}`: use an image that has it, give its path in the image, or mount it", opts.command);
    tasks.spawn(async move {
        // Owned here from now on; whatever happens below, it goes.
        let guard = guard;
        let mut wait = docker.wait_container(&id, None);
        let exit = tokio::select! {
            r = wait.next() => Some(r),
            () = c.cancelled() => None,
        };
        if exit.is_none() {
            let stop = StopContainerOptionsBuilder::default().t(GRACE_SECS).build();
            if let Err(e) = docker.stop_container(&id, Some(stop)).await {
                tracing::debug!("stopping container {id}: {e}");
            }
        }
        let _ = tokio::time::timeout(STDERR_DRAIN, stderr_done).await;
        let reason = match exit {
            None => "it was stopped".to_owned(),
            Some(Some(Ok(r))) => exit_reason(&docker, &id, r.status_code, memory, &missing).await,
            Some(Some(Err(BollardError::DockerContainerWaitError { code, .. }))) => {
                exit_reason(&docker, &id, code, memory, &missing).await
            }
            Some(Some(Err(e))) => format!(
                "waiting for its container failed: {}",
                engine_error("wait for the container", e)
            ),
            Some(None) => "its container ended".to_owned(),
        };
        remove(&docker, &id).await;
        guard.disarm();
        signal.close(reason);
        c.cancel();
    });
    Ok(Connection {
        tx,
        closed,
        cancel,
        pid: None,
    })
}

/// Why a container ended, in a person's terms. `missing` explains status 127
/// (its init could not run the command).
async fn exit_reason(docker: &Docker, id: &str, code: i64, memory: u64, missing: &str) -> String {
    let oom = docker
        .inspect_container(id, None)
        .await
        .ok()
        .and_then(|i| i.state)
        .and_then(|s| s.oom_killed)
        .unwrap_or(false);
    if oom {
        format!("its container was killed for going over its memory limit ({} MiB; raise `memory` for this server)", memory >> 20)
    } else if code == 127 {
        format!("its container exited with status 127: {missing}")
    } else {
        format!("its container exited with status {code}")
    }
}

async fn remove(docker: &Docker, id: &str) {
    match docker
        .remove_container(
            id,
            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
        )
        .await
    {
        Ok(())
        | Err(BollardError::DockerResponseServerError {
            status_code: 404, ..
        }) => {}
        Err(e) => tracing::warn!(
            "could not remove container {id}: {e} (the next gateway start removes it)"
        ),
    }
}

/// Removes the container when dropped armed: a start that failed or was
/// abandoned half-way must not leave it behind.
struct Guard {
    docker: Docker,
    id: String,
    /// Its egress proxy's folder, removed after it.
    folder: Option<SocketFolder>,
    tasks: TaskTracker,
    armed: bool,
}

impl Guard {
    /// The container was removed already; its folder goes now.
    fn disarm(mut self) {
        self.armed = false;
        drop(self.folder.take());
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (docker, id) = (self.docker.clone(), std::mem::take(&mut self.id));
            let folder = self.folder.take();
            self.tasks.spawn_on(
                async move {
                    remove(&docker, &id).await;
                    drop(folder);
                },
                &rt,
            );
        }
    }
}
