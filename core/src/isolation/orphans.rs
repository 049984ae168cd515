//! Containers left behind by a gateway that did not stop cleanly (killed,
//! crashed, power lost). Each container is labelled with its home and the
//! gateway process that made it; at start a gateway removes the containers
//! of its home whose gateway is gone. A gateway that still runs on the same
//! home (`serve` next to a `stdio` gateway) keeps its containers.

use std::collections::HashMap;

use bollard::query_parameters::{ListContainersOptionsBuilder, RemoveContainerOptionsBuilder};
use bollard::Docker;

use super::docker::{engine_error, LABEL_GATEWAY, LABEL_HOME};
use super::IsolationError;
use crate::transport::gateway_alive;

/// The engine's filter for what a gateway of `home` made (containers, networks).
pub(super) fn of_home(home: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_owned(), vec![format!("{LABEL_HOME}={home}")])])
}

/// Whether what carries `labels` was made by a gateway that is gone: not
/// `me`, and not another that still runs on the same home.
pub(super) fn abandoned(labels: Option<&HashMap<String, String>>, me: &str) -> bool {
    let owner = labels
        .and_then(|l| l.get(LABEL_GATEWAY))
        .map_or("", String::as_str);
    owner != me && !gateway_alive(owner)
}

/// Removes this home's containers whose gateway is gone; returns their names.
pub(super) async fn remove(
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
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => tracing::warn!("could not remove the orphan container {name}: {e}"),
        }
    }
    Ok(removed)
}
