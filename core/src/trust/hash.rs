//! Definition hashes: the identity of what a person approved.
//!
//! A tool is callable only while the definition an upstream lists hashes to
//! the value recorded at approval, so the hash must cover everything that can
//! steer a model (name, title, description, both schemas, annotations) and
//! nothing that cannot (`_meta`, icons, ordering of keys, whitespace).
//!
//! The canonical form is JSON with object keys sorted recursively (by their
//! UTF-8 bytes), no insignificant whitespace, strings escaped as serde_json
//! escapes them and numbers written as serde_json writes them. It is stable
//! across releases of Portcullis: changing it would re-quarantine every
//! approved tool, so treat it as a storage format.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The fields of a tool definition that the hash covers, in the spelling of
/// the MCP `Tool` object.
pub const HASHED_FIELDS: [&str; 6] = [
    "name",
    "title",
    "description",
    "inputSchema",
    "outputSchema",
    "annotations",
];

/// The part of `tool` that a person approves: exactly the [`HASHED_FIELDS`]
/// it has (absent fields are omitted; an explicit `null` is kept).
///
/// A value that is not an object projects to the empty object.
pub fn hashed_definition(tool: &Value) -> Value {
    let mut out = Map::new();
    if let Value::Object(fields) = tool {
        for key in HASHED_FIELDS {
            if let Some(v) = fields.get(key) {
                out.insert(key.to_owned(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// The SHA-256 (lowercase hex) of the canonical JSON of
/// [`hashed_definition`]`(tool)`.
///
/// Two listings of a tool hash equal exactly when they agree on name, title,
/// description, inputSchema, outputSchema and annotations, whatever the key
/// order or formatting the upstream used.
pub fn definition_hash(tool: &Value) -> String {
    let canonical = canonical_json(&hashed_definition(tool));
    let digest = Sha256::digest(canonical.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest.iter() {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `value` as canonical JSON: object keys sorted recursively, no whitespace.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, out),
        // Null, booleans and numbers have a single compact spelling.
        other => out.push_str(&other.to_string()),
    }
}

fn write_string(s: &str, out: &mut String) {
    // Serializing a &str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_form_sorts_keys_recursively_without_whitespace() {
        let v = json!({"b": 1, "a": {"d": [true, null, "x\"y"], "c": 2.5}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":2.5,"d":[true,null,"x\"y"]},"b":1}"#
        );
    }

    #[test]
    fn hash_ignores_key_order_and_unhashed_fields() {
        let a = json!({
            "name": "add",
            "description": "Adds two numbers.",
            "inputSchema": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}},
        });
        let b = json!({
            "inputSchema": {"properties": {"b": {"type": "number"}, "a": {"type": "number"}}, "type": "object"},
            "_meta": {"anything": 1},
            "icons": [],
            "description": "Adds two numbers.",
            "name": "add",
        });
        assert_eq!(definition_hash(&a), definition_hash(&b));
        assert_eq!(definition_hash(&a).len(), 64);
    }

    #[test]
    fn hash_covers_every_hashed_field() {
        let base = json!({"name": "t", "description": "d"});
        let h = definition_hash(&base);
        for (key, value) in [
            ("name", json!("u")),
            ("title", json!("T")),
            ("description", json!("d2")),
            ("inputSchema", json!({"type": "object"})),
            ("outputSchema", json!({"type": "object"})),
            ("annotations", json!({"readOnlyHint": true})),
        ] {
            let mut changed = base.clone();
            changed[key] = value;
            assert_ne!(definition_hash(&changed), h, "{key} must change the hash");
        }
    }

    #[test]
    fn hash_of_known_value_is_stable() {
        // Pinned: a change here re-quarantines every approved tool.
        assert_eq!(
            canonical_json(&hashed_definition(&json!({"name": "x", "extra": 1}))),
            r#"{"name":"x"}"#
        );
        assert_eq!(
            definition_hash(&json!({"name": "x"})),
            "0229d37e33daae149bf40543a5ce1db4459d10f830d5139279aa2bfd5f6485a1"
        );
    }
}
