//! Resolving a server's isolation options (`isolation`, `image`, `network`,
//! `mounts`, `memory`, `cpus`, `pids`) into [`Isolation`].
//!
//! The options are refused on a server that is not isolated: `network =
//! false` on a plain stdio server would read as a guarantee nobody enforces.
//! For the same reason the sandbox refuses what only a container enforces
//! (`image`, `cpus`, `user`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::egress::Network;
use super::ServerConfig;

/// Memory limit of a container unless the server says otherwise (512 MiB).
pub const DEFAULT_MEMORY: u64 = 512 * 1024 * 1024;
/// CPU limit of a container unless the server says otherwise.
pub const DEFAULT_CPUS: f64 = 1.0;
/// Process (and thread) limit of a container unless the server says otherwise.
pub const DEFAULT_PIDS: u32 = 256;
/// Docker refuses less memory than this.
const MIN_MEMORY: u64 = 6 * 1024 * 1024;

/// How a server is isolated, as written in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IsolationKind {
    /// A plain child process with the gateway's rights (the default).
    None,
    /// A hardened container through the Docker API.
    Docker,
    /// A child process in Linux namespaces under Landlock and seccomp, no Docker.
    Sandbox,
}

impl IsolationKind {
    /// Reads `text` as a front end's choice (`what` names it, e.g.
    /// `--isolation`), or says what is wrong and what to write: the one
    /// refusal the CLI and the add-server form give.
    pub fn parse_choice(what: &str, text: &str) -> Result<Self, crate::hint::HintedError> {
        Self::parse(text).ok_or_else(|| {
            crate::hint::HintedError::new(
                format!("{what} `{text}` is not known"),
                "use sandbox (Linux namespaces, Landlock and seccomp), docker (a hardened container) or none",
            )
        })
    }

    /// Reads `none`, `docker` or `sandbox`, as written in the file.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "none" => Some(Self::None),
            "docker" => Some(Self::Docker),
            "sandbox" => Some(Self::Sandbox),
            _ => None,
        }
    }

    /// The word written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Docker => "docker",
            Self::Sandbox => "sandbox",
        }
    }
}

/// How a server is isolated, resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Isolation {
    /// A plain child process.
    None,
    /// A container.
    Docker(DockerSettings),
    /// A sandboxed child process (Linux).
    Sandbox(SandboxSettings),
}

/// A sandboxed server's resolved settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxSettings {
    /// `On` leaves it the host's network; `Off` (the default) gives it a
    /// network namespace of its own with only a loopback interface; `Allow`
    /// adds a relay there to the gateway's egress proxy.
    pub network: Network,
    /// Host folders or files it may use besides its own install folder; the
    /// `container` path of each is its `host` path (the sandbox moves nothing).
    pub mounts: Vec<MountSpec>,
    /// Limit on the data (heap) of each of its processes, in bytes.
    pub memory: u64,
    /// Limit on its processes and threads.
    pub pids: u32,
}

/// A container's resolved settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DockerSettings {
    /// The image to run the command in.
    pub image: String,
    /// Why that image: `configured` (the server's `image`), `gateway`
    /// (`[gateway] docker_image`) or the runtime it was chosen for (`node`…).
    pub image_source: String,
    /// `On` puts it on Docker's default bridge (outbound access to any
    /// host); `Off` (the default) leaves it only a loopback interface;
    /// `Allow` reaches the listed hosts through the gateway's egress proxy.
    pub network: Network,
    /// Host folders or files mounted into it.
    pub mounts: Vec<MountSpec>,
    /// Memory limit in bytes (swap included: no swap beyond it).
    pub memory: u64,
    /// CPU limit in CPUs (fractions allowed).
    pub cpus: f64,
    /// Limit on processes and threads.
    pub pids: u32,
    /// `uid[:gid]` to run as, when the config names one.
    pub user: Option<String>,
}

/// One `mounts` entry: `/host/path:/container/path[:ro|:rw]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    /// Absolute path on the host.
    pub host: PathBuf,
    /// Absolute path in the container.
    pub container: PathBuf,
    /// Read-only unless `:rw` is written.
    pub read_only: bool,
}

