//! Routes that add, remove, enable and disable servers: thin adapters over
//! the [`Gateway`](crate::Gateway) operations the CLI uses too.

use std::path::PathBuf;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::json;

use super::routes::{error, Api};
use crate::config::{split_words, ServerConfig, TransportKind};
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
    env: Option<IndexMap<String, String>>,
    cwd: Option<PathBuf>,
    url: Option<String>,
    headers: Option<IndexMap<String, String>>,
    transport: Option<String>,
    timeout: Option<f64>,
    enabled: Option<bool>,
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
    fn server(self) -> Result<(String, ServerConfig), GatewayError> {
        let invalid = |m: &str| GatewayError::InvalidParams(m.to_owned());
        let name = non_empty(self.name).ok_or_else(|| invalid("the server needs a name\nhint: e.g. `time`; 1 to 64 of A-Z a-z 0-9 _ -"))?;
        let (command, url) = (non_empty(self.command), non_empty(self.url));
        if command.is_none() == url.is_none() {
            return Err(invalid("give either a command (a program speaking MCP over stdio) or a URL (an HTTP server)\nhint: e.g. command `uvx` with arguments `mcp-server-time`"));
        }
        let args = match self.args {
            None => Vec::new(),
            Some(Args::List(list)) => list,
            Some(Args::Words(words)) => split_words(&words).map_err(|e| invalid(&format!("the arguments {e}\nhint: close the quote, or escape it with a backslash")))?,
        };
        let transport = match non_empty(self.transport) {
            None => None,
            Some(t) => Some(TransportKind::parse(&t).ok_or_else(|| invalid(&format!("the transport `{t}` is not known\nhint: use streamable-http, sse or auto")))?),
        };
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
            // The form has no isolation options yet: edit the file or use the CLI.
            ..ServerConfig::default()
        };
        Ok((name, server))
    }
}

pub(super) async fn add(State(api): State<Api>, Json(body): Json<AddBody>) -> Response {
    let result = match body.snippet.clone() {
        Some(snippet) => api.gw.import_servers(&snippet).await,
        None => match body.server() {
            Ok((name, server)) => api.gw.add_server(&name, &server).await,
            Err(e) => Err(e),
        },
    };
    result.map_or_else(error, |added| Json(added).into_response())
}

pub(super) async fn remove(State(api): State<Api>, Path(name): Path<String>) -> Response {
    api.gw.remove_server(&name).await.map_or_else(error, |()| Json(json!({ "removed": name })).into_response())
}

pub(super) async fn enable(State(api): State<Api>, Path(name): Path<String>) -> Response {
    set_enabled(api, name, true).await
}

pub(super) async fn disable(State(api): State<Api>, Path(name): Path<String>) -> Response {
    set_enabled(api, name, false).await
}

async fn set_enabled(api: Api, name: String, enabled: bool) -> Response {
    api.gw.set_server_enabled(&name, enabled).await.map_or_else(error, |()| Json(json!({ "server": name, "enabled": enabled })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: serde_json::Value) -> AddBody {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_form_becomes_a_server() {
        let (name, s) = body(json!({ "name": " time ", "command": "uvx", "args": "mcp-server-time --local-timezone 'Europe/Paris'", "env": {}, "cwd": "", "timeout": 30 })).server().unwrap();
        assert_eq!(name, "time");
        assert_eq!(s.command.as_deref(), Some("uvx"));
        assert_eq!(s.args.unwrap(), ["mcp-server-time", "--local-timezone", "Europe/Paris"]);
        assert_eq!((s.env, s.cwd, s.enabled, s.timeout), (None, None, None, Some(30.0)));

        let (_, s) = body(json!({ "name": "web", "url": "http://127.0.0.1:9/mcp", "transport": "sse", "args": ["ignored by validation later"] })).server().unwrap();
        assert_eq!(s.transport, Some(TransportKind::Sse));
    }

    #[test]
    fn a_bad_form_says_what_to_do() {
        let err = |v| body(v).server().unwrap_err().to_string();
        assert!(err(json!({ "command": "x" })).contains("needs a name\nhint:"));
        assert!(err(json!({ "name": "a" })).contains("either a command"));
        assert!(err(json!({ "name": "a", "command": "x", "url": "http://h" })).contains("either a command"));
        assert!(err(json!({ "name": "a", "command": "x", "args": "\"open" })).contains("unclosed quote"));
        assert!(err(json!({ "name": "a", "url": "http://h", "transport": "ws" })).contains("`ws` is not known"));
        assert!(serde_json::from_value::<AddBody>(json!({ "name": "a", "comand": "x" })).is_err(), "unknown fields are refused");
    }
}
