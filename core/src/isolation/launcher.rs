//! The sandbox launcher: `portcullis sandbox-exec RULES -- COMMAND ARGS...`,
//! which the gateway runs instead of a sandboxed server's command. It is a
//! fresh, single-threaded process (the CLI calls it before any runtime
//! starts), so it may allocate between `fork` and `exec`, which the
//! multi-threaded gateway may not.
//!
//! Three processes, in this order:
//! 1. **The launcher** checks Landlock and seccomp, enters new user, mount,
//!    PID, IPC, UTS and (unless `network`) network namespaces, maps its own
//!    user and group ids into them, makes every mount private, and forks.
//!    It waits for the next one and exits with its status, forwarding
//!    SIGTERM, SIGINT and SIGHUP.
//! 2. **The init** (PID 1 of the new namespace) dies with the launcher,
//!    mounts a `/proc` of the namespace and a private `/dev/shm`, brings the
//!    loopback interface up, sets the limits (processes, data, no core
//!    dumps), starts the egress relay when the server has an allow list
//!    (`egress_relay.rs`), and forks the server; it reaps what the server leaves and
//!    exits with the server's status, which ends every process left inside.
//! 3. **The server** drops every capability, sets no-new-privileges, applies
//!    the Landlock rules and then the seccomp filter (last: the steps before
//!    need calls that both forbid), and executes the command.
//!
//! Any failure ends the launch with status 125 and one line on stderr; a
//! missing kernel feature is named on it (`missing FEATURE: detail`) for the
//! gateway to read. Nothing is ever run with part of the sandbox missing.

use std::ffi::{CString, OsString};
use std::os::unix::process::CommandExt;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};

use super::egress_relay;
use super::error::SandboxFeature;
use super::landlock_rules::{self, REQUIRED_ABI};
use super::sandbox::{MISSING, REPORT_PREFIX};
use super::sandbox_rules::SandboxRules;
use super::seccomp_filter;

/// The status of a launch that failed before the server ran.
const SETUP_FAILED: u8 = 125;

/// Why a launch stopped.
struct Failure {
    feature: Option<SandboxFeature>,
    detail: String,
}

impl Failure {
    fn missing(feature: SandboxFeature, detail: impl Into<String>) -> Self {
        Self {
            feature: Some(feature),
            detail: detail.into(),
        }
    }

    fn other(detail: impl Into<String>) -> Self {
        Self {
            feature: None,
            detail: detail.into(),
        }
    }

    /// Prints the one line and exits this process.
    fn exit(self) -> ! {
        match self.feature {
            Some(f) => eprintln!("{REPORT_PREFIX}{MISSING}{}: {}", f.key(), self.detail),
            None => eprintln!("{REPORT_PREFIX}{}", self.detail),
        }
        // SAFETY: _exit ends the process without running atexit handlers,
        // which belong to the process this one was forked from.
        unsafe { libc::_exit(i32::from(SETUP_FAILED)) }
    }
}

/// The launcher's entry: runs `command` under `rules` (a JSON
/// [`SandboxRules`]), or with `check`, sets the whole sandbox up around
/// nothing and exits 0 when every step worked.
pub(crate) fn run(check: bool, rules: Option<&str>, command: &[OsString]) -> ExitCode {
    let rules = match (check, rules) {
        (true, _) => SandboxRules {
            read_only: vec!["/usr".into()],
            read_write: vec!["/dev/null".into()],
            cwd: "/".into(),
            network: false,
            egress: None,
            memory: crate::config::DEFAULT_MEMORY,
            pids: crate::config::DEFAULT_PIDS,
        },
        (false, Some(text)) => match serde_json::from_str(text) {
            Ok(r) => r,
            Err(e) => Failure::other(format!("the rules are not valid: {e}")).exit(),
        },
        (false, None) => Failure::other("no rules were given").exit(),
    };
    if !check && command.is_empty() {
        Failure::other("no command was given").exit();
    }
    match launch(&rules, (!check).then_some(command)) {
        Ok(status) => ExitCode::from(status),
        Err(f) => f.exit(),
    }
}