impl MountSpec {
    /// Parses `/host:/container`, `/host:/container:ro` or `/host:/container:rw`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let (host, container, read_only) = match parts.as_slice() {
            [h, c] => (*h, *c, true),
            [h, c, "ro"] => (*h, *c, true),
            [h, c, "rw"] => (*h, *c, false),
            [_, _, mode] => return Err(format!("mount `{text}` has mode `{mode}`; use ro or rw")),
            _ => {
                return Err(format!(
                    "mount `{text}` is not /host/path:/container/path[:ro|:rw]"
                ))
            }
        };
        for (what, p) in [("host", host), ("container", container)] {
            if !p.starts_with('/') {
                return Err(format!(
                    "mount `{text}`: the {what} path `{p}` is not absolute"
                ));
            }
            if p.split('/').any(|c| c == "..") {
                return Err(format!(
                    "mount `{text}`: the {what} path `{p}` has `..` in it"
                ));
            }
        }
        if container == "/" {
            return Err(format!(
                "mount `{text}` would cover the container's whole filesystem"
            ));
        }
        Ok(Self {
            host: PathBuf::from(host),
            container: PathBuf::from(container),
            read_only,
        })
    }

    /// Parses a sandbox's `mounts` entry: `/path`, `/path:ro`, `/path:rw`, or
    /// `/path:/path[:ro|:rw]` (a sandbox sees a folder where it is, so the two
    /// paths of the container form must be the same).
    pub fn parse_in_place(text: &str) -> Result<Self, String> {
        let (path, read_only) = match text.rsplit_once(':') {
            Some((p, "ro")) => (p, true),
            Some((p, "rw")) => (p, false),
            _ => (text, true),
        };
        let path = match path.split_once(':') {
            Some((host, inside)) if host == inside => host,
            Some((_, _)) => {
                return Err(format!(
                    "mount `{text}` moves a folder, which a sandbox cannot do: it sees the folder at its own path"
                ))
            }
            None => path,
        };
        if path.contains(':') {
            return Err(format!("mount `{text}` is not /path[:ro|:rw]"));
        }
        let spec = Self::parse(&format!("{path}:{path}"))?;
        Ok(Self { read_only, ..spec })
    }

    /// The spec as written in the file.
    pub fn to_spec(&self) -> String {
        format!(
            "{}:{}:{}",
            self.host.display(),
            self.container.display(),
            if self.read_only { "ro" } else { "rw" }
        )
    }
}

/// Parses a memory size: `512m`, `1g`, `1.5g`, `65536k`, `2GiB` or a plain number of bytes.
pub fn parse_memory(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_lowercase();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let scale: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "memory `{text}` has an unknown unit `{other}`; use k, m or g, e.g. \"512m\""
            ))
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("memory `{text}` is not a size such as \"512m\" or \"1g\""))?;
    let bytes = value * scale as f64;
    if !bytes.is_finite() || bytes < MIN_MEMORY as f64 || bytes > 1e15 {
        return Err(format!(
            "memory `{text}` is out of range; Docker needs at least 6m"
        ));
    }
    Ok(bytes as u64)
}

/// `uid` or `uid:gid`, numeric.
fn is_user_spec(text: &str) -> bool {
    let numeric = |s: &str| !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit());
    match text.split_once(':') {
        Some((u, g)) => numeric(u) && numeric(g),
        None => numeric(text),
    }
}

