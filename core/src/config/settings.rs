//! Validated settings, resolved in one step from the file, the environment
//! and the command line (CLI > env > file > default).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;

use super::{
    ConfigError, ConfigFile, EnvVars, Isolation, ServerConfig, SurfaceMode, TransportKind,
    ValueOrSecret,
};

/// Where the gateway listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7331";
const DEFAULT_TIMEOUT: f64 = 60.0;
const DEFAULT_MAX_MESSAGE: usize = 16 * 1024 * 1024;
/// Days the activity log keeps its rows unless told otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
/// The longest retention accepted: ten years.
const MAX_RETENTION_DAYS: u32 = 3650;

/// Values given on the command line, above everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<String>,
}

/// The gateway's resolved settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Address of the MCP endpoint and admin API.
    pub listen: SocketAddr,
    /// What agents see.
    pub surface: SurfaceMode,
    /// Between server and tool names.
    pub separator: String,
    /// Prefix tool names with their server's name.
    pub prefix: bool,
    /// Default per-call timeout.
    pub call_timeout: Duration,
    /// Largest message accepted.
    pub max_message_bytes: usize,
    /// How long the activity log keeps its rows.
    pub activity_retention: Duration,
    /// Whether the desktop app shows native notifications.
    pub notifications: bool,
    /// Upstreams by name, in file order.
    pub servers: IndexMap<String, ServerSettings>,
    /// Origins, besides the gateway's and the desktop app's own, allowed to call it.
    pub allowed_origins: Vec<String>,
    /// Bounds on what clients and upstreams may make the gateway hold.
    pub limits: super::Limits,
    /// Where traces go (`[telemetry]`).
    pub telemetry: super::TelemetrySettings,
    /// Which MCP registry to read (`[registry]`).
    pub registry: super::RegistrySettings,
    /// `[gateway] require_client_token` as written (unset: required once a
    /// client token exists).
    pub require_client_token: Option<bool>,
    /// Named views of the gateway (`[profiles.NAME]`), in file order.
    pub profiles: IndexMap<String, std::sync::Arc<super::Profile>>,
}

/// One upstream's resolved settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSettings {
    /// Its name.
    pub name: String,
    /// How to reach it.
    pub transport: TransportSettings,
    /// Whether it runs.
    pub enabled: bool,
    /// Per-call timeout.
    pub call_timeout: Duration,
    /// Whether (and how) its command runs in a container.
    pub isolation: Isolation,
    /// Which protocol era to speak to it.
    pub protocol: super::UpstreamProtocol,
    /// How to sign in when an HTTP server asks for OAuth.
    pub oauth: super::OAuthConfig,
    /// Methods outside MCP that clients may send to it (see
    /// `passthrough` in the config file).
    pub passthrough: Vec<String>,
    /// How many requests it takes at once, and how many may wait.
    pub concurrency: Option<Concurrency>,
    /// Whether it starts with the gateway or on the first request.
    pub start: super::StartMode,
    /// How long it may have nothing to do before it is stopped (and started
    /// again by the next call).
    pub idle_stop: Option<Duration>,
}

/// `max_concurrent` and `max_queue` of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency {
    /// Requests at once.
    pub max: usize,
    /// Requests waiting for a slot; more are refused as busy.
    pub queue: usize,
}

/// `max_queue` when only `max_concurrent` is given.
pub const DEFAULT_MAX_QUEUE: usize = 16;

/// How to reach an upstream.
#[derive(Debug, Clone, PartialEq)]
pub enum TransportSettings {
    /// A child process.
    Stdio {
        /// Program.
        command: String,
        /// Arguments.
        args: Vec<String>,
        /// Extra environment (secrets by name, looked up when it starts).
        env: IndexMap<String, ValueOrSecret>,
        /// Working directory.
        cwd: Option<PathBuf>,
    },
    /// An HTTP server.
    Http {
        /// Its URL.
        url: String,
        /// Extra headers (secrets by name, looked up when it connects).
        headers: IndexMap<String, ValueOrSecret>,
        /// Streamable, SSE or auto.
        kind: TransportKind,
    },
}

impl ServerSettings {
    /// The environment or headers, as configured.
    fn values(&self) -> (&'static str, &IndexMap<String, ValueOrSecret>) {
        match &self.transport {
            TransportSettings::Stdio { env, .. } => ("env", env),
            TransportSettings::Http { headers, .. } => ("header", headers),
        }
    }

