//! The server lists of other MCP clients, each in its own file format and
//! shape, read into one shape: a map of name to a Claude-Desktop-like entry
//! (`command`, `args`, `env`, `cwd`, `url`, `headers`, `type`, `disabled`),
//! which `import` turns into Portcullis servers.
//!
//! The shapes, and where each was checked:
//! - `mcpServers` map: Claude Desktop, Cursor, Claude Code, Windsurf, Gemini
//!   CLI, LM Studio, Cline (`type: "streamableHttp"`, cline/cline
//!   `src/services/mcp/schemas.ts`); `servers`: VS Code.
//! - `mcpServers` list of `{name, ...}` (YAML): Continue
//!   (continuedev/continue `packages/config-yaml/src/schemas/mcp/index.ts`).
//! - `context_servers`: Zed (zed-industries/zed `ContextServerSettingsContent`:
//!   `{command, args, env}` or `{url, headers}`, both with `enabled`).
//! - `mcp`: opencode (opencode.ai/docs/mcp-servers: `{type: "local", command:
//!   [...], environment}` or `{type: "remote", url, headers}`, with `enabled`);
//!   `mcp.servers` nests them one level deeper (VS Code's settings.json, and
//!   opencode's newer docs).
//! - `mcp_servers` (TOML): Codex (openai/codex `McpServerTransportConfig`:
//!   `{command, args, env, cwd}` or `{url, http_headers, bearer_token_env_var}`).
//! - `extensions` (YAML): Goose (block/goose `ExtensionConfig`, tagged by
//!   `type`: `stdio` with `cmd`, `args`, `envs`; `streamable_http` with `uri`,
//!   `headers`; `sse` with `uri`; built-in kinds are Goose's own and skipped).

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

/// Which client's shape a document has, by the key that holds its servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// `mcpServers` as a map (most clients).
    McpServers,
    /// `mcpServers` as a list of entries with a `name` (Continue).
    McpServersList,
    /// `servers` (VS Code).
    Servers,
    /// `context_servers` (Zed).
    ContextServers,
    /// `mcp` (opencode).
    Mcp,
    /// `mcp.servers` (VS Code's settings.json, newer opencode).
    McpNested,
    /// `mcp_servers` (Codex).
    McpServersToml,
    /// `extensions` (Goose).
    Extensions,
}

/// The keys `Shape` looks for, for the error that names none of them.
pub(super) const KNOWN_KEYS: &str =
    "`mcpServers`, `servers`, `context_servers`, `mcp`, `mcp_servers` or `extensions`";

impl Shape {
    /// The shape of a document, from the first key it has.
    pub(super) fn of(doc: &Map<String, Value>) -> Option<Shape> {
        if let Some(v) = doc.get("mcpServers") {
            return Some(if v.is_array() {
                Shape::McpServersList
            } else {
                Shape::McpServers
            });
        }
        let nested = doc.get("mcp").and_then(|m| m.get("servers")).filter(|s| {
            s.is_object()
                && ["type", "command", "url"]
                    .iter()
                    .all(|k| s.get(k).is_none())
        });
        if nested.is_some() {
            return Some(Shape::McpNested);
        }
        [
            ("servers", Shape::Servers),
            ("context_servers", Shape::ContextServers),
            ("mcp_servers", Shape::McpServersToml),
            ("mcp", Shape::Mcp),
            ("extensions", Shape::Extensions),
        ]
        .into_iter()
        .find(|(key, _)| doc.get(*key).is_some_and(|v| v.is_object()))
        .map(|(_, shape)| shape)
    }

