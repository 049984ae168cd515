//! A container's way out when its server has an allow list. The container
//! has no network but loopback (`--network none`, as without a list); two
//! things are mounted in it, read-only:
//!
//! - the egress relay (`core/relay/main.rs`, a static binary built into the
//!   gateway and written to its data folder), which is the container's
//!   entrypoint: it listens on `127.0.0.1:PORT` inside, points the proxy
//!   variables there and execs the server's command;
//! - a folder of the container's own holding the socket of its egress proxy
//!   (`egress_proxy.rs`), to which the relay carries every connection.
//!
//! So the proxy is the one way out, and there is no address of the host, of
//! another container or of the outside the server could reach around it. A
//! `/etc/resolv.conf` naming no resolver is mounted too, so a lookup fails
//! at once and no query is even tried. The folder goes with the container;
//! those a gateway that died left are removed at the next start, before any
//! container is made.
//!
//! The socket crosses into the container through the file system, so the
//! engine must run on this machine (not in a VM, as Docker Desktop's does).

use std::io;
use std::path::{Path, PathBuf};

use super::egress_proxy::{EgressProxy, PROXY_VARS, SOCKET_NAME};
use super::IsolationError;

include!(concat!(env!("OUT_DIR"), "/egress_relay.rs"));

/// The file, in the gateway's data folder, mounted as such a container's
/// `/etc/resolv.conf`.
const RESOLV_CONF: &str = "egress-resolv.conf";
/// What it says: no resolver but loopback, where none answers.
const NO_RESOLVER: &str =
    "# Portcullis: names are resolved by the egress proxy only (HTTPS_PROXY)\nnameserver 127.0.0.1\n";
/// The relay, in the gateway's data folder.
const RELAY_FILE: &str = "egress-relay";
/// The folder, in the gateway's data folder, of the containers' socket folders.
const SOCKETS: &str = "container-egress";
/// Where the relay is in the container.
pub(crate) const RELAY_INSIDE: &str = "/.portcullis/relay";
/// Where the socket's folder is in the container.
pub(crate) const SOCKET_DIR_INSIDE: &str = "/.portcullis/egress";

/// A container's egress, ready before the container is made.
pub(crate) struct ContainerEgress {
    /// Its proxy, bound, not yet serving.
    pub(crate) proxy: EgressProxy,
    /// The host files and folders mounted into the container.
    pub(crate) mounts: EgressMounts,
    /// The socket's folder, removed when the container goes.
    pub(crate) folder: SocketFolder,
}

/// What [`ContainerEgress`] mounts, as host paths.
pub(crate) struct EgressMounts {
    pub(crate) relay: PathBuf,
    pub(crate) sockets: PathBuf,
    pub(crate) resolv_conf: PathBuf,
}

impl EgressMounts {
    /// The container's entrypoint: the relay, then `command`.
    pub(crate) fn entrypoint(&self, command: &str) -> Vec<String> {
        let mut entry = vec![
            RELAY_INSIDE.to_owned(),
            "--socket".to_owned(),
            format!("{SOCKET_DIR_INSIDE}/{SOCKET_NAME}"),
        ];
        for var in PROXY_VARS {
            entry.extend(["--var".to_owned(), (*var).to_owned()]);
        }
        entry.extend(["--".to_owned(), command.to_owned()]);
        entry
    }
}

/// Writes the relay and the resolver file into `data`, makes the folder of
/// the container `name` and binds its proxy there.
pub(crate) fn prepare(data: &Path, name: &str) -> Result<ContainerEgress, IsolationError> {
    let relay = data.join(RELAY_FILE);
    write_relay(&relay)?;
    let resolv_conf = data.join(RESOLV_CONF);
    write_if_changed(&resolv_conf, NO_RESOLVER.as_bytes(), 0o644)?;
    let sockets = data.join(SOCKETS).join(name);
    std::fs::create_dir_all(&sockets).map_err(|e| write_error(&sockets, &e))?;
    // Read and entered by the container's user, whoever it is.
    set_mode(&sockets, 0o755)?;
    let folder = SocketFolder(sockets.clone());
    let proxy = EgressProxy::bind(&sockets, true)?;
    Ok(ContainerEgress {
        proxy,
        mounts: EgressMounts {
            relay,
            sockets,
            resolv_conf,
        },
        folder,
    })
}

/// Removes the socket folders in `data` (a gateway that died left them;
/// called before this one makes any container).
pub(super) fn remove_orphans(data: &Path) {
    let all = data.join(SOCKETS);
    match std::fs::remove_dir_all(&all) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!("could not remove {}: {e}", all.display()),
    }
}

