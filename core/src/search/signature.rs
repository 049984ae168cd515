//! Compact argument signatures, so an agent can see how to call a tool without its full schema.
//!
//! `{"properties": {"path": {"type": "string"}, "mode": {"enum": ["a", "b"]}}, "required": ["path"]}`
//! becomes `(path: string, mode?: "a"|"b")`. The output is bounded whatever the schema holds.

use serde_json::Value;

/// Enum values shown before the list is cut with `…`.
const MAX_ENUM_VALUES: usize = 6;
/// Nesting depth beyond which a type is shown as its bare JSON type.
const MAX_DEPTH: usize = 3;
/// Properties shown before the list is cut with `…`.
const MAX_PROPERTIES: usize = 24;

/// Renders the compact argument signature of a tool's `inputSchema`.
///
/// Required arguments are plain, optional ones carry `?`; enums are shown as quoted
/// alternatives; arrays as `type[]`; nested objects as `{a: string, b?: number}`.
/// A schema without properties gives `()`.
pub fn signature(input_schema: &Value) -> String {
    format!("({})", properties(input_schema, 0))
}

fn properties(schema: &Value, depth: usize) -> String {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return String::new();
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut parts: Vec<String> = props
        .iter()
        .take(MAX_PROPERTIES)
        .map(|(name, prop)| {
            let optional = if required.contains(&name.as_str()) {
                ""
            } else {
                "?"
            };
            format!("{name}{optional}: {}", type_of(prop, depth))
        })
        .collect();
    if props.len() > MAX_PROPERTIES {
        parts.push("…".to_owned());
    }
    parts.join(", ")
}

fn type_of(schema: &Value, depth: usize) -> String {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return enum_values(values);
    }
    if let Some(value) = schema.get("const") {
        return literal(value);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alternatives) = schema.get(key).and_then(Value::as_array) {
            let mut types: Vec<String> = Vec::new();
            for alt in alternatives {
                let t = type_of(alt, depth + 1);
                if !types.contains(&t) {
                    types.push(t);
                }
            }
            if !types.is_empty() {
                return types.join("|");
            }
        }
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return reference.rsplit('/').next().unwrap_or(reference).to_owned();
    }
    match schema.get("type") {
        Some(Value::String(t)) => named_type(t, schema, depth),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(|t| named_type(t, schema, depth))
            .collect::<Vec<_>>()
            .join("|"),
        _ if schema.get("properties").is_some() => named_type("object", schema, depth),
        _ => "any".to_owned(),
    }
}

fn named_type(t: &str, schema: &Value, depth: usize) -> String {
    match t {
        "array" => match schema.get("items") {
            Some(items) if depth < MAX_DEPTH => {
                let inner = type_of(items, depth + 1);
                if inner.contains('|') {
                    format!("({inner})[]")
                } else {
                    format!("{inner}[]")
                }
            }
            _ => "array".to_owned(),
        },
        "object" if depth < MAX_DEPTH && schema.get("properties").is_some() => {
            let inner = properties(schema, depth + 1);
            if inner.is_empty() {
                "object".to_owned()
            } else {
                format!("{{{inner}}}")
            }
        }
        other => other.to_owned(),
    }
}

fn enum_values(values: &[Value]) -> String {
    let mut shown: Vec<String> = values.iter().take(MAX_ENUM_VALUES).map(literal).collect();
    if values.len() > MAX_ENUM_VALUES {
        shown.push("…".to_owned());
    }
    shown.join("|")
}

fn literal(value: &Value) -> String {
    // serde_json renders strings quoted and escaped, which is what a signature wants.
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn example_from_the_api_docs() {
        let schema = json!({
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "recursive": {"type": "boolean"},
                "mode": {"enum": ["a", "b"]}
            },
            "required": ["path", "mode"]
        });
        assert_eq!(
            signature(&schema),
            r#"(path: string, recursive?: boolean, mode: "a"|"b")"#
        );
    }

    #[test]
    fn arrays_nested_objects_unions_and_refs() {
        let schema = json!({
            "properties": {
                "tags": {"type": "array", "items": {"type": "string"}},
                "owner": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
                "limit": {"type": ["integer", "null"]},
                "when": {"anyOf": [{"type": "string"}, {"type": "number"}]},
                "item": {"$ref": "#/$defs/Item"}
            }
        });
        assert_eq!(
            signature(&schema),
            "(tags?: string[], owner?: {id: integer}, limit?: integer|null, when?: string|number, item?: Item)"
        );
    }

    #[test]
    fn empty_and_odd_schemas() {
        assert_eq!(signature(&json!({})), "()");
        assert_eq!(signature(&json!(null)), "()");
        assert_eq!(signature(&json!({"properties": []})), "()");
        assert_eq!(signature(&json!({"properties": {"x": 3}})), "(x?: any)");
    }

    #[test]
    fn long_enums_and_deep_nesting_are_bounded() {
        let schema =
            json!({"properties": {"e": {"enum": [1, 2, 3, 4, 5, 6, 7, 8]}}, "required": ["e"]});
        assert_eq!(signature(&schema), "(e: 1|2|3|4|5|6|…)");
        let mut deep = json!({"type": "string"});
        for _ in 0..50 {
            deep = json!({"type": "object", "properties": {"a": deep}});
        }
        assert!(signature(&deep).len() < 100);
    }
}