    fn key(self) -> &'static str {
        match self {
            Shape::McpServers | Shape::McpServersList => "mcpServers",
            Shape::Servers => "servers",
            Shape::ContextServers => "context_servers",
            Shape::Mcp | Shape::McpNested => "mcp",
            Shape::McpServersToml => "mcp_servers",
            Shape::Extensions => "extensions",
        }
    }

    /// The document's servers in the common shape, with a note for each
    /// entry that was changed on the way; entries that are not MCP servers
    /// a person runs (Zed's and Goose's built-in ones) are left out.
    pub(super) fn entries(
        self,
        doc: &Map<String, Value>,
    ) -> Result<IndexMap<String, (Value, Vec<String>)>, String> {
        let mut holder = doc.get(self.key()).cloned().unwrap_or(Value::Null);
        if self == Shape::McpNested {
            holder = holder.get("servers").cloned().unwrap_or(Value::Null);
        }
        let mut out = IndexMap::new();
        if self == Shape::McpServersList {
            let Value::Array(items) = holder else {
                return Err("`mcpServers` is not a list".into());
            };
            for (i, item) in items.into_iter().enumerate() {
                let Value::Object(mut item) = item else {
                    return Err(format!("item {} of `mcpServers` is not a mapping", i + 1));
                };
                let Some(Value::String(name)) = item.remove("name") else {
                    return Err(format!("item {} of `mcpServers` has no `name`", i + 1));
                };
                out.insert(name, continue_entry(item));
            }
            return Ok(out);
        }
        let Value::Object(map) = holder else {
            return Err(format!("`{}` is not an object", self.key()));
        };
        for (name, entry) in map {
            let Value::Object(entry) = entry else {
                return Err(format!("server `{name}` is not an object"));
            };
            let converted = match self {
                Shape::McpServers | Shape::Servers | Shape::McpServersList => {
                    Some((Value::Object(entry), Vec::new()))
                }
                Shape::ContextServers => zed_entry(entry),
                Shape::Mcp => Some(opencode_entry(entry)),
                // VS Code's entries are already in the common shape.
                Shape::McpNested
                    if !entry.get("command").is_some_and(Value::is_array)
                        && !matches!(
                            entry.get("type").and_then(Value::as_str),
                            Some("local" | "remote")
                        ) =>
                {
                    Some((Value::Object(entry), Vec::new()))
                }
                Shape::McpNested => Some(opencode_entry(entry)),
                Shape::McpServersToml => Some(codex_entry(entry)),
                Shape::Extensions => goose_entry(&name, entry),
            };
            if let Some(converted) = converted {
                out.insert(name, converted);
            }
        }
        Ok(out)
    }
}

/// `enabled: false` becomes `disabled: true`.
fn disabled(entry: &Map<String, Value>) -> Option<Value> {
    entry
        .get("enabled")
        .and_then(Value::as_bool)
        .map(|enabled| Value::Bool(!enabled))
}

fn put(out: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value.filter(|v| !v.is_null()) {
        out.insert(key.to_owned(), v);
    }
}

/// Continue: `requestOptions.headers` holds an HTTP server's headers.
fn continue_entry(mut item: Map<String, Value>) -> (Value, Vec<String>) {
    let headers = item
        .get("requestOptions")
        .and_then(|o| o.get("headers"))
        .cloned();
    item.remove("requestOptions");
    put(&mut item, "headers", headers);
    (Value::Object(item), Vec::new())
}

/// Zed: `{command, args, env}` or `{url, headers}`; before 2025 `command`
/// was `{path, args, env}` beside `"source": "custom"`. An entry an
/// extension provides has neither and is left out.
fn zed_entry(entry: Map<String, Value>) -> Option<(Value, Vec<String>)> {
    let mut out = Map::new();
    match entry.get("command") {
        Some(Value::Object(cmd)) => {
            put(&mut out, "command", cmd.get("path").cloned());
            put(&mut out, "args", cmd.get("args").cloned());
            put(&mut out, "env", cmd.get("env").cloned());
        }
        Some(cmd) => {
            put(&mut out, "command", Some(cmd.clone()));
            put(&mut out, "args", entry.get("args").cloned());
            put(&mut out, "env", entry.get("env").cloned());
        }
        None => {
            entry.get("url")?;
            put(&mut out, "url", entry.get("url").cloned());
            put(&mut out, "headers", entry.get("headers").cloned());
            // Zed's HTTP transport is streamable HTTP only.
            out.insert("type".into(), json!("http"));
        }
    }
    put(&mut out, "disabled", disabled(&entry));
    Some((Value::Object(out), Vec::new()))
}

/// opencode: a local server's `command` is the program and its arguments in
/// one list, its variables are `environment`.
fn opencode_entry(entry: Map<String, Value>) -> (Value, Vec<String>) {
    let mut out = Map::new();
    match entry.get("command") {
        Some(Value::Array(words)) => {
            put(&mut out, "command", words.first().cloned());
            if words.len() > 1 {
                out.insert("args".into(), Value::Array(words[1..].to_vec()));
            }
        }
        other => put(&mut out, "command", other.cloned()),
    }
    put(&mut out, "env", entry.get("environment").cloned());
    put(&mut out, "url", entry.get("url").cloned());
    put(&mut out, "headers", entry.get("headers").cloned());
    put(&mut out, "disabled", disabled(&entry));
    (Value::Object(out), Vec::new())
}

