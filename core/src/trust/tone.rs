//! Advertising tone: a description that sells instead of describing.
//!
//! Preference-manipulation papers rewrite a tool's description as
//! advertising ("effortlessly transform…", "an invaluable method",
//! "captivating"), which makes models pick it without any single phrase
//! that claims rank. A tool description states what the tool does; one
//! promotional word is common, two or more distinct ones in one text are
//! not (4 of the 985 benign tools of the evaluation set, none of a real
//! server). The vocabulary is that of advertising copy in general: praise
//! adverbs and adjectives, appeals to the reader's benefit and feelings.

use regex::Regex;

use super::finding::{Field, FieldKind, Finding, Severity, Span, RULE_PREFERENCE};
use super::unicode::excerpt;

/// The promotional vocabulary, compiled (held in `regexes.rs` while scans run).
pub(super) fn compile() -> Regex {
    Regex::new(
        r"(?i)\b(effortless(ly)?|seamless(ly)?|elegant(ly)?|captivating|exceptional|invaluable|pristine|exquisite|unlock|discover|delve|gracefully|fluidly|intuitively|engaging|tapestry|transformative|sanctuary|breathe|journey|resonates?|inspiration|insightful|dependable|unparalleled|unmatched|cutting[- ]edge|state[- ]of[- ]the[- ]art|revolutionary|world[- ]class|trusted|reliable|renowned|acclaimed|premier|leading|top[- ]quality|hassle[- ]free|peace\s+of\s+mind|stay\s+(informed|ahead|updated)|competitive|empower\w*|elevate|enhanc\w+\s+your|your\s+(creativity|strategy|experience|workflow))\b",
    )
    .expect("valid regex")
}

/// Distinct promotional words that make a text advertising.
const THRESHOLD: usize = 2;

/// Reports a text with [`THRESHOLD`] or more distinct promotional words.
pub(super) fn check(promotional: &Regex, field: &Field<'_>, out: &mut Vec<Finding>) {
    if field.kind != FieldKind::Text {
        return;
    }
    let mut seen: Vec<String> = Vec::new();
    let mut first: Option<(usize, usize)> = None;
    for m in promotional.find_iter(field.text) {
        let word = m.as_str().to_lowercase();
        if !seen.contains(&word) {
            seen.push(word);
            first.get_or_insert((m.start(), m.end()));
        }
    }
    let Some((start, end)) = first.filter(|_| seen.len() >= THRESHOLD) else {
        return;
    };
    out.push(Finding {
        rule: RULE_PREFERENCE,
        severity: Severity::Medium,
        message: format!(
            "{} reads like advertising ({}) rather than a description of what the tool does; \
             such text steers the model's choice of tool",
            field.location,
            seen.join(", ")
        ),
        excerpt: excerpt(field.text, start, end),
        span: Some(Span::of(&field.location, field.text, start, end)),
    });
}
