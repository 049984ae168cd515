//! Everything else a server says to the model, besides tools: its
//! `instructions`, prompts, resources and resource templates. Each is an
//! item with a definition hash, held like a tool until a person approves
//! exactly that definition.
//!
//! What an item's hash covers is the text that reaches the model:
//! - instructions: the text;
//! - a prompt: name, title, description, arguments (name, title,
//!   description, required);
//! - a resource: uri, name, title, description, mimeType;
//! - a resource template: uriTemplate, name, title, description, mimeType.
//!
//! `_meta`, icons, sizes and annotations of resources are not covered.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::hash::{canonical_json, launch_hash};
use super::state::spelled_enum;

/// What kind of item a server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// The `instructions` of its `initialize` (or `server/discover`) result.
    Instructions,
    /// A prompt of `prompts/list`.
    Prompt,
    /// A resource of `resources/list`.
    Resource,
    /// A template of `resources/templates/list`.
    ResourceTemplate,
}
spelled_enum!(ItemKind {
    Instructions => "instructions",
    Prompt => "prompt",
    Resource => "resource",
    ResourceTemplate => "resource_template",
});

/// The key of the server's instructions item (a server has one).
pub const INSTRUCTIONS_KEY: &str = "instructions";

const PROMPT_FIELDS: [&str; 3] = ["name", "title", "description"];
const RESOURCE_FIELDS: [&str; 5] = ["uri", "name", "title", "description", "mimeType"];
const TEMPLATE_FIELDS: [&str; 5] = ["uriTemplate", "name", "title", "description", "mimeType"];
const ARGUMENT_FIELDS: [&str; 4] = ["name", "title", "description", "required"];

impl ItemKind {
    /// The key of `item` among the server's items of this kind: a prompt's
    /// name, a resource's URI, a template's URI template.
    pub fn key(self, item: &Value) -> Option<String> {
        let field = match self {
            ItemKind::Instructions => return Some(INSTRUCTIONS_KEY.to_owned()),
            ItemKind::Prompt => "name",
            ItemKind::Resource => "uri",
            ItemKind::ResourceTemplate => "uriTemplate",
        };
        item.get(field).and_then(Value::as_str).map(str::to_owned)
    }

    /// The part of `item` a person approves (for instructions, `item` is
    /// the text as a JSON string).
    pub fn definition(self, item: &Value) -> Value {
        let pick = |fields: &[&str], from: &Value| {
            let mut out = Map::new();
            for key in fields {
                if let Some(v) = from.get(*key) {
                    out.insert((*key).to_owned(), v.clone());
                }
            }
            out
        };
        match self {
            ItemKind::Instructions => json!({ "instructions": item }),
            ItemKind::Prompt => {
                let mut out = pick(&PROMPT_FIELDS, item);
                if let Some(Value::Array(args)) = item.get("arguments") {
                    let args: Vec<Value> = args
                        .iter()
                        .map(|a| Value::Object(pick(&ARGUMENT_FIELDS, a)))
                        .collect();
                    out.insert("arguments".to_owned(), Value::Array(args));
                }
                Value::Object(out)
            }
            ItemKind::Resource => Value::Object(pick(&RESOURCE_FIELDS, item)),
            ItemKind::ResourceTemplate => Value::Object(pick(&TEMPLATE_FIELDS, item)),
        }
    }

    /// The SHA-256 (hex) of the canonical JSON of [`ItemKind::definition`],
    /// with the kind, so two kinds never share a hash.
    pub fn hash(self, item: &Value) -> String {
        let mut d = self.definition(item);
        d["kind"] = Value::String(self.as_str().to_owned());
        launch_hash(&d)
    }

    /// The canonical text stored for a definition.
    pub fn canonical(self, item: &Value) -> String {
        canonical_json(&self.definition(item))
    }

