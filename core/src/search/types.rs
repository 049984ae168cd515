//! The values that cross the search API: what is indexed, how to search, what comes back.

use serde::{Deserialize, Serialize};

/// One upstream tool as the index stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDoc {
    /// The upstream server's name in Portcullis.
    pub server: String,
    /// The tool's name as the upstream lists it.
    pub name: String,
    /// The tool's human-readable title, if the upstream gives one.
    pub title: Option<String>,
    /// The tool's description.
    pub description: Option<String>,
    /// The tool's JSON Schema for its arguments.
    pub input_schema: serde_json::Value,
    /// Approval state: "approved", "pending", "changed", "blocked", ...
    pub state: String,
}

/// How to run one search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchOptions {
    /// Maximum number of hits; 0 returns none.
    pub limit: usize,
    /// Only tools of this server, when set.
    pub server: Option<String>,
    /// Fill [`SearchHit::explanation`].
    pub explain: bool,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            limit: 10,
            server: None,
            explain: false,
        }
    }
}

/// One ranked result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    /// The upstream server's name.
    pub server: String,
    /// The tool's upstream name.
    pub name: String,
    /// Relevance score; only comparable within one search.
    pub score: f32,
    /// The tool's title.
    pub title: Option<String>,
    /// The tool's description.
    pub description: Option<String>,
    /// Compact argument signature, see [`crate::search::signature`].
    pub signature: String,
    /// Approval state.
    pub state: String,
    /// Which fields and terms matched, when [`SearchOptions::explain`] is set.
    pub explanation: Option<String>,
}

/// Which signals rank the tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SearchMode {
    /// Keyword relevance only (tantivy BM25 with the tool analyzer).
    Bm25,
    /// BM25 fused with the built-in embedding model's ranking.
    #[default]
    Hybrid,
}

impl std::fmt::Display for SearchMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Bm25 => "bm25",
            Self::Hybrid => "hybrid",
        })
    }
}
