//! A container's way out when its server has an allow list: a Docker network
//! of its own, created with `Internal: true` (the engine forwards nothing
//! from it to other networks or the outside), on which the host's address is
//! where the container's egress proxy listens (`egress_proxy.rs`, serving
//! that network's subnet only).
//!
//! Measured on Docker 20.10 (bridge driver): a container on an internal
//! network reaches a listener on the host's address of that network, while
//! connections to outside addresses fail. The engine's resolver answers no
//! outside name, but only after trying to forward the query for about 20 s;
//! the container gets a `/etc/resolv.conf` naming no resolver instead, so
//! a lookup fails at once and no query leaves it. The container is the only one on its network, so it
//! reaches no other container; what it can still reach, as on Docker's
//! default bridge, is a service listening on one of the host's own
//! (non-loopback) addresses. The network is labelled like the container,
//! removed with it, and removed at the next start if the gateway died.

use std::collections::HashMap;
use std::net::IpAddr;

use bollard::errors::Error as BollardError;
use bollard::models::NetworkCreateRequest;
use bollard::query_parameters::ListNetworksOptionsBuilder;
use bollard::Docker;
use tokio_util::task::TaskTracker;

use super::docker::engine_error;
use super::IsolationError;

/// The file, in the gateway's data folder, mounted as such a container's
/// `/etc/resolv.conf`.
pub(crate) const RESOLV_CONF: &str = "egress-resolv.conf";
/// What it says: no resolver but loopback, where none answers (Docker's own
/// resolver would otherwise be asked, and try to forward).
const NO_RESOLVER: &str =
    "# Portcullis: names are resolved by the egress proxy only (HTTPS_PROXY)\nnameserver 127.0.0.1\n";

/// Writes [`RESOLV_CONF`] at `path` unless it is there already.
pub(crate) fn write_resolv_conf(path: &std::path::Path) -> Result<(), IsolationError> {
    if std::fs::read_to_string(path).is_ok_and(|t| t == NO_RESOLVER) {
        return Ok(());
    }
    std::fs::write(path, NO_RESOLVER).map_err(|e| IsolationError::Egress {
        message: format!("writing {}: {e}", path.display()),
        hint: "check that the gateway's data folder is writable".into(),
    })
}

/// A container's own internal network.
#[derive(Debug, Clone)]
pub(crate) struct EgressNetwork {
    /// Its name (the container's name with `-egress`).
    pub(crate) name: String,
    /// The host's address on it: where the proxy listens.
    pub(crate) gateway: IpAddr,
    /// Its subnet: the proxy serves only these peers.
    pub(crate) subnet: (IpAddr, u8),
}

/// Creates the internal network `name` with `labels` and reads its
/// addresses; the guard removes it on every path from here on. The engine's
/// work runs as a task of `tasks`: a start abandoned while it is under way
/// (the gateway stopping) leaves the guard to remove the network.
pub(crate) async fn create(
    docker: &Docker,
    name: &str,
    labels: HashMap<String, String>,
    tasks: &TaskTracker,
) -> Result<(EgressNetwork, NetworkGuard), IsolationError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (engine, owned, tracker) = (docker.clone(), name.to_owned(), tasks.clone());
    tasks.spawn(async move {
        // Guarded as soon as it exists: dropped unread (the start abandoned,
        // before or after the send), the guard removes it.
        let made = create_now(&engine, &owned, labels)
            .await
            .map(|n| (n, NetworkGuard::new(&engine, &owned, &tracker)));
        let _ = tx.send(made);
    });
    rx.await.map_err(|_| IsolationError::Egress {
        message: format!("creating the network {name} was abandoned"),
        hint: "Portcullis retries it".into(),
    })?
}

