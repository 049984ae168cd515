//! How the CLI prints the scanner's findings: one line each, naming the
//! severity, the rule, the string of the definition and the exact text that
//! matched, then the one sentence of why.
//!
//! The matched text comes from an upstream, so it is printed quoted with
//! every control and invisible character escaped: it can neither move the
//! cursor nor hide itself on the person's terminal.

use serde_json::Value;

/// How many characters of matched text a line shows before cutting it.
const TEXT_SHOWN: usize = 100;

/// `! high hidden-instructions in description: "<IMPORTANT>" — why`, or,
/// for a finding stored without its span, `! high hidden-instructions: why`.
pub(super) fn finding_line(f: &Value) -> String {
    let field = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or_default();
    let head = format!("! {} {}", field("severity"), field("rule"));
    let span = f.get("span").filter(|s| s.is_object());
    match span {
        Some(span) => {
            let in_field = span.get("field").and_then(Value::as_str).unwrap_or("?");
            let text = span.get("text").and_then(Value::as_str).unwrap_or_default();
            format!(
                "{head} in {in_field}: {} — {}",
                quoted(text),
                field("message")
            )
        }
        None => format!("{head}: {}", field("message")),
    }
}

/// Whether any of `findings` is high-severity.
pub(super) fn has_high(findings: Option<&Value>) -> bool {
    findings
        .and_then(Value::as_array)
        .is_some_and(|f| f.iter().any(|f| f["severity"] == "high"))
}

/// The rules with a high-severity finding, each once.
pub(super) fn high_rules(findings: Option<&Value>) -> Vec<String> {
    let mut rules: Vec<String> = Vec::new();
    for f in findings.and_then(Value::as_array).into_iter().flatten() {
        if f["severity"] != "high" {
            continue;
        }
        if let Some(rule) = f["rule"].as_str().filter(|r| !rules.iter().any(|x| x == r)) {
            rules.push(rule.to_owned());
        }
    }
    rules
}

/// `text` in double quotes, escaped, cut after [`TEXT_SHOWN`] characters.
fn quoted(text: &str) -> String {
    let mut shown: String = text.chars().take(TEXT_SHOWN).collect();
    let cut = shown.len() < text.len();
    if cut {
        // Never end on half of an escape: cut whole characters, then mark it.
        shown = format!("{shown:?}");
        shown.insert(shown.len() - 1, '…');
        return shown;
    }
    format!("{shown:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_finding_names_its_field_and_the_matched_text() {
        let f = json!({
            "rule": "hidden-instructions",
            "severity": "high",
            "message": "Tells the model to keep something from the user.",
            "excerpt": "…",
            "span": {"field": "inputSchema.properties.x.description", "start": 3, "end": 14, "text": "<IMPORTANT>"},
        });
        assert_eq!(
            finding_line(&f),
            "! high hidden-instructions in inputSchema.properties.x.description: \"<IMPORTANT>\" — Tells the model to keep something from the user."
        );
    }

    #[test]
    fn a_finding_stored_without_its_span_prints_the_message() {
        let f = json!({"rule": "secret-paths", "severity": "medium", "message": "Names ~/.ssh.", "excerpt": ""});
        assert_eq!(finding_line(&f), "! medium secret-paths: Names ~/.ssh.");
    }

    #[test]
    fn matched_text_cannot_hide_or_drive_the_terminal() {
        let f = json!({
            "rule": "invisible-unicode", "severity": "high", "message": "m",
            "span": {"field": "description", "start": 0, "end": 9, "text": "a\u{1b}[2J\u{200b}\n"},
        });
        let line = finding_line(&f);
        assert!(!line.contains('\u{1b}') && !line.contains('\u{200b}') && !line.contains('\n'));
        assert!(line.contains(r#""a\u{1b}[2J\u{200b}\n""#), "{line}");
        let long = "x".repeat(300);
        let f = json!({"rule": "r", "severity": "low", "message": "m", "span": {"field": "description", "text": long}});
        assert!(finding_line(&f).contains(&format!("\"{}…\"", "x".repeat(100))));
    }
}