    /// The names of the secrets it uses (environment, headers, client secret).
    pub fn secret_names(&self) -> impl Iterator<Item = &str> {
        self.values()
            .1
            .values()
            .chain(self.oauth.client_secret.as_ref())
            .filter_map(ValueOrSecret::secret_name)
    }

    /// Its environment or header values written out: `(table, key, value)`.
    pub fn plain_values(&self) -> impl Iterator<Item = (&'static str, &str, &str)> {
        let (table, map) = self.values();
        map.iter().filter_map(move |(k, v)| match v {
            ValueOrSecret::Plain(p) => Some((table, k.as_str(), p.as_str())),
            ValueOrSecret::Secret(_) => None,
        })
    }
}

impl TransportSettings {
    /// `stdio`, `streamable-http`, `sse` or `auto`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Stdio { .. } => "stdio",
            Self::Http {
                kind: TransportKind::StreamableHttp,
                ..
            } => "streamable-http",
            Self::Http {
                kind: TransportKind::Sse,
                ..
            } => "sse",
            Self::Http { .. } => "auto",
        }
    }

    /// What it runs or where it connects, for a person deciding whether to
    /// trust it: the command line (quoted where needed) or the URL. Never the
    /// values of environment variables or headers, which may be secrets.
    pub fn summary(&self) -> String {
        match self {
            Self::Stdio { command, args, .. } => std::iter::once(command)
                .chain(args)
                .map(|w| quote_word(w))
                .collect::<Vec<_>>()
                .join(" "),
            Self::Http { url, .. } => url.clone(),
        }
    }
}

/// A word as a shell would need it written.
fn quote_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

impl Settings {
    /// Resolves the file with the environment and the command line on top.
    pub fn resolve(
        file: &ConfigFile,
        overrides: &Overrides,
        path: &Path,
    ) -> Result<Self, ConfigError> {
        let invalid = |message: String, hint: &str| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
            hint: hint.into(),
        };
        let env_listen = std::env::var(EnvVars::PORTCULLIS_LISTEN)
            .ok()
            .filter(|v| !v.is_empty());
        let listen_text = overrides
            .listen
            .clone()
            .or(env_listen)
            .or_else(|| file.gateway.listen.clone())
            .unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            invalid(
                format!("`{listen_text}` is not an address to listen on"),
                "write it as IP:PORT, e.g. 127.0.0.1:7331 (port 0 picks a free one)",
            )
        })?;
        let separator = file
            .gateway
            .separator
            .clone()
            .unwrap_or_else(|| "__".into());
        if separator.is_empty()
            || !separator
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        {
            return Err(invalid(
                format!("separator `{separator}` is not allowed"),
                "use one or more of A-Z a-z 0-9 _ - .",
            ));
        }
        let call_timeout =
            seconds(file.gateway.timeout.unwrap_or(DEFAULT_TIMEOUT)).ok_or_else(|| {
                invalid(
                    "[gateway] timeout must be a positive number of seconds".into(),
                    "e.g. timeout = 60",
                )
            })?;
        let max_message_bytes = file
            .gateway
            .max_message_bytes
            .unwrap_or(DEFAULT_MAX_MESSAGE);
        if max_message_bytes < 1024 {
            return Err(invalid(
                format!("max_message_bytes = {max_message_bytes} is too small"),
                "use at least 1024; the default is 16 MiB",
            ));
        }
        let retention_days = file
            .gateway
            .activity_retention_days
            .unwrap_or(DEFAULT_RETENTION_DAYS);
        if !(1..=MAX_RETENTION_DAYS).contains(&retention_days) {
            return Err(invalid(
                format!("activity_retention_days = {retention_days} is out of range"),
                "keep the activity log between 1 and 3650 days; the default is 30",
            ));
        }
        let mut servers = IndexMap::new();
        for (name, server) in &file.servers {
            servers.insert(
                name.clone(),
                ServerSettings::resolve(
                    name,
                    server,
                    call_timeout,
                    file.gateway.docker_image.as_deref(),
                    file.gateway.start,
                    file.gateway.idle_stop.as_deref(),
                    path,
                )?,
            );
        }
        let prefix = file.gateway.prefix.unwrap_or(true);
        if !prefix && servers.len() > 1 {
            return Err(invalid(
                "`prefix = false` needs exactly one server, but several are configured".into(),
                "remove `prefix = false` from [gateway], or keep one server",
            ));
        }
        let limits = super::Limits::resolve(&file.limits).map_err(|(m, h)| invalid(m, &h))?;
        let telemetry =
            super::TelemetrySettings::resolve(&file.telemetry).map_err(|(m, h)| invalid(m, &h))?;
        let registry =
            super::RegistrySettings::resolve(&file.registry).map_err(|(m, h)| invalid(m, &h))?;
        let profiles = super::Profile::resolve_all(&file.profiles)
            .map_err(|(m, h)| invalid(m, &h))?
            .into_iter()
            .map(|(name, p)| (name, std::sync::Arc::new(p)))
            .collect();
        let allowed_origins = file
            .gateway
            .allowed_origins
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|o| {
                crate::downstream::normalize_origin(&o).ok_or_else(|| {
                    invalid(
                        format!("[gateway] allowed_origins: `{o}` is not a web origin"),
                        "write each as scheme://host[:port] with no path, e.g. \"http://localhost:5173\"",
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            listen,
            surface: file.gateway.surface.unwrap_or(SurfaceMode::Search),
            separator,
            prefix,
            call_timeout,
            max_message_bytes,
            activity_retention: Duration::from_secs(u64::from(retention_days) * 86_400),
            notifications: file.gateway.notifications.unwrap_or(true),
            servers,
            allowed_origins,
            limits,
            telemetry,
            require_client_token: file.gateway.require_client_token,
            registry,
            profiles,
        })
    }
}

