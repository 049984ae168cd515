//! Parameters that ask for what the tool has no need of.
//!
//! A parameter is a question the model answers with whatever it knows: a
//! poisoned tool adds one named for the model's own identity, its system
//! prompt, the conversation, or a switch that turns safety off, or writes a
//! parameter description that insists an optional field is required. The
//! model fills it in and the upstream receives it. Names are matched whole,
//! so an ordinary `model` or `prompt` parameter of an AI tool passes.

use regex::Regex;

use super::finding::{Field, FieldKind, Finding, Severity, Span, RULE_PARAMETER_POISONING};
use super::unicode::excerpt;

/// The parameter rules, compiled (held in `regexes.rs` while scans run).
pub(super) struct ParameterRules {
    /// Parameter names that ask for the model's identity, instructions or
    /// conversation, or that exist to switch safeguards off.
    suspicious_name: Regex,
    /// Parameter descriptions that ask about the caller or contradict the schema.
    suspicious_text: Regex,
}

impl ParameterRules {
    pub(super) fn compile() -> ParameterRules {
        ParameterRules {
            suspicious_name: suspicious_name(),
            suspicious_text: suspicious_text(),
        }
    }
}

fn suspicious_name() -> Regex {
    Regex::new(
        r"(?i)^(llm|assistant|caller|calling)_?(model_?)?(name|id|version|identity|type)$|^(system_?prompt|system_?instructions?|conversation(_?history)?|chat_?history|previous_?messages|context_?injection|override_?\w+|bypass_?\w+|\w*jailbreak\w*|simulate_?privileges?|emergency_?override|trust_?level|disable_?(safety|security|filters?|validation)\w*)$",
    )
    .expect("valid regex")
}

fn suspicious_text() -> Regex {
    Regex::new(
        r"(?i)\bthe\s+name\s+of\s+the\s+(llm|ai|language\s+model|model|assistant)\b|\b(llm|ai|model|assistant|agent)\s+(\w+\s+)?(that|which|who)\s+(is\s+)?(calls|calling|invokes|invoking|uses|using)\s+this\s+(tool|function)\b|\b(although|even\s+though)\s+(it\s+is\s+|it's\s+)?(marked|listed|shown|declared)\s+as\s+optional\b",
    )
    .expect("valid regex")
}

/// Reports a parameter that asks for data the tool should not need.
pub(super) fn check(rules: &ParameterRules, field: &Field<'_>, out: &mut Vec<Finding>) {
    let (regex, says) = match field.kind {
        FieldKind::ParameterName => (
            &rules.suspicious_name,
            "asks the model for its identity, its instructions, the conversation, \
             or for safeguards to be switched off",
        ),
        FieldKind::Text => (
            &rules.suspicious_text,
            "asks the model about itself or insists an optional parameter is required",
        ),
        FieldKind::Name => return,
    };
    if let Some(m) = regex.find(field.text) {
        out.push(Finding {
            rule: RULE_PARAMETER_POISONING,
            severity: Severity::High,
            message: format!("{} {says}", field.location),
            excerpt: excerpt(field.text, m.start(), m.end()),
            span: Some(Span::of(&field.location, field.text, m.start(), m.end())),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: FieldKind, text: &str) -> Vec<Finding> {
        let field = Field {
            location: "inputSchema.properties.x".to_owned(),
            text,
            kind,
        };
        let mut out = Vec::new();
        check(&ParameterRules::compile(), &field, &mut out);
        out
    }

    #[test]
    fn parameters_about_the_model_or_safeguards_are_reported() {
        for name in [
            "llm_model_name",
            "system_prompt",
            "bypass_filters",
            "conversation_history",
        ] {
            assert_eq!(run(FieldKind::ParameterName, name).len(), 1, "{name}");
        }
        let text = "The name of the LLM model that calls this tool";
        assert_eq!(run(FieldKind::Text, text).len(), 1);
    }

    #[test]
    fn ordinary_parameters_pass() {
        for name in [
            "model",
            "model_name",
            "prompt",
            "query",
            "override",
            "history",
        ] {
            assert!(run(FieldKind::ParameterName, name).is_empty(), "{name}");
        }
        assert!(run(FieldKind::Text, "The model to use for generation").is_empty());
    }
}
