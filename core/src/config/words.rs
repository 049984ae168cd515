//! Arguments written in one string, split the way a shell would: the CLI's
//! `--args "-y @scope/pkg"` and the window's arguments field mean the same.

/// A quote that was opened and never closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` has an unclosed quote")]
pub struct UnclosedQuote(pub String);

/// Splits `text` into words: whitespace separates them, single and double
/// quotes group them, a backslash escapes the next character (inside
/// double quotes too; inside single quotes nothing is special).
pub fn split_words(text: &str) -> Result<Vec<String>, UnclosedQuote> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => word.extend(chars.next()),
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                word.extend(chars.next());
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(UnclosedQuote(text.to_owned()));
    }
    if in_word {
        out.push(word);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::split_words;

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(split_words("-y @scope/pkg").unwrap(), ["-y", "@scope/pkg"]);
        assert_eq!(
            split_words("\"a b\" 'c d' e\\ f --flag=x ''").unwrap(),
            ["a b", "c d", "e f", "--flag=x", ""]
        );
        assert!(split_words("\"open").is_err());
    }
}
