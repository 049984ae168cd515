//! What a sandboxed server may touch, decided in the gateway and handed to
//! the launcher (`launcher.rs`) as one JSON argument.
//!
//! Read and execute: the system's folders (`/usr`, `/lib*`, `/bin`, `/sbin`,
//! a few files of `/etc`), the install folder of the server's command and of
//! every interpreter its `#!` lines name (a venv, an nvm or pyenv version),
//! its working folder, the read-only mounts, and the sandbox's own `/proc`. Read and write: its private
//! home and temporary folders, the `:rw` mounts, and a few devices (`/dev/null`,
//! `/dev/urandom`…). Nothing else: not the person's home folder, not `/tmp`,
//! not `/run`. Paths that do not exist are left out, never guessed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{Network, SandboxSettings};

/// System folders every program needs to run (read and execute).
const SYSTEM: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/nix/store",
];

/// The parts of `/etc` programs read to link, resolve names, speak TLS and
/// tell the time; not the rest (`/etc/shadow`, SSH host keys, service configs).
const ETC: &[&str] = &[
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/ld.so.preload",
    "/etc/alternatives",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/gai.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/ca-certificates.conf",
    "/etc/pki",
    "/etc/crypto-policies",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/mime.types",
    "/etc/os-release",
    "/etc/locale.alias",
    "/etc/npmrc",
];

/// The sandbox's own `/proc` (the launcher mounts one for its PID namespace:
/// it shows only the sandbox's processes) and the CPU list runtimes size
/// their thread pools by.
const KERNEL: &[&str] = &["/proc", "/sys/devices/system/cpu"];

/// Devices a program may open for reading and writing.
const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
];

/// What the launcher sets up, as it travels on its command line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SandboxRules {
    /// Read and execute beneath these.
    pub(crate) read_only: Vec<PathBuf>,
    /// Read, write and execute beneath these.
    pub(crate) read_write: Vec<PathBuf>,
    /// The working folder it starts in.
    pub(crate) cwd: PathBuf,
    /// The host's network (`true`), or a namespace with only loopback.
    pub(crate) network: bool,
    /// With `network` false: the gateway's egress proxy socket, which a
    /// relay inside the namespace serves on `127.0.0.1` (`egress_relay.rs`).
    #[serde(default)]
    pub(crate) egress: Option<PathBuf>,
    /// `RLIMIT_DATA` of each process.
    pub(crate) memory: u64,
    /// `RLIMIT_NPROC`, counted within the sandbox's user namespace.
    pub(crate) pids: u32,
}

/// The private folders of one sandboxed server, under the gateway's data folder.
#[derive(Debug, Clone)]
pub(crate) struct PrivateDirs {
    /// Its `HOME` (caches such as npm's and uv's land there and survive restarts).
    pub(crate) home: PathBuf,
    /// Its `TMPDIR`, emptied at each start.
    pub(crate) tmp: PathBuf,
}

/// The rules for `command` (already looked up on `PATH`), run in `cwd` (its
/// private home when the config names none).
pub(crate) fn rules_for(
    command: &Path,
    cwd: Option<&Path>,
    settings: &SandboxSettings,
    private: &PrivateDirs,
    path_var: Option<&str>,
) -> SandboxRules {
    let mut read_only: Vec<PathBuf> = Vec::new();
    read_only.extend(SYSTEM.iter().chain(ETC).chain(KERNEL).map(PathBuf::from));
    read_only.extend(install_folders(command, path_var));
    if let Some(cwd) = cwd {
        read_only.push(cwd.to_path_buf());
    }
    let mut read_write: Vec<PathBuf> = DEVICES.iter().map(PathBuf::from).collect();
    read_write.push(private.home.clone());
    read_write.push(private.tmp.clone());
    for m in &settings.mounts {
        if m.read_only {
            read_only.push(m.host.clone());
        } else {
            read_write.push(m.host.clone());
        }
    }
    let keep = |v: Vec<PathBuf>| {
        let mut out: Vec<PathBuf> = Vec::new();
        for p in v {
            if p.exists() && !out.contains(&p) {
                out.push(p);
            }
        }
        out
    };
    SandboxRules {
        read_only: keep(read_only),
        read_write: keep(read_write),
        cwd: cwd.map_or_else(|| private.home.clone(), Path::to_path_buf),
        network: settings.network == Network::On,
        egress: None,
        memory: settings.memory,
        pids: settings.pids,
    }
}

/// `command` as the launcher will run it: itself when it has a `/`, else
/// the first executable of that name on `path_var`.
pub(crate) fn resolve_command(command: &str, path_var: Option<&str>) -> Option<PathBuf> {
    if command.contains('/') {
        let p = PathBuf::from(command);
        return p.is_absolute().then_some(p);
    }
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(command))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The folders a program is installed in: for the program, its link target,
/// and the interpreter its `#!` line names (through `env`), two levels deep,
/// the folder it is in, or that folder's parent when it is a `bin` folder (the
/// prefix: a venv, `~/.nvm/versions/node/v22`, `~/.pyenv/versions/3.12.1`).
fn install_folders(command: &Path, path_var: Option<&str>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut next = vec![command.to_path_buf()];
    for _ in 0..3 {
        let mut interpreters = Vec::new();
        for program in next.drain(..) {
            let real = std::fs::canonicalize(&program).unwrap_or_else(|_| program.clone());
            for p in [&program, &real] {
                if let Some(prefix) = prefix_of(p) {
                    if !out.contains(&prefix) {
                        out.push(prefix);
                    }
                }
            }
            if let Some(interpreter) = shebang(&real, path_var) {
                interpreters.push(interpreter);
            }
        }
        next = interpreters;
    }
    out
}

