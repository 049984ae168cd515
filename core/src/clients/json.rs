//! Clients' JSON files, comments and trailing commas included (Zed's
//! settings.json, opencode.jsonc and VS Code's mcp.json allow both; the
//! others are plain JSON, which stays plain).
//!
//! Edits go through the concrete syntax tree of `jsonc-parser` (dprint's): only
//! the `portcullis` property is added or replaced, so every other byte of the
//! file (comments, blank lines, indentation, trailing commas, key order) is
//! left as it was.

use jsonc_parser::cst::{CstInputValue, CstRootNode};
use serde_json::{json, Value};

use super::EditError;
use super::ENTRY_NAME;
use crate::config::{jsonc_options, parse_jsonc};

/// The file as a JSON value.
pub(super) fn parse(text: &str) -> Result<Value, String> {
    parse_jsonc(text)
}

/// `text` with `entry` as `key.portcullis`; a new file is pretty-printed.
pub(super) fn write(text: Option<&str>, key: &str, entry: &Value) -> Result<String, EditError> {
    let Some(text) = text else {
        let mut out = serde_json::to_string_pretty(&json!({ key: { ENTRY_NAME: entry } }))
            .unwrap_or_default();
        out.push('\n');
        return Ok(out);
    };
    let root = CstRootNode::parse(text, &jsonc_options())
        .map_err(|e| EditError::Unreadable(e.to_string()))?;
    let doc = root
        .object_value()
        .ok_or_else(|| EditError::Unreadable("it is not a JSON object".into()))?;
    let servers = match doc.get(key) {
        Some(prop) => prop
            .object_value()
            .ok_or_else(|| EditError::Unreadable(format!("`{key}` is not an object")))?,
        None => doc.object_value_or_set(key),
    };
    match servers.get(ENTRY_NAME) {
        Some(prop) => prop.set_value(input(entry)),
        None => {
            servers.append(ENTRY_NAME, input(entry));
        }
    }
    Ok(root.to_string())
}

/// A JSON value as the tree's input.
fn input(value: &Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(items) => CstInputValue::Array(items.iter().map(input).collect()),
        Value::Object(map) => {
            CstInputValue::Object(map.iter().map(|(k, v)| (k.clone(), input(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_ok(text: &str, key: &'static str, entry: Value) -> String {
        super::super::format::Layout::Json { key }
            .write(Some(text), &entry)
            .unwrap()
    }

    #[test]
    fn comments_trailing_commas_and_other_servers_stay() {
        let zed = r#"// Zed settings
{
  "theme": "One Dark", // my theme
  /* servers */
  "context_servers": {
    "git": {
      "command": "uvx",
      "args": ["mcp-server-git"],
    },
  },
  "vim_mode": true,
}
"#;
        let out = write_ok(
            zed,
            "context_servers",
            json!({"url": "http://127.0.0.1:7331/mcp"}),
        );
        assert_eq!(
            out,
            r#"// Zed settings
{
  "theme": "One Dark", // my theme
  /* servers */
  "context_servers": {
    "git": {
      "command": "uvx",
      "args": ["mcp-server-git"],
    },
    "portcullis": {
      "url": "http://127.0.0.1:7331/mcp",
    },
  },
  "vim_mode": true,
}
"#
        );
        // Again, with another address: only the entry's value changes.
        let again = write_ok(
            &out,
            "context_servers",
            json!({"url": "http://127.0.0.1:9/mcp"}),
        );
        assert_eq!(again, out.replace("7331", "9"));
    }

    #[test]
    fn a_missing_key_is_added_at_the_end_and_plain_json_stays_plain() {
        let out = write_ok(
            "{\n    \"$schema\": \"https://opencode.ai/config.json\"\n}\n",
            "mcp",
            json!({"type": "remote", "url": "http://h/mcp", "enabled": true}),
        );
        assert_eq!(
            out,
            "{\n    \"$schema\": \"https://opencode.ai/config.json\",\n    \"mcp\": {\n        \"portcullis\": {\n            \"type\": \"remote\",\n            \"url\": \"http://h/mcp\",\n            \"enabled\": true\n        }\n    }\n}\n"
        );
    }

    #[test]
    fn what_is_not_jsonc_is_refused() {
        let layout = super::super::format::Layout::Json { key: "mcp" };
        for bad in ["{ mcp: {} }", "{\"a\": 'x'}", "{\"mcp\": []}", "[1]", "{"] {
            assert!(
                matches!(
                    layout.write(Some(bad), &json!({})),
                    Err(EditError::Unreadable(_))
                ),
                "{bad}"
            );
        }
    }
}
