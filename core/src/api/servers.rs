//! Routes that add, remove, enable and disable servers: thin adapters over
//! the [`Gateway`](crate::Gateway) operations the CLI uses too.

use std::path::PathBuf;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::json;

use super::handler::{error, Api};
use crate::config::{
    split_words, IsolationKind, NetworkConfig, ServerConfig, TransportKind, ValueOrSecret,
};
use crate::secrets::SealOptions;
use crate::GatewayError;

/// `POST /servers`: a pasted `mcpServers` snippet, or one server from a form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AddBody {
    /// Pasted JSON: `{"mcpServers": {...}}`, `{"servers": {...}}` or the bare map.
    snippet: Option<String>,
    name: Option<String>,
    command: Option<String>,
    /// A list, or one string split the way `--args` is.
    args: Option<Args>,
    /// Values, or `{"secret": "name"}`; values that look like credentials
    /// are stored as secrets (the answer's `moved` says which).
    env: Option<IndexMap<String, ValueOrSecret>>,
    cwd: Option<PathBuf>,
    url: Option<String>,
    headers: Option<IndexMap<String, ValueOrSecret>>,
    /// Names of `env` or `headers` kept in the file as written although they
    /// look like credentials.
    plain: Option<Vec<String>>,
    transport: Option<String>,
    timeout: Option<f64>,
    enabled: Option<bool>,
    /// `docker` runs the command in a hardened container; `none` (the default) as a process.
    isolation: Option<String>,
    /// The container image, instead of the one chosen from the command.
    image: Option<String>,
    /// Lets the container reach the network.
    network: Option<bool>,
    /// `HOST[:PORT]` it may reach through the egress proxy (instead of `network`).
    allow_hosts: Option<Vec<String>>,
    /// `host:container[:rw]` folders shared with the container.
    mounts: Option<Vec<String>>,
    /// The container's memory limit, e.g. `512m`.
    memory: Option<String>,
    /// The container's CPU limit.
    cpus: Option<f64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Args {
    List(Vec<String>),
    Words(String),
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl AddBody {
    /// The server the form describes, checked as far as the form can be.
    fn server(self) -> Result<(String, ServerConfig, SealOptions), GatewayError> {
        let invalid = |m: &str, h: &str| GatewayError::invalid(m, h);
        let name = non_empty(self.name).ok_or_else(|| {
            invalid(
                "the server needs a name",
                "e.g. `time`; 1 to 64 of A-Z a-z 0-9 _ -",
            )
        })?;
        let (command, url) = (non_empty(self.command), non_empty(self.url));
        if command.is_none() == url.is_none() {
            return Err(invalid("give either a command (a program speaking MCP over stdio) or a URL (an HTTP server)", "e.g. command `uvx` with arguments `mcp-server-time`"));
        }
        let args = match self.args {
            None => Vec::new(),
            Some(Args::List(list)) => list,
            Some(Args::Words(words)) => split_words(&words).map_err(|e| {
                invalid(
                    &format!("the arguments {e}"),
                    "close the quote, or escape it with a backslash",
                )
            })?,
        };
        let transport = match non_empty(self.transport) {
            None => None,
            Some(t) => Some(TransportKind::parse(&t).ok_or_else(|| {
                invalid(
                    &format!("the transport `{t}` is not known"),
                    "use streamable-http, sse or auto",
                )
            })?),
        };
        let isolation = match non_empty(self.isolation) {
            None => None,
            Some(i) => Some(
                IsolationKind::parse_choice("the isolation", &i)
                    .map_err(|e| invalid(&e.message, e.hint.as_deref().unwrap_or_default()))?,
            ),
        };
        let mounts: Vec<String> = self
            .mounts
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| non_empty(Some(m)))
            .collect();
        let isolated = matches!(
            isolation,
            Some(IsolationKind::Docker | IsolationKind::Sandbox)
        );
        let allow_hosts: Vec<String> = self
            .allow_hosts
            .unwrap_or_default()
            .into_iter()
            .filter_map(|h| non_empty(Some(h)))
            .collect();
        if self.network == Some(true) && !allow_hosts.is_empty() {
            return Err(invalid(
                "the network is either all hosts or the allowed hosts, not both",
                "untick the network to let it reach only the allowed hosts",
            ));
        }
        let network = if allow_hosts.is_empty() {
            self.network.filter(|n| *n).map(NetworkConfig::Switch)
        } else {
            Some(NetworkConfig::AllowList(allow_hosts))
        };
        let limits = network.is_some() || !mounts.is_empty() || self.memory.is_some();
        let container_only =
            self.image.as_deref().is_some_and(|i| !i.trim().is_empty()) || self.cpus.is_some();
        if !isolated && (limits || container_only) {
            return Err(invalid(
                "network, shared folders and memory are settings of isolation, image and CPUs of a container",
                "choose isolation `sandbox` or `docker`, or leave them out",
            ));
        }
        if isolation == Some(IsolationKind::Sandbox) && container_only {
            return Err(invalid(
                "image and CPUs are container settings; the sandbox cannot enforce them",
                "choose isolation `docker`, or leave image and CPUs out",
            ));
        }
        if isolated && url.is_some() {
            return Err(invalid(
                "only a command can be isolated; an HTTP server (a URL) runs wherever it is hosted",
                "leave isolation out for a URL",
            ));
        }
        // Memory, CPU and folder specs are checked with the whole file before it is saved.
        let server = ServerConfig {
            command,
            args: (!args.is_empty()).then_some(args),
            env: self.env.filter(|e| !e.is_empty()),
            cwd: self.cwd.filter(|c| !c.as_os_str().is_empty()),
            url,
            headers: self.headers.filter(|h| !h.is_empty()),
            transport,
            enabled: self.enabled.filter(|e| !e),
            timeout: self.timeout,
            isolation,
            image: non_empty(self.image),
            network,
            mounts: (!mounts.is_empty()).then_some(mounts),
            memory: non_empty(self.memory),
            cpus: self.cpus,
            ..ServerConfig::default()
        };
        let seal = SealOptions {
            plain: self.plain.unwrap_or_default().into_iter().collect(),
        };
        Ok((name, server, seal))
    }
}

