//! The sandbox transport: a server's command run by the launcher
//! (`portcullis sandbox-exec`, `launcher.rs`) in Linux namespaces under
//! Landlock and seccomp, with no Docker. It yields the same [`Connection`]
//! as a plain child process: the launcher's stdin and stdout are the
//! server's, and it lives in the child's process group like any server.
//!
//! Before the first sandboxed server starts, the gateway runs the launcher
//! once in check mode: a kernel that lacks a feature fails the server with
//! an error naming it (and the alternatives), and the server is not run.
//! The server's environment is the config's `env` plus `PATH`, the locale and
//! `TZ` of the gateway, and its private `HOME` and `TMPDIR`; nothing else of
//! the gateway's environment reaches it. A server with an allow list
//! (`network = [...]`) gets its own egress proxy (`egress_proxy.rs`), which
//! lives as long as its connection, and the proxy variables that lead to it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::egress_proxy::{EgressProxy, RefusalSink};
use super::error::SandboxFeature;
use super::sandbox_rules::{resolve_command, rules_for, PrivateDirs};
use super::IsolationError;
use crate::config::{Network, SandboxSettings};
use crate::transport::{
    spawn_stdio, Connection, Inbound, ProcessGroups, StderrLog, StdioOptions, TransportError,
};

/// How the launcher's lines on stderr begin.
pub(crate) const REPORT_PREFIX: &str = "portcullis sandbox: ";
/// What follows the prefix on the line that names a missing feature.
pub(crate) const MISSING: &str = "missing ";

/// How long the check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);
/// The gateway's variables a sandboxed server gets besides its own `env`.
const PASSED_ENV: &[&str] = &["PATH", "LANG", "LANGUAGE", "TZ"];

/// What to run, and where.
pub(crate) struct SandboxOptions<'a> {
    pub(crate) server: &'a str,
    pub(crate) command: &'a str,
    pub(crate) args: &'a [String],
    pub(crate) env: &'a IndexMap<String, String>,
    pub(crate) cwd: Option<&'a PathBuf>,
    pub(crate) settings: &'a SandboxSettings,
    /// The gateway's data folder: private folders go under `sandbox/<server>/`.
    pub(crate) data: &'a Path,
    pub(crate) max_message_bytes: usize,
    pub(crate) groups: &'a ProcessGroups,
    /// Where its egress proxy reports what it refused.
    pub(crate) refused: &'a RefusalSink,
}

/// Starts the server in the sandbox, after checking that the kernel can
/// build one.
pub(crate) async fn spawn_sandboxed(
    opts: SandboxOptions<'_>,
    stderr_log: Arc<StderrLog>,
    inbound: Inbound,
    tasks: &TaskTracker,
    parent: &CancellationToken,
) -> Result<Connection, IsolationError> {
    if cfg!(not(target_os = "linux")) {
        return Err(IsolationError::SandboxUnavailable {
            feature: SandboxFeature::Platform,
            detail: format!("this is {}", std::env::consts::OS),
        });
    }
    let launcher = launcher()?;
    check(&launcher).await?;
    let home = dirs::home_dir();
    for m in &opts.settings.mounts {
        if !m.host.exists() {
            return Err(IsolationError::MountMissing {
                path: m.host.clone(),
            });
        }
        if let Some(why) = super::mounts::refusal(&m.host, home.as_deref(), opts.data) {
            return Err(IsolationError::DangerousMount {
                path: m.host.clone(),
                why,
            });
        }
    }
    let private = private_dirs(opts.data, opts.server)?;
    let mut env: IndexMap<String, String> = PASSED_ENV
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v)))
        .chain(std::env::vars().filter(|(k, _)| k.starts_with("LC_")))
        .collect();
    env.extend(opts.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env.insert("HOME".into(), private.home.display().to_string());
    env.insert("TMPDIR".into(), private.tmp.display().to_string());
    let path_var = env.get("PATH").map(String::as_str);
    let Some(command) = resolve_command(opts.command, path_var) else {
        return Err(IsolationError::Sandbox {
            action: "find its command",
            message: format!(
                "`{}` is not an absolute path nor a program on PATH",
                opts.command
            ),
        });
    };
    if let Some(cwd) = opts.cwd {
        if !cwd.is_dir() {
            return Err(IsolationError::Sandbox {
                action: "enter its working folder",
                message: format!("{} is not a folder", cwd.display()),
            });
        }
    }
    let mut rules = rules_for(
        &command,
        opts.cwd.map(PathBuf::as_path),
        opts.settings,
        &private,
        path_var,
    );
    // Its proxy's socket sits beside its private folders, where it may not
    // write; the launcher's relay reaches it, the server only through that.
    let proxy = match &opts.settings.network {
        Network::Allow(list) => {
            let root = private.home.parent().unwrap_or(opts.data);
            let proxy = EgressProxy::bind(root, false)?;
            rules.egress = Some(proxy.path().to_path_buf());
            Some((proxy, list.clone()))
        }
        Network::Off | Network::On => None,
    };
    let rules = serde_json::to_string(&rules).map_err(|e| IsolationError::Sandbox {
        action: "write its rules",
        message: e.to_string(),
    })?;
    let mut args = vec![
        "sandbox-exec".to_owned(),
        rules,
        "--".to_owned(),
        command.display().to_string(),
    ];
    args.extend(opts.args.iter().cloned());
    let launcher = launcher.display().to_string();
    let conn = spawn_stdio(
        StdioOptions {
            server: opts.server,
            command: &launcher,
            args: &args,
            env: &env,
            clear_env: true,
            cwd: None,
            max_message_bytes: opts.max_message_bytes,
            groups: opts.groups,
        },
        stderr_log,
        inbound,
        tasks,
        parent,
    )
    .map_err(|e: TransportError| IsolationError::Sandbox {
        action: "start its launcher",
        message: e.to_string(),
    })?;
    if let Some((proxy, list)) = proxy {
        proxy.serve(
            opts.server.to_owned(),
            list,
            opts.refused.clone(),
            tasks,
            conn.cancel.clone(),
        );
    }
    Ok(conn)
}