/// Codex: HTTP servers are streamable HTTP, their headers `http_headers`; a
/// token read from a variable cannot come along as a value.
fn codex_entry(entry: Map<String, Value>) -> (Value, Vec<String>) {
    let mut out = Map::new();
    let mut notes = Vec::new();
    for key in ["command", "args", "env", "cwd", "url"] {
        put(&mut out, key, entry.get(key).cloned());
    }
    put(&mut out, "headers", entry.get("http_headers").cloned());
    if out.contains_key("url") {
        out.insert("type".into(), json!("http"));
    }
    put(&mut out, "disabled", disabled(&entry));
    if let Some(var) = entry.get("bearer_token_env_var").and_then(Value::as_str) {
        notes.push(format!("Codex sends the token in ${var} as a bearer token: add an `Authorization` header to this server in Portcullis"));
    }
    (Value::Object(out), notes)
}

/// Goose: each extension is tagged by `type`; `builtin`, `platform`,
/// `frontend` and `inline_python` are parts of Goose, not servers to import.
fn goose_entry(name: &str, entry: Map<String, Value>) -> Option<(Value, Vec<String>)> {
    let mut out = Map::new();
    let mut notes = Vec::new();
    match entry.get("type").and_then(Value::as_str) {
        Some("stdio") => {
            put(&mut out, "command", entry.get("cmd").cloned());
            put(&mut out, "args", entry.get("args").cloned());
        }
        Some(kind @ ("streamable_http" | "sse")) => {
            put(&mut out, "url", entry.get("uri").cloned());
            put(&mut out, "headers", entry.get("headers").cloned());
            out.insert("type".into(), json!(kind));
        }
        _ => return None,
    }
    put(&mut out, "env", entry.get("envs").cloned());
    put(&mut out, "disabled", disabled(&entry));
    let keys: Vec<&str> = entry
        .get("env_keys")
        .and_then(Value::as_array)
        .map(|k| k.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !keys.is_empty() {
        notes.push(format!(
            "Goose keeps {} of `{name}` in its own secret store: add {} to this server in Portcullis",
            keys.join(", "),
            if keys.len() == 1 { "it" } else { "them" }
        ));
    }
    Some((Value::Object(out), notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(doc: Value) -> IndexMap<String, (Value, Vec<String>)> {
        let doc = doc.as_object().unwrap().clone();
        Shape::of(&doc).unwrap().entries(&doc).unwrap()
    }

    #[test]
    fn zed_old_and_new_commands_and_remote_servers() {
        let got = entries(json!({"context_servers": {
            "new": {"command": "npx", "args": ["a"], "env": {"K": "v"}, "enabled": false},
            "old": {"source": "custom", "command": {"path": "uvx", "args": ["b"], "env": {}}},
            "web": {"url": "https://w/mcp", "headers": {"X": "y"}},
            "ext": {"source": "extension", "settings": {}}
        }}));
        assert_eq!(got.keys().collect::<Vec<_>>(), ["new", "old", "web"]);
        assert_eq!(
            got["new"].0,
            json!({"command": "npx", "args": ["a"], "env": {"K": "v"}, "disabled": true})
        );
        assert_eq!(got["old"].0["command"], "uvx");
        assert_eq!(
            got["web"].0,
            json!({"url": "https://w/mcp", "headers": {"X": "y"}, "type": "http"})
        );
    }

    #[test]
    fn goose_keeps_servers_and_leaves_its_own_parts() {
        let got = entries(json!({"GOOSE_MODEL": "x", "extensions": {
            "developer": {"enabled": true, "type": "builtin", "name": "developer"},
            "fetch": {"enabled": true, "type": "stdio", "name": "fetch", "cmd": "uvx", "args": ["mcp-server-fetch"], "envs": {}, "env_keys": ["TOKEN"]},
            "web": {"enabled": false, "type": "streamable_http", "name": "web", "uri": "http://h/mcp", "headers": {}}
        }}));
        assert_eq!(got.keys().collect::<Vec<_>>(), ["fetch", "web"]);
        assert_eq!(got["fetch"].0["command"], "uvx");
        assert!(got["fetch"].1[0].contains("TOKEN"), "{:?}", got["fetch"].1);
        assert_eq!(got["web"].0["type"], "streamable_http");
        assert_eq!(got["web"].0["disabled"], true);
    }
}
