//! Tool search: finds the right upstream tool for a request written in plain words.
//!
//! In search mode an agent sees only `search_tools`, `describe_tool` and `call_tool`, so the
//! quality of this ranking decides whether the agent finds the tool at all. The index is a
//! tantivy index with an analyzer made for tool names (`get_userProfile` → `get`, `user`,
//! `profile`), weighted fields, and queries built from analyzed terms so that no user text can
//! make a query fail.
//!
//! Guarantees:
//! - [`SearchIndex::replace_server`] is one commit: a search that starts after it returns sees
//!   the new tools and none of the old ones of that server.
//! - An on-disk index survives restarts; one that is corrupt or written by an incompatible
//!   version is rebuilt empty (with a warning) instead of failing startup.
//! - [`SearchIndex::search`] never fails because of what the query says.
//!
//! Beside BM25 runs a dense signal (`embed/`, `dense.rs`): a static embedding model built into
//! the binary ranks tools by meaning, and the two rankings are fused by their scores
//! (`fusion.rs`), so "what's on my calendar tomorrow" finds `list_events`. The gateway ranks
//! this way. Without the model the index is BM25 only and says so once.
#![warn(missing_docs)]

mod analysis;
mod dense;
mod dense_file;
mod embed;
mod error;
pub mod eval;
mod explain;
mod fields;
mod fusion;
mod index;
mod query;
mod rerank;
mod signature;
mod synonyms;
mod types;

#[cfg(test)]
mod index_tests;

pub use error::SearchError;
pub use index::SearchIndex;
pub use signature::signature;
pub use types::{SearchHit, SearchMode, SearchOptions, ToolDoc};