/// The folder of `program`, or its parent when that folder is `bin` or `sbin`.
/// System folders give nothing (they are allowed already), nor does `/`.
fn prefix_of(program: &Path) -> Option<PathBuf> {
    let dir = program.parent()?;
    let prefix = match dir.file_name().and_then(|n| n.to_str()) {
        Some("bin" | "sbin") => dir.parent()?,
        _ => dir,
    };
    let system = SYSTEM.iter().any(|s| prefix.starts_with(s));
    (prefix != Path::new("/") && !system).then(|| prefix.to_path_buf())
}

/// The interpreter of a `#!` script, looked up on `path_var` when the line
/// runs `env NAME`.
fn shebang(program: &Path, path_var: Option<&str>) -> Option<PathBuf> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(program).ok()?.read(&mut head).ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let line = line.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split_whitespace();
    let interpreter = PathBuf::from(words.next()?);
    if interpreter.file_name().is_some_and(|n| n == "env") {
        let name = words.find(|w| !w.starts_with('-'))?;
        return resolve_command(name, path_var);
    }
    Some(interpreter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MountSpec;

    fn settings(mounts: &[&str]) -> SandboxSettings {
        SandboxSettings {
            network: Network::Off,
            mounts: mounts
                .iter()
                .map(|m| MountSpec::parse_in_place(m).unwrap())
                .collect(),
            memory: 1 << 30,
            pids: 64,
        }
    }

    fn script(path: &Path, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn a_venv_script_brings_its_venv_and_its_interpreter_install() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        // A pyenv-style interpreter in the home folder, a venv elsewhere.
        let python = home.join(".pyenv/versions/3.12.1/bin/python3.12");
        script(&python, "\x7fELF");
        let venv = dir.path().join("proj/.venv");
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        std::os::unix::fs::symlink(&python, venv.join("bin/python")).unwrap();
        let server = venv.join("bin/mcp-server-time");
        script(
            &server,
            &format!("#!{}\nimport x\n", venv.join("bin/python").display()),
        );
        let private = PrivateDirs {
            home: dir.path().join("data/sandbox/time/home"),
            tmp: dir.path().join("data/sandbox/time/tmp"),
        };
        std::fs::create_dir_all(&private.home).unwrap();
        std::fs::create_dir_all(&private.tmp).unwrap();
        let r = rules_for(&server, None, &settings(&[]), &private, None);
        assert!(r.read_only.contains(&venv), "{r:?}");
        assert!(
            r.read_only.contains(&home.join(".pyenv/versions/3.12.1")),
            "{r:?}"
        );
        assert!(
            !r.read_only.iter().chain(&r.read_write).any(|p| p == &home),
            "{r:?}"
        );
        assert!(r.read_only.contains(&PathBuf::from("/usr")));
        assert!(
            !r.read_only.contains(&PathBuf::from("/etc")),
            "only parts of /etc"
        );
        assert_eq!(
            r.read_write[r.read_write.len() - 2..],
            [private.home.clone(), private.tmp.clone()]
        );
        assert_eq!(r.cwd, private.home);
        assert!(!r.network);
    }

    #[test]
    fn env_shebangs_are_followed_on_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let node = dir.path().join("nvm/versions/node/v22/bin/node");
        script(&node, "\x7fELF");
        let tool = dir.path().join("pkg/cli.js");
        script(&tool, "#!/usr/bin/env -S node --flag\n");
        let path = node.parent().unwrap().to_str().unwrap().to_owned();
        let folders = install_folders(&tool, Some(&path));
        assert_eq!(
            folders,
            [
                dir.path().join("pkg"),
                dir.path().join("nvm/versions/node/v22")
            ]
        );
        assert_eq!(resolve_command("node", Some(&path)), Some(node));
        assert_eq!(resolve_command("no-such-program", Some(&path)), None);
        assert_eq!(resolve_command("rel/prog", Some(&path)), None);
    }

    #[test]
    fn mounts_go_where_their_mode_says_and_the_cwd_is_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let (ro, rw, cwd) = (
            dir.path().join("in"),
            dir.path().join("out"),
            dir.path().join("w"),
        );
        for d in [&ro, &rw, &cwd] {
            std::fs::create_dir_all(d).unwrap();
        }
        let private = PrivateDirs {
            home: dir.path().join("h"),
            tmp: dir.path().join("t"),
        };
        let s = settings(&[
            ro.to_str().unwrap(),
            &format!("{}:rw", rw.display()),
            "/does/not/exist:rw",
        ]);
        let r = rules_for(Path::new("/usr/bin/env"), Some(&cwd), &s, &private, None);
        assert!(r.read_only.contains(&ro) && r.read_only.contains(&cwd));
        assert!(r.read_write.contains(&rw) && !r.read_only.contains(&rw));
        assert!(!r.read_write.iter().any(|p| p.starts_with("/does")));
        assert_eq!(r.cwd, cwd);
        assert_eq!(prefix_of(Path::new("/usr/bin/node")), None);
        assert_eq!(prefix_of(Path::new("/node")), None);
    }
}
