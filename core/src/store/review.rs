//! The rule every approval of reviewed definitions goes through, tools and
//! other items alike: a person approves what they were shown, so a
//! definition that changed since is not approved
//! ([`StoreError::ChangedSinceShown`]), and one with a high-severity
//! finding needs their explicit confirmation
//! ([`StoreError::HighSeverityUnconfirmed`]). Nothing is approved when
//! either fails.

use rusqlite::Transaction;

use crate::trust::HighFindings;

use super::tools::high_rules;
use super::{ChangedDefinition, HighSeverityHeld, StoreError};

/// One definition a person approves, as the store checks it.
pub(super) struct Shown<'a> {
    /// The name the person knows it by (`kind:name` for an item).
    pub(super) name: String,
    /// The hash of the definition they were shown.
    pub(super) shown: &'a str,
    /// The hash of the definition listed now; `None` when it is not listed
    /// (the caller names unknown ones in its own error).
    pub(super) current: Option<&'a str>,
}

/// Checks the rule for `server`'s definitions `shown`, in `tx`.
pub(super) fn check(
    tx: &Transaction<'_>,
    server: &str,
    shown: &[Shown<'_>],
    confirm: HighFindings,
) -> Result<(), StoreError> {
    let changed: Vec<ChangedDefinition> = shown
        .iter()
        .filter_map(|s| {
            let current = s.current?;
            (current != s.shown).then(|| ChangedDefinition {
                name: s.name.clone(),
                shown: s.shown.to_owned(),
                current: current.to_owned(),
            })
        })
        .collect();
    if !changed.is_empty() {
        return Err(StoreError::ChangedSinceShown {
            server: server.to_owned(),
            changed,
        });
    }
    if confirm == HighFindings::Confirmed {
        return Ok(());
    }
    let mut held: Vec<HighSeverityHeld> = Vec::new();
    for s in shown.iter().filter(|s| s.current.is_some()) {
        let rules = high_rules(tx, s.shown)?;
        if !rules.is_empty() && !held.iter().any(|h| h.name == s.name) {
            held.push(HighSeverityHeld {
                name: s.name.clone(),
                rules,
            });
        }
    }
    if held.is_empty() {
        Ok(())
    } else {
        Err(StoreError::HighSeverityUnconfirmed {
            server: server.to_owned(),
            held,
        })
    }
}
