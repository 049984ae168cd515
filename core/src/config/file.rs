//! The config file's types, exactly as a person writes them.
//!
//! Every field is optional and unknown fields are refused, so a typo is an
//! error with its line and column rather than a setting silently ignored.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::{ConfigError, IsolationKind, ValueOrSecret};

/// The whole config file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Gateway-wide settings.
    #[serde(default)]
    pub gateway: GatewayConfig,
    /// Upstream servers by name, in file order.
    #[serde(default)]
    pub servers: IndexMap<String, ServerConfig>,
    /// Bounds on what clients and upstreams may make the gateway hold.
    #[serde(default)]
    pub limits: super::LimitsConfig,
    /// Where traces of calls go (OpenTelemetry).
    #[serde(default)]
    pub telemetry: super::TelemetryConfig,
    /// Which MCP registry `portcullis registry` and the Catalog page read.
    #[serde(default)]
    pub registry: super::RegistryConfig,
    /// Named views of the gateway (`[profiles.NAME]`), in file order.
    #[serde(default)]
    pub profiles: IndexMap<String, super::ProfileConfig>,
}

/// `[gateway]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Address of the MCP endpoint and the admin API, e.g. `127.0.0.1:7331`.
    pub listen: Option<String>,
    /// What agents see: `direct` (every tool, prefixed) or `search`.
    pub surface: Option<SurfaceMode>,
    /// Between the server's name and the tool's name. Default `__`.
    pub separator: Option<String>,
    /// `false` serves tool names as the upstream gives them; only allowed
    /// with exactly one server (single-upstream mode). Default `true`.
    pub prefix: Option<bool>,
    /// Default per-call timeout in seconds. Default 60.
    pub timeout: Option<f64>,
    /// Largest JSON-RPC message accepted, in bytes. Default 16 MiB.
    pub max_message_bytes: Option<usize>,
    /// The image for isolated servers whose runtime Portcullis does not
    /// recognise (neither node/npx nor python/pip/uv/uvx).
    pub docker_image: Option<String>,
    /// Web origins (besides the gateway's own and the desktop app's) whose
    /// pages may call the gateway, each exactly `scheme://host[:port]`.
    pub allowed_origins: Option<Vec<String>>,
    /// Days the activity log keeps calls and decisions. Default 30.
    pub activity_retention_days: Option<u32>,
    /// Whether the desktop app shows native notifications when tools wait.
    /// Default `true`.
    pub notifications: Option<bool>,
    /// When servers that do not say start: `always` (the default) or `on-demand`.
    pub start: Option<StartMode>,
    /// Stop servers that had nothing to do for this long (e.g. `"10m"`);
    /// each server may say otherwise. Default: never.
    pub idle_stop: Option<String>,
    /// Whether `/mcp` refuses HTTP requests without a client token
    /// (`portcullis client add`). Unset: refused as soon as one client token
    /// exists.
    pub require_client_token: Option<bool>,
}

/// The tool surface agents see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SurfaceMode {
    /// Every callable tool, prefixed with its server's name.
    Direct,
    /// A few tools to search, describe and call the others.
    Search,
}

/// When the gateway starts a server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartMode {
    /// With the gateway, and kept running.
    #[default]
    Always,
    /// When a request first needs it, once its tools are known and approved.
    OnDemand,
}

/// Which protocol era the gateway speaks to an upstream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum UpstreamProtocol {
    /// Try `server/discover` (2026-07-28); on an error, the `initialize` handshake.
    #[default]
    #[serde(rename = "auto")]
    Auto,
    /// The `initialize` handshake (2025-11-25 and earlier).
    #[serde(rename = "2025-11-25")]
    Handshake,
    /// Stateless requests (2026-07-28).
    #[serde(rename = "2026-07-28")]
    Stateless,
}

/// How to reach an upstream that has a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportKind {
    /// A child process speaking over stdin and stdout.
    Stdio,
    /// Streamable HTTP (MCP 2025-03-26 and later).
    StreamableHttp,
    /// The legacy HTTP+SSE transport (MCP 2024-11-05).
    Sse,
    /// Streamable HTTP, falling back to SSE.
    Auto,
}

impl TransportKind {
    /// Reads a transport as people write it: `stdio`, `streamable-http`
    /// (or `http`), `sse` or `auto`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "stdio" => Some(Self::Stdio),
            "streamable-http" | "http" => Some(Self::StreamableHttp),
            "sse" => Some(Self::Sse),
            "auto" => Some(Self::Auto),
            _ => None,
        }
    }
}

