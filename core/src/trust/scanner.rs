//! The offline scanner: flags tool definitions that look poisoned.
//!
//! A tool's name, title, description and every description, title, default,
//! const, example and enum string inside its schemas (and the names of its
//! parameters) reach the model verbatim, so an upstream can use them to give
//! the model orders. The scanner reads those strings with fixed rules (see
//! [`RULES`]) and reports what it finds, so a person sees it before approving
//! the tool. It never calls out to anything and never blocks on its own: the
//! decision stays with the person.
//!
//! Rules live in sibling files: phrase rules in `rules.rs` (with the tables
//! of `intent.rs`: orders to the model and commands; `dataflow.rs`: data
//! leaving the session; `claims.rs`: rank, redirection and shadowing claims),
//! advertising tone in `tone.rs`, parameters in `params.rs`, look-alike
//! letters in `homoglyph.rs`, invisible and control characters in
//! `unicode.rs`, encoded blobs in `blobs.rs`, and copies of other servers'
//! tools in `overlap.rs` (with a catalogue, [`Scanner::scan_in_catalogue`]).
//! Text hidden by an encoding (Unicode tag characters, base64) is decoded and
//! read again by the phrase rules. Every finding names its rule, severity and
//! exact [`Span`], and says why in one sentence. The rules' regexes are
//! compiled for a run of scans ([`ScanSession`]) and freed after it
//! (`regexes.rs`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::overlap::Catalogue;
use super::regexes::{self, Regexes};
use super::{blobs, homoglyph, params, tone, unicode};

// `SCANNER_SOURCE`: a hash of the trust module's source files (build.rs).
include!(concat!(env!("OUT_DIR"), "/scanner_source.rs"));

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

/// Tunable limits of the scanner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanSettings {
    /// A single string (description, schema text) longer than this many
    /// characters is reported as [`RULE_OVERSIZED`].
    ///
    /// Default 4,000. Published poisoning payloads fit in under 1,500
    /// characters, so length is not how they are caught; it matters because
    /// clients show a few lines and a long text hides what follows, and
    /// because every character costs context. Real tools run long: the
    /// reference `sequentialthinking` tool is close to 3,000 characters and
    /// hosted servers ship 3,000-character descriptions with usage guides,
    /// while the 663 tools of the project's evaluation sets stay under 1,800.
    /// 4,000 flags only texts twice the size of any benign tool we know,
    /// instead of teaching people to ignore the finding.
    pub max_text_chars: usize,
}

impl Default for ScanSettings {
    fn default() -> Self {
        ScanSettings {
            max_text_chars: 4_000,
        }
    }
}

/// A scanner with its settings. Cheap to clone and to share.
///
/// It holds no compiled rules: each scan, or each [`ScanSession`] for a run
/// of scans, compiles them unless a run in progress holds them already, and
/// they are freed when the last run ends.
#[derive(Debug, Clone, Default)]
pub struct Scanner {
    settings: ScanSettings,
}

impl Scanner {
    /// A scanner with these settings.
    pub fn new(settings: ScanSettings) -> Self {
        Scanner { settings }
    }

    /// The settings in use.
    pub fn settings(&self) -> &ScanSettings {
        &self.settings
    }

    /// Which scanner this is, as stored beside the findings it gives: the
    /// findings of a definition scanned by a scanner with the same
    /// fingerprint are the findings this one would give (the catalogue check
    /// aside, see [`Scanner::recheck_in_catalogue`]). It names the rules'
    /// source (any change to the trust module's code gives another) and the
    /// settings.
    pub fn fingerprint(&self) -> String {
        format!(
            "{SCANNER_SOURCE}:max_text_chars={}",
            self.settings.max_text_chars
        )
    }