/// A container's socket folder: removed when dropped.
pub(crate) struct SocketFolder(PathBuf);

impl Drop for SocketFolder {
    fn drop(&mut self) {
        match std::fs::remove_dir_all(&self.0) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(
                "could not remove {}: {e} (the next gateway start removes it)",
                self.0.display()
            ),
        }
    }
}

fn write_relay(path: &Path) -> Result<(), IsolationError> {
    let Some(bytes) = RELAY_BYTES else {
        return Err(IsolationError::Egress {
            message: "this build of Portcullis has no container egress relay (it is built on Linux with a static C library)".into(),
            hint: "use isolation = \"sandbox\", or network = true or false; or build Portcullis on Linux with libc6-dev installed".into(),
        });
    };
    write_if_changed(path, bytes, 0o755)
}

/// Writes `bytes` to `path` (through a temporary file and a rename, so a
/// container starting meanwhile never sees half of it) unless it holds them.
fn write_if_changed(path: &Path, bytes: &[u8], mode: u32) -> Result<(), IsolationError> {
    if std::fs::read(path).is_ok_and(|now| now == bytes) {
        return set_mode(path, mode);
    }
    let temp = path.with_extension(format!("new-{}", std::process::id()));
    std::fs::write(&temp, bytes).map_err(|e| write_error(&temp, &e))?;
    set_mode(&temp, mode)?;
    std::fs::rename(&temp, path).map_err(|e| write_error(path, &e))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), IsolationError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| write_error(path, &e))
}

fn write_error(path: &Path, e: &io::Error) -> IsolationError {
    IsolationError::Egress {
        message: format!("writing {}: {e}", path.display()),
        hint: "check that the gateway's data folder is writable".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entrypoint_runs_the_relay_then_the_command() {
        let m = EgressMounts {
            relay: "/d/egress-relay".into(),
            sockets: "/d/container-egress/c".into(),
            resolv_conf: "/d/egress-resolv.conf".into(),
        };
        let entry = m.entrypoint("node");
        assert_eq!(
            entry[..3],
            [RELAY_INSIDE, "--socket", "/.portcullis/egress/egress.sock"]
        );
        assert_eq!(entry[entry.len() - 2..], ["--", "node"]);
        assert_eq!(
            entry.iter().filter(|a| *a == "--var").count(),
            PROXY_VARS.len()
        );
    }

    #[test]
    fn preparing_writes_the_relay_and_a_folder_that_goes_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let egress = prepare(dir.path(), "portcullis-x-1").unwrap();
            let relay = std::fs::read(&egress.mounts.relay).unwrap();
            assert_eq!(Some(relay.as_slice()), RELAY_BYTES);
            assert!(egress.proxy.path().starts_with(&egress.mounts.sockets));
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(egress.proxy.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o666, "any container user may connect");
            let folder = egress.mounts.sockets.clone();
            drop(egress);
            assert!(!folder.exists());
            // Again: the relay is there already and is kept.
            let again = prepare(dir.path(), "portcullis-x-2").unwrap();
            assert!(again.mounts.relay.exists());
            remove_orphans(dir.path());
            assert!(!dir.path().join(SOCKETS).exists());
        });
    }

    /// The relay itself, run on this machine: it points the variables at a
    /// loopback port that reaches the socket, runs the command, and stops
    /// the command from starting when the socket cannot be reached.
    #[test]
    fn the_relay_carries_its_port_to_the_socket_and_runs_the_command() {
        use std::io::{Read, Write};
        let dir = tempfile::tempdir().unwrap();
        let relay = dir.path().join("relay");
        write_relay(&relay).unwrap();
        let socket = dir.path().join("s.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let out = std::process::Command::new(&relay)
            .args([
                "--socket",
                socket.to_str().unwrap(),
                "--var",
                "HTTPS_PROXY",
                "--",
            ])
            .args(["sh", "-c", "echo $HTTPS_PROXY"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        // The relay's own check of the socket, then the connection below.
        drop(listener.accept().unwrap());
        let url = String::from_utf8(out.stdout).unwrap();
        let port = url.trim().strip_prefix("http://127.0.0.1:").expect(&url);
        let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port.parse().unwrap())).unwrap();
        tcp.write_all(b"ping").unwrap();
        let (mut unix, _) = listener.accept().unwrap();
        let mut got = [0u8; 4];
        unix.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ping");

        drop(listener);
        std::fs::remove_file(&socket).unwrap();
        let out = std::process::Command::new(&relay)
            .args(["--socket", socket.to_str().unwrap(), "--", "true"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains("cannot reach the gateway's egress proxy"),
            "{said}"
        );
    }
}
