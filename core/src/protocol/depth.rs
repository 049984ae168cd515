//! How deeply JSON text nests, measured before anything parses it.
//!
//! Bodies are kept as raw JSON and serde_json skips over them without its own
//! recursion limit, so a 10,000-deep `arguments` object (or request id) would
//! pass through the gateway untouched and crash the program that finally
//! parses it. One linear scan over the bytes, with no allocation, refuses such
//! text first. The limit equals serde_json's own recursion limit: anything
//! deeper could not be read as a value by the gateway (or most peers) anyway.

/// The deepest nesting of arrays and objects a message may have, the
/// envelope and a batch's array included.
pub const MAX_JSON_DEPTH: usize = 128;

/// The deepest nesting in `text` if it goes past `limit`, else `None`.
/// Brackets inside strings do not count; the text need not be valid JSON
/// (the parser that follows says what else is wrong with it).
pub fn too_deep(text: &[u8], limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in text {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Some(depth);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_in_strings_do_not_count() {
        let text = format!(r#"{{"a":"{}\"[{{"}}"#, "[".repeat(500));
        assert_eq!(too_deep(text.as_bytes(), 2), None);
    }

    #[test]
    fn deep_arrays_and_objects_are_caught_at_the_limit() {
        let ok = format!("{}{}", "[".repeat(3), "]".repeat(3));
        assert_eq!(too_deep(ok.as_bytes(), 3), None);
        let deep = format!(r#"{{"a":{}1{}}}"#, "[".repeat(3), "]".repeat(3));
        assert_eq!(too_deep(deep.as_bytes(), 3), Some(4));
        assert_eq!(too_deep(b"[[[[[[", 5), Some(6));
    }

    #[test]
    fn an_escaped_backslash_ends_before_the_quote() {
        // "\\" is a complete string; the bracket after it counts.
        assert_eq!(too_deep(br#"["\\",[[1]]]"#, 2), Some(3));
    }
}
