//! Reading newline-delimited messages with a size limit that survives a
//! line that is too long: the line is skipped (and reported), the stream
//! goes on. (tokio-util's `LinesCodec` ends the stream after such an error.)

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// One line, or why there is none.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A line without its newline (a trailing `\r` is removed too).
    Text(Vec<u8>),
    /// A line longer than the limit was skipped; its length.
    TooLong(usize),
    /// The stream ended.
    Eof,
}

/// Reads lines of at most `limit` bytes.
pub(crate) struct LineReader<R> {
    inner: BufReader<R>,
    limit: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub(crate) fn new(inner: R, limit: usize) -> Self {
        Self {
            inner: BufReader::with_capacity(64 * 1024, inner),
            limit,
        }
    }

    /// The next line. Cancel-safe only between lines: do not drop a pending call mid-line.
    pub(crate) async fn next(&mut self) -> std::io::Result<Line> {
        let mut buf = Vec::new();
        let mut total = 0usize;
        let mut too_long = false;
        loop {
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                return Ok(match (total, too_long) {
                    (0, _) => Line::Eof,
                    (n, true) => Line::TooLong(n),
                    _ => Line::Text(trim_cr(buf)),
                });
            }
            let (chunk, consumed, done) = match available.iter().position(|b| *b == b'\n') {
                Some(i) => (&available[..i], i + 1, true),
                None => (available, available.len(), false),
            };
            total += chunk.len();
            if !too_long && buf.len() + chunk.len() <= self.limit {
                buf.extend_from_slice(chunk);
            } else {
                too_long = true;
                buf = Vec::new();
            }
            self.inner.consume(consumed);
            if done {
                return Ok(if too_long {
                    Line::TooLong(total)
                } else {
                    Line::Text(trim_cr(buf))
                });
            }
        }
    }
}

fn trim_cr(mut line: Vec<u8>) -> Vec<u8> {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn skips_long_lines_and_goes_on() {
        let text = format!("short\r\n{}\nafter\nlast", "x".repeat(100));
        let mut r = LineReader::new(text.as_bytes(), 10);
        assert_eq!(r.next().await.unwrap(), Line::Text(b"short".to_vec()));
        assert_eq!(r.next().await.unwrap(), Line::TooLong(100));
        assert_eq!(r.next().await.unwrap(), Line::Text(b"after".to_vec()));
        assert_eq!(r.next().await.unwrap(), Line::Text(b"last".to_vec()));
        assert_eq!(r.next().await.unwrap(), Line::Eof);
    }
}
