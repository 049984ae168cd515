//! Server-sent events, parsed from a byte stream.

use bytes::{Buf, BytesMut};

/// One event.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// `event:`; empty means "message".
    pub(crate) event: String,
    /// `data:` lines joined by newlines.
    pub(crate) data: String,
    /// `id:`.
    pub(crate) id: Option<String>,
}

/// Incremental parser: feed chunks, take complete events.
#[derive(Default)]
pub(crate) struct SseParser {
    buf: BytesMut,
    current: SseEvent,
    has_data: bool,
    limit: usize,
    /// The last `id:` seen on the stream (for `Last-Event-ID` when resuming).
    pub(crate) last_id: Option<String>,
    /// The last `retry:` the server asked for, in milliseconds.
    pub(crate) retry_ms: Option<u64>,
}

/// An event or line exceeded the size limit.
#[derive(Debug)]
pub(crate) struct TooLarge;

impl SseParser {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// Adds bytes and returns the events they complete.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, TooLarge> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(pos) = self.buf.iter().position(|b| *b == b'\n' || *b == b'\r') {
            let mut line = self.buf.split_to(pos);
            // Consume the terminator: \n, \r or \r\n.
            let cr = self.buf[0] == b'\r';
            self.buf.advance(1);
            if cr && self.buf.first() == Some(&b'\n') {
                self.buf.advance(1);
            }
            if line.is_empty() {
                if self.has_data {
                    out.push(std::mem::take(&mut self.current));
                } else {
                    self.current = SseEvent::default();
                }
                self.has_data = false;
                continue;
            }
            let text = String::from_utf8_lossy(&line).into_owned();
            line.clear();
            if text.starts_with(':') {
                continue;
            }
            let (field, value) = match text.split_once(':') {
                Some((f, v)) => (f.to_owned(), v.strip_prefix(' ').unwrap_or(v).to_owned()),
                None => (text, String::new()),
            };
            match field.as_str() {
                "event" => self.current.event = value,
                "data" => {
                    if self.has_data {
                        self.current.data.push('\n');
                    }
                    self.current.data.push_str(&value);
                    self.has_data = true;
                    if self.current.data.len() > self.limit {
                        return Err(TooLarge);
                    }
                }
                "id" => {
                    self.last_id = Some(value.clone());
                    self.current.id = Some(value);
                }
                "retry" => self.retry_ms = value.trim().parse().ok().or(self.retry_ms),
                _ => {}
            }
        }
        if self.buf.len() > self.limit {
            return Err(TooLarge);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_split_events() {
        let mut p = SseParser::new(1 << 20);
        let mut got = p
            .feed(b"event: endpoint\r\ndata: /messages?s=1\r\n\r\n: comment\n\nid: 7\ndata: {\"a\"")
            .unwrap();
        got.extend(p.feed(b":1}\ndata: x\n\n").unwrap());
        assert_eq!(
            got[0],
            SseEvent {
                event: "endpoint".into(),
                data: "/messages?s=1".into(),
                id: None
            }
        );
        assert_eq!(
            got[1],
            SseEvent {
                event: String::new(),
                data: "{\"a\":1}\nx".into(),
                id: Some("7".into())
            }
        );
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn bounded() {
        let mut p = SseParser::new(16);
        assert!(p.feed(&[b'x'; 64]).is_err());
    }
}
