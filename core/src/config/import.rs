//! Reads the MCP server lists of other clients, whatever their file format:
//! JSON (with comments and trailing commas, as Zed, opencode and VS Code
//! allow), Codex's TOML, Continue's and Goose's YAML. Each client's shape is
//! read into one by `import_shapes`; this file turns those entries into
//! Portcullis servers.

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::import_shapes::{Shape, KNOWN_KEYS};
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

/// Reads an import file: TOML by its `.toml` name, YAML by `.yaml` or
/// `.yml`, JSON (with comments) otherwise.
pub fn import_servers(path: &Path) -> Result<Vec<ImportedServer>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    parse_servers(&text, path)
}

/// The syntaxes a server list comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Json,
    Toml,
    Yaml,
}

impl Syntax {
    fn of(source: &Path) -> Option<Syntax> {
        match source.extension()?.to_str()? {
            "toml" => Some(Syntax::Toml),
            "yaml" | "yml" => Some(Syntax::Yaml),
            "json" | "jsonc" => Some(Syntax::Json),
            _ => None,
        }
    }

    /// The text as a JSON value; the error says where the text is wrong.
    fn parse(self, text: &str) -> Result<Value, String> {
        match self {
            Syntax::Json => parse_jsonc(text),
            Syntax::Toml => toml::from_str::<toml::Table>(text)
                .map_err(|e| e.message().to_owned())
                .and_then(|t| serde_json::to_value(t).map_err(|e| e.to_string())),
            Syntax::Yaml => yaml_serde::from_str::<yaml_serde::Value>(text)
                .map_err(|e| e.to_string())
                .and_then(|v| serde_json::to_value(v).map_err(|e| e.to_string())),
        }
    }
}

/// JSON as the clients write it: comments and trailing commas allowed, the
/// rest of JSON5 not. Empty text is an empty object.
pub(crate) fn parse_jsonc(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let root = jsonc_parser::cst::CstRootNode::parse(text, &jsonc_options()).map_err(|e| {
        format!(
            "{} at line {} column {}",
            e.kind(),
            e.line_display(),
            e.column_display()
        )
    })?;
    Ok(root.to_serde_value().unwrap_or(Value::Null))
}