/// Step 1, in the launcher. Returns the exit status to leave with.
fn launch(rules: &SandboxRules, command: Option<&[OsString]>) -> Result<u8, Failure> {
    let abi = landlock_rules::kernel_abi();
    if abi < REQUIRED_ABI {
        let why = if abi == 0 {
            "the kernel has no Landlock, or it is not in the `lsm=` list".to_owned()
        } else {
            format!("the kernel has Landlock ABI {abi}, the sandbox needs ABI {REQUIRED_ABI} (Linux 6.2)")
        };
        return Err(Failure::missing(SandboxFeature::Landlock, why));
    }
    if !seccomp_filter::available() {
        return Err(Failure::missing(
            SandboxFeature::Seccomp,
            "prctl(PR_GET_SECCOMP) failed: the kernel has no seccomp",
        ));
    }
    // SAFETY: getuid and getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let mut flags = libc::CLONE_NEWUSER
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUTS;
    if !rules.network {
        flags |= libc::CLONE_NEWNET;
    }
    // SAFETY: unshare takes flags only.
    if unsafe { libc::unshare(flags) } != 0 {
        return Err(Failure::missing(
            SandboxFeature::UserNamespaces,
            format!(
                "unshare(CLONE_NEWUSER…) failed: {}",
                std::io::Error::last_os_error()
            ),
        ));
    }
    let write = |file: &str, text: String| {
        std::fs::write(format!("/proc/self/{file}"), text).map_err(|e| {
            Failure::missing(
                SandboxFeature::UserNamespaces,
                format!("writing /proc/self/{file} failed: {e}"),
            )
        })
    };
    write("setgroups", "deny".into())?;
    write("uid_map", format!("{uid} {uid} 1"))?;
    write("gid_map", format!("{gid} {gid} 1"))?;
    // Nothing mounted in here reaches the host.
    mount(None, "/", None, libc::MS_REC | libc::MS_PRIVATE, None)
        .map_err(|e| Failure::missing(SandboxFeature::Mounts, format!("making / private: {e}")))?;
    let (alive_read, alive_write) = pipe()?;
    // SAFETY: this process has one thread; the child only runs Rust code
    // of this module before it executes the server.
    match unsafe { libc::fork() } {
        -1 => Err(Failure::other(format!(
            "fork failed: {}",
            std::io::Error::last_os_error()
        ))),
        0 => {
            close(alive_write);
            match init(rules, command, alive_read) {
                Ok(status) => {
                    // SAFETY: as in Failure::exit.
                    unsafe { libc::_exit(i32::from(status)) }
                }
                Err(f) => f.exit(),
            }
        }
        child => {
            close(alive_read);
            forward_signals(child);
            // The write end stays open while this process lives: the init
            // sees it closed (and leaves) if the launcher dies early.
            Ok(wait_for(child))
        }
    }
}

/// Step 2, PID 1 of the new namespaces.
fn init(
    rules: &SandboxRules,
    command: Option<&[OsString]>,
    alive: libc::c_int,
) -> Result<u8, Failure> {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    if launcher_gone(alive) {
        return Ok(SETUP_FAILED);
    }
    close(alive);
    mount(
        Some("proc"),
        "/proc",
        Some("proc"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        None,
    )
    .map_err(|e| Failure::missing(SandboxFeature::Mounts, format!("mounting /proc: {e}")))?;
    let mut rules = rules.clone();
    if std::path::Path::new("/dev/shm").is_dir()
        && mount(
            Some("tmpfs"),
            "/dev/shm",
            Some("tmpfs"),
            libc::MS_NOSUID | libc::MS_NODEV,
            Some("size=64m,mode=1777"),
        )
        .is_ok()
    {
        rules.read_write.push("/dev/shm".into());
    }
    if !rules.network {
        // Without it 127.0.0.1 is unreachable even inside; the sandbox
        // has no network either way.
        let _ = loopback_up();
    }
    // Before the limits, which are the server's: this process's allocator
    // has reserved more than a server's data limit, so the relay could not
    // map a thread's stack under it (it bounds its own connections).
    let proxy_port = match &rules.egress {
        Some(socket) if !rules.network => Some(
            egress_relay::start(socket)
                .map_err(|e| Failure::other(format!("starting the egress relay: {e}")))?,
        ),
        _ => None,
    };
    set_limit(libc::RLIMIT_CORE, 0)?;
    set_limit(libc::RLIMIT_NPROC, u64::from(rules.pids))?;
    set_limit(libc::RLIMIT_DATA, rules.memory)?;
    // SAFETY: as in launch: one thread.
    match unsafe { libc::fork() } {
        -1 => Err(Failure::other(format!(
            "fork failed: {}",
            std::io::Error::last_os_error()
        ))),
        0 => Err(become_server(&rules, command, proxy_port)),
        server => {
            forward_signals(server);
            Ok(reap_until(server))
        }
    }
}

/// Step 3: the sandbox closes around this process, which then becomes the
/// server (with `command: None`, it exits 0 instead), its proxy variables
/// pointing at the egress relay's port when there is one. Returns only on
/// failure.
fn become_server(
    rules: &SandboxRules,
    command: Option<&[OsString]>,
    proxy_port: Option<u16>,
) -> Failure {
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: restoring the default disposition.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    if let Err(e) = std::env::set_current_dir(&rules.cwd) {
        return Failure::other(format!("cannot enter {}: {e}", rules.cwd.display()));
    }
    if let Err(e) = drop_capabilities() {
        return Failure::other(format!("dropping capabilities: {e}"));
    }
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Failure::other(format!(
            "setting no-new-privileges: {}",
            std::io::Error::last_os_error()
        ));
    }
    if let Err(e) = landlock_rules::restrict(rules) {
        return Failure::missing(SandboxFeature::Landlock, e);
    }
    if let Err(e) = seccomp_filter::install() {
        return Failure::missing(SandboxFeature::Seccomp, e);
    }
    let Some(command) = command else {
        // SAFETY: as in Failure::exit.
        unsafe { libc::_exit(0) }
    };
    let mut run = std::process::Command::new(&command[0]);
    run.args(&command[1..]);
    if let Some(port) = proxy_port {
        for var in super::egress_proxy::PROXY_VARS {
            run.env(var, format!("http://127.0.0.1:{port}"));
        }
    }
    let error = run.exec();
    let status = if error.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    eprintln!(
        "{REPORT_PREFIX}cannot run {}: {error}",
        command[0].to_string_lossy()
    );
    // SAFETY: as in Failure::exit.
    unsafe { libc::_exit(status) }
}

