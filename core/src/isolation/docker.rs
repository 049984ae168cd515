//! The gateway's client of the Docker engine (bollard, over the engine's
//! local unix socket only: no TCP, no TLS), which puts its labels
//! (`labels.rs`) on the containers this gateway makes.
//!
//! The client is made on first use and kept; a failed connection is not
//! kept, so a server retries (with its backoff) until Docker is there. The
//! first successful connection removes this home's orphans (containers
//! whose gateway is gone, and their egress folders) before any container is
//! created.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::query_parameters::{ListContainersOptionsBuilder, RemoveContainerOptionsBuilder};
use bollard::Docker;
use parking_lot::Mutex;

use super::labels::{
    abandoned, home_label, of_home, LABEL_GATEWAY, LABEL_HOME, LABEL_MANAGED, LABEL_SERVER,
};
use super::IsolationError;
use crate::config::EnvVars;

/// Where the engine listens unless `DOCKER_HOST` says otherwise.
const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";
/// How long the first exchange with the engine may take.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// The gateway's Docker client and identity. Clones share one client.
#[derive(Clone)]
pub(crate) struct DockerRuntime(Arc<Inner>);

struct Inner {
    home: String,
    /// The gateway's data folder, which no container may mount.
    data: std::path::PathBuf,
    gateway: String,
    client: Mutex<Option<Docker>>,
    /// Whether this home's orphans were removed yet.
    swept: tokio::sync::Mutex<bool>,
}

impl DockerRuntime {
    /// The runtime of the gateway whose data folder is `data`. Nothing is contacted yet.
    pub(crate) fn new(data: &Path) -> Self {
        let home = home_label(data);
        Self(Arc::new(Inner {
            home,
            data: data.to_path_buf(),
            gateway: crate::transport::gateway_id(std::process::id()),
            client: Mutex::new(None),
            swept: tokio::sync::Mutex::new(false),
        }))
    }

    /// A connected client. The first one removes this home's orphans.
    pub(crate) async fn client(&self) -> Result<Docker, IsolationError> {
        let cached = self.0.client.lock().clone();
        let docker = match cached {
            Some(d) => d,
            None => {
                let d = connect().await?;
                *self.0.client.lock() = Some(d.clone());
                d
            }
        };
        let mut swept = self.0.swept.lock().await;
        if !*swept {
            match remove_orphans(&docker, &self.0.home, &self.0.gateway).await {
                Ok(removed) if removed.is_empty() => {}
                Ok(removed) => tracing::info!(
                    "removed {} container(s) left by an earlier gateway on this home: {}",
                    removed.len(),
                    removed.join(", ")
                ),
                Err(e) => {
                    tracing::warn!("could not remove containers left by an earlier gateway: {e}");
                }
            }
            // After the containers, before this gateway makes any: their proxies' folders.
            super::container_egress::remove_orphans(&self.0.data);
            *swept = true;
        }
        Ok(docker)
    }

    /// Removes this home's orphans now if the engine answers; quiet when it does not.
    pub(crate) async fn sweep(&self) {
        if let Err(e) = self.client().await {
            tracing::debug!("not removing orphan containers: {e}");
        }
    }

    /// The gateway's data folder.
    pub(crate) fn data(&self) -> &Path {
        &self.0.data
    }

    /// The labels of a container for `server`.
    pub(crate) fn labels(&self, server: &str) -> HashMap<String, String> {
        HashMap::from([
            (LABEL_MANAGED.to_owned(), "true".to_owned()),
            (LABEL_HOME.to_owned(), self.0.home.clone()),
            (LABEL_GATEWAY.to_owned(), self.0.gateway.clone()),
            (LABEL_SERVER.to_owned(), server.to_owned()),
        ])
    }
}

/// The engine's address as Portcullis will use it.
pub(crate) fn socket() -> String {
    std::env::var(EnvVars::DOCKER_HOST)
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| DEFAULT_SOCKET.to_owned())
}

async fn connect() -> Result<Docker, IsolationError> {
    let socket = socket();
    if !socket.starts_with("unix://") {
        return Err(IsolationError::Unavailable {
            problem: format!("DOCKER_HOST is `{socket}`, but Portcullis only talks to Docker over a local unix socket"),
            hint: "point DOCKER_HOST at the engine's socket (unix:///var/run/docker.sock, or the one of rootless Docker), or unset it".into(),
        });
    }
    let docker = Docker::connect_with_unix_defaults().map_err(|e| engine_error("connect", e))?;
    // Asks the engine its API version (so an older engine is spoken to in its
    // own version), which also proves it answers.
    match tokio::time::timeout(PING_TIMEOUT, docker.negotiate_version()).await {
        Ok(Ok(d)) => Ok(d),
        Ok(Err(e)) => Err(engine_error("answer", e)),
        Err(_) => Err(IsolationError::Unavailable {
            problem: format!(
                "the Docker engine at {socket} did not answer within {} s",
                PING_TIMEOUT.as_secs()
            ),
            hint: "check that Docker is running and healthy (`docker info`)".into(),
        }),
    }
}