/// Resolves the isolation options of `[servers.<name>]`. `gateway_image` is
/// `[gateway] docker_image`; `command` is set for a program, `None` for a URL.
pub(crate) fn resolve(
    name: &str,
    server: &ServerConfig,
    command: Option<&str>,
    gateway_image: Option<&str>,
) -> Result<Isolation, (String, String)> {
    let kind = server.isolation.unwrap_or(IsolationKind::None);
    if kind == IsolationKind::Sandbox {
        return resolve_sandbox(name, server, command);
    }
    if kind == IsolationKind::None {
        let given = options_set(
            server,
            &[
                "image", "network", "mounts", "memory", "cpus", "pids", "user",
            ],
        );
        if !given.is_empty() {
            return Err((
                format!(
                    "[servers.{name}] sets {} but is not isolated, so nothing would enforce it",
                    given.join(", ")
                ),
                format!(
                    "add `isolation = \"docker\"` under [servers.{name}], or remove {}",
                    given.join(", ")
                ),
            ));
        }
        return Ok(Isolation::None);
    }
    let Some(command) = command else {
        return Err((
            format!("[servers.{name}] has a `url`, so it cannot be isolated"),
            "isolation runs a command in a container; remove `isolation` for an HTTP server".into(),
        ));
    };
    if let Some(cwd) = &server.cwd {
        if !cwd.is_absolute() {
            return Err((format!("[servers.{name}] cwd `{}` is not absolute", cwd.display()), "in a container `cwd` is a path inside it, e.g. cwd = \"/work\" (mount a host folder there with `mounts`)".into()));
        }
    }
    let (image, image_source) = match (&server.image, crate::isolation::image_for(command), gateway_image) {
        (Some(image), _, _) => (image.trim().to_owned(), "configured".to_owned()),
        (None, Some((image, runtime)), _) => (image.to_owned(), runtime.to_owned()),
        (None, None, Some(image)) => (image.trim().to_owned(), "gateway".to_owned()),
        (None, None, None) => {
            return Err((
                format!("[servers.{name}] runs `{command}` in Docker, but Portcullis cannot tell which image has it (it knows node/npx and python/pip/uv/uvx)"),
                format!("name the image with image = \"...\" under [servers.{name}], or set a default for such servers with docker_image = \"...\" under [gateway]"),
            ))
        }
    };
    if image.is_empty() || image.chars().any(char::is_whitespace) {
        return Err((
            format!("[servers.{name}] image `{image}` is not an image name"),
            "write it as NAME[:TAG], e.g. image = \"node:22-slim\"".into(),
        ));
    }
    let mut mounts = Vec::new();
    for spec in server.mounts.iter().flatten() {
        mounts.push(MountSpec::parse(spec).map_err(|m| (format!("[servers.{name}] {m}"), "write mounts as [\"/host/path:/container/path:ro\"] (ro is the default; rw allows writes)".into()))?);
    }
    let memory = match &server.memory {
        Some(m) => parse_memory(m).map_err(|m| {
            (
                format!("[servers.{name}] {m}"),
                "e.g. memory = \"512m\"".into(),
            )
        })?,
        None => DEFAULT_MEMORY,
    };
    let cpus = server.cpus.unwrap_or(DEFAULT_CPUS);
    if !(cpus.is_finite() && (0.01..=1024.0).contains(&cpus)) {
        return Err((
            format!("[servers.{name}] cpus = {cpus} is out of range"),
            "give a number of CPUs from 0.01 up, e.g. cpus = 1.5".into(),
        ));
    }
    let pids = match server.pids {
        Some(p) if (1..=1_000_000).contains(&p) => p as u32,
        Some(p) => {
            return Err((
                format!("[servers.{name}] pids = {p} is out of range"),
                "give a positive limit on processes and threads, e.g. pids = 256".into(),
            ))
        }
        None => DEFAULT_PIDS,
    };
    let user = match server.user.as_deref().map(str::trim) {
        None => None,
        Some(u) if is_user_spec(u) => Some(u.to_owned()),
        Some(u) => {
            return Err((
                format!("[servers.{name}] user `{u}` is not uid[:gid]"),
                "write numeric ids, e.g. user = \"1000:1000\"".into(),
            ))
        }
    };
    Ok(Isolation::Docker(DockerSettings {
        user,
        image,
        image_source,
        network: network(name, server)?,
        mounts,
        memory,
        cpus,
        pids,
    }))
}

/// The server's `network`, resolved.
fn network(name: &str, server: &ServerConfig) -> Result<Network, (String, String)> {
    Network::resolve(server.network.as_ref()).map_err(|m| {
        (
            format!("[servers.{name}] {m}"),
            "write network = [\"api.github.com\", \"*.slack.com:443\"] (HOST[:PORT], port 443 unless given), or true or false".into(),
        )
    })
}

/// Which of the isolation options `names` the server's table sets, in the
/// order of the table's fields.
fn options_set(server: &ServerConfig, names: &[&str]) -> Vec<&'static str> {
    [
        ("image", server.image.is_some()),
        ("network", server.network.is_some()),
        ("mounts", server.mounts.is_some()),
        ("memory", server.memory.is_some()),
        ("cpus", server.cpus.is_some()),
        ("pids", server.pids.is_some()),
        ("user", server.user.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| (set && names.contains(&k)).then_some(k))
    .collect()
}

