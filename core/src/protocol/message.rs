//! A lossless JSON-RPC 2.0 message.
//!
//! The gateway reads the envelope (`id`, `method`) and keeps every body
//! (`params`, `result`, `error`) as the exact JSON text it received. Members
//! of the envelope it does not know are kept too and written back out in
//! order. Only the parts the gateway must rewrite (tool lists, ids, progress
//! tokens) are ever parsed into values, by the code that rewrites them.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// The three shapes a JSON-RPC message can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Has an `id` and a `method`: expects a response.
    Request,
    /// Has a `method` and no `id`.
    Notification,
    /// Has an `id` and a `result` or an `error`.
    Response,
}

/// One JSON-RPC message with its bodies kept as raw JSON.
#[derive(Debug, Clone, Default)]
pub struct Message {
    /// The request or response id, exactly as sent (a string, a number or null).
    pub id: Option<Box<RawValue>>,
    /// The method of a request or notification.
    pub method: Option<String>,
    /// Parameters, untouched.
    pub params: Option<Box<RawValue>>,
    /// A successful response's result, untouched.
    pub result: Option<Box<RawValue>>,
    /// An error response's error object, untouched.
    pub error: Option<Box<RawValue>>,
    /// Envelope members this gateway does not know, in the order received.
    pub extra: Vec<(String, Box<RawValue>)>,
}

