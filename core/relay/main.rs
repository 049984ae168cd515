//! The container's egress relay: the entrypoint of a Docker server with an
//! allow list, run in place of the server's command as
//! `relay --socket PATH [--var NAME]... -- COMMAND ARGS...`.
//!
//! The container has no network but loopback (`--network none`), and the
//! gateway's egress proxy socket is mounted in it. The relay listens on
//! `127.0.0.1:PORT` there, forks a process that carries each connection to
//! that socket (`src/isolation/relay_loop.rs`), sets each `--var` to
//! `http://127.0.0.1:PORT` and execs the server's command, which so stays
//! the process the container's init watches. The carrying process is forked
//! twice, so the container's init adopts and reaps it and the server sees no
//! child it did not make; it ends with the container, or once the server's
//! process is gone.
//!
//! `core/build.rs` compiles this file with `rustc` alone, statically linked,
//! so that it runs in any image of the gateway's architecture (glibc, musl or
//! none); the gateway writes it to its data folder and mounts it read-only.

use std::ffi::OsString;
use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

#[path = "../src/isolation/relay_loop.rs"]
mod relay_loop;

extern "C" {
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn _exit(status: i32) -> !;
    fn kill(pid: i32, signal: i32) -> i32;
    fn dup2(old: i32, new: i32) -> i32;
}

/// How often the carrying process checks that the server still runs.
const WATCH: std::time::Duration = std::time::Duration::from_secs(1);

/// How the relay reports, on the container's stderr (the gateway shows it).
const PREFIX: &str = "portcullis egress relay: ";

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let mut socket = None;
    let mut vars = Vec::new();
    let mut command = Vec::new();
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--socket") => socket = args.next().map(PathBuf::from),
            Some("--var") => vars.extend(args.next()),
            Some("--") => {
                command.extend(args.by_ref());
                break;
            }
            _ => return fail(&format!("unexpected argument {arg:?}")),
        }
    }
    let (Some(socket), Some((program, rest))) = (socket, command.split_first()) else {
        return fail("usage: relay --socket PATH [--var NAME]... -- COMMAND ARGS...");
    };
    // Reached once now, so a socket that cannot cross into the container
    // (an engine in a VM) stops the server with the reason, not each call.
    if let Err(e) = UnixStream::connect(&socket) {
        return fail(&format!(
            "cannot reach the gateway's egress proxy at {}: {e}; the Docker engine must run on the gateway's machine (Docker Desktop's runs in a VM: use isolation = \"sandbox\" there)",
            socket.display()
        ));
    }
    let listener = match TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => return fail(&format!("binding 127.0.0.1: {e}")),
    };
    let port = match listener.local_addr() {
        Ok(a) => a.port(),
        Err(e) => return fail(&format!("reading its port: {e}")),
    };
    // This process becomes the server: its id is the one to outlive.
    let server = std::process::id() as i32;
    let serve = || {
        let _ = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || watch(server));
        relay_loop::serve(&listener, &socket);
    };
    if let Err(e) = detach(serve) {
        return fail(&e);
    }
    drop(listener);
    let url = format!("http://127.0.0.1:{port}");
    let err = Command::new(program)
        .args(rest)
        .envs(vars.iter().map(|v: &OsString| (v, &url)))
        .exec();
    eprintln!("{PREFIX}running {}: {err}", program.to_string_lossy());
    ExitCode::from(127)
}

/// Runs `work` in a grandchild (its parent exits at once, so the
/// container's init adopts it); returns once the child has exited.
fn detach(work: impl FnOnce()) -> Result<(), String> {
    // SAFETY: single-threaded here; the children run only `work` and `_exit`.
    match unsafe { fork() } {
        -1 => Err(format!("fork: {}", std::io::Error::last_os_error())),
        0 => {
            // SAFETY: as above; this child is single-threaded too.
            if unsafe { fork() } == 0 {
                // The server's stdio is not the relay's to hold open.
                if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
                    use std::os::fd::AsRawFd;
                    for fd in 0..3 {
                        // SAFETY: dup2 of an open descriptor onto a standard one.
                        unsafe { dup2(null.as_raw_fd(), fd) };
                    }
                }
                work();
            }
            // SAFETY: ends a forked process without running the parent's exit handlers.
            unsafe { _exit(0) }
        }
        child => {
            let mut status = 0;
            // SAFETY: waits for the child forked above; `status` outlives the call.
            unsafe { waitpid(child, &mut status, 0) };
            Ok(())
        }
    }
}

/// Ends this process once `pid` is gone.
fn watch(pid: i32) {
    loop {
        std::thread::sleep(WATCH);
        // SAFETY: signal 0 only checks that the process exists.
        if unsafe { kill(pid, 0) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(ESRCH)
        {
            // SAFETY: ends this process; nothing of it needs flushing.
            unsafe { _exit(0) }
        }
    }
}

/// `kill`'s "no such process".
const ESRCH: i32 = 3;

fn fail(message: &str) -> ExitCode {
    eprintln!("{PREFIX}{message}");
    ExitCode::from(125)
}
