//! The index schema, and how a [`ToolDoc`] becomes a tantivy document and back.
//!
//! Each kind of text gets its own field so queries can weight them: a word in a tool's name says
//! more than the same word deep in a parameter description. The whole `ToolDoc` is stored as
//! JSON in one stored-only field, so the index alone can answer `all()` before upstreams connect.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, STORED, STRING,
};
use tantivy::TantivyDocument;

use super::analysis::ANALYZER;
use super::{signature, SearchError, ToolDoc};

/// Nesting depth of `inputSchema` walked for parameter names and descriptions.
const MAX_SCHEMA_DEPTH: usize = 6;
/// Bytes of parameter text indexed per tool; a hostile schema cannot bloat the index.
const MAX_PARAM_TEXT: usize = 16 * 1024;
/// String enum values indexed per parameter.
const MAX_ENUM_VALUES: usize = 32;

/// Handles to the fields of the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// The server name, untokenized: for deleting and filtering by server.
    pub(crate) server_key: Field,
    /// Server and tool name, untokenized: for replacing one tool's document.
    pub(crate) tool_key: Field,
    /// Every text of the tool (name, server, title, description, parameter names and
    /// descriptions) in one field: the main BM25 signal, with positions for phrase boosts.
    pub(crate) all: Field,
    /// The tool name, analyzed: a match here adds to the `all` score.
    pub(crate) name: Field,
    /// The server name, analyzed.
    pub(crate) server: Field,
    /// The title, analyzed.
    pub(crate) title: Field,
    /// Parameter names from `inputSchema`, nested ones included.
    pub(crate) params: Field,
    /// The whole `ToolDoc` as JSON, stored only.
    pub(crate) doc: Field,
    /// What a search hit shows, as JSON, stored only: cheaper to read back than the whole
    /// `ToolDoc`, and the signature is computed once at indexing time.
    pub(crate) hit: Field,
}

/// The stored part of a [`super::SearchHit`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredHit {
    pub(crate) server: String,
    pub(crate) name: String,
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) signature: String,
    pub(crate) state: String,
}

/// Builds the schema. Changing it makes older on-disk indexes incompatible; they are then
/// rebuilt empty by [`super::SearchIndex::open`] and refilled by the gateway.
pub(crate) fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let indexed = |record| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(record),
        )
    };
    let fields = Fields {
        server_key: b.add_text_field("server_key", STRING),
        tool_key: b.add_text_field("tool_key", STRING),
        all: b.add_text_field("all", indexed(IndexRecordOption::WithFreqsAndPositions)),
        name: b.add_text_field("name", indexed(IndexRecordOption::WithFreqs)),
        server: b.add_text_field("server", indexed(IndexRecordOption::WithFreqs)),
        title: b.add_text_field("title", indexed(IndexRecordOption::WithFreqs)),
        params: b.add_text_field("params", indexed(IndexRecordOption::WithFreqs)),
        doc: b.add_text_field("doc", STORED),
        hit: b.add_text_field("hit", STORED),
    };
    (b.build(), fields)
}

/// The texts indexed for one tool, per field.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ToolTexts {
    pub(crate) params: Vec<String>,
    pub(crate) param_desc: Vec<String>,
}

/// Collects parameter names and descriptions from an `inputSchema`, nested ones included.
pub(crate) fn param_texts(schema: &Value) -> ToolTexts {
    let mut texts = ToolTexts::default();
    let mut budget = MAX_PARAM_TEXT;
    walk(schema, 0, &mut texts, &mut budget);
    texts
}

fn push(out: &mut Vec<String>, text: &str, budget: &mut usize) {
    if text.is_empty() || *budget == 0 {
        return;
    }
    let mut end = text.len().min(*budget);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    *budget -= end;
    out.push(text[..end].to_owned());
}

