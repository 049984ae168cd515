//! The scanner's vocabulary, which every rule file speaks: a [`Finding`]
//! with its [`Severity`] and [`Span`], the rules' ids and descriptions
//! ([`RULES`]), the strings of a definition that are read ([`Field`]).

use serde::{Deserialize, Serialize};

/// How much a finding should weigh in a person's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Unusual, often harmless; worth a glance.
    Low,
    /// Suspicious on its own; read the excerpt before approving.
    Medium,
    /// Matches a known poisoning technique; approve only if you understand why it is there.
    High,
}

impl Severity {
    /// The stable lowercase spelling used in the database and JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// The severity spelled `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            _ => None,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing the scanner noticed in a tool definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule's stable id, one of [`RULES`].
    pub rule: &'static str,
    /// How much it should weigh.
    pub severity: Severity,
    /// What was found and where, in a sentence.
    pub message: String,
    /// The text around the match, with invisible characters made visible.
    pub excerpt: String,
    /// Exactly what matched and where. Findings stored by a release that
    /// did not keep spans, read back before the tool is listed again, have
    /// none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
}

/// The exact text a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// The string of the definition it is in, as a dotted path
    /// (`description`, `inputSchema.properties.path.description`); text
    /// decoded from an encoding says so (`description (decoded base64)`).
    pub field: String,
    /// Byte offset of the first matched byte in that string.
    pub start: usize,
    /// Byte offset just past the match.
    pub end: usize,
    /// The matched text itself.
    pub text: String,
}

impl Span {
    /// The span `start..end` of `text`, found in `field`.
    pub(super) fn of(field: &str, text: &str, start: usize, end: usize) -> Span {
        Span {
            field: field.to_owned(),
            start,
            end,
            text: text.get(start..end).unwrap_or_default().to_owned(),
        }
    }
}

/// A rule the scanner applies: its id and what it looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    /// The stable id reported in [`Finding::rule`].
    pub id: &'static str,
    /// What the rule looks for.
    pub summary: &'static str,
}

/// Instructions aimed at the model and hidden from the person.
pub const RULE_HIDDEN_INSTRUCTIONS: &str = "hidden-instructions";
/// Instructions about other tools (shadowing) or preference manipulation.
pub const RULE_TOOL_SHADOWING: &str = "tool-shadowing";
/// Paths and names of secrets (SSH keys, cloud credentials, MCP configs).
pub const RULE_SECRET_PATHS: &str = "secret-paths";
/// Sending data out: URLs with send verbs, collectors, "include the contents of".
pub const RULE_EXFILTRATION: &str = "exfiltration";
/// Invisible, bidirectional, tag or terminal control characters.
pub const RULE_INVISIBLE_UNICODE: &str = "invisible-unicode";
/// Long base64 runs, which can carry instructions no person reads.
pub const RULE_ENCODED_BLOB: &str = "encoded-blob";
/// Runs of whitespace that push text out of sight.
pub const RULE_PADDING: &str = "whitespace-padding";
/// A single string longer than [`ScanSettings::max_text_chars`].
pub const RULE_OVERSIZED: &str = "oversized-text";
/// Shell commands for the model to run, or dangerous command text.
pub const RULE_COMMAND_INJECTION: &str = "command-injection";
/// Claims of being the best, endorsed or required, meant to win the model's choice.
pub const RULE_PREFERENCE: &str = "preference-manipulation";
/// Claims that other tools are deprecated or broken, to send the model here.
pub const RULE_REDIRECTION: &str = "tool-redirection";
/// Parameters that ask for data the tool has no need of.
pub const RULE_PARAMETER_POISONING: &str = "parameter-poisoning";
/// Latin look-alike letters from other scripts inside a word.
pub const RULE_HOMOGLYPH: &str = "homoglyph";
/// A near copy of another server's tool (needs the catalogue).
pub const RULE_FUNCTION_OVERLAP: &str = "function-overlap";

/// Every rule, with a one-line summary (for `--help` texts and the UI).
pub const RULES: &[RuleInfo] = &[
    RuleInfo {
        id: RULE_HIDDEN_INSTRUCTIONS,
        summary: "instructions aimed at the model: \"ignore previous instructions\", \
                  \"do not tell the user\", <IMPORTANT>/<SYSTEM> blocks, \"before using this tool you must\"",
    },
    RuleInfo {
        id: RULE_TOOL_SHADOWING,
        summary: "instructions about other tools: \"when the X tool is called\", \
                  \"instead of using\", changing recipients or results",
    },
    RuleInfo {
        id: RULE_SECRET_PATHS,
        summary: "paths to secrets: ~/.ssh, id_rsa, .env, .aws, mcp.json, browser and wallet stores",
    },
    RuleInfo {
        id: RULE_EXFILTRATION,
        summary: "sending data out: posting to URLs, request collectors, \
                  \"include the contents of\", conversation history in arguments",
    },
    RuleInfo {
        id: RULE_INVISIBLE_UNICODE,
        summary: "zero-width, bidirectional, tag and terminal control characters",
    },
    RuleInfo {
        id: RULE_ENCODED_BLOB,
        summary: "long base64 runs (decoded and read again when they hold text)",
    },
    RuleInfo {
        id: RULE_PADDING,
        summary: "long runs of spaces or blank lines that push text out of view",
    },
    RuleInfo {
        id: RULE_OVERSIZED,
        summary: "a single string longer than the configured limit",
    },
    RuleInfo {
        id: RULE_COMMAND_INJECTION,
        summary: "shell commands for the model to run: \"execute: curl …\", piping to a shell or nc, rm -rf",
    },
    RuleInfo {
        id: RULE_PREFERENCE,
        summary: "claims of rank or endorsement and orders to prefer this tool: \"the best tool\", \
                  \"recommended by experts\", \"always use this tool first\"",
    },
    RuleInfo {
        id: RULE_REDIRECTION,
        summary: "claims that other tools are deprecated, broken or replaced by this one",
    },
    RuleInfo {
        id: RULE_PARAMETER_POISONING,
        summary: "parameters asking for the model's identity, instructions or conversation, \
                  or switching safeguards off",
    },
    RuleInfo {
        id: RULE_HOMOGLYPH,
        summary: "words mixing Latin letters with look-alikes from Cyrillic, Greek or fullwidth forms",
    },
    RuleInfo {
        id: RULE_FUNCTION_OVERLAP,
        summary: "a tool named like another server's tool plus version or rank words, doing the same",
    },
];

/// The rule id spelled `id`, as the `'static` constant (used when findings
/// are read back from storage). Unknown ids, e.g. of a retired rule, give `None`.
pub fn rule_id(id: &str) -> Option<&'static str> {
    RULES.iter().find(|r| r.id == id).map(|r| r.id)
}

/// One string of a tool definition that reaches the model.
#[derive(Debug)]
pub(super) struct Field<'a> {
    /// Where it is, as a dotted path (`inputSchema.properties.path.description`).
    pub(super) location: String,
    /// Its text.
    pub(super) text: &'a str,
    /// What kind of string it is.
    pub(super) kind: FieldKind,
}

/// What a scanned string is, for rules that read only some of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldKind {
    /// The tool's own name.
    Name,
    /// A parameter's name (a key of `properties`).
    ParameterName,
    /// Any other text: descriptions, titles, defaults, enums, examples.
    Text,
}
