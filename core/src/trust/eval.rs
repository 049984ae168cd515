//! The scanner measured on labelled tool definitions, so rule changes are
//! judged by numbers.
//!
//! A data set is a folder with `poisoned.jsonl` and `benign.jsonl` (the
//! format of the project's shared `scan-eval` set: `{"id", "name",
//! "description", "inputSchema", "category", "technique", "source",
//! "server"}` per line). [`run`] scans every tool the way the gateway does
//! when a tool appears ([`Scanner::scan_in_catalogue`]), with every other
//! tool of both files as the catalogue, grouped by `server`. A tool counts
//! as flagged when it has a finding of medium severity or above; low
//! findings are notes for the person and do not count.
//!
//! Recall is reported per category, never only pooled, and the LLM-written
//! advertising rewrites (`(subtle)` in `technique`) on their own line. A
//! fixed quarter of the items (by a hash of their id) is reported apart: it
//! was held out while the rules were written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;
use serde_json::{json, Value};

use super::finding::{Finding, Severity};
use super::overlap::{Catalogue, CatalogueTool};
use super::scanner::Scanner;

/// Sources of `benign.jsonl` that are real MCP servers (the strictest
/// false-flag test: they use imperative, security-flavoured wording).
pub const REAL_SERVER_SOURCES: &[&str] = &[
    "modelcontextprotocol/servers",
    "github/github-mcp-server",
    "microsoft/playwright-mcp",
    "wonderwhy-er/DesktopCommanderMCP",
    "upstash/context7",
];

/// Why a data set could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScanEvalError {
    /// A file is missing or unreadable.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line is not a tool record.
    #[error("{path}:{line}: not a tool record: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The cause.
        source: serde_json::Error,
    },
}

#[derive(Debug, Clone, Deserialize)]
struct Record {
    id: String,
    name: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, rename = "inputSchema")]
    input_schema: Value,
    #[serde(default, rename = "outputSchema")]
    output_schema: Value,
    #[serde(default)]
    annotations: Value,
    #[serde(default)]
    category: String,
    #[serde(default)]
    technique: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    server: String,
}

impl Record {
    /// The tool as a server lists it: only what the scanner may see.
    fn tool(&self) -> Value {
        let mut tool = json!({ "name": self.name });
        let fields = [
            ("title", self.title.clone().map(Value::String)),
            ("description", self.description.clone().map(Value::String)),
            ("inputSchema", Some(self.input_schema.clone())),
            ("outputSchema", Some(self.output_schema.clone())),
            ("annotations", Some(self.annotations.clone())),
        ];
        for (key, value) in fields {
            if let Some(v) = value.filter(|v| !v.is_null()) {
                tool[key] = v;
            }
        }
        tool
    }

    fn subtle(&self) -> bool {
        self.technique.contains("(subtle)")
    }

    fn held_out(&self) -> bool {
        held_out(&self.id)
    }
}

/// Whether `id` belongs to the quarter held out while the rules were
/// written (FNV-1a of the id, modulo 4).
pub fn held_out(id: &str) -> bool {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h.is_multiple_of(4)
}

/// Flagged out of total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    /// Items flagged.
    pub flagged: usize,
    /// Items in all.
    pub total: usize,
}

impl Count {
    fn add(&mut self, flagged: bool) {
        self.total += 1;
        self.flagged += usize::from(flagged);
    }

    /// `flagged / total`, 0 when empty.
    pub fn rate(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.flagged as f64 / self.total as f64
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} ({:.1}%)",
            self.flagged,
            self.total,
            self.rate() * 100.0
        )
    }
}

/// One poisoned tool no finding of medium or above caught, or one benign
/// tool that was flagged.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The record's id.
    pub id: String,
    /// Its category (`benign` for false flags).
    pub category: String,
    /// The source's name for the attack, or its source for benign tools.
    pub technique: String,
    /// Whether it is in the held-out quarter.
    pub held_out: bool,
    /// What the scanner found (all severities).
    pub findings: Vec<Finding>,
}