/// The program that launches sandboxes: this one (the CLI and the desktop
/// app both answer `sandbox-exec`).
fn launcher() -> Result<PathBuf, IsolationError> {
    std::env::current_exe().map_err(|e| IsolationError::Sandbox {
        action: "find the launcher (this program)",
        message: e.to_string(),
    })
}

/// `<data>/sandbox/<server>/{home,tmp}`, private to this user; `tmp` empty.
fn private_dirs(data: &Path, server: &str) -> Result<PrivateDirs, IsolationError> {
    let root = data.join("sandbox").join(server);
    let dirs = PrivateDirs {
        home: root.join("home"),
        tmp: root.join("tmp"),
    };
    let fail = |e: std::io::Error| IsolationError::Sandbox {
        action: "create its private folders",
        message: format!("{}: {e}", root.display()),
    };
    if dirs.tmp.exists() {
        std::fs::remove_dir_all(&dirs.tmp).map_err(fail)?;
    }
    for dir in [
        data.join("sandbox"),
        root.clone(),
        dirs.home.clone(),
        dirs.tmp.clone(),
    ] {
        crate::config::private_files::private_dir(&dir).map_err(fail)?;
    }
    Ok(dirs)
}

/// The kernel passed the check once in this gateway: it is not run again.
static CHECKED: Mutex<bool> = Mutex::new(false);

/// Runs `launcher sandbox-exec --check`, which builds a whole sandbox
/// around nothing; its failure names the missing feature.
async fn check(launcher: &Path) -> Result<(), IsolationError> {
    if *CHECKED.lock() {
        return Ok(());
    }
    let output = tokio::process::Command::new(launcher)
        .args(["sandbox-exec", "--check"])
        .env_clear()
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(CHECK_TIMEOUT, output).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            return Err(IsolationError::Sandbox {
                action: "run its check",
                message: e.to_string(),
            })
        }
        Err(_) => {
            return Err(IsolationError::Sandbox {
                action: "run its check",
                message: format!("it took longer than {}s", CHECK_TIMEOUT.as_secs()),
            })
        }
    };
    if output.status.success() {
        *CHECKED.lock() = true;
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(
        parse_failure(&stderr).unwrap_or_else(|| IsolationError::Sandbox {
            action: "pass its check",
            message: format!(
                "the launcher exited with {}: {}",
                output.status,
                stderr.trim()
            ),
        }),
    )
}

/// The missing feature a launcher's stderr names, if it names one.
fn parse_failure(stderr: &str) -> Option<IsolationError> {
    let line = stderr.lines().find_map(|l| l.strip_prefix(REPORT_PREFIX))?;
    let rest = line.strip_prefix(MISSING)?;
    let (key, detail) = rest.split_once(": ")?;
    Some(IsolationError::SandboxUnavailable {
        feature: SandboxFeature::from_key(key)?,
        detail: detail.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hint::Hinted;

    #[test]
    fn a_missing_feature_is_read_back_with_the_alternatives() {
        let e = parse_failure(
            "noise\nportcullis sandbox: missing user-namespaces: unshare(CLONE_NEWUSER…) failed: Operation not permitted\n",
        )
        .unwrap();
        assert!(matches!(
            e,
            IsolationError::SandboxUnavailable {
                feature: SandboxFeature::UserNamespaces,
                ..
            }
        ));
        let text = e.to_string();
        assert!(
            text.contains("unprivileged user namespaces is not available"),
            "{text}"
        );
        assert!(text.contains("Operation not permitted"), "{text}");
        let hint = e.hint().unwrap();
        assert!(
            hint.contains("isolation = \"docker\"") && hint.contains("\"none\""),
            "{hint}"
        );
        assert!(parse_failure("portcullis sandbox: cannot run x").is_none());
        assert!(parse_failure("portcullis sandbox: missing warp-drive: no").is_none());
    }

    #[test]
    fn private_folders_are_made_and_the_temporary_one_emptied() {
        let data = tempfile::tempdir().unwrap();
        let d = private_dirs(data.path(), "fs").unwrap();
        std::fs::write(d.tmp.join("left"), "x").unwrap();
        std::fs::write(d.home.join("cache"), "x").unwrap();
        let d = private_dirs(data.path(), "fs").unwrap();
        assert!(!d.tmp.join("left").exists());
        assert!(d.home.join("cache").exists());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&d.home).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
}