    /// This scanner with its rules compiled, for a run of scans: compile
    /// once (about 70 ms), scan many, and drop it to free them.
    pub fn session(&self) -> ScanSession<'_> {
        ScanSession {
            scanner: self,
            regexes: regexes::shared(),
        }
    }

    /// The findings for one tool definition (an MCP `Tool` object), most
    /// severe first. An empty list means no rule matched, not that the tool
    /// is safe. Compiles the rules unless a [`ScanSession`] holds them: scan
    /// many tools through one session.
    pub fn scan(&self, tool: &Value) -> Vec<Finding> {
        self.session().scan(tool)
    }

    /// The findings for `tool` of `server`, with the tools of other servers
    /// (`catalogue`, usually the approved ones) to compare it with: what
    /// [`Scanner::scan`] finds, plus near copies of another server's tool.
    /// This is the scan the gateway runs when a tool appears.
    pub fn scan_in_catalogue(
        &self,
        server: &str,
        tool: &Value,
        catalogue: &Catalogue,
    ) -> Vec<Finding> {
        self.session().scan_in_catalogue(server, tool, catalogue)
    }

    /// What [`Scanner::scan_in_catalogue`] gives for `tool`, from the
    /// `earlier` findings of a scan of the same definition by a scanner with
    /// this one's [`fingerprint`](Scanner::fingerprint), against any
    /// catalogue: their rule findings are kept and the catalogue check is done
    /// again (the catalogue may have changed since). Compiles nothing.
    pub fn recheck_in_catalogue(
        &self,
        server: &str,
        tool: &Value,
        catalogue: &Catalogue,
        mut earlier: Vec<Finding>,
    ) -> Vec<Finding> {
        // Only the catalogue check reports this rule; the rest of `earlier`
        // is a scan's list, already most severe first.
        earlier.retain(|f| f.rule != RULE_FUNCTION_OVERLAP);
        catalogue.check(server, tool, &mut earlier);
        earlier.sort_by_key(|f| std::cmp::Reverse(f.severity));
        earlier
    }
}

/// A [`Scanner`] with its rules compiled, for a run of scans. Runs that
/// overlap share one copy of the rules; the last one to end frees it.
pub struct ScanSession<'a> {
    scanner: &'a Scanner,
    regexes: Arc<Regexes>,
}

impl std::fmt::Debug for ScanSession<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanSession")
            .field("scanner", self.scanner)
            .finish_non_exhaustive()
    }
}

impl ScanSession<'_> {
    /// Like [`Scanner::scan`], with the rules this session holds.
    pub fn scan(&self, tool: &Value) -> Vec<Finding> {
        let mut findings = Vec::new();
        for field in fields(tool) {
            self.scan_field(&field, &mut findings);
        }
        // Stable sort: within a severity, findings keep the order of fields.
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        findings
    }

    /// Like [`Scanner::scan_in_catalogue`], with the rules this session holds.
    pub fn scan_in_catalogue(
        &self,
        server: &str,
        tool: &Value,
        catalogue: &Catalogue,
    ) -> Vec<Finding> {
        let mut findings = self.scan(tool);
        catalogue.check(server, tool, &mut findings);
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        findings
    }

    fn scan_field(&self, field: &Field<'_>, out: &mut Vec<Finding>) {
        let settings = &self.scanner.settings;
        let regexes = &*self.regexes;
        let text = field.text;
        let chars = text.chars().count();
        if chars > settings.max_text_chars {
            out.push(Finding {
                rule: RULE_OVERSIZED,
                severity: Severity::Low,
                message: format!(
                    "{} is {chars} characters long (limit {}); read all of it, \
                     clients often show only the first lines",
                    field.location, settings.max_text_chars
                ),
                excerpt: excerpt(text, 0, 0),
                span: None,
            });
        }
        let hidden = unicode::check(field, out);
        let decoded = blobs::check(&regexes.base64_runs, field, out);
        // Phrase rules read the text with invisible characters removed, so
        // "ig\u{200B}nore previous instructions" is still recognised.
        homoglyph::check(field, out);
        params::check(&regexes.parameters, field, out);
        tone::check(&regexes.promotional, field, out);
        let visible = unicode::strip_invisible(text);
        regexes.phrases.check(&field.location, &visible, out);
        for (how, text) in hidden.into_iter().chain(decoded) {
            regexes
                .phrases
                .check(&format!("{} ({how})", field.location), &text, out);
        }
    }
}

