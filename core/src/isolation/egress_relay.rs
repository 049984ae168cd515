//! The sandbox's side of the egress proxy: a process in the sandbox's
//! network namespace, started by its init before the server, that listens
//! on `127.0.0.1:PORT` there and carries each connection to the gateway's
//! proxy socket (`egress_proxy.rs`). The namespace has only loopback, so
//! this relay, and through it the proxy, is the server's one way out; the
//! server finds it through `HTTPS_PROXY` and its kin.
//!
//! The relay runs only this module's code (never the server's), with no
//! capabilities and no-new-privileges; it dies with the sandbox's init,
//! which ends every process of the PID namespace when the server exits.

use std::io;
use std::net::TcpListener;
use std::path::Path;

use super::relay_loop::serve;

/// Binds `127.0.0.1:0` in the current network namespace and forks the
/// relay to `socket`; returns its port. Call it single-threaded, as the
/// launcher's init, after loopback is up.
pub(crate) fn start(socket: &Path) -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("binding 127.0.0.1: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("reading the relay's port: {e}"))?
        .port();
    let folder = socket.parent().unwrap_or(Path::new("/"));
    let name = socket
        .file_name()
        .ok_or("the proxy socket has no file name")?
        .to_owned();
    // SAFETY: the caller is single-threaded; the child runs only this module.
    match unsafe { libc::fork() } {
        -1 => Err(format!("fork failed: {}", io::Error::last_os_error())),
        0 => {
            // SAFETY: prctl with integer arguments.
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            }
            // Relative to its folder, so the socket's path may be long.
            if let Err(e) = std::env::set_current_dir(folder) {
                eprintln!("{}egress relay: {e}", super::sandbox::REPORT_PREFIX);
                // SAFETY: _exit ends this forked process without atexit handlers.
                unsafe { libc::_exit(1) }
            }
            serve(&listener, Path::new(&name));
            // SAFETY: as above.
            unsafe { libc::_exit(0) }
        }
        _ => Ok(port),
    }
}
