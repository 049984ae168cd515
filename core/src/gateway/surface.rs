//! What agents see in search mode: `search_tools`, `describe_tool` and
//! `call_tool` instead of every tool definition. The router checks the
//! arguments of these three, and the inner arguments of `call_tool`, against
//! their schemas (`arguments.rs`) before anything reaches the upstream.
//!
//! A `search_tools` result says each thing once: compact text, one line per
//! tool (`name(signature) — first sentence`), and no `structuredContent`
//! repeating it as JSON. Every token of it is read by the agent on every
//! search (issue 21: start plus one search at 500 tools ≤ 500 tokens).

use serde_json::{json, Value};

use super::{Gateway, GatewayError, View};
use crate::search::{SearchOptions, ToolDoc};
use crate::trust::ToolState;

/// Names of the search-mode tools.
pub(super) const SEARCH_TOOLS: &str = "search_tools";
pub(super) const DESCRIBE_TOOL: &str = "describe_tool";
pub(super) const CALL_TOOL: &str = "call_tool";

const DEFAULT_LIMIT: usize = 5;
const MAX_LIMIT: usize = 25;
/// How many of the best tools of the whole index a search in a profile
/// ranks before keeping the profile's own.
const PROFILE_POOL: usize = 1000;

/// The three tool definitions of search mode.
pub(super) fn search_mode_tools() -> Value {
    json!([
        {
            "name": SEARCH_TOOLS,
            "description": "Find tools on all connected MCP servers by describing the task in plain words. Returns the best matches with their arguments; then call one with call_tool.",
            "inputSchema": { "type": "object", "properties": {
                "query": { "type": "string", "description": "What you want to do" },
                "limit": { "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "description": "Most results (default 5)" },
                "server": { "type": "string", "description": "Only this server's tools" }
            }, "required": ["query"] },
            "annotations": { "readOnlyHint": true }
        },
        {
            "name": DESCRIBE_TOOL,
            "description": "Show a tool's full definition: input and output schema and annotations.",
            "inputSchema": { "type": "object", "properties": { "name": { "type": "string", "description": "Full tool name from search_tools" } }, "required": ["name"] },
            "annotations": { "readOnlyHint": true }
        },
        {
            "name": CALL_TOOL,
            "description": "Call a tool found with search_tools, by its full name, with its arguments.",
            "inputSchema": { "type": "object", "properties": {
                "name": { "type": "string", "description": "Full tool name from search_tools" },
                "arguments": { "type": "object", "description": "The tool's arguments" }
            }, "required": ["name"] }
        }
    ])
}

/// The input schema of a search-mode tool, by name.
pub(super) fn meta_schema(name: &str) -> Option<Value> {
    let Value::Array(tools) = search_mode_tools() else {
        return None;
    };
    tools
        .into_iter()
        .find(|t| t["name"] == name)
        .map(|mut t| t["inputSchema"].take())
}

fn text_result(text: String, structured: Value) -> Value {
    json!({ "content": [{ "type": "text", "text": text }], "structuredContent": structured })
}

/// A result that is its text alone: nothing said twice.
fn text_only(text: String) -> Value {
    json!({ "content": [{ "type": "text", "text": text }] })
}

/// The last line of a search with a callable tool: what to do next.
const NEXT_STEP: &str =
    "Call one with call_tool {name, arguments}; describe_tool {name} shows its full schema.";

/// `search_tools`.
pub(super) async fn search_tools(
    gw: &Gateway,
    view: &View,
    args: &Value,
) -> Result<Value, GatewayError> {
    let query = args
        .get("query")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            GatewayError::InvalidParams(
                "search_tools needs a string `query`, e.g. {\"query\": \"create a github issue\"}"
                    .into(),
            )
        })?
        .to_owned();
    let limit = args
        .get("limit")
        .and_then(Value::as_u64)
        .map_or(DEFAULT_LIMIT, |l| (l as usize).clamp(1, MAX_LIMIT));
    let server = args
        .get("server")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let index = gw.inner.upstreams.index.clone();
    // A profile ranks among all tools and keeps its own: ask for enough
    // that its tools are among them.
    let opts = SearchOptions {
        limit: if view.is_partial() {
            PROFILE_POOL
        } else {
            limit
        },
        server,
        explain: false,
    };
    let started = std::time::Instant::now();
    let hits = tokio::task::spawn_blocking(move || index.search(&query, &opts))
        .await
        .map_err(|source| GatewayError::TaskFailed {
            what: "the search",
            source,
        })?
        .map_err(GatewayError::Search)?;
    gw.inner.observe.metrics.search(started.elapsed());
    let table = gw.table();
    let settings = gw.settings();
    let mut lines = Vec::new();
    let mut any_callable = false;
    // Held tools, by server: how many matched.
    let mut held: indexmap::IndexMap<String, usize> = indexmap::IndexMap::new();
    let hits = hits
        .into_iter()
        .filter(|h| view.tool(&h.server, &h.name))
        .take(limit);
    for h in hits {
        // The index catches up after the trust view: ask the trust view. No text
        // of a tool no person approved reaches an agent (its name, description,
        // argument names, title): it is where poisoning hides. Only that a tool
        // of its server waits.
        let state = gw.tool_state(&h.server, &h.name);
        if state != ToolState::Approved {
            *held.entry(h.server.clone()).or_default() += 1;
            continue;
        }
        let name = table.downstream_name(&h.server, &h.name, &settings.separator, settings.prefix);
        let line_desc = one_line(h.description.as_deref().unwrap_or(""));
        // The index outlives upstreams: a tool is callable only while its server serves it.
        let live = table.resolve(&name).is_some();
        any_callable |= live;
        let note = if !live {
            let running = gw
                .upstream(&h.server)
                .and_then(|u| serde_json::to_value(u.status().state).ok())
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "not configured".to_owned());
            format!(
                " [server {} is {running}: cannot be called until it runs]",
                h.server
            )
        } else {
            String::new()
        };
        lines.push(format!("{name}{} — {line_desc}{note}", h.signature));
    }
    for (server, count) in held {
        let what = if count == 1 {
            "a tool".to_owned()
        } else {
            format!("{count} tools")
        };
        lines.push(format!("({what} of server `{server}` matched but {} waiting for a person's approval; nothing of {} is shown until then)", if count == 1 { "is" } else { "are" }, if count == 1 { "it" } else { "them" }));
    }
    if lines.is_empty() {
        return Ok(text_only(
            "No tools match. Try other words, or fewer.".to_owned(),
        ));
    }
    if any_callable {
        lines.push(NEXT_STEP.to_owned());
    }
    Ok(text_only(lines.join("\n")))
}