/// Why bytes could not be read as a JSON-RPC message.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The text is not JSON, or not a JSON object.
    #[error("not a JSON-RPC message: {0}")]
    Json(#[from] serde_json::Error),
    /// The message is larger than the configured limit.
    #[error("message of {size} bytes is larger than the limit of {limit} bytes (raise `max_message_bytes` in [gateway] if this is expected)")]
    TooLarge {
        /// Size of the message.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Arrays and objects nest deeper than the gateway reads.
    #[error("the message nests arrays and objects {depth} deep, deeper than the limit of {limit}; flatten the data")]
    TooDeep {
        /// How deep it got before the scan stopped.
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// The object is JSON but not a valid JSON-RPC 2.0 message.
    #[error("invalid JSON-RPC message: {0}")]
    Invalid(&'static str),
}

/// Refuses text that is too large or nests too deeply, before any parsing.
fn check_shape(bytes: &[u8], limit: usize) -> Result<(), ParseError> {
    if bytes.len() > limit {
        return Err(ParseError::TooLarge {
            size: bytes.len(),
            limit,
        });
    }
    if let Some(depth) = super::depth::too_deep(bytes, super::depth::MAX_JSON_DEPTH) {
        return Err(ParseError::TooDeep {
            depth,
            limit: super::depth::MAX_JSON_DEPTH,
        });
    }
    Ok(())
}

impl Message {
    /// Parses one message, refusing anything larger than `limit` bytes.
    /// Refuses as well anything nested deeper than [`MAX_JSON_DEPTH`](super::MAX_JSON_DEPTH)
    /// and ids that are not strings or numbers.
    pub fn parse(bytes: &[u8], limit: usize) -> Result<Self, ParseError> {
        check_shape(bytes, limit)?;
        let msg: Message = serde_json::from_slice(bytes)?;
        msg.validate()?;
        Ok(msg)
    }

    /// Parses a body that is either one message or a batch (a JSON array).
    pub fn parse_many(bytes: &[u8], limit: usize) -> Result<(Vec<Self>, bool), ParseError> {
        check_shape(bytes, limit)?;
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first == Some(&b'[') {
            let batch: Vec<Message> = serde_json::from_slice(bytes)?;
            if batch.is_empty() {
                return Err(ParseError::Invalid("empty batch"));
            }
            for m in &batch {
                m.validate()?;
            }
            Ok((batch, true))
        } else {
            Ok((vec![Self::parse(bytes, limit)?], false))
        }
    }

    fn validate(&self) -> Result<(), ParseError> {
        if let Some(id) = &self.id {
            // JSON-RPC allows null only where a request's id could not be read.
            let null_ok = self.method.is_none() && self.error.is_some();
            match id.get().as_bytes().first() {
                Some(b'"' | b'-' | b'0'..=b'9') => {}
                Some(b'n') if null_ok => {}
                _ => return Err(ParseError::Invalid("an id must be a string or a number")),
            }
        }
        match (&self.method, &self.id, &self.result, &self.error) {
            (Some(_), _, None, None) => Ok(()),
            (None, Some(_), Some(_), None) | (None, Some(_), None, Some(_)) => Ok(()),
            (Some(_), _, _, _) => Err(ParseError::Invalid(
                "a request cannot carry a result or an error",
            )),
            (None, None, _, _) => Err(ParseError::Invalid("a message needs a method or an id")),
            (None, Some(_), None, None) => {
                Err(ParseError::Invalid("a response needs a result or an error"))
            }
            (None, Some(_), Some(_), Some(_)) => Err(ParseError::Invalid(
                "a response cannot carry both a result and an error",
            )),
        }
    }

    /// Which of the three shapes this message is.
    pub fn kind(&self) -> Kind {
        match (&self.method, &self.id) {
            (Some(_), Some(_)) => Kind::Request,
            (Some(_), None) => Kind::Notification,
            _ => Kind::Response,
        }
    }

    /// A request.
    pub fn request(
        id: Box<RawValue>,
        method: impl Into<String>,
        params: Option<Box<RawValue>>,
    ) -> Self {
        Self {
            id: Some(id),
            method: Some(method.into()),
            params,
            ..Self::default()
        }
    }

    /// A notification.
    pub fn notification(method: impl Into<String>, params: Option<Box<RawValue>>) -> Self {
        Self {
            method: Some(method.into()),
            params,
            ..Self::default()
        }
    }

    /// A successful response.
    pub fn response(id: Box<RawValue>, result: Box<RawValue>) -> Self {
        Self {
            id: Some(id),
            result: Some(result),
            ..Self::default()
        }
    }

    /// An error response.
    pub fn error_response(
        id: Box<RawValue>,
        code: i64,
        message: &str,
        data: Option<Value>,
    ) -> Self {
        let mut err = serde_json::json!({ "code": code, "message": message });
        if let Some(data) = data {
            err["data"] = data;
        }
        Self {
            id: Some(id),
            error: Some(to_raw(&err)),
            ..Self::default()
        }
    }

    /// The method name, or "" for a response.
    pub fn method(&self) -> &str {
        self.method.as_deref().unwrap_or("")
    }

    /// The id's JSON text, usable as a map key.
    pub fn id_key(&self) -> Option<&str> {
        self.id.as_deref().map(RawValue::get)
    }

    /// Parses the params as `T`, or `None` when there are none.
    pub fn params_as<T: for<'de> Deserialize<'de>>(&self) -> Result<Option<T>, serde_json::Error> {
        self.params
            .as_deref()
            .map(|p| serde_json::from_str(p.get()))
            .transpose()
    }

    /// Writes the message as compact JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut size = 32 + self.method.as_ref().map_or(0, |m| m.len() + 12);
        for part in [&self.id, &self.params, &self.result, &self.error]
            .into_iter()
            .flatten()
        {
            size += part.get().len() + 12;
        }
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(br#"{"jsonrpc":"2.0""#);
        if let Some(id) = &self.id {
            out.extend_from_slice(br#","id":"#);
            out.extend_from_slice(id.get().as_bytes());
        }
        if let Some(method) = &self.method {
            out.extend_from_slice(br#","method":"#);
            // Writing a &str into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut out, method);
        }
        for (key, part) in [
            ("params", &self.params),
            ("result", &self.result),
            ("error", &self.error),
        ] {
            if let Some(part) = part {
                out.extend_from_slice(b",\"");
                out.extend_from_slice(key.as_bytes());
                out.extend_from_slice(b"\":");
                out.extend_from_slice(part.get().as_bytes());
            }
        }
        for (key, value) in &self.extra {
            out.push(b',');
            let _ = serde_json::to_writer(&mut out, key);
            out.push(b':');
            out.extend_from_slice(value.get().as_bytes());
        }
        out.push(b'}');
        out
    }

    /// The message as a JSON string.
    pub fn to_json_string(&self) -> String {
        // to_bytes only writes valid UTF-8: JSON text and serde_json output.
        String::from_utf8(self.to_bytes()).unwrap_or_default()
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json_string())
    }
}

/// Serializes a value to raw JSON. Serializing a `Value` cannot fail.
pub fn to_raw<T: serde::Serialize + ?Sized>(value: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).unwrap_or_else(|_| raw("null"))
}

/// Wraps JSON text that is known to be valid.
pub fn raw(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_owned())
        .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null is JSON"))
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MessageVisitor)
    }
}

struct MessageVisitor;

