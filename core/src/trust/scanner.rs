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
//! (`regexes.rs`). What every rule speaks (findings, severities, spans, the
//! rule table, the fields read) is `finding.rs`; a phrase rule's shape,
//! `pattern.rs`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::finding::*;
use super::overlap::Catalogue;
use super::regexes::{self, Regexes};
use super::unicode::excerpt;
use super::{blobs, homoglyph, params, tone, unicode};

// `SCANNER_SOURCE`: a hash of the trust module's source files (build.rs).
include!(concat!(env!("OUT_DIR"), "/scanner_source.rs"));

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