impl ServerSettings {
    /// Validates one `[servers.<name>]` table; `docker_image` is `[gateway] docker_image`.
    pub fn resolve(
        name: &str,
        server: &ServerConfig,
        default_timeout: Duration,
        docker_image: Option<&str>,
        default_start: Option<super::StartMode>,
        default_idle_stop: Option<&str>,
        path: &Path,
    ) -> Result<Self, ConfigError> {
        let invalid = |message: String, hint: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
            hint,
        };
        validate_name(name)
            .map_err(|m| invalid(m, "server names are 1 to 64 of A-Z a-z 0-9 _ -".into()))?;
        let transport = match (&server.command, &server.url) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    format!("[servers.{name}] has both `command` and `url`"),
                    "keep `command` for a program or `url` for an HTTP server, not both".into(),
                ))
            }
            (None, None) => {
                return Err(invalid(
                    format!("[servers.{name}] has neither `command` nor `url`"),
                    format!(
                        "add `command = \"...\"` or `url = \"http://...\"` under [servers.{name}]"
                    ),
                ))
            }
            (Some(command), None) => {
                if matches!(server.transport, Some(k) if k != TransportKind::Stdio) {
                    return Err(invalid(
                        format!(
                            "[servers.{name}] runs a command, so its transport can only be `stdio`"
                        ),
                        "remove `transport`, or use `url` for an HTTP server".into(),
                    ));
                }
                if server.headers.is_some() {
                    return Err(invalid(
                        format!("[servers.{name}] has `headers` but runs a command"),
                        "headers are for HTTP servers; pass secrets to a command with `env`".into(),
                    ));
                }
                if command.trim().is_empty() {
                    return Err(invalid(
                        format!("[servers.{name}] has an empty `command`"),
                        "name the program to run, e.g. command = \"npx\"".into(),
                    ));
                }
                TransportSettings::Stdio {
                    command: command.clone(),
                    args: server.args.clone().unwrap_or_default(),
                    env: server.env.clone().unwrap_or_default(),
                    cwd: server.cwd.clone(),
                }
            }
            (None, Some(url)) => {
                if server.transport == Some(TransportKind::Stdio) {
                    return Err(invalid(
                        format!("[servers.{name}] has a `url`, so its transport cannot be `stdio`"),
                        "use streamable-http, sse or auto".into(),
                    ));
                }
                if server.args.is_some() || server.env.is_some() || server.cwd.is_some() {
                    return Err(invalid(
                        format!("[servers.{name}] has a `url` and also args, env or cwd"),
                        "args, env and cwd are for commands; remove them".into(),
                    ));
                }
                let parsed = reqwest::Url::parse(url).map_err(|e| {
                    invalid(
                        format!("[servers.{name}] url `{url}`: {e}"),
                        "write a full URL such as http://127.0.0.1:3001/mcp".into(),
                    )
                })?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(invalid(
                        format!("[servers.{name}] url `{url}` is not http or https"),
                        "write a full URL such as http://127.0.0.1:3001/mcp".into(),
                    ));
                }
                TransportSettings::Http {
                    url: url.clone(),
                    headers: server.headers.clone().unwrap_or_default(),
                    kind: server.transport.unwrap_or(TransportKind::Auto),
                }
            }
        };
        let call_timeout = match server.timeout {
            Some(t) => seconds(t).ok_or_else(|| {
                invalid(
                    format!("[servers.{name}] timeout must be a positive number of seconds"),
                    "e.g. timeout = 120".into(),
                )
            })?,
            None => default_timeout,
        };
        let command = match &transport {
            TransportSettings::Stdio { command, .. } => Some(command.as_str()),
            TransportSettings::Http { .. } => None,
        };
        let isolation = super::isolation::resolve(name, server, command, docker_image)
            .map_err(|(m, h)| invalid(m, h))?;
        let oauth = server.oauth.clone().unwrap_or_default();
        if server.oauth.is_some() && command.is_some() {
            return Err(invalid(
                format!("[servers.{name}.oauth] is set but the server runs a command"),
                "OAuth is for HTTP servers; remove the oauth table".into(),
            ));
        }
        if (oauth.client_secret.is_some() || oauth.private_key.is_some())
            && oauth.client_id.is_none()
        {
            return Err(invalid(format!("[servers.{name}.oauth] has a `client_secret` or `private_key` without `client_id`"), "add the client_id they belong to".into()));
        }
        if let Some(u) = &oauth.client_metadata_url {
            if !u.starts_with("https://") {
                return Err(invalid(
                    format!("[servers.{name}.oauth] client_metadata_url `{u}` is not an https URL"),
                    "a client id metadata document must be served over https".into(),
                ));
            }
        }
        let passthrough = server.passthrough.clone().unwrap_or_default();
        if let Some(bad) = passthrough.iter().find(|m| {
            m.is_empty()
                || m.len() > 128
                || !m
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '.'))
        }) {
            return Err(invalid(
                format!("[servers.{name}] passthrough names `{bad}`, which is not a method name"),
                "list JSON-RPC method names, e.g. passthrough = [\"vendor/reindex\"]".into(),
            ));
        }
        let concurrency = match (server.max_concurrent, server.max_queue) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(invalid(
                    format!("[servers.{name}] has `max_queue` but no `max_concurrent`"),
                    "max_queue says how many requests wait for one of max_concurrent slots; add max_concurrent = N".into(),
                ))
            }
            (Some(0), _) => {
                return Err(invalid(
                    format!("[servers.{name}] max_concurrent must be at least 1"),
                    "e.g. max_concurrent = 4; leave it out for no limit".into(),
                ))
            }
            (Some(max), queue) => Some(Concurrency {
                max: max as usize,
                queue: queue.map_or(DEFAULT_MAX_QUEUE, |q| q as usize),
            }),
        };
        let idle_stop = match server.idle_stop.as_deref().or(default_idle_stop) {
            None => None,
            Some(text) => parse_idle(text).ok_or_else(|| {
                invalid(
                    format!("[servers.{name}] idle_stop `{text}` is not a duration"),
                    "write a number with s, m or h, e.g. idle_stop = \"10m\" (at least 1s), or \"off\"".into(),
                )
            })?,
        };
        Ok(Self {
            name: name.to_owned(),
            transport,
            enabled: server.enabled.unwrap_or(true),
            call_timeout,
            isolation,
            protocol: server.protocol.unwrap_or_default(),
            oauth,
            passthrough,
            concurrency,
            start: server.start.or(default_start).unwrap_or_default(),
            idle_stop,
        })
    }

    /// `stdio`, `streamable-http`, `sse`, `auto`, `docker` for a command run
    /// in a container, or `sandbox` for one run in the sandbox.
    pub fn label(&self) -> &'static str {
        match self.isolation {
            Isolation::Docker(_) => "docker",
            Isolation::Sandbox(_) => "sandbox",
            Isolation::None => self.transport.label(),
        }
    }
}

