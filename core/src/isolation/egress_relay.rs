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
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Stack of each copying thread: they only move bytes through a buffer.
const THREAD_STACK: usize = 64 * 1024;
/// Connections carried at once (two threads each); more are closed at once.
const MAX_CONNECTIONS: usize = 128;

/// The connections being carried.
static OPEN: AtomicUsize = AtomicUsize::new(0);

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

/// Accepts forever; each connection gets two threads, one per direction.
fn serve(listener: &TcpListener, socket: &Path) {
    for stream in listener.incoming() {
        let Ok(tcp) = stream else { continue };
        if OPEN.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            OPEN.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let socket = socket.to_owned();
        let spawned = std::thread::Builder::new()
            .stack_size(THREAD_STACK)
            .spawn(move || {
                if let Ok(unix) = UnixStream::connect(&socket) {
                    carry(tcp, unix);
                }
                OPEN.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            OPEN.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Copies both ways until both sides have finished sending.
fn carry(tcp: TcpStream, unix: UnixStream) {
    let (Ok(mut tcp_in), Ok(mut unix_out)) = (tcp.try_clone(), unix.try_clone()) else {
        return;
    };
    let up = std::thread::Builder::new()
        .stack_size(THREAD_STACK)
        .spawn(move || {
            let _ = io::copy(&mut tcp_in, &mut unix_out);
            let _ = unix_out.shutdown(Shutdown::Write);
        });
    let (mut unix_in, mut tcp_out) = (unix, tcp);
    let _ = io::copy(&mut unix_in, &mut tcp_out);
    let _ = tcp_out.shutdown(Shutdown::Write);
    if let Ok(up) = up {
        let _ = up.join();
    }
}