/// `[servers.<name>]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// The program of a stdio server.
    pub command: Option<String>,
    /// Its arguments.
    pub args: Option<Vec<String>>,
    /// Extra environment for the program: each value written out, or a
    /// secret by name (`{ secret = "github-pat" }`).
    pub env: Option<IndexMap<String, ValueOrSecret>>,
    /// Its working directory.
    pub cwd: Option<PathBuf>,
    /// The URL of an HTTP server.
    pub url: Option<String>,
    /// Extra HTTP headers, e.g. `Authorization`: values or secrets by name.
    pub headers: Option<IndexMap<String, ValueOrSecret>>,
    /// `stdio`, `streamable-http`, `sse` or `auto` (the default for a URL).
    pub transport: Option<TransportKind>,
    /// `false` keeps the server configured but stopped.
    pub enabled: Option<bool>,
    /// Per-call timeout in seconds, overriding `[gateway] timeout`.
    pub timeout: Option<f64>,
    /// `none` (the default) or `docker`: run the command in a hardened container.
    pub isolation: Option<IsolationKind>,
    /// Which protocol era to speak to it: `auto` (the default: ask with
    /// `server/discover`, else `initialize`), `2025-11-25` (always the
    /// handshake) or `2026-07-28` (always stateless).
    pub protocol: Option<UpstreamProtocol>,
    /// The container image, instead of the one chosen from the command.
    pub image: Option<String>,
    /// `true` lets the server reach the network, a list of `HOST[:PORT]`
    /// only those hosts (through the egress proxy); default `false`.
    pub network: Option<super::NetworkConfig>,
    /// Host paths mounted into the container, `/host:/container[:ro|:rw]`.
    pub mounts: Option<Vec<String>>,
    /// The container's memory limit, e.g. `"512m"` (the default) or `"1g"`.
    pub memory: Option<String>,
    /// The container's CPU limit in CPUs; default 1.
    pub cpus: Option<f64>,
    /// The container's limit on processes and threads; default 256.
    pub pids: Option<i64>,
    /// Who the program runs as in its container, `uid[:gid]`. Default: the
    /// gateway's own user, or 65534:65534 (nobody) when the gateway is root.
    pub user: Option<String>,
    /// `[servers.<name>.oauth]`: how Portcullis signs in to an HTTP server
    /// that asks for OAuth. Without it, Portcullis registers itself.
    pub oauth: Option<OAuthConfig>,
    /// Methods Portcullis does not know that clients may send to this
    /// server, e.g. `["vendor/reindex"]`. Only for a trusted server; any
    /// other unknown method is refused with -32601.
    pub passthrough: Option<Vec<String>>,
    /// At most this many requests to the server at once; more wait in a
    /// queue of `max_queue`. Default: no limit.
    pub max_concurrent: Option<u32>,
    /// With `max_concurrent`: how many requests may wait for a slot before
    /// more are refused at once as busy. Default 16.
    pub max_queue: Option<u32>,
    /// `always` starts it with the gateway; `on-demand` lists its approved
    /// tools without running it and starts it on the first request that
    /// needs it. Default: `[gateway] start`, else `always`.
    pub start: Option<StartMode>,
    /// Stop it after this long with no request, resource subscription or
    /// stream (e.g. `"10m"`, `"90s"`, `"1h"`, or `"off"`); the next call
    /// starts it again. Default: `[gateway] idle_stop`, else never.
    pub idle_stop: Option<String>,
}

/// `[servers.<name>.oauth]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthConfig {
    /// A client id registered with the server's authorization server by
    /// hand (pre-registration); without it Portcullis uses a client id
    /// metadata document or dynamic client registration.
    pub client_id: Option<String>,
    /// The secret of that client, for a confidential client (best as a
    /// secret by name: `{ secret = "name" }`).
    pub client_secret: Option<ValueOrSecret>,
    /// The HTTPS URL of a client id metadata document describing Portcullis,
    /// used as the client id where the authorization server supports it.
    pub client_metadata_url: Option<String>,
    /// Scopes to ask for (space-separated), instead of the ones the server names.
    pub scope: Option<String>,
    /// The client's P-256 private key (PKCS#8, PEM): a file's path, or
    /// `{ secret = "name" }` for the PEM kept as a secret. The client
    /// authenticates with a signed JWT (`private_key_jwt`, ES256). Used by
    /// the client credentials grant, where no person signs in.
    pub private_key: Option<ValueOrSecret>,
    /// A file holding a JWT the platform issues to this workload (workload
    /// identity federation): where the authorization server offers only the
    /// JWT bearer grant, it is traded for a token, with no person.
    pub assertion_file: Option<PathBuf>,
}

impl ConfigFile {
    /// Parses config text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text)
            .map_err(|e| ConfigError::syntax(path, text, e.span().map(|s| s.start), e.message()))
    }

    /// Reads the file; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigError::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_gives_line_and_column() {
        let text =
            "[gateway]\nlisten = \"127.0.0.1:1\"\n\n[servers.a]\ncommand = \"x\"\nargz = []\n";
        match ConfigFile::parse(text, Path::new("c.toml")) {
            Err(ConfigError::Syntax {
                line,
                column,
                message,
                ..
            }) => {
                assert_eq!((line, column), (6, 1), "{message}");
                assert!(message.contains("argz"), "{message}");
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn broken_toml_gives_position() {
        let err = ConfigFile::parse("[servers.a]\ncommand = \"x\nargs=[]", Path::new("c.toml"))
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("line 2"), "{text}");
    }
}
