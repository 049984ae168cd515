//! One phrase rule as the tables of `intent.rs`, `dataflow.rs` and
//! `claims.rs` write it, for `rules.rs` to compile and apply.

use regex::Captures;

use super::finding::Severity;

/// One phrase rule: a regex over one string and what a match means.
pub(super) struct Pattern {
    pub(super) rule: &'static str,
    pub(super) severity: Severity,
    /// What the match means, completed with the location.
    pub(super) says: &'static str,
    pub(super) regex: &'static str,
    /// Rejects a match that the regex cannot exclude on its own.
    pub(super) reject: Option<fn(&Captures<'_>) -> bool>,
}

/// A pattern without a reject function.
pub(super) const fn p(
    rule: &'static str,
    severity: Severity,
    says: &'static str,
    regex: &'static str,
) -> Pattern {
    Pattern {
        rule,
        severity,
        says,
        regex,
        reject: None,
    }
}
