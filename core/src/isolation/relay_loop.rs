//! What both egress relays run (`egress_relay.rs` in the sandbox's network
//! namespace, `core/relay/main.rs` inside a container): accept on a
//! loopback listener and carry each connection to the gateway's egress
//! proxy socket, both ways.
//!
//! Standard library only, with no path into the crate: `core/build.rs`
//! compiles this file into the container relay with `rustc` alone (a
//! static binary that runs in any image).

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

/// Accepts forever; each connection gets two threads, one per direction.
pub(crate) fn serve(listener: &TcpListener, socket: &Path) {
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