/// An engine error as a person should read it: an unreachable engine says
/// why (no socket, no permission, nothing listening) and what to do.
pub(crate) fn engine_error(action: &'static str, err: BollardError) -> IsolationError {
    let socket = socket();
    let start_hint = "start the Docker engine (Docker Desktop, `sudo systemctl start docker`, or `dockerd`), or point DOCKER_HOST at its socket";
    let io_kind = io_error_kind(&err);
    match (&err, io_kind) {
        (BollardError::SocketNotFoundError(_), _) | (_, Some(std::io::ErrorKind::NotFound)) => {
            IsolationError::Unavailable { problem: format!("no Docker engine socket at {socket}"), hint: start_hint.into() }
        }
        (_, Some(std::io::ErrorKind::PermissionDenied)) => IsolationError::Unavailable {
            problem: format!("permission denied on {socket}"),
            hint: "add your user to the `docker` group (`sudo usermod -aG docker $USER`, then log in again), or use rootless Docker and point DOCKER_HOST at its socket".into(),
        },
        (_, Some(std::io::ErrorKind::ConnectionRefused)) => {
            IsolationError::Unavailable { problem: format!("nothing answers on {socket} (the Docker engine is not running)"), hint: start_hint.into() }
        }
        (BollardError::RequestTimeoutError, _) => IsolationError::Unavailable { problem: format!("the Docker engine at {socket} did not answer in time"), hint: "check that Docker is running and healthy (`docker info`)".into() },
        (BollardError::DockerResponseServerError { message, .. }, _) => IsolationError::Engine { action, message: message.clone() },
        (_, Some(_)) => IsolationError::Unavailable { problem: format!("cannot talk to the Docker engine at {socket}: {err}"), hint: start_hint.into() },
        _ => IsolationError::Engine { action, message: err.to_string() },
    }
}

/// The kind of the I/O error at the root of `err`, if there is one.
fn io_error_kind(err: &BollardError) -> Option<std::io::ErrorKind> {
    // `IOError` is transparent: its source is the I/O error's source, not the error itself.
    if let BollardError::IOError { err } = err {
        return Some(err.kind());
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = e.source();
    }
    None
}

/// Removes this home's containers whose gateway is gone; returns their names.
async fn remove_orphans(
    docker: &Docker,
    home: &str,
    me: &str,
) -> Result<Vec<String>, IsolationError> {
    let filters = of_home(home);
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let containers = docker
        .list_containers(Some(options))
        .await
        .map_err(|e| engine_error("list containers", e))?;
    let mut removed = Vec::new();
    for c in containers {
        let Some(id) = c.id else { continue };
        if !abandoned(c.labels.as_ref(), me) {
            continue;
        }
        let name = c
            .names
            .and_then(|n| n.into_iter().next())
            .map_or_else(|| id.clone(), |n| n.trim_start_matches('/').to_owned());
        match docker
            .remove_container(
                &id,
                Some(RemoveContainerOptionsBuilder::default().force(true).build()),
            )
            .await
        {
            Ok(()) => removed.push(name),
            // Someone else removed it meanwhile.
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => tracing::warn!("could not remove the orphan container {name}: {e}"),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_name_the_problem_and_a_hint() {
        let wrap = |kind| BollardError::IOError {
            err: std::io::Error::new(kind, "x"),
        };
        let missing =
            crate::hint::with_hint(&engine_error("connect", wrap(std::io::ErrorKind::NotFound)));
        assert!(
            missing.contains("no Docker engine socket at")
                && missing.contains("hint: start the Docker engine"),
            "{missing}"
        );
        let denied = crate::hint::with_hint(&engine_error(
            "connect",
            wrap(std::io::ErrorKind::PermissionDenied),
        ));
        assert!(
            denied.contains("permission denied on") && denied.contains("docker` group"),
            "{denied}"
        );
        let refused =
            engine_error("connect", wrap(std::io::ErrorKind::ConnectionRefused)).to_string();
        assert!(refused.contains("not running"), "{refused}");
        let server = engine_error(
            "create the container",
            BollardError::DockerResponseServerError {
                status_code: 500,
                message: "boom".into(),
            },
        )
        .to_string();
        assert_eq!(server, "Docker could not create the container: boom");
    }

    #[test]
    fn labels_tie_containers_to_home_and_gateway() {
        let a = DockerRuntime::new(Path::new("/home/a/.local/share/portcullis"));
        let b = DockerRuntime::new(Path::new("/home/b/.local/share/portcullis"));
        let (la, lb) = (a.labels("git"), b.labels("git"));
        assert_ne!(la[LABEL_HOME], lb[LABEL_HOME]);
        assert_eq!(la[LABEL_GATEWAY], lb[LABEL_GATEWAY]);
        assert_eq!(
            (la[LABEL_SERVER].as_str(), la[LABEL_MANAGED].as_str()),
            ("git", "true")
        );
    }
}