fn walk(schema: &Value, depth: usize, texts: &mut ToolTexts, budget: &mut usize) {
    if depth > MAX_SCHEMA_DEPTH {
        return;
    }
    let Some(obj) = schema.as_object() else {
        return;
    };
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            push(&mut texts.params, name, budget);
            for key in ["title", "description"] {
                if let Some(text) = prop.get(key).and_then(Value::as_str) {
                    push(&mut texts.param_desc, text, budget);
                }
            }
            if let Some(values) = prop.get("enum").and_then(Value::as_array) {
                for value in values
                    .iter()
                    .take(MAX_ENUM_VALUES)
                    .filter_map(Value::as_str)
                {
                    push(&mut texts.param_desc, value, budget);
                }
            }
            walk(prop, depth + 1, texts, budget);
        }
    }
    if let Some(items) = obj.get("items") {
        walk(items, depth + 1, texts, budget);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(alternatives) = obj.get(key).and_then(Value::as_array) {
            for alt in alternatives {
                walk(alt, depth + 1, texts, budget);
            }
        }
    }
}

/// The `tool_key` of a tool: names cannot hold a NUL, so the pair is unambiguous.
pub(crate) fn tool_key(server: &str, name: &str) -> String {
    format!("{server}\u{0}{name}")
}

/// Converts a tool into the document to index.
pub(crate) fn to_document(f: &Fields, tool: &ToolDoc) -> Result<TantivyDocument, SearchError> {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.server_key, &tool.server);
    doc.add_text(f.tool_key, tool_key(&tool.server, &tool.name));
    let texts = param_texts(&tool.input_schema);
    for (field, text) in [
        (Some(f.name), Some(tool.name.as_str())),
        (Some(f.server), Some(tool.server.as_str())),
        (Some(f.title), tool.title.as_deref()),
        (None, tool.description.as_deref()),
    ] {
        let Some(text) = text else { continue };
        if let Some(field) = field {
            doc.add_text(field, text);
        }
        doc.add_text(f.all, text);
    }
    for name in &texts.params {
        doc.add_text(f.params, name);
        doc.add_text(f.all, name);
    }
    for text in &texts.param_desc {
        doc.add_text(f.all, text);
    }
    let json = serde_json::to_string(tool).map_err(SearchError::StoredDoc)?;
    doc.add_text(f.doc, json);
    let hit = StoredHit {
        server: tool.server.clone(),
        name: tool.name.clone(),
        title: tool.title.clone(),
        description: tool.description.clone(),
        signature: signature(&tool.input_schema),
        state: tool.state.clone(),
    };
    let json = serde_json::to_string(&hit).map_err(SearchError::StoredDoc)?;
    doc.add_text(f.hit, json);
    Ok(doc)
}

/// Reads the stored `ToolDoc` back from a document.
pub(crate) fn from_document(f: &Fields, doc: &TantivyDocument) -> Result<ToolDoc, SearchError> {
    serde_json::from_str(stored_str(doc, f.doc)).map_err(SearchError::StoredDoc)
}

/// Reads the stored hit back from a document.
pub(crate) fn hit_from_document(
    f: &Fields,
    doc: &TantivyDocument,
) -> Result<StoredHit, SearchError> {
    serde_json::from_str(stored_str(doc, f.hit)).map_err(SearchError::StoredDoc)
}

fn stored_str(doc: &TantivyDocument, field: Field) -> &str {
    use tantivy::schema::Value as _;
    doc.get_first(field)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_parameters_are_walked() {
        let schema = json!({
            "properties": {
                "repo": {"type": "string", "description": "Repository slug"},
                "filter": {
                    "type": "object",
                    "properties": {
                        "labelName": {"type": "string", "description": "Issue label"},
                        "state": {"enum": ["open", "closed"]}
                    }
                },
                "files": {"type": "array", "items": {"type": "object", "properties": {"path": {"description": "File path"}}}}
            }
        });
        let texts = param_texts(&schema);
        assert_eq!(
            texts.params,
            ["repo", "filter", "labelName", "state", "files", "path"]
        );
        assert_eq!(
            texts.param_desc,
            [
                "Repository slug",
                "Issue label",
                "open",
                "closed",
                "File path"
            ]
        );
    }

    #[test]
    fn parameter_text_is_bounded() {
        let big = "x".repeat(MAX_PARAM_TEXT * 2);
        let texts = param_texts(&json!({"properties": {"a": {"description": big}}}));
        let total: usize = texts
            .params
            .iter()
            .chain(&texts.param_desc)
            .map(String::len)
            .sum();
        assert!(total <= MAX_PARAM_TEXT);
    }
}
