//! Isolation: an upstream's command run in a hardened container through the
//! Docker API (bollard), or in the sandbox (Linux namespaces, Landlock and
//! seccomp, no Docker), instead of as a child process with the gateway's
//! rights. Both transports yield the same `Connection` as the stdio
//! transport, so the supervisor, the router and the trust checks are the same
//! for all.
//!
//! The sandbox's guarantees are in `sandbox.rs`, `sandbox_rules.rs`,
//! `launcher.rs`, `landlock_rules.rs` and `seccomp_filter.rs`; like the
//! container, it never falls back to running the server without it.
//!
//! The container's:
//! Guarantees, unless the server's config allows more: no network, a
//! read-only root with a tmpfs on /tmp, every capability dropped,
//! no-new-privileges, memory/CPU/pid limits, env through the API (never on a
//! command line), only the mounts named. Images are never pulled implicitly,
//! and a server whose container cannot start stays down with an error that
//! says why; it never falls back to running outside the container. Every
//! container is labelled with its gateway, removed when its server stops,
//! and removed at the next start if the gateway died.

mod container;
mod container_egress;
mod docker;
mod egress_proxy;
#[cfg(target_os = "linux")]
mod egress_relay;
mod error;
mod image;
mod labels;
#[cfg(target_os = "linux")]
mod landlock_rules;
#[cfg(target_os = "linux")]
mod launcher;
mod mounts;
#[cfg(target_os = "linux")]
mod relay_loop;
mod sandbox;
mod sandbox_rules;
#[cfg(target_os = "linux")]
mod seccomp_filter;
mod spec;

use std::ffi::OsString;
use std::process::ExitCode;

pub(crate) use container::{spawn_container, ContainerOptions};
pub(crate) use docker::DockerRuntime;
pub use egress_proxy::EgressRefusal;
pub(crate) use egress_proxy::RefusalSink;
pub use error::{IsolationError, SandboxFeature};
pub(crate) use image::image_for;
pub use image::{NODE_IMAGE, PYTHON_IMAGE, UV_IMAGE};
pub use labels::{home_label, LABEL_GATEWAY, LABEL_HOME, LABEL_MANAGED, LABEL_SERVER};
pub(crate) use sandbox::{spawn_sandboxed, SandboxOptions};

/// `portcullis sandbox-exec`: the sandbox launcher, which the gateway runs
/// (as the program it is itself) in place of a sandboxed server's command:
/// `sandbox-exec RULES -- COMMAND ARGS...`, or `sandbox-exec --check` to set
/// a sandbox up around nothing and so test the kernel. Every program that
/// runs a gateway (the CLI, the desktop app) calls this first thing in
/// `main`, before any thread or async runtime starts, since the launcher
/// forks: `None` when the process was not started as the launcher.
pub fn sandbox_exec_main() -> Option<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != "sandbox-exec" {
        return None;
    }
    let rest: Vec<OsString> = args.collect();
    let (before, command) = match rest.iter().position(|a| a == "--") {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&rest[..], &[][..]),
    };
    let check = before.iter().any(|a| a == "--check");
    let rules = before
        .iter()
        .find(|a| *a != "--check")
        .map(|a| a.to_string_lossy().into_owned());
    #[cfg(target_os = "linux")]
    {
        Some(launcher::run(check, rules.as_deref(), command))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (check, rules, command);
        eprintln!(
            "{}{}platform: the sandbox exists on Linux only",
            sandbox::REPORT_PREFIX,
            sandbox::MISSING
        );
        Some(ExitCode::from(125))
    }
}
