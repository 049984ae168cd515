//! The scanner's compiled regexes, held only while scans run.
//!
//! Compiled, the rules were most of what a gateway held at idle: about 17 MiB
//! of heap once a first text is scanned (some 90 case-insensitive Unicode
//! regexes, each with its own automata and match caches, which grow with the
//! text scanned), and about 70 ms of a core to build in a release build. A gateway scans only
//! definitions it has not scanned before ([`crate::store::Store::observe_tools`]),
//! so for most of its life it has nothing to scan. The regexes are therefore
//! compiled when a run of scans ([`super::ScanSession`]) starts and no other
//! run holds them, shared by runs that overlap, and freed when the last run
//! ends. What they match does not change: the same patterns are compiled the
//! same way each time.

use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use regex::Regex;

use super::params::ParameterRules;
use super::rules::PhraseRules;
use super::{blobs, tone};

/// Every regex the scanner's rules use.
pub(super) struct Regexes {
    /// The phrase rules (`rules.rs` and its tables).
    pub(super) phrases: PhraseRules,
    /// Advertising vocabulary (`tone.rs`).
    pub(super) promotional: Regex,
    /// Parameter names and descriptions (`params.rs`).
    pub(super) parameters: ParameterRules,
    /// Base64 runs (`blobs.rs`).
    pub(super) base64_runs: Regex,
}

impl Regexes {
    fn compile() -> Regexes {
        Regexes {
            phrases: PhraseRules::compile(),
            promotional: tone::compile(),
            parameters: ParameterRules::compile(),
            base64_runs: blobs::compile(),
        }
    }
}

/// The regexes of the run in progress, if one is.
static CURRENT: Mutex<Weak<Regexes>> = Mutex::new(Weak::new());

/// The compiled regexes: those of a run in progress, or compiled now. They
/// are freed when the last [`Arc`] to them is dropped.
pub(super) fn shared() -> Arc<Regexes> {
    share(&CURRENT, Regexes::compile)
}

/// The value `slot` points to while someone holds it, else a new one from
/// `make`, which `slot` then points to. Runs that start while another
/// compiles wait for it instead of compiling a second copy.
fn share<T>(slot: &Mutex<Weak<T>>, make: impl FnOnce() -> T) -> Arc<T> {
    // A panic while compiling left the old (dead) pointer: still sound.
    let mut current = slot.lock();
    if let Some(held) = current.upgrade() {
        return held;
    }
    let made = Arc::new(make());
    *current = Arc::downgrade(&made);
    made
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_that_overlap_share_one_copy_and_the_last_one_frees_it() {
        let slot = Mutex::new(Weak::new());
        let mut made = 0;
        let first = share(&slot, || {
            made += 1;
            "compiled"
        });
        let second = share(&slot, || {
            made += 1;
            "compiled"
        });
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(made, 1);
        drop(first);
        drop(second);
        assert!(slot.lock().upgrade().is_none(), "freed");
        let _third = share(&slot, || {
            made += 1;
            "compiled"
        });
        assert_eq!(made, 2, "compiled again for the next run");
    }
}