/// The figures for one data set.
#[derive(Debug, Clone, Default)]
pub struct ScanEvalReport {
    /// Recall per category, subtle rewrites left out.
    pub categories: BTreeMap<String, Count>,
    /// Recall over all poisoned tools but the subtle rewrites.
    pub overall: Count,
    /// Recall on the subtle advertising rewrites.
    pub subtle: Count,
    /// Recall (subtle left out) on the quarter held out while tuning.
    pub held_out: Count,
    /// Recall (subtle left out) on the other three quarters.
    pub development: Count,
    /// Benign tools flagged.
    pub benign: Count,
    /// Benign tools of real servers flagged.
    pub real_servers: Count,
    /// Benign tools flagged, per source.
    pub benign_by_source: BTreeMap<String, Count>,
    /// Poisoned tools not flagged (subtle ones included).
    pub misses: Vec<Outcome>,
    /// Benign tools flagged.
    pub false_flags: Vec<Outcome>,
    /// Mean scan time per tool, in microseconds, one thread.
    pub micros_per_tool: f64,
}

fn read(path: &Path) -> Result<Vec<Record>, ScanEvalError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScanEvalError::Read {
        path: path.to_owned(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|source| ScanEvalError::Parse {
                path: path.to_owned(),
                line: i + 1,
                source,
            })
        })
        .collect()
}

/// Whether the findings flag the tool: one of medium severity or above.
pub fn is_flagged(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity >= Severity::Medium)
}

/// Scans every tool of the data set in `dir` and reports the figures.
pub fn run(dir: &Path, scanner: &Scanner) -> Result<ScanEvalReport, ScanEvalError> {
    let poisoned = read(&dir.join("poisoned.jsonl"))?;
    let benign = read(&dir.join("benign.jsonl"))?;
    let tools: Vec<(&Record, Value)> = poisoned
        .iter()
        .chain(&benign)
        .map(|r| (r, r.tool()))
        .collect();
    let catalogue = Catalogue::new(
        tools
            .iter()
            .filter_map(|(r, tool)| CatalogueTool::from_definition(&r.server, tool)),
    );

    // Compiling the rules is part of the time, as it is for a gateway's scan.
    let started = Instant::now();
    let session = scanner.session();
    let scanned: Vec<Vec<Finding>> = tools
        .iter()
        .map(|(r, tool)| session.scan_in_catalogue(&r.server, tool, &catalogue))
        .collect();
    let elapsed = started.elapsed();
    drop(session);

    let mut report = ScanEvalReport {
        micros_per_tool: elapsed.as_secs_f64() * 1e6 / tools.len().max(1) as f64,
        ..ScanEvalReport::default()
    };
    for ((record, _), findings) in tools.iter().zip(scanned) {
        let flagged = is_flagged(&findings);
        let outcome = || Outcome {
            id: record.id.clone(),
            category: record.category.clone(),
            technique: if record.category == "benign" {
                record.source.clone()
            } else {
                record.technique.clone()
            },
            held_out: record.held_out(),
            findings: findings.clone(),
        };
        if record.category == "benign" {
            report.benign.add(flagged);
            report
                .benign_by_source
                .entry(record.source.clone())
                .or_default()
                .add(flagged);
            if REAL_SERVER_SOURCES.contains(&record.source.as_str()) {
                report.real_servers.add(flagged);
            }
            if flagged {
                report.false_flags.push(outcome());
            }
            continue;
        }
        if !flagged {
            report.misses.push(outcome());
        }
        if record.subtle() {
            report.subtle.add(flagged);
            continue;
        }
        report
            .categories
            .entry(record.category.clone())
            .or_default()
            .add(flagged);
        report.overall.add(flagged);
        if record.held_out() {
            report.held_out.add(flagged);
        } else {
            report.development.add(flagged);
        }
    }
    Ok(report)
}

impl crate::hint::Hinted for ScanEvalError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Read { .. } => {
                Some("pass a folder with poisoned.jsonl and benign.jsonl".to_owned())
            }
            _ => None,
        }
    }
}