/// What `parse_jsonc` accepts: JSON, comments, trailing commas.
pub(crate) fn jsonc_options() -> jsonc_parser::ParseOptions {
    jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// Reads the servers of an import file's text, or of a snippet a person
/// pasted: any client's whole config (`{"mcpServers": {...}}`, Zed's
/// `context_servers`, Codex's `[mcp_servers.NAME]`…), or the bare map
/// `{"name": {"command": ...}}`. `source` names the text in errors, and its
/// extension says the syntax; without one, JSON is tried, then TOML and YAML.
pub fn parse_servers(text: &str, source: &Path) -> Result<Vec<ImportedServer>, ConfigError> {
    let err = |message: String| ConfigError::Import {
        path: source.to_path_buf(),
        message,
    };
    let value = match Syntax::of(source) {
        Some(syntax) => syntax.parse(text).map_err(err)?,
        None => Syntax::Json.parse(text).or_else(|json_error| {
            [Syntax::Toml, Syntax::Yaml]
                .into_iter()
                .filter_map(|s| s.parse(text).ok())
                .find(|v| v.as_object().and_then(Shape::of).is_some())
                .ok_or_else(|| err(json_error))
        })?,
    };
    let Value::Object(doc) = value else {
        return Err(err("it is not an object".into()));
    };
    let bare_map = Shape::of(&doc).is_none()
        && !doc.is_empty()
        && doc.values().all(|v| {
            v.get("command")
                .or_else(|| v.get("url"))
                .or_else(|| v.get("serverUrl"))
                .or_else(|| v.get("httpUrl"))
                .is_some()
        });
    let entries: IndexMap<String, (Value, Vec<String>)> = if bare_map {
        doc.into_iter().map(|(k, v)| (k, (v, Vec::new()))).collect()
    } else {
        Shape::of(&doc)
            .ok_or_else(|| err(format!("it has none of {KNOWN_KEYS}")))?
            .entries(&doc)
            .map_err(err)?
    };
    let mut out = Vec::new();
    for (original, (entry, notes)) in entries {
        let entry: Entry =
            serde_json::from_value(entry).map_err(|e| err(format!("server `{original}`: {e}")))?;
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
        warnings.extend(notes);
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
            None | Some("stdio" | "local") => None,
            Some("http" | "streamable-http" | "streamableHttp" | "streamable_http" | "remote") => {
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
    // `${...}` for most clients, `{env:...}` and `{file:...}` for opencode.
    let has = |s: &str| s.contains("${") || s.contains("{env:") || s.contains("{file:");
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
        import_named("x.json", json)
    }

    fn import_named(file: &str, text: &str) -> Result<Vec<ImportedServer>, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file);
        std::fs::write(&path, text).unwrap();
        import_servers(&path)
    }

    fn names(got: &[ImportedServer]) -> Vec<&str> {
        got.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn codex_toml_with_comments() {
        let got = import_named(
            "config.toml",
            r#"model = "o3" # my model

# local tools
[mcp_servers.fs]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
env = { "NODE_ENV" = "production" }

[mcp_servers.figma]
url = "http://127.0.0.1:3845/mcp"
http_headers = { "X-Team" = "a" }
bearer_token_env_var = "FIGMA_TOKEN"
enabled = false
"#,
        )
        .unwrap();
        assert_eq!(names(&got), ["fs", "figma"]);
        assert_eq!(got[0].config.args.as_ref().unwrap().len(), 3);
        assert_eq!(
            got[0].config.env.as_ref().unwrap()["NODE_ENV"],
            "production".into()
        );
        assert_eq!(got[1].config.transport, Some(TransportKind::StreamableHttp));
        assert_eq!(
            got[1].config.headers.as_ref().unwrap()["X-Team"],
            "a".into()
        );
        assert_eq!(got[1].config.enabled, Some(false));
        assert!(
            got[1].warnings[0].contains("$FIGMA_TOKEN"),
            "{:?}",
            got[1].warnings
        );
    }

    #[test]
    fn continue_yaml_list() {
        let got = import_named(
            "config.yaml",
            "name: Local Config\nversion: 1.0.0\nschema: v1\n# servers\nmcpServers:\n  - name: SQLite\n    command: npx\n    args: [\"-y\", \"mcp-sqlite\", \"/db.sqlite\"]\n  - name: remote\n    type: streamable-http\n    url: https://r/mcp\n    requestOptions:\n      headers:\n        X-Key: k\n",
        )
        .unwrap();
        assert_eq!(names(&got), ["SQLite", "remote"]);
        assert_eq!(got[0].config.command.as_deref(), Some("npx"));
        assert_eq!(got[1].config.transport, Some(TransportKind::StreamableHttp));
        assert_eq!(got[1].config.headers.as_ref().unwrap()["X-Key"], "k".into());
    }

    #[test]
    fn goose_yaml_extensions() {
        let got = import_named(
            "config.yaml",
            "GOOSE_PROVIDER: openai\nextensions:\n  developer:\n    enabled: true\n    type: builtin\n    name: developer\n  fetch:\n    enabled: true\n    type: stdio\n    name: fetch\n    cmd: uvx\n    args:\n    - mcp-server-fetch\n    envs: {}\n    timeout: 300\n",
        )
        .unwrap();
        assert_eq!(names(&got), ["fetch"]);
        assert_eq!(
            got[0].config.args.as_deref(),
            Some(&["mcp-server-fetch".to_owned()][..])
        );
    }

    #[test]
    fn zed_and_opencode_jsonc() {
        let zed = import_named(
            "settings.json",
            "// Zed settings\n{\n  \"theme\": \"One Dark\",\n  \"context_servers\": {\n    \"web\": { \"url\": \"https://w/mcp\", }, // remote\n    \"git\": { \"command\": \"uvx\", \"args\": [\"mcp-server-git\"] },\n  },\n}\n",
        )
        .unwrap();
        assert_eq!(names(&zed), ["web", "git"]);
        assert_eq!(zed[0].config.transport, Some(TransportKind::StreamableHttp));
        let opencode = import_named(
            "opencode.jsonc",
            r#"{
  "$schema": "https://opencode.ai/config.json",
  "mcp": {
    // local
    "everything": { "type": "local", "command": ["npx", "-y", "@modelcontextprotocol/server-everything"], "environment": { "K": "{env:K}" } },
    "jira": { "type": "remote", "url": "https://jira.example.com/mcp", "enabled": false },
  },
}"#,
        )
        .unwrap();
        assert_eq!(opencode[0].config.command.as_deref(), Some("npx"));
        assert_eq!(opencode[0].config.args.as_ref().unwrap().len(), 2);
        assert!(
            opencode[0].warnings[0].contains("in env"),
            "{:?}",
            opencode[0].warnings
        );
        assert_eq!(opencode[1].config.enabled, Some(false));
    }

    #[test]
    fn servers_nested_under_mcp() {
        let got = import(r#"{"editor.fontSize": 14, "mcp": {"servers": {"time": {"type": "stdio", "command": "uvx", "args": ["mcp-server-time"]}, "oc": {"type": "local", "command": ["npx", "x"]}}}}"#).unwrap();
        assert_eq!(names(&got), ["time", "oc"]);
        assert_eq!(got[1].config.args.as_deref(), Some(&["x".to_owned()][..]));
    }

    #[test]
    fn cline_streamable_http() {
        let got = import(r#"{"mcpServers":{"r":{"type":"streamableHttp","url":"https://r/mcp","disabled":false,"autoApprove":[]}}}"#).unwrap();
        assert_eq!(got[0].config.transport, Some(TransportKind::StreamableHttp));
    }

    #[test]
    fn a_pasted_codex_table() {
        let got = parse_servers(
            "[mcp_servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n",
            Path::new("the pasted text"),
        )
        .unwrap();
        assert_eq!(names(&got), ["time"]);
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
            err.starts_with("cannot import the pasted text: it has none of"),
            "{err}"
        );
    }

    #[test]
    fn bad_files_are_explained() {
        assert!(import("{}")
            .unwrap_err()
            .to_string()
            .contains("none of `mcpServers`, `servers`"));
        assert!(import("{").unwrap_err().to_string().contains("line 1"));
        assert!(import(r#"{"servers":{"a":{"type":"ws","url":"x"}}}"#)
            .unwrap_err()
            .to_string()
            .contains("unknown type `ws`"));
    }
}
