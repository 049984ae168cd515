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

/// Removes this home's containers whose gateway is gone; returns their names.
pub(super) async fn remove(
    docker: &Docker,
    home: &str,
    me: &str,
) -> Result<Vec<String>, IsolationError> {
    let filters = HashMap::from([("label".to_owned(), vec![format!("{LABEL_HOME}={home}")])]);
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
        let owner = c
            .labels
            .as_ref()
            .and_then(|l| l.get(LABEL_GATEWAY))
            .cloned()
            .unwrap_or_default();
        if owner == me || gateway_alive(&owner) {
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
