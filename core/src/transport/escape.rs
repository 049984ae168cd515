//! Upstream text made safe to log and to show: control characters (the
//! escape sequences a terminal would obey, carriage returns that hide what
//! came before, bidirectional overrides) are written as `\u{..}` escapes,
//! so what an upstream prints cannot rewrite the log or the terminal.

/// `text` with every control character and bidirectional override escaped;
/// a tab stays a tab.
pub(crate) fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if (c.is_control() && c != '\t') || bidi {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_bytes_and_overrides_are_escaped() {
        assert_eq!(
            printable("a\u{1b}[2Jb\rc\u{7}\td\u{202e}"),
            "a\\u{1b}[2Jb\\u{d}c\\u{7}\td\\u{202e}"
        );
        assert_eq!(printable("plain é ✓"), "plain é ✓");
    }
}