/// Empties the bounding, ambient, effective, permitted and inheritable sets:
/// the namespace's root powers end here, whatever the user id.
fn drop_capabilities() -> std::io::Result<()> {
    for cap in 0..64 {
        // SAFETY: prctl with integer arguments; EINVAL past the last capability.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) } != 0 {
            break;
        }
    }
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    };
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let header = Header {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
        pid: 0,
    };
    let data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capset reads a v3 header and two data structs, both alive here.
    let r = unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn mount(
    source: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> std::io::Result<()> {
    let c = |s: &str| CString::new(s).map_err(std::io::Error::other);
    let source = source.map(c).transpose()?;
    let target = c(target)?;
    let fstype = fstype.map(c).transpose()?;
    let data = data.map(c).transpose()?;
    let ptr = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: every pointer is a NUL-terminated string alive for the call, or null.
    let r = unsafe {
        libc::mount(
            ptr(&source),
            target.as_ptr(),
            ptr(&fstype),
            flags,
            ptr(&data).cast(),
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Brings `lo` up in the new network namespace.
fn loopback_up() -> std::io::Result<()> {
    // SAFETY: socket takes integers; the ifreq is zeroed, named, and read
    // and written by the two ioctls while alive; the socket is closed.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        let mut r = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req);
        if r == 0 {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            r = libc::ioctl(fd, libc::SIOCSIFFLAGS, &req);
        }
        let e = std::io::Error::last_os_error();
        libc::close(fd);
        if r == 0 {
            Ok(())
        } else {
            Err(e)
        }
    }
}

fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> Result<(), Failure> {
    let limit = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: setrlimit reads the struct, alive for the call.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        return Err(Failure::other(format!(
            "setting limit {resource} to {value}: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

fn pipe() -> Result<(libc::c_int, libc::c_int), Failure> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Failure::other(format!(
            "pipe failed: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok((fds[0], fds[1]))
}

fn close(fd: libc::c_int) {
    // SAFETY: closing a descriptor this process owns.
    unsafe { libc::close(fd) };
}

/// Whether the launcher died before the init armed its parent-death signal:
/// its end of the pipe is then closed.
fn launcher_gone(alive: libc::c_int) -> bool {
    let mut p = libc::pollfd {
        fd: alive,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll reads and writes one pollfd, alive for the call.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & (libc::POLLHUP | libc::POLLIN) != 0
}

/// Where this process's signal handler sends what it catches.
static FORWARD_TO: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(sig: libc::c_int) {
    let to = FORWARD_TO.load(Ordering::Relaxed);
    if to > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(to, sig) };
    }
}

fn forward_signals(to: libc::pid_t) {
    FORWARD_TO.store(to, Ordering::Relaxed);
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: the handler only loads an atomic and calls kill.
        unsafe {
            libc::signal(
                sig,
                forward as extern "C" fn(libc::c_int) as libc::sighandler_t,
            )
        };
    }
}

/// The exit status a shell would give for `status`.
fn exit_status(status: libc::c_int) -> u8 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status) as u8
    } else {
        128u8.wrapping_add(libc::WTERMSIG(status) as u8)
    }
}

/// Waits for `child` (the launcher has no other).
fn wait_for(child: libc::pid_t) -> u8 {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status, alive for the call.
        let r = unsafe { libc::waitpid(child, &mut status, 0) };
        if r == child {
            return exit_status(status);
        }
        if r == -1 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return SETUP_FAILED;
        }
    }
}

/// As PID 1: reaps every orphan until `server` exits.
fn reap_until(server: libc::pid_t) -> u8 {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status, alive for the call.
        let r = unsafe { libc::waitpid(-1, &mut status, 0) };
        if r == server {
            return exit_status(status);
        }
        if r == -1 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return SETUP_FAILED;
        }
    }
}