impl<'de> Visitor<'de> for MessageVisitor {
    type Value = Message;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC 2.0 object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Message, A::Error> {
        let mut msg = Message::default();
        let mut version_seen = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "jsonrpc" => {
                    let v: std::borrow::Cow<'de, str> = map.next_value()?;
                    if v != "2.0" {
                        return Err(de::Error::custom("`jsonrpc` must be \"2.0\""));
                    }
                    version_seen = true;
                }
                "id" => msg.id = Some(map.next_value()?),
                "method" => msg.method = Some(map.next_value()?),
                "params" => msg.params = Some(map.next_value()?),
                "result" => msg.result = Some(map.next_value()?),
                "error" => msg.error = Some(map.next_value()?),
                _ => {
                    let value: Box<RawValue> = map.next_value()?;
                    msg.extra.push((key.into_owned(), value));
                }
            }
        }
        if !version_seen {
            return Err(de::Error::custom("missing `jsonrpc`: \"2.0\""));
        }
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) -> Value {
        let msg = Message::parse(text.as_bytes(), 1 << 20).expect("parses");
        serde_json::from_slice(&msg.to_bytes()).expect("valid JSON out")
    }

    #[test]
    fn unknown_members_and_odd_json_survive() {
        let text = r#"{"jsonrpc":"2.0","id":"a\u00e9\"b","method":"x/unknown","params":{"_meta":{"k":[1,2.50,1e400]},"z":null,"a":{"deep":["\ud83d\ude00"]}},"extension":{"n":-0.0}}"#;
        let msg = Message::parse(text.as_bytes(), 1 << 20).unwrap();
        assert_eq!(msg.kind(), Kind::Request);
        // Bodies are byte-identical, not merely equal as values.
        assert!(String::from_utf8(msg.to_bytes())
            .unwrap()
            .contains(r#"{"_meta":{"k":[1,2.50,1e400]},"z":null,"a":{"deep":["\ud83d\ude00"]}}"#));
        assert!(msg.to_json_string().contains(r#""extension":{"n":-0.0}"#));
    }

    #[test]
    fn values_equal_after_roundtrip() {
        let text = r#"{"jsonrpc":"2.0","id":7,"result":{"tools":[],"nextCursor":"c","x-vendor":{"q":true}},"trace":"t"}"#;
        let want: Value = serde_json::from_str(text).unwrap();
        assert_eq!(roundtrip(text), want);
    }

    #[test]
    fn rejects_bad_messages() {
        for bad in [
            r#"[1]"#,
            r#"{"id":1,"method":"x"}"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"jsonrpc":"2.0"}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":1,"error":{}}"#,
            r#"{"jsonrpc":"2.0","id":[1],"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":{"a":1},"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":true,"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":null,"result":{}}"#,
        ] {
            assert!(Message::parse(bad.as_bytes(), 1024).is_err(), "{bad}");
        }
    }

    #[test]
    fn size_limit_is_enforced_before_parsing() {
        let big = format!(
            r#"{{"jsonrpc":"2.0","method":"x","params":"{}"}}"#,
            "a".repeat(2048)
        );
        match Message::parse(big.as_bytes(), 1024) {
            Err(ParseError::TooLarge { size, limit }) => {
                assert_eq!((size, limit), (big.len(), 1024));
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn ids_are_strings_or_numbers_and_null_only_on_errors() {
        for ok in [
            r#"{"jsonrpc":"2.0","id":"a","method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":-1.5,"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"m"}}"#,
        ] {
            assert!(Message::parse(ok.as_bytes(), 1024).is_ok(), "{ok}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = |n: usize| {
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"arguments":{}1{}}}}}"#,
                "[".repeat(n),
                "]".repeat(n)
            )
        };
        let limit = crate::protocol::MAX_JSON_DEPTH;
        assert!(Message::parse(deep(limit - 3).as_bytes(), 1 << 20).is_ok());
        match Message::parse(deep(10_000).as_bytes(), 1 << 20) {
            Err(e @ ParseError::TooDeep { .. }) => assert!(e.to_string().contains("128")),
            other => panic!("expected TooDeep, got {other:?}"),
        }
        let id = format!(
            r#"[{{"jsonrpc":"2.0","id":{}1{},"method":"x"}}]"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(matches!(
            Message::parse_many(id.as_bytes(), 1 << 20),
            Err(ParseError::TooDeep { .. })
        ));
    }

    #[test]
    fn batches() {
        let (msgs, batch) = Message::parse_many(
            br#" [{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","id":1,"method":"b"}]"#,
            1024,
        )
        .unwrap();
        assert!(batch);
        assert_eq!(msgs.len(), 2);
        assert!(Message::parse_many(b"[]", 1024).is_err());
    }
}
