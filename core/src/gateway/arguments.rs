//! Argument checks before a call leaves the gateway. A `tools/call` (and
//! search mode's `call_tool`, and the search-mode tools themselves) has its
//! arguments checked against the tool's input schema; a call that does not
//! match never reaches the upstream.
//!
//! A mismatch is the model's to correct, so it is answered as MCP 2025-11-25
//! asks of input validation errors: a tool result with `isError: true` whose
//! text names every violation, not a JSON-RPC error (which clients tend to
//! show the person rather than the model). What is not the tool's business
//! (an unknown tool, a held one, malformed params) stays a JSON-RPC error.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value};

/// At most this many violations are listed.
const MAX_VIOLATIONS: usize = 10;
/// Compiled schemas kept before the cache starts over.
const MAX_CACHED: usize = 4096;

/// Arguments that do not match a tool's input schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidArguments {
    /// The tool's downstream name.
    pub(crate) tool: String,
    /// One line per violation: where in the arguments, and what is wrong.
    pub(crate) violations: Vec<String>,
    /// Where the caller finds the schema.
    pub(crate) hint: &'static str,
}

impl std::fmt::Display for InvalidArguments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "arguments for `{}` do not match its input schema:",
            self.tool
        )?;
        for v in &self.violations {
            writeln!(f, "  - {v}")?;
        }
        write!(f, "hint: {}", self.hint)
    }
}

impl InvalidArguments {
    /// The answer to the call: a tool result with `isError`, which the era
    /// layers stamp like any other result.
    pub(crate) fn tool_result(&self) -> Value {
        json!({ "content": [{ "type": "text", "text": self.to_string() }], "isError": true })
    }
}

/// One compiled input schema, and the arguments it requires.
struct Compiled {
    validator: jsonschema::Validator,
    required: Vec<String>,
}

/// Compiled input schemas, by the schema's text (as listed, so a call does
/// not parse the schema again).
#[derive(Default)]
pub(crate) struct Validators(parking_lot::Mutex<HashMap<String, Arc<Compiled>>>);

impl Validators {
    /// Checks `args` against `schema`; the error lists every violation (up
    /// to ten). A schema the validator cannot read passes everything: the
    /// upstream judges then.
    pub(crate) fn check(
        &self,
        tool: &str,
        schema: &str,
        args: &Value,
        hint: &'static str,
    ) -> Result<(), InvalidArguments> {
        let Some(compiled) = self.compiled(tool, schema) else {
            return Ok(());
        };
        // An optional argument given as `null` is taken as left out: clients send
        // that for "no value", and servers commonly accept it. The upstream judges.
        let lenient;
        let args = match args.as_object() {
            Some(map)
                if map
                    .iter()
                    .any(|(k, v)| v.is_null() && !compiled.required.contains(k)) =>
            {
                let mut map = map.clone();
                map.retain(|k, v| !v.is_null() || compiled.required.contains(k));
                lenient = Value::Object(map);
                &lenient
            }
            _ => args,
        };
        let violations: Vec<String> = compiled
            .validator
            .iter_errors(args)
            .take(MAX_VIOLATIONS)
            .map(|e| {
                let path = e.instance_path().to_string();
                let at = if path.is_empty() {
                    "(arguments)".to_owned()
                } else {
                    path
                };
                format!("{at}: {e}")
            })
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(InvalidArguments {
                tool: tool.to_owned(),
                violations,
                hint,
            })
        }
    }

    fn compiled(&self, tool: &str, schema: &str) -> Option<Arc<Compiled>> {
        if let Some(v) = self.0.lock().get(schema) {
            return Some(v.clone());
        }
        let compiled = serde_json::from_str::<Value>(schema)
            .map_err(|e| e.to_string())
            .and_then(|s| {
                let validator = jsonschema::validator_for(&s).map_err(|e| e.to_string())?;
                let required = s
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| {
                        r.iter()
                            .filter_map(|k| k.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(Compiled {
                    validator,
                    required,
                })
            });
        match compiled {
            Ok(v) => {
                let v = Arc::new(v);
                let mut map = self.0.lock();
                if map.len() > MAX_CACHED {
                    map.clear();
                }
                map.insert(schema.to_owned(), v.clone());
                Some(v)
            }
            Err(e) => {
                tracing::debug!(tool, "input schema not usable for validation: {e}");
                None
            }
        }
    }
}

/// The arguments of a call as the schema sees them: absent or `null` is no
/// arguments, `{}`.
pub(crate) fn or_empty(arguments: Option<Value>) -> Value {
    match arguments {
        None | Some(Value::Null) => json!({}),
        Some(v) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HINT: &str = "tools/list shows the schema";

    #[test]
    fn validation_names_what_is_wrong() {
        let v = Validators::default();
        let schema = json!({ "type": "object", "properties": { "a": { "type": "integer" } }, "required": ["a"] }).to_string();
        assert!(v.check("t", &schema, &json!({ "a": 1 }), HINT).is_ok());
        let err = v
            .check("t", &schema, &json!({ "a": "x" }), HINT)
            .unwrap_err()
            .to_string();
        assert!(err.contains("/a") && err.contains("integer"), "{err}");
        let err = v.check("t", &schema, &json!({}), HINT).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("required") || text.contains("\"a\""),
            "{text}"
        );
        assert!(
            text.ends_with("\nhint: tools/list shows the schema"),
            "{text}"
        );
    }

    #[test]
    fn a_mismatch_is_a_tool_result_with_is_error() {
        let v = Validators::default();
        let schema =
            json!({ "type": "object", "properties": { "a": { "type": "integer" } } }).to_string();
        let err = v
            .check("srv__t", &schema, &json!({ "a": true }), HINT)
            .unwrap_err();
        let result = err.tool_result();
        assert_eq!(result["isError"], json!(true));
        let text = result["content"][0]["text"].as_str().unwrap_or_default();
        assert!(
            text.starts_with("arguments for `srv__t` do not match its input schema:\n  - /a: "),
            "{text}"
        );
        assert_eq!(result["content"][0]["type"], "text");
    }

    #[test]
    fn null_for_an_optional_argument_is_left_to_the_upstream() {
        let v = Validators::default();
        let schema = json!({ "type": "object", "properties": {
            "a": { "type": "string" }, "b": { "type": "boolean" } }, "required": ["a"] })
        .to_string();
        assert!(v
            .check("t", &schema, &json!({ "a": "x", "b": null }), HINT)
            .is_ok());
        let err = v
            .check("t", &schema, &json!({ "a": null }), HINT)
            .unwrap_err()
            .to_string();
        assert!(err.contains("/a") && err.contains("null"), "{err}");
    }

    #[test]
    fn an_unreadable_schema_lets_the_upstream_judge() {
        let v = Validators::default();
        let schema = json!({ "type": 12 }).to_string();
        assert!(v.check("t", &schema, &json!({ "a": 1 }), HINT).is_ok());
    }

    #[test]
    fn absent_and_null_arguments_are_empty() {
        assert_eq!(or_empty(None), json!({}));
        assert_eq!(or_empty(Some(Value::Null)), json!({}));
        assert_eq!(or_empty(Some(json!([1]))), json!([1]));
    }
}
