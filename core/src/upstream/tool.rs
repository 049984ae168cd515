//! A tool as an upstream lists it, kept member by member as raw JSON so that
//! fields the gateway does not know reach the client unchanged.

use indexmap::IndexMap;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::protocol::to_raw;

/// One upstream tool.
#[derive(Debug, Clone)]
pub struct Tool {
    /// Its name at the upstream.
    pub name: String,
    /// Every member as received.
    pub fields: IndexMap<String, Box<RawValue>>,
}

impl Tool {
    /// Reads a tool object; `None` when it has no string `name`.
    pub fn from_raw(raw: &RawValue) -> Option<Self> {
        let fields: IndexMap<String, Box<RawValue>> = serde_json::from_str(raw.get()).ok()?;
        let name: String = serde_json::from_str(fields.get("name")?.get()).ok()?;
        Some(Self { name, fields })
    }

    /// A member parsed as a value (`None` when absent or not parseable).
    pub fn field(&self, key: &str) -> Option<Value> {
        self.fields
            .get(key)
            .and_then(|r| serde_json::from_str(r.get()).ok())
    }

    /// The description, if any.
    pub fn description(&self) -> Option<String> {
        self.field("description")
            .and_then(|v| v.as_str().map(str::to_owned))
    }

    /// The whole definition as a value.
    pub fn to_value(&self) -> Value {
        let mut map = serde_json::Map::new();
        for (k, v) in &self.fields {
            map.insert(
                k.clone(),
                serde_json::from_str(v.get()).unwrap_or(Value::Null),
            );
        }
        Value::Object(map)
    }

    /// The definition with another name, everything else byte for byte.
    pub fn renamed(&self, name: &str) -> Box<RawValue> {
        let mut fields = self.fields.clone();
        fields.insert("name".into(), to_raw(name));
        to_raw(&fields)
    }
}
