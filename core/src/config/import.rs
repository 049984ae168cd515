//! Reads the MCP server lists of other clients: the `mcpServers` JSON of
//! Claude Desktop, Cursor, Claude Code, Windsurf, Gemini CLI and LM Studio,
//! and the `servers` JSON of VS Code.

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;

use super::{ConfigError, ServerConfig, TransportKind, ValueOrSecret};

/// One server found in an import file.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedServer {
    /// Its name, made valid for Portcullis.
    pub name: String,
    /// Its configuration.
    pub config: ServerConfig,
    /// Things the person should look at (e.g. a renamed server).
    pub warnings: Vec<String>,
}

#[derive(Deserialize)]
struct ImportFile {
    #[serde(rename = "mcpServers")]
    mcp_servers: Option<IndexMap<String, Entry>>,
    servers: Option<IndexMap<String, Entry>>,
}

#[derive(Deserialize)]
struct Entry {
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    env: Option<IndexMap<String, String>>,
    cwd: Option<String>,
    url: Option<String>,
    #[serde(rename = "serverUrl")]
    server_url: Option<String>,
    /// Gemini CLI's streamable HTTP endpoint (its `url` is SSE).
    #[serde(rename = "httpUrl")]
    http_url: Option<String>,
    headers: Option<IndexMap<String, String>>,
    #[serde(rename = "type", alias = "transport")]
    kind: Option<String>,
    disabled: Option<bool>,
}

/// Reads an import file.
pub fn import_servers(path: &Path) -> Result<Vec<ImportedServer>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    parse_servers(&text, path)
}

/// Reads the servers of an import file's text, or of a snippet a person
/// pasted: `{"mcpServers": {...}}`, `{"servers": {...}}`, or the bare map
/// `{"name": {"command": ...}}`. `source` only names the text in errors.
pub fn parse_servers(text: &str, source: &Path) -> Result<Vec<ImportedServer>, ConfigError> {
    let err = |message: String| ConfigError::Import {
        path: source.to_path_buf(),
        message,
    };
    // serde_json's message ends with "at line L column C" already.
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    let bare_map = value.as_object().is_some_and(|o| {
        !o.is_empty()
            && !o.contains_key("mcpServers")
            && !o.contains_key("servers")
            && o.values().all(|v| {
                v.get("command")
                    .or_else(|| v.get("url"))
                    .or_else(|| v.get("serverUrl"))
                    .or_else(|| v.get("httpUrl"))
                    .is_some()
            })
    });
    let entries = if bare_map {
        serde_json::from_str::<IndexMap<String, Entry>>(text).map_err(|e| err(e.to_string()))?
    } else {
        // From the text again, so that type errors say where they are.
        let file: ImportFile = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
        file.mcp_servers
            .or(file.servers)
            .ok_or_else(|| err("it has neither `mcpServers` nor `servers`".into()))?
    };
    let mut out = Vec::new();
    for (original, entry) in entries {
        let mut warnings = Vec::new();
        let name: String = original
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .take(64)
            .collect();
        if name != original {
            warnings.push(format!("`{original}` is imported as `{name}`"));
        }
        let url = entry
            .http_url
            .clone()
            .or_else(|| entry.url.clone())
            .or_else(|| entry.server_url.clone());
        let kind = match (&entry.http_url, entry.kind.as_deref()) {
            (Some(_), None) => Some("http"),
            (_, kind) => kind,
        };
        let transport = match kind {
            None | Some("stdio") => None,
            Some("http" | "streamable-http" | "streamableHttp" | "streamable_http") => {
                Some(TransportKind::StreamableHttp)
            }
            Some("sse") => Some(TransportKind::Sse),
            Some(other) => {
                return Err(err(format!(
                    "server `{original}` has an unknown type `{other}`"
                )))
            }
        };
        if entry.command.is_none() && url.is_none() {
            return Err(err(format!(
                "server `{original}` has neither `command` nor `url`"
            )));
        }
        let fields = variable_fields(&entry, url.as_deref());
        if !fields.is_empty() {
            warnings.push(format!("`{name}` uses ${{...}} variables in {}, which Portcullis does not expand: edit them in the config", fields.join(", ")));
        }
        let config = ServerConfig {
            command: entry.command,
            args: (!entry.args.is_empty()).then_some(entry.args),
            env: entry
                .env
                .filter(|e| !e.is_empty())
                .map(ValueOrSecret::plain_map),
            cwd: entry.cwd.map(Into::into),
            transport: if url.is_some() { transport } else { None },
            url,
            headers: entry
                .headers
                .filter(|h| !h.is_empty())
                .map(ValueOrSecret::plain_map),
            enabled: entry.disabled.map(|d| !d),
            ..ServerConfig::default()
        };
        out.push(ImportedServer {
            name,
            config,
            warnings,
        });
    }
    Ok(out)
}