/// The sandbox's share of [`resolve`]: what it cannot enforce is refused.
fn resolve_sandbox(
    name: &str,
    server: &ServerConfig,
    command: Option<&str>,
) -> Result<Isolation, (String, String)> {
    if command.is_none() {
        return Err((
            format!("[servers.{name}] has a `url`, so it cannot be sandboxed"),
            "the sandbox runs a command; remove `isolation` for an HTTP server".into(),
        ));
    }
    let given = options_set(server, &["image", "cpus", "user"]);
    if !given.is_empty() {
        return Err((
            format!(
                "[servers.{name}] sets {} but runs in the sandbox, which cannot enforce it",
                given.join(", ")
            ),
            format!(
                "remove {} (they are Docker's), or use isolation = \"docker\"",
                given.join(", ")
            ),
        ));
    }
    if let Some(cwd) = &server.cwd {
        if !cwd.is_absolute() {
            return Err((
                format!("[servers.{name}] cwd `{}` is not absolute", cwd.display()),
                "give the sandbox's working folder as an absolute path; it may read it".into(),
            ));
        }
    }
    let mut mounts = Vec::new();
    for spec in server.mounts.iter().flatten() {
        mounts.push(MountSpec::parse_in_place(spec).map_err(|m| {
            (
                format!("[servers.{name}] {m}"),
                "write mounts as [\"/host/path\", \"/other/path:rw\"] (ro is the default; rw allows writes)".into(),
            )
        })?);
    }
    let memory = match &server.memory {
        Some(m) => parse_memory(m).map_err(|m| {
            (
                format!("[servers.{name}] {m}"),
                "e.g. memory = \"512m\"".into(),
            )
        })?,
        None => DEFAULT_MEMORY,
    };
    let pids = match server.pids {
        Some(p) if (1..=1_000_000).contains(&p) => p as u32,
        Some(p) => {
            return Err((
                format!("[servers.{name}] pids = {p} is out of range"),
                "give a positive limit on processes and threads, e.g. pids = 256".into(),
            ))
        }
        None => DEFAULT_PIDS,
    };
    Ok(Isolation::Sandbox(SandboxSettings {
        network: network(name, server)?,
        mounts,
        memory,
        pids,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_parse_read_only_by_default() {
        let m = MountSpec::parse("/srv/data:/data").unwrap();
        assert!(m.read_only);
        assert_eq!(m.to_spec(), "/srv/data:/data:ro");
        assert!(!MountSpec::parse("/a:/b:rw").unwrap().read_only);
        for bad in [
            "rel:/b",
            "/a:rel",
            "/a:/b:rx",
            "/a",
            "/a:/b:ro:x",
            "/a/../etc:/b",
            "/a:/",
        ] {
            assert!(MountSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sandbox_mounts_stay_where_they_are() {
        let m = MountSpec::parse_in_place("/srv/data").unwrap();
        assert_eq!((m.host.to_str(), m.read_only), (Some("/srv/data"), true));
        assert!(!MountSpec::parse_in_place("/srv/out:rw").unwrap().read_only);
        assert!(MountSpec::parse_in_place("/srv/in:ro").unwrap().read_only);
        let same = MountSpec::parse_in_place("/srv/x:/srv/x:rw").unwrap();
        assert_eq!(
            (same.container.to_str(), same.read_only),
            (Some("/srv/x"), false)
        );
        for bad in ["/a:/b", "rel", "/a/../etc", "/a:/b:rw", "/a:rx:rw", "/"] {
            assert!(MountSpec::parse_in_place(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("512m").unwrap(), 512 << 20);
        assert_eq!(parse_memory("1G").unwrap(), 1 << 30);
        assert_eq!(parse_memory("1.5g").unwrap(), 3 << 29);
        assert_eq!(parse_memory("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_memory("104857600").unwrap(), 100 << 20);
        for bad in ["", "m", "12x", "1k", "-5m", "1e400m"] {
            assert!(parse_memory(bad).is_err(), "{bad}");
        }
    }
}