async fn create_now(
    docker: &Docker,
    name: &str,
    labels: HashMap<String, String>,
) -> Result<EgressNetwork, IsolationError> {
    docker
        .create_network(NetworkCreateRequest {
            name: name.to_owned(),
            driver: Some("bridge".to_owned()),
            internal: Some(true),
            attachable: Some(false),
            enable_ipv6: Some(false),
            labels: Some(labels),
            ..Default::default()
        })
        .await
        .map_err(|e| engine_error("create the container's internal network", e))?;
    let read = async {
        let inspect = docker
            .inspect_network(name, None)
            .await
            .map_err(|e| engine_error("inspect the container's internal network", e))?;
        let config = inspect
            .ipam
            .and_then(|i| i.config)
            .and_then(|c| c.into_iter().next());
        let gateway = config
            .as_ref()
            .and_then(|c| c.gateway.as_deref()?.parse().ok());
        let subnet = config
            .as_ref()
            .and_then(|c| parse_subnet(c.subnet.as_deref()?));
        match (gateway, subnet) {
            (Some(gateway), Some(subnet)) => Ok(EgressNetwork {
                name: name.to_owned(),
                gateway,
                subnet,
            }),
            _ => Err(IsolationError::Egress {
                message: format!("the engine gave the network {name} no IPv4 gateway and subnet"),
                hint: "the allow list needs an IPv4 bridge network; use isolation = \"sandbox\", or network = true or false".into(),
            }),
        }
    };
    match read.await {
        Ok(n) => Ok(n),
        Err(e) => {
            remove(docker, name).await;
            Err(e)
        }
    }
}

/// Removes the network when dropped armed: a start that failed or was
/// abandoned half-way must not leave it behind.
pub(crate) struct NetworkGuard {
    docker: Docker,
    name: String,
    tasks: TaskTracker,
    armed: bool,
}

impl NetworkGuard {
    /// Guards the network `name`; its removal runs on `tasks`.
    fn new(docker: &Docker, name: &str, tasks: &TaskTracker) -> Self {
        Self {
            docker: docker.clone(),
            name: name.to_owned(),
            tasks: tasks.clone(),
            armed: true,
        }
    }

    /// Removes the network now (after its container).
    pub(crate) async fn remove(mut self) {
        self.armed = false;
        remove(&self.docker, &self.name).await;
    }
}

impl Drop for NetworkGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (docker, name) = (self.docker.clone(), std::mem::take(&mut self.name));
            self.tasks
                .spawn_on(async move { remove(&docker, &name).await }, &rt);
        }
    }
}

/// Removes the network; one already gone is fine.
pub(crate) async fn remove(docker: &Docker, name: &str) {
    match docker.remove_network(name).await {
        Ok(())
        | Err(BollardError::DockerResponseServerError {
            status_code: 404, ..
        }) => {}
        Err(e) => tracing::warn!(
            "could not remove the network {name}: {e} (the next gateway start removes it)"
        ),
    }
}

/// Removes this home's networks whose gateway is gone; returns their names.
pub(super) async fn remove_orphans(
    docker: &Docker,
    home: &str,
    me: &str,
) -> Result<Vec<String>, IsolationError> {
    let filters = super::orphans::of_home(home);
    let options = ListNetworksOptionsBuilder::default()
        .filters(&filters)
        .build();
    let networks = docker
        .list_networks(Some(options))
        .await
        .map_err(|e| engine_error("list networks", e))?;
    let mut removed = Vec::new();
    for n in networks {
        let Some(name) = n.name else { continue };
        if !super::orphans::abandoned(n.labels.as_ref(), me) {
            continue;
        }
        remove(docker, &name).await;
        removed.push(name);
    }
    Ok(removed)
}

/// `a.b.c.d/n`.
fn parse_subnet(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = text.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some((addr, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_parse() {
        assert_eq!(
            parse_subnet("172.18.0.0/16"),
            Some(("172.18.0.0".parse().unwrap(), 16))
        );
        assert_eq!(parse_subnet("172.18.0.0/33"), None);
        assert_eq!(parse_subnet("172.18.0.0"), None);
    }
}
