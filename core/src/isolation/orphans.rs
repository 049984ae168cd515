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

/// This process as a container label: `<pid>:<start time>`, the start time
/// telling a reused pid apart (0 where it cannot be read).
pub(super) fn gateway_id(pid: u32) -> String {
    format!("{pid}:{}", start_time(pid).unwrap_or(0))
}

/// Whether the gateway named by a label still runs.
fn gateway_alive(label: &str) -> bool {
    let Some((pid, start)) = label.split_once(':') else {
        return false;
    };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return false;
    };
    let Ok(raw) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if raw <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let exists = unsafe { libc::kill(raw, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    exists && (start == 0 || start_time(pid).is_none_or(|now| now == start))
}

/// A process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateway_is_alive_only_while_its_process_is() {
        let me = gateway_id(std::process::id());
        assert!(gateway_alive(&me), "{me}");
        let (pid, start) = me.split_once(':').unwrap();
        if start != "0" {
            assert!(
                !gateway_alive(&format!("{pid}:{}", start.parse::<u64>().unwrap() + 1)),
                "a reused pid is not the same gateway"
            );
        }
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = gateway_id(child.id());
        child.wait().unwrap();
        assert!(!gateway_alive(&gone));
        for bad in ["", "x", "0:0", "-1:0", "12"] {
            assert!(!gateway_alive(bad), "{bad}");
        }
    }
}