/// The findings for `tool` with the default [`ScanSettings`].
pub fn scan(tool: &Value) -> Vec<Finding> {
    Scanner::default().scan(tool)
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

/// Every string of `tool` that the scanner reads.
pub(super) fn fields(tool: &Value) -> Vec<Field<'_>> {
    let mut out = Vec::new();
    for key in ["name", "title", "description"] {
        if let Some(Value::String(text)) = tool.get(key) {
            out.push(Field {
                location: key.to_owned(),
                text,
                kind: if key == "name" {
                    FieldKind::Name
                } else {
                    FieldKind::Text
                },
            });
        }
    }
    for key in ["inputSchema", "outputSchema", "annotations"] {
        if let Some(schema) = tool.get(key) {
            schema_fields(schema, key.to_owned(), &mut out);
        }
    }
    out
}

/// Keys whose string values (or arrays of strings) are shown to the model.
const TEXT_KEYS: [&str; 6] = [
    "description",
    "title",
    "default",
    "const",
    "enum",
    "examples",
];

/// Schema keys whose string values are structure, not prose.
const STRUCTURAL_KEYS: [&str; 9] = [
    "type",
    "format",
    "pattern",
    "$schema",
    "$ref",
    "$id",
    "$anchor",
    "contentEncoding",
    "contentMediaType",
];

fn schema_fields<'a>(value: &'a Value, path: String, out: &mut Vec<Field<'a>>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let here = format!("{path}.{key}");
                if TEXT_KEYS.contains(&key.as_str()) {
                    match v {
                        Value::String(text) => out.push(Field {
                            location: here,
                            text,
                            kind: FieldKind::Text,
                        }),
                        Value::Array(items) => {
                            for (i, item) in items.iter().enumerate() {
                                if let Value::String(text) = item {
                                    out.push(Field {
                                        location: format!("{here}[{i}]"),
                                        text,
                                        kind: FieldKind::Text,
                                    });
                                } else {
                                    schema_fields(item, format!("{here}[{i}]"), out);
                                }
                            }
                        }
                        other => schema_fields(other, here, out),
                    }
                    continue;
                }
                if key == "properties" {
                    // Parameter names reach the model too, and have carried
                    // payloads ("content_from_reading_ssh_id_rsa").
                    if let Value::Object(props) = v {
                        for name in props.keys() {
                            out.push(Field {
                                location: format!("{here}.{name} (parameter name)"),
                                text: name,
                                kind: FieldKind::ParameterName,
                            });
                        }
                    }
                }
                if let Value::String(text) = v {
                    // Keys a schema does not define still reach the model
                    // verbatim, and have carried payloads (`"_injection"`).
                    if !STRUCTURAL_KEYS.contains(&key.as_str()) {
                        out.push(Field {
                            location: here,
                            text,
                            kind: FieldKind::Text,
                        });
                    }
                    continue;
                }
                schema_fields(v, here, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                schema_fields(item, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Up to 60 characters either side of `start..end` (character offsets are
/// byte offsets into `text`), on one line, with invisible characters shown
/// as `<U+XXXX>`.
pub(super) fn excerpt(text: &str, start: usize, end: usize) -> String {
    const SIDE: usize = 60;
    let from = text[..start]
        .char_indices()
        .rev()
        .nth(SIDE - 1)
        .map_or(0, |(i, _)| i);
    let to = text[end..]
        .char_indices()
        .nth(SIDE)
        .map_or(text.len(), |(i, _)| end + i);
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut last_space = false;
    for c in text[from..to].chars() {
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
            continue;
        }
        last_space = false;
        if unicode::is_suspicious(c) {
            out.push_str(&format!("<U+{:04X}>", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    if to < text.len() {
        out.push('…');
    }
    out
}
