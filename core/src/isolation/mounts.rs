//! Host paths a container may never see: whoever holds them holds the host.
//!
//! - the Docker (or containerd, podman) socket: it starts containers with any
//!   mount, root on the host in one step;
//! - `/`, and any folder that contains the person's home folder or the
//!   gateway's data folder;
//! - the home folder itself, and the data folder or anything inside it (the
//!   store's OAuth tokens, the admin token, the logs).
//!
//! Paths are compared after resolving symbolic links, so a link to the
//! socket is refused like the socket.

use std::path::{Path, PathBuf};

/// Why mounting `host` would hand over the host, or `None` when it may be mounted.
pub(crate) fn refusal(host: &Path, home: Option<&Path>, data: &Path) -> Option<String> {
    let real = canonical(host);
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.ends_with(".sock")
        && ["docker", "containerd", "podman"]
            .iter()
            .any(|s| name.contains(s))
    {
        return Some(format!(
            "{} is a container engine's socket: with it the server could start a container that sees the whole host",
            host.display()
        ));
    }
    if real == Path::new("/") {
        return Some("`/` is the whole host filesystem".into());
    }
    if let Some(home) = home.map(canonical) {
        if home.starts_with(&real) {
            return Some(format!(
                "{} is your home folder or holds it: it has your keys, tokens and shell startup files; mount the project folder you mean instead",
                host.display()
            ));
        }
    }
    let data = canonical(data);
    if data.starts_with(&real) || real.starts_with(&data) {
        return Some(format!(
            "{} is (or holds, or is inside) Portcullis's data folder {}, with its tokens and approvals",
            host.display(),
            data.display()
        ));
    }
    None
}

/// The path with symbolic links resolved, as far as it exists.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_socket_root_home_and_data_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let data = home.join(".local/share/portcullis");
        let project = home.join("projects/app");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::create_dir_all(&project).unwrap();
        let sock = dir.path().join("docker.sock");
        std::fs::write(&sock, "").unwrap();
        let link = dir.path().join("innocent");
        std::os::unix::fs::symlink(&sock, &link).unwrap();
        let refused = |p: &Path| refusal(p, Some(&home), &data);
        for bad in [
            Path::new("/var/run/docker.sock"),
            Path::new("/run/containerd/containerd.sock"),
            sock.as_path(),
            link.as_path(),
            Path::new("/"),
            home.as_path(),
            dir.path(),
            data.as_path(),
            &data.join("portcullis.db"),
            &home.join(".local"),
        ] {
            assert!(refused(bad).is_some(), "{} was allowed", bad.display());
        }
        assert!(refused(&project).is_none());
        assert!(refused(Path::new("/srv/data")).is_none());
        assert!(refused(&home).unwrap().contains("home folder"));
    }
}