/// Checks a server name: 1 to 64 of `[A-Za-z0-9_-]`.
pub(crate) fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!("`{name}` is not a valid server name"));
    }
    Ok(())
}

/// `"90s"`, `"10m"`, `"1h"` (a whole or decimal number and a unit), or
/// `"off"`: `Some(None)`. At least a second.
fn parse_idle(text: &str) -> Option<Option<Duration>> {
    let text = text.trim();
    if text == "off" {
        return Some(None);
    }
    let (number, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = number.trim().parse().ok()?;
    let secs = n * match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    (secs >= 1.0).then(|| seconds(secs)).flatten().map(Some)
}

#[cfg(test)]
#[test]
fn idle_durations_read_as_people_write_them() {
    assert_eq!(parse_idle("10m"), Some(Some(Duration::from_secs(600))));
    assert_eq!(parse_idle("90s"), Some(Some(Duration::from_secs(90))));
    assert_eq!(parse_idle("1.5h"), Some(Some(Duration::from_secs(5400))));
    assert_eq!(parse_idle("off"), Some(None));
    for bad in ["10", "0s", "0.5s", "ten m", "5d", ""] {
        assert_eq!(parse_idle(bad), None, "{bad}");
    }
}

fn seconds(value: f64) -> Option<Duration> {
    (value.is_finite() && value > 0.0 && value < 1e7).then(|| Duration::from_secs_f64(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<Settings, ConfigError> {
        let file = ConfigFile::parse(text, Path::new("c.toml"))?;
        Settings::resolve(&file, &Overrides::default(), Path::new("c.toml"))
    }

    #[test]
    fn defaults() {
        let s = resolve("").unwrap();
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(s.call_timeout, Duration::from_secs(60));
        assert_eq!(s.separator, "__");
    }

    #[test]
    fn servers_resolve_with_overrides() {
        let s = resolve("[gateway]\ntimeout = 5\n[servers.a]\ncommand = \"x\"\nargs = [\"1\"]\n[servers.b]\nurl = \"http://127.0.0.1:1/mcp\"\ntimeout = 2.5\n").unwrap();
        assert_eq!(s.servers["a"].call_timeout, Duration::from_secs(5));
        assert_eq!(s.servers["b"].call_timeout, Duration::from_millis(2500));
        assert_eq!(s.servers["b"].transport.label(), "auto");
        assert_eq!(s.servers.keys().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn sandbox_isolation_resolves_and_refuses_what_only_docker_enforces() {
        let s = resolve("[servers.n]\ncommand = \"npx\"\nisolation = \"sandbox\"\n[servers.o]\ncommand = \"/opt/srv\"\ncwd = \"/srv\"\nisolation = \"sandbox\"\nnetwork = true\nmounts = [\"/srv/in\", \"/srv/out:rw\"]\nmemory = \"1g\"\npids = 64\n").unwrap();
        let Isolation::Sandbox(n) = &s.servers["n"].isolation else {
            panic!("n is sandboxed")
        };
        assert_eq!(
            (&n.network, n.mounts.len(), n.memory, n.pids),
            (
                &crate::config::Network::Off,
                0,
                crate::config::DEFAULT_MEMORY,
                crate::config::DEFAULT_PIDS
            )
        );
        assert_eq!(s.servers["n"].label(), "sandbox");
        let Isolation::Sandbox(o) = &s.servers["o"].isolation else {
            panic!("o is sandboxed")
        };
        assert!(
            o.network == crate::config::Network::On
                && o.mounts[0].read_only
                && !o.mounts[1].read_only
        );
        assert_eq!((o.memory, o.pids), (1 << 30, 64));
        for (text, said) in [
            (
                "url=\"http://h\"\nisolation=\"sandbox\"\n",
                "cannot be sandboxed",
            ),
            (
                "command=\"x\"\nisolation=\"sandbox\"\ncpus=2\n",
                "sets cpus",
            ),
            (
                "command=\"x\"\nisolation=\"sandbox\"\nimage=\"i\"\n",
                "sets image",
            ),
            (
                "command=\"x\"\nisolation=\"sandbox\"\nmounts=[\"/a:/b\"]\n",
                "moves a folder",
            ),
            (
                "command=\"x\"\nisolation=\"sandbox\"\ncwd=\"rel\"\n",
                "not absolute",
            ),
            (
                "command=\"x\"\nisolation=\"sandbox\"\nnetwork=[\"https://api.github.com\"]\n",
                "[servers.a] network entry `https://api.github.com` is a URL",
            ),
            (
                "command=\"x\"\nnetwork=[\"api.github.com\"]\n",
                "sets network but is not isolated",
            ),
        ] {
            let e = resolve(&format!("[servers.a]\n{text}"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(said), "{text}: {e}");
        }
    }

    #[test]
    fn docker_isolation_resolves_with_safe_defaults() {
        let s = resolve("[gateway]\ndocker_image = \"debian:12\"\n[servers.n]\ncommand = \"npx\"\nisolation = \"docker\"\n[servers.o]\ncommand = \"/opt/srv\"\nisolation = \"docker\"\nnetwork = true\nmounts = [\"/srv:/srv\", \"/tmp/out:/out:rw\"]\nmemory = \"1g\"\ncpus = 0.5\npids = 64\n[servers.p]\ncommand = \"uvx\"\nisolation = \"docker\"\nimage = \"mine:1\"\n").unwrap();
        let Isolation::Docker(n) = &s.servers["n"].isolation else {
            panic!("n is isolated")
        };
        assert_eq!(
            (n.image.as_str(), n.image_source.as_str()),
            (crate::isolation::NODE_IMAGE, "node")
        );
        assert!(n.network == crate::config::Network::Off && n.mounts.is_empty());
        assert_eq!(
            (n.memory, n.cpus, n.pids),
            (super::super::DEFAULT_MEMORY, 1.0, 256)
        );
        let Isolation::Docker(o) = &s.servers["o"].isolation else {
            panic!("o is isolated")
        };
        assert_eq!(
            (o.image.as_str(), o.image_source.as_str()),
            ("debian:12", "gateway")
        );
        assert_eq!(o.network, crate::config::Network::On);
        assert_eq!(
            o.mounts.iter().map(|m| m.read_only).collect::<Vec<_>>(),
            [true, false]
        );
        assert_eq!((o.memory, o.cpus, o.pids), (1 << 30, 0.5, 64));
        let Isolation::Docker(p) = &s.servers["p"].isolation else {
            panic!("p is isolated")
        };
        assert_eq!(p.image, "mine:1");
        assert_eq!(s.servers["p"].label(), "docker");
        assert_eq!(
            resolve("[servers.a]\ncommand = \"x\"\n").unwrap().servers["a"].isolation,
            Isolation::None
        );
    }

    #[test]
    fn invalid_servers_are_explained() {
        for (text, needle) in [
            ("[servers.a]\n", "neither"),
            ("[servers.a]\ncommand=\"x\"\nurl=\"http://h\"\n", "both"),
            (
                "[servers.\"a b\"]\ncommand=\"x\"\n",
                "not a valid server name",
            ),
            ("[servers.a]\nurl=\"ftp://h\"\n", "not http"),
            (
                "[servers.a]\ncommand=\"x\"\ntransport=\"sse\"\n",
                "only be `stdio`",
            ),
            ("[gateway]\nlisten=\"nope\"\n", "not an address"),
            (
                "[servers.a]\ncommand=\"x\"\nnetwork=false\n",
                "not isolated",
            ),
            (
                "[servers.a]\nurl=\"http://h\"\nisolation=\"docker\"\n",
                "cannot be isolated",
            ),
            (
                "[servers.a]\ncommand=\"./srv\"\nisolation=\"docker\"\n",
                "which image",
            ),
            (
                "[servers.a]\ncommand=\"npx\"\nisolation=\"docker\"\nmounts=[\"data:/data\"]\n",
                "not absolute",
            ),
            (
                "[servers.a]\ncommand=\"npx\"\nisolation=\"docker\"\nmemory=\"lots\"\n",
                "memory",
            ),
            (
                "[servers.a]\ncommand=\"npx\"\nisolation=\"docker\"\npids=0\n",
                "pids",
            ),
            (
                "[servers.a]\ncommand=\"npx\"\nisolation=\"docker\"\ncpus=0\n",
                "cpus",
            ),
        ] {
            let err = crate::hint::with_hint(&resolve(text).unwrap_err());
            assert!(
                err.contains(needle) && err.contains("hint:"),
                "{text:?} -> {err}"
            );
        }
    }

    #[test]
    fn a_summary_quotes_like_a_shell_and_hides_secrets() {
        let stdio = TransportSettings::Stdio {
            command: "npx".into(),
            args: vec![
                "-y".into(),
                "@scope/pkg".into(),
                "a b".into(),
                "it's".into(),
            ],
            env: [("TOKEN".to_owned(), "secret".into())]
                .into_iter()
                .collect(),
            cwd: None,
        };
        assert_eq!(stdio.summary(), "npx -y @scope/pkg 'a b' 'it'\\''s'");
        let http = TransportSettings::Http {
            url: "https://h/mcp".into(),
            headers: [("Authorization".to_owned(), "Bearer secret".into())]
                .into_iter()
                .collect(),
            kind: TransportKind::Auto,
        };
        assert_eq!(http.summary(), "https://h/mcp");
    }
}
