//! Codex's `config.toml`: servers are tables `[mcp_servers.NAME]`.
//!
//! Edited with `toml_edit`, as Portcullis edits its own config: comments,
//! blank lines and the order of tables stay; the `portcullis` table is
//! added after the other servers, or replaced where it is.

use serde_json::Value;
use toml_edit::{DocumentMut, InlineTable, Item, Table};

use super::EditError;
use super::ENTRY_NAME;

/// The file as a JSON value.
pub(super) fn parse(text: &str) -> Result<Value, String> {
    let table: ::toml::Table = ::toml::from_str(text).map_err(|e| e.message().to_owned())?;
    serde_json::to_value(table).map_err(|e| e.to_string())
}

/// `text` with `entry` as the table `[key.portcullis]`.
pub(super) fn write(text: &str, key: &str, entry: &Value) -> Result<String, EditError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::Unreadable(e.message().to_owned()))?;
    let Value::Object(fields) = entry else {
        return Err(EditError::Unverified("the entry is not a table".into()));
    };
    if doc.get(key).is_none() {
        let mut servers = Table::new();
        // `[mcp_servers.portcullis]` alone, without an empty `[mcp_servers]` above it.
        servers.set_implicit(true);
        doc.insert(key, Item::Table(servers));
    }
    let holder = doc
        .get_mut(key)
        .ok_or_else(|| EditError::Unverified(format!("`{key}` vanished")))?;
    if let Some(servers) = holder.as_table_mut() {
        let mut table = Table::new();
        for (k, v) in fields {
            table.insert(k, Item::Value(value(v)?));
        }
        match servers.get_mut(ENTRY_NAME) {
            // Replaced in place, its own comments above it kept.
            Some(Item::Table(old)) => {
                let decor = old.decor().clone();
                *old = table;
                *old.decor_mut() = decor;
            }
            Some(old) => *old = Item::Table(table),
            None => {
                if !text.is_empty() {
                    table.decor_mut().set_prefix("\n");
                }
                servers.insert(ENTRY_NAME, Item::Table(table));
            }
        }
    } else if let Some(servers) = holder.as_inline_table_mut() {
        let mut inline = InlineTable::new();
        for (k, v) in fields {
            inline.insert(k, value(v)?);
        }
        servers.insert(ENTRY_NAME, toml_edit::Value::InlineTable(inline));
    } else {
        return Err(EditError::Unreadable(format!("`{key}` is not a table")));
    }
    Ok(doc.to_string())
}

/// A JSON value as a TOML value (objects as inline tables).
fn value(v: &Value) -> Result<toml_edit::Value, EditError> {
    Ok(match v {
        Value::String(s) => s.as_str().into(),
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.into(),
            (None, Some(f)) => f.into(),
            (None, None) => return Err(EditError::Unverified(format!("{n} is not a TOML number"))),
        },
        Value::Array(items) => {
            let mut array = toml_edit::Array::new();
            for item in items {
                array.push(value(item)?);
            }
            toml_edit::Value::Array(array)
        }
        Value::Object(map) => {
            let mut inline = InlineTable::new();
            for (k, item) in map {
                inline.insert(k, value(item)?);
            }
            toml_edit::Value::InlineTable(inline)
        }
        Value::Null => return Err(EditError::Unverified("TOML has no null".into())),
    })
}

#[cfg(test)]
mod tests {
    use super::super::format::Layout;
    use serde_json::json;

    const CODEX: Layout = Layout::Toml { key: "mcp_servers" };

    #[test]
    fn the_table_goes_after_the_other_servers_and_comments_stay() {
        let before = r#"# Codex config
model = "o3"  # the model

[mcp_servers.fs]
# files
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]

[mcp_servers.fs.env]
NODE_ENV = "production"

[profiles.fast]
model = "o4-mini"
"#;
        let entry = json!({"url": "http://127.0.0.1:7331/mcp"});
        let after = CODEX.write(Some(before), &entry).unwrap();
        let at = before.find("[profiles.fast]").unwrap();
        let added = "[mcp_servers.portcullis]\nurl = \"http://127.0.0.1:7331/mcp\"\n\n";
        assert_eq!(after, format!("{}{added}{}", &before[..at], &before[at..]));
        assert_eq!(CODEX.current(&after).unwrap(), Some(entry));
        // Another address replaces the table where it is.
        let again = CODEX
            .write(Some(&after), &json!({"url": "http://127.0.0.1:9/mcp"}))
            .unwrap();
        assert_eq!(again, after.replace("7331", "9"));
    }

    #[test]
    fn a_file_without_servers_and_a_new_file() {
        let after = CODEX
            .write(Some("model = \"o3\"\n"), &json!({"url": "http://h/mcp"}))
            .unwrap();
        assert_eq!(
            after,
            "model = \"o3\"\n\n[mcp_servers.portcullis]\nurl = \"http://h/mcp\"\n"
        );
        assert_eq!(
            CODEX.snippet(&json!({"url": "http://h/mcp"})),
            "[mcp_servers.portcullis]\nurl = \"http://h/mcp\"\n"
        );
    }

    #[test]
    fn inline_servers_and_bad_files() {
        let after = CODEX
            .write(
                Some("mcp_servers = { a = { command = \"x\" } }\n"),
                &json!({"url": "http://h/mcp"}),
            )
            .unwrap();
        assert!(
            after.contains("portcullis = { url = \"http://h/mcp\" }"),
            "{after}"
        );
        assert!(CODEX
            .write(Some("mcp_servers = 3\n"), &json!({"url": "u"}))
            .is_err());
        assert!(CODEX
            .write(Some("[mcp_servers\n"), &json!({"url": "u"}))
            .is_err());
    }
}
