//! Trust: what a person approved, and what looks dangerous.
//!
//! Tools reach the model as text chosen by their upstream, so a definition is
//! code the model will follow. This module holds the pieces the gateway uses
//! to keep unapproved text away from agents:
//!
//! - [`definition_hash`]: the identity of a definition; a call goes through
//!   only while the current hash equals the approved one.
//! - the states of servers and tools, who decides them ([`Actor`]), and why a
//!   call is refused ([`Callability`]);
//! - the offline [`Scanner`], whose [`Finding`]s are shown at approval time.
//!
//! Persistence of states, decisions and findings lives in [`crate::store`].

#![warn(missing_docs)]

mod blobs;
mod claims;
mod dataflow;
pub mod eval;
mod finding;
mod hash;
mod homoglyph;
mod intent;
mod items;
mod overlap;
mod params;
mod pattern;
mod regexes;
mod rules;
mod scanner;
#[cfg(test)]
mod scanner_tests;
mod state;
mod tone;
mod unicode;

pub use finding::{
    rule_id, Finding, RuleInfo, Severity, Span, RULES, RULE_COMMAND_INJECTION, RULE_ENCODED_BLOB,
    RULE_EXFILTRATION, RULE_FUNCTION_OVERLAP, RULE_HIDDEN_INSTRUCTIONS, RULE_HOMOGLYPH,
    RULE_INVISIBLE_UNICODE, RULE_OVERSIZED, RULE_PADDING, RULE_PARAMETER_POISONING,
    RULE_PREFERENCE, RULE_REDIRECTION, RULE_SECRET_PATHS, RULE_TOOL_SHADOWING,
};
pub use hash::{canonical_json, definition_hash, hashed_definition, launch_hash, HASHED_FIELDS};
pub use items::{template_matches, ItemKind, ReviewedItem, INSTRUCTIONS_KEY};
pub use overlap::{Catalogue, CatalogueTool};
pub use scanner::{scan, ScanSession, ScanSettings, Scanner};
pub(crate) use state::spelled_enum;
pub use state::{
    Actor, Callability, HighFindings, Reviewed, ServerOrigin, ServerState, ToolSelection, ToolState,
};
