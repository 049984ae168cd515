//! How a client's config file holds its MCP servers, and the three edits
//! Portcullis makes to it: read its `portcullis` entry, write that entry, and
//! render the snippet a person can paste instead.
//!
//! Every write keeps the rest of the file as the person wrote it (comments,
//! order, blank lines, other servers) and is checked before it is returned:
//! the new text is parsed again and must hold exactly what the old one held
//! plus the entry. A file that does not parse, or an edit that does not pass
//! that check, is an error and nothing is written.

use super::EditError;
use serde_json::{Map, Value};

use super::{json, toml, yaml};

/// Where a client keeps its servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// An object `key` of name to entry, in JSON with comments and trailing
    /// commas allowed.
    Json { key: &'static str },
    /// TOML tables `[key.NAME]` (Codex).
    Toml { key: &'static str },
    /// A YAML map `key` of name to entry (Goose).
    YamlMap { key: &'static str },
    /// A YAML list `key` of entries, each with its `name` (Continue); a file
    /// Portcullis creates starts with `preamble`.
    YamlList {
        key: &'static str,
        preamble: &'static str,
    },
}

impl Layout {
    /// The file's syntax, for people.
    pub(super) fn syntax(self) -> &'static str {
        match self {
            Layout::Json { .. } => "JSON",
            Layout::Toml { .. } => "TOML",
            Layout::YamlMap { .. } | Layout::YamlList { .. } => "YAML",
        }
    }

    /// The file's `portcullis` entry, as JSON; none when it has none.
    pub(super) fn current(self, text: &str) -> Result<Option<Value>, EditError> {
        let doc = self.parse(text)?;
        Ok(self.entry_in(&doc)?.cloned())
    }

    /// `text` (none: no file yet) with `entry` as its `portcullis` entry.
    pub(super) fn write(self, text: Option<&str>, entry: &Value) -> Result<String, EditError> {
        let text = text.filter(|t| !t.trim().is_empty());
        let before = match (text, self) {
            (Some(t), _) => self.parse(t)?,
            (None, Layout::YamlList { preamble, .. }) => self.parse(preamble)?,
            (None, _) => Map::new(),
        };
        let after = match self {
            Layout::Json { key } => json::write(text, key, entry)?,
            Layout::Toml { key } => toml::write(text.unwrap_or(""), key, entry)?,
            Layout::YamlMap { key } => yaml::write(text, key, None, entry, "")?,
            Layout::YamlList { key, preamble } => {
                let at = self.list_index(&before)?;
                yaml::write(text, key, Some(at), entry, preamble)?
            }
        };
        let mut expected = before;
        self.set_entry(&mut expected, entry);
        let got = self.parse(&after).map_err(|e| match e {
            EditError::Unreadable(m) | EditError::Unverified(m) => {
                EditError::Unverified(format!("the edited file would not parse: {m}"))
            }
        })?;
        if got != expected {
            return Err(EditError::Unverified(
                "the edited file would hold more than the new entry".into(),
            ));
        }
        Ok(after)
    }

    /// What a person pastes: the entry inside its key, as the file writes it.
    pub(super) fn snippet(self, entry: &Value) -> String {
        let bare = match self {
            Layout::YamlList { key, .. } => Layout::YamlList { key, preamble: "" },
            other => other,
        };
        bare.write(None, entry).unwrap_or_default()
    }

    fn key(self) -> &'static str {
        match self {
            Layout::Json { key }
            | Layout::Toml { key }
            | Layout::YamlMap { key }
            | Layout::YamlList { key, .. } => key,
        }
    }

    /// The whole file as a JSON object; an empty file is an empty object.
    fn parse(self, text: &str) -> Result<Map<String, Value>, EditError> {
        let value = match self {
            Layout::Json { .. } => json::parse(text),
            Layout::Toml { .. } => toml::parse(text),
            Layout::YamlMap { .. } | Layout::YamlList { .. } => yaml::parse(text),
        }
        .map_err(EditError::Unreadable)?;
        match value {
            Value::Object(map) => Ok(map),
            Value::Null => Ok(Map::new()),
            _ => Err(EditError::Unreadable("it is not an object".into())),
        }
    }

    fn entry_in(self, doc: &Map<String, Value>) -> Result<Option<&Value>, EditError> {
        let key = self.key();
        match (self, doc.get(key)) {
            (_, None | Some(Value::Null)) => Ok(None),
            (Layout::YamlList { .. }, Some(Value::Array(items))) => Ok(items
                .iter()
                .find(|i| i.get("name").and_then(Value::as_str) == Some(super::ENTRY_NAME))),
            (Layout::YamlList { .. }, Some(_)) => {
                Err(EditError::Unreadable(format!("`{key}` is not a list")))
            }
            (_, Some(Value::Object(servers))) => Ok(servers.get(super::ENTRY_NAME)),
            (_, Some(_)) => Err(EditError::Unreadable(format!(
                "`{key}` is not {}",
                if self.syntax() == "JSON" {
                    "an object"
                } else {
                    "a table"
                }
            ))),
        }
    }

    /// Where the `portcullis` item is in a list, or where it goes (the end).
    fn list_index(self, doc: &Map<String, Value>) -> Result<usize, EditError> {
        self.entry_in(doc)?;
        let items = doc.get(self.key()).and_then(Value::as_array);
        Ok(items.map_or(0, |items| {
            items
                .iter()
                .position(|i| i.get("name").and_then(Value::as_str) == Some(super::ENTRY_NAME))
                .unwrap_or(items.len())
        }))
    }

    /// `doc` with `entry` set, as a correct edit leaves it.
    fn set_entry(self, doc: &mut Map<String, Value>, entry: &Value) {
        let key = self.key();
        let holder = doc.entry(key).or_insert(Value::Null);
        if let Layout::YamlList { .. } = self {
            let mut items = holder.as_array().cloned().unwrap_or_default();
            match items
                .iter()
                .position(|i| i.get("name").and_then(Value::as_str) == Some(super::ENTRY_NAME))
            {
                Some(at) => items[at] = entry.clone(),
                None => items.push(entry.clone()),
            }
            *holder = Value::Array(items);
        } else {
            let mut servers = holder.as_object().cloned().unwrap_or_default();
            servers.insert(super::ENTRY_NAME.to_owned(), entry.clone());
            *holder = Value::Object(servers);
        }
    }
}