pub(super) async fn add(State(api): State<Api>, Json(body): Json<AddBody>) -> Response {
    let result = match body.snippet.clone() {
        Some(snippet) => api.gw.import_servers(&snippet).await,
        None => match body.server() {
            Ok((name, server, seal)) => api.gw.add_server(&name, &server, seal).await,
            Err(e) => Err(e),
        },
    };
    result.map_or_else(error, |added| Json(added).into_response())
}

pub(super) async fn remove(State(api): State<Api>, Path(name): Path<String>) -> Response {
    api.gw
        .remove_server(&name)
        .await
        .map_or_else(error, |()| Json(json!({ "removed": name })).into_response())
}

pub(super) async fn enable(State(api): State<Api>, Path(name): Path<String>) -> Response {
    set_enabled(api, name, true).await
}

pub(super) async fn disable(State(api): State<Api>, Path(name): Path<String>) -> Response {
    set_enabled(api, name, false).await
}

async fn set_enabled(api: Api, name: String, enabled: bool) -> Response {
    api.gw
        .set_server_enabled(&name, enabled)
        .await
        .map_or_else(error, |()| {
            Json(json!({ "server": name, "enabled": enabled })).into_response()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: serde_json::Value) -> AddBody {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_form_becomes_a_server() {
        let (name, s, _) = body(json!({ "name": " time ", "command": "uvx", "args": "mcp-server-time --local-timezone 'Europe/Paris'", "env": {}, "cwd": "", "timeout": 30 })).server().unwrap();
        assert_eq!(name, "time");
        assert_eq!(s.command.as_deref(), Some("uvx"));
        assert_eq!(
            s.args.unwrap(),
            ["mcp-server-time", "--local-timezone", "Europe/Paris"]
        );
        assert_eq!(
            (s.env, s.cwd, s.enabled, s.timeout),
            (None, None, None, Some(30.0))
        );

        let (_, s, _) = body(json!({ "name": "web", "url": "http://127.0.0.1:9/mcp", "transport": "sse", "args": ["ignored by validation later"] })).server().unwrap();
        assert_eq!(s.transport, Some(TransportKind::Sse));
    }

    #[test]
    fn a_bad_form_says_what_to_do() {
        let err = |v| crate::hint::with_hint(&body(v).server().unwrap_err());
        let no_name = body(json!({ "command": "x" })).server().unwrap_err();
        assert!(no_name.to_string().contains("needs a name"));
        assert!(crate::hint::Hinted::hint(&no_name).is_some_and(|h| h.contains("1 to 64")));
        assert!(err(json!({ "name": "a" })).contains("either a command"));
        assert!(
            err(json!({ "name": "a", "command": "x", "url": "http://h" }))
                .contains("either a command")
        );
        assert!(
            err(json!({ "name": "a", "command": "x", "args": "\"open" }))
                .contains("unclosed quote")
        );
        assert!(
            err(json!({ "name": "a", "url": "http://h", "transport": "ws" }))
                .contains("`ws` is not known")
        );
        assert!(
            serde_json::from_value::<AddBody>(json!({ "name": "a", "comand": "x" })).is_err(),
            "unknown fields are refused"
        );
        assert!(
            err(json!({ "name": "a", "command": "x", "isolation": "vm" }))
                .contains("`vm` is not known")
        );
        assert!(err(json!({ "name": "a", "command": "x", "memory": "1g" }))
            .contains("choose isolation `sandbox` or `docker`"));
        assert!(
            err(json!({ "name": "a", "url": "http://h", "isolation": "docker" }))
                .contains("only a command can be isolated")
        );
        assert!(err(
            json!({ "name": "a", "command": "x", "isolation": "sandbox", "image": "node:22" })
        )
        .contains("image and CPUs are container settings"));
    }

    #[test]
    fn a_form_can_ask_for_the_sandbox() {
        let form = json!({ "name": "fs", "command": "npx", "isolation": "sandbox", "network": true, "mounts": ["/home/me/notes:rw"], "memory": "1g", "image": "" });
        let (_, s, _) = body(form).server().unwrap();
        assert_eq!(s.isolation, Some(IsolationKind::Sandbox));
        assert_eq!(
            (s.network, s.image, s.memory.as_deref()),
            (Some(NetworkConfig::Switch(true)), None, Some("1g"))
        );
        assert_eq!(s.mounts.unwrap(), ["/home/me/notes:rw"]);
    }

    #[test]
    fn a_form_can_give_the_hosts_a_server_may_reach() {
        let form = json!({ "name": "gh", "command": "npx", "isolation": "sandbox", "network": false, "allow_hosts": ["api.github.com", " ", "*.slack.com:443"] });
        let (_, s, _) = body(form).server().unwrap();
        assert_eq!(
            s.network,
            Some(NetworkConfig::AllowList(vec![
                "api.github.com".into(),
                "*.slack.com:443".into()
            ]))
        );
        let both = json!({ "name": "gh", "command": "npx", "isolation": "sandbox", "network": true, "allow_hosts": ["api.github.com"] });
        assert!(body(both).server().is_err());
        let plain = json!({ "name": "gh", "command": "npx", "allow_hosts": ["api.github.com"] });
        assert!(
            body(plain).server().is_err(),
            "only an isolated server has an allow list"
        );
    }

    #[test]
    fn a_form_can_ask_for_a_container() {
        let form = json!({ "name": "fs", "command": "npx", "args": "-y @modelcontextprotocol/server-filesystem /data", "isolation": "docker", "network": false, "mounts": ["/home/me/notes:/data", " "], "memory": "256m", "image": "" });
        let (_, s, _) = body(form).server().unwrap();
        assert_eq!(s.isolation, Some(IsolationKind::Docker));
        assert_eq!(
            (s.network, s.image, s.memory.as_deref(), s.cpus),
            (None, None, Some("256m"), None)
        );
        assert_eq!(s.mounts.unwrap(), ["/home/me/notes:/data"]);
        let (_, s, _) = body(json!({ "name": "web", "command": "uvx", "args": "mcp-server-fetch", "isolation": "docker", "network": true })).server().unwrap();
        assert_eq!(s.network, Some(NetworkConfig::Switch(true)));
    }
}
