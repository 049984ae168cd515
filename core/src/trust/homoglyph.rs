//! Letters from another script posing as Latin ones.
//!
//! `reаd_data` with a Cyrillic `а` looks like `read_data` to a person and is
//! another tool to the gateway and the model; mixed letters inside one word
//! also slip past phrase rules. A word that mixes ASCII letters with
//! Cyrillic, Greek, Armenian or fullwidth letters is reported; whole words
//! in another script (a Russian or Greek description) are not.

use super::finding::{Field, FieldKind, Finding, Severity, Span, RULE_HOMOGLYPH};
use super::unicode::excerpt;

/// Scripts whose letters have Latin look-alikes.
fn lookalike_script(c: char) -> bool {
    matches!(u32::from(c),
        0x0370..=0x03FF   // Greek
        | 0x0400..=0x052F // Cyrillic and its supplement
        | 0x0530..=0x058F // Armenian
        | 0xFF21..=0xFF3A // fullwidth A-Z
        | 0xFF41..=0xFF5A // fullwidth a-z
    )
}

/// Reports the first word of `field` that mixes ASCII letters with
/// look-alike letters of another script.
pub(super) fn check(field: &Field<'_>, out: &mut Vec<Finding>) {
    let text = field.text;
    let mut start = 0;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            continue;
        }
        let word = &text[start..i];
        let ascii = word.chars().any(|c| c.is_ascii_alphabetic());
        if ascii {
            if let Some((at, odd)) = word.char_indices().find(|(_, c)| lookalike_script(*c)) {
                let (s, e) = (start + at, start + at + odd.len_utf8());
                let what = match field.kind {
                    FieldKind::Name | FieldKind::ParameterName => "name",
                    FieldKind::Text => "text",
                };
                out.push(Finding {
                    rule: RULE_HOMOGLYPH,
                    severity: Severity::High,
                    message: format!(
                        "{} mixes Latin letters with a look-alike letter from another script \
                         (U+{:04X} in {word:?}); the {what} only looks like the one a person reads",
                        field.location,
                        u32::from(odd)
                    ),
                    excerpt: excerpt(text, s, e),
                    span: Some(Span::of(&field.location, text, s, e)),
                });
                return;
            }
        }
        start = i + c.len_utf8();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<Finding> {
        let field = Field {
            location: "name".to_owned(),
            text,
            kind: FieldKind::Name,
        };
        let mut out = Vec::new();
        check(&field, &mut out);
        out
    }

    #[test]
    fn a_cyrillic_letter_inside_a_latin_name_is_reported() {
        let found = run("re\u{0430}d_data");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].span.as_ref().unwrap().text, "\u{0430}");
    }

    #[test]
    fn words_wholly_in_one_script_pass() {
        assert!(run("read_data").is_empty());
        assert!(run("Получить погоду for a city").is_empty());
        assert!(run("αβγ δ").is_empty());
    }
}