/// The first sentence of a description, at most 160 characters.
fn one_line(text: &str) -> String {
    let first = text
        .split("\n\n")
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let cut = first.find(". ").map_or(first.as_str(), |i| &first[..=i]);
    if cut.chars().count() > 160 {
        let s: String = cut.chars().take(157).collect();
        format!("{s}...")
    } else {
        cut.to_owned()
    }
}

/// Finds a tool by downstream name: among connected upstreams, else in the index.
/// Only a tool `view` shows is found.
pub(super) fn find_doc(gw: &Gateway, view: &View, name: &str) -> Option<(String, Value)> {
    let table = gw.table();
    if let Some(entry) = table.entries().iter().find(|e| e.name == name) {
        return view
            .tool(&entry.server, &entry.tool.name)
            .then(|| (entry.server.clone(), entry.tool.to_value()));
    }
    let settings = gw.settings();
    let docs: Vec<ToolDoc> = gw.inner.upstreams.index.all().ok()?;
    docs.into_iter()
        .find(|d| {
            table.downstream_name(&d.server, &d.name, &settings.separator, settings.prefix) == name
        })
        .filter(|d| view.tool(&d.server, &d.name))
        .map(|d| {
            let mut v = json!({ "name": d.name, "inputSchema": d.input_schema });
            if let Some(t) = d.title {
                v["title"] = Value::String(t);
            }
            if let Some(t) = d.description {
                v["description"] = Value::String(t);
            }
            (d.server, v)
        })
}

/// `describe_tool`.
pub(super) fn describe_tool(
    gw: &Gateway,
    view: &View,
    args: &Value,
) -> Result<Value, GatewayError> {
    let name = args.get("name").and_then(Value::as_str).ok_or_else(|| {
        GatewayError::InvalidParams("describe_tool needs a string `name` from search_tools".into())
    })?;
    let (server, mut def) = find_doc(gw, view, name).ok_or_else(|| GatewayError::UnknownTool {
        name: name.to_owned(),
    })?;
    // The state is kept under the upstream's own name: read it before the rename.
    let tool = def
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(name)
        .to_owned();
    let state = gw.tool_state(&server, &tool);
    if state != ToolState::Approved {
        // Its definition is text no person approved: none of it reaches the agent,
        // only the name the agent asked about.
        let text = format!("`{name}` of server `{server}` is waiting for a person's approval: nothing of its definition is shown until then");
        return Ok(text_result(
            text,
            json!({ "server": server, "state": state, "tool": { "name": name } }),
        ));
    }
    def["name"] = Value::String(name.to_owned());
    let text = serde_json::to_string_pretty(&def).unwrap_or_default();
    Ok(text_result(
        text,
        json!({ "server": server, "state": state, "tool": def }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_cuts() {
        assert_eq!(
            one_line("Get the time. Use it often.\n\nMore."),
            "Get the time."
        );
        assert!(one_line(&"word ".repeat(100)).ends_with("..."));
    }
}