/// The fields of an entry that hold `${...}` (VS Code's `${input:...}`, Cursor's
/// `${env:...}`, `${workspaceFolder}`…), which would otherwise reach the server as
/// literal text, e.g. a header `Authorization: Bearer ${input:token}`.
fn variable_fields(entry: &Entry, url: Option<&str>) -> Vec<&'static str> {
    let has = |s: &str| s.contains("${");
    let any_value =
        |m: &Option<IndexMap<String, String>>| m.iter().flat_map(|m| m.values()).any(|v| has(v));
    let mut fields = Vec::new();
    if entry.command.as_deref().is_some_and(has) {
        fields.push("command");
    }
    if entry.args.iter().any(|a| has(a)) {
        fields.push("args");
    }
    if any_value(&entry.env) {
        fields.push("env");
    }
    if entry.cwd.as_deref().is_some_and(has) {
        fields.push("cwd");
    }
    if url.is_some_and(has) {
        fields.push("url");
    }
    if any_value(&entry.headers) {
        fields.push("headers");
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(json: &str) -> Result<Vec<ImportedServer>, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        std::fs::write(&path, json).unwrap();
        import_servers(&path)
    }

    #[test]
    fn claude_desktop_and_cursor() {
        let got = import(r#"{"mcpServers":{"github":{"command":"npx","args":["-y","@modelcontextprotocol/server-github"],"env":{"GITHUB_TOKEN":"t"}},"remote":{"url":"http://127.0.0.1:3001/mcp"}}}"#).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].config.command.as_deref(), Some("npx"));
        assert_eq!(
            got[0].config.env.as_ref().unwrap()["GITHUB_TOKEN"],
            "t".into()
        );
        assert_eq!(
            got[1].config.url.as_deref(),
            Some("http://127.0.0.1:3001/mcp")
        );
    }

    #[test]
    fn claude_code_windsurf_and_gemini_cli() {
        // Claude Code's ~/.claude.json holds much else beside its servers.
        let got = import(r#"{"numStartups":3,"projects":{},"mcpServers":{"notes":{"type":"http","url":"https://n/mcp"},"fs":{"type":"stdio","command":"npx","args":["fs"]}}}"#).unwrap();
        assert_eq!(got[0].config.transport, Some(TransportKind::StreamableHttp));
        assert_eq!(got[1].config.command.as_deref(), Some("npx"));
        let windsurf = import(r#"{"mcpServers":{"w":{"serverUrl":"https://w/mcp"}}}"#).unwrap();
        assert_eq!(windsurf[0].config.url.as_deref(), Some("https://w/mcp"));
        // Gemini CLI: `httpUrl` is streamable HTTP, `url` is SSE (left to detection).
        let gemini = import(r#"{"theme":"x","mcpServers":{"h":{"httpUrl":"https://h/mcp"},"s":{"url":"https://s/sse"}}}"#).unwrap();
        assert_eq!(gemini[0].config.url.as_deref(), Some("https://h/mcp"));
        assert_eq!(
            gemini[0].config.transport,
            Some(TransportKind::StreamableHttp)
        );
        assert_eq!(gemini[1].config.url.as_deref(), Some("https://s/sse"));
    }

    #[test]
    fn vscode() {
        let got = import(r#"{"inputs":[],"servers":{"my.time":{"type":"stdio","command":"uvx","args":["mcp-server-time"]},"w":{"type":"sse","url":"http://h/sse"}}}"#).unwrap();
        assert_eq!(got[0].name, "my-time");
        assert_eq!(got[0].warnings.len(), 1);
        assert_eq!(got[1].config.transport, Some(TransportKind::Sse));
    }

    #[test]
    fn variables_are_flagged_wherever_they_are() {
        let got = import(r#"{"servers":{"gh":{"type":"http","url":"https://h/mcp","headers":{"Authorization":"Bearer ${input:tok}"}},"x":{"command":"node","args":["${workspaceFolder}/s.js"],"env":{"K":"${env:K}"}},"plain":{"command":"uvx"}}}"#).unwrap();
        assert!(
            got[0].warnings[0].contains("in headers"),
            "{:?}",
            got[0].warnings
        );
        assert!(
            got[1].warnings[0].contains("in args, env"),
            "{:?}",
            got[1].warnings
        );
        assert!(got[2].warnings.is_empty());
    }

    #[test]
    fn a_pasted_bare_map() {
        let got = parse_servers(r#"{"time": {"command": "uvx", "args": ["mcp-server-time"]}, "web": {"url": "http://127.0.0.1:9/mcp"}}"#, Path::new("the pasted text")).unwrap();
        assert_eq!(
            got.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["time", "web"]
        );
        let err = parse_servers(r#"{"time": {"args": []}}"#, Path::new("the pasted text"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("cannot import the pasted text: it has neither"),
            "{err}"
        );
    }

    #[test]
    fn bad_files_are_explained() {
        assert!(import("{}")
            .unwrap_err()
            .to_string()
            .contains("neither `mcpServers` nor `servers`"));
        assert!(import("{").unwrap_err().to_string().contains("line 1"));
        assert!(import(r#"{"servers":{"a":{"type":"ws","url":"x"}}}"#)
            .unwrap_err()
            .to_string()
            .contains("unknown type `ws`"));
    }
}