    /// The definition in the shape the scanner reads (name, title,
    /// description, and a schema whose properties are a prompt's arguments),
    /// so every string that reaches the model is scanned.
    pub fn scannable(self, item: &Value) -> Value {
        let d = self.definition(item);
        match self {
            ItemKind::Instructions => json!({ "description": d["instructions"] }),
            ItemKind::Prompt => {
                let mut out = pick_text(&d);
                let mut props = Map::new();
                for a in d
                    .get("arguments")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(name) = a.get("name").and_then(Value::as_str) {
                        props.insert(name.to_owned(), pick_text(a));
                    }
                }
                out["inputSchema"] = json!({ "type": "object", "properties": props });
                out
            }
            ItemKind::Resource | ItemKind::ResourceTemplate => pick_text(&d),
        }
    }
}

fn pick_text(v: &Value) -> Value {
    let mut out = Map::new();
    for key in ["name", "title", "description"] {
        if let Some(t) = v.get(key) {
            out.insert(key.to_owned(), t.clone());
        }
    }
    Value::Object(out)
}

/// An item a person was shown and decided to approve.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReviewedItem {
    /// Its kind.
    pub kind: ItemKind,
    /// Its key (see [`ItemKind::key`]).
    pub name: String,
    /// The definition hash the person was shown.
    pub hash: String,
}

/// Whether `uri` is one a URI template (RFC 6570) can produce: the literal
/// parts must match in order; each `{…}` expression matches a run of
/// characters without `/` (or, for `{+…}`, `{#…}` and `{/…}`, any run).
pub fn template_matches(template: &str, uri: &str) -> bool {
    let mut parts: Vec<(bool, &str)> = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        parts.push((false, &rest[..open]));
        let Some(close) = rest[open..].find('}') else {
            return false;
        };
        let expr = &rest[open + 1..open + close];
        parts.push((true, expr));
        rest = &rest[open + close + 1..];
    }
    parts.push((false, rest));
    matches_from(&parts, uri)
}

fn matches_from(parts: &[(bool, &str)], uri: &str) -> bool {
    let Some(((is_expr, text), tail)) = parts.split_first() else {
        return uri.is_empty();
    };
    if !is_expr {
        return uri
            .strip_prefix(text)
            .is_some_and(|r| matches_from(tail, r));
    }
    // An expression stands for at least one character.
    let any = text.starts_with(['+', '#', '/']);
    for (i, c) in uri.char_indices() {
        if i > 0 && matches_from(tail, &uri[i..]) {
            return true;
        }
        if c == '/' && !any {
            return false;
        }
    }
    !uri.is_empty() && matches_from(tail, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_hash_covers_its_arguments_and_not_its_meta() {
        let p = json!({"name": "review", "description": "Review code.", "arguments": [{"name": "code", "required": true}], "_meta": {"x": 1}});
        let h = ItemKind::Prompt.hash(&p);
        let mut meta = p.clone();
        meta["_meta"] = json!({"y": 2});
        assert_eq!(ItemKind::Prompt.hash(&meta), h);
        let mut arg = p.clone();
        arg["arguments"][0]["name"] = json!("SYSTEM_OVERRIDE_ignore_previous");
        assert_ne!(ItemKind::Prompt.hash(&arg), h);
        assert_ne!(ItemKind::Resource.hash(&p), h, "kinds never share a hash");
        let scanned = ItemKind::Prompt.scannable(&arg);
        assert!(scanned["inputSchema"]["properties"]
            .get("SYSTEM_OVERRIDE_ignore_previous")
            .is_some());
    }

    #[test]
    fn templates_match_the_uris_they_produce() {
        assert!(template_matches(
            "file:///logs/{name}",
            "file:///logs/today.txt"
        ));
        assert!(!template_matches("file:///logs/{name}", "file:///logs/a/b"));
        assert!(template_matches("file:///{+path}", "file:///a/b/c"));
        assert!(!template_matches(
            "file:///logs/{name}",
            "file:///etc/passwd"
        ));
        assert!(!template_matches("file:///logs/{name}", "file:///logs/"));
        assert!(template_matches("db://{table}/rows", "db://users/rows"));
    }
}
