//! The one error type of the search subsystem.
//!
//! Every variant says what failed and, where a person can do something about it, how.

use std::path::PathBuf;

/// What can go wrong while indexing, searching or evaluating.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// tantivy reported an error (I/O inside the index, a failed commit, ...).
    #[error("search index error: {0}")]
    Index(#[from] tantivy::TantivyError),

    /// The index directory could not be created or cleared.
    #[error("search index directory {path}: {source}")]
    Io {
        /// The directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// Another process holds the index writer lock.
    #[error("search index at {path} is in use by another process")]
    Locked {
        /// The index directory.
        path: PathBuf,
    },

    /// A stored tool document could not be decoded (should only happen after a bug).
    #[error("stored tool document is unreadable: {0}")]
    StoredDoc(#[source] serde_json::Error),

    /// A thread panicked while holding the index writer.
    #[error("search index writer is unusable after a panic in another thread")]
    Poisoned,

    /// Hybrid search was asked for in a binary built without the embedding model.
    #[error("this build has no embedding model, so hybrid search is unavailable")]
    NoModel,

    /// An evaluation data set is missing or malformed.
    #[error("evaluation data {path}:{line}: {message}")]
    EvalData {
        /// The file concerned.
        path: PathBuf,
        /// 1-based line number, 0 when the whole file is concerned.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl crate::hint::Hinted for SearchError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Io { .. } => Some("check that the directory exists and is writable".to_owned()),
            Self::Locked { .. } => Some(
                "stop the other portcullis instance or give it a different data directory"
                    .to_owned(),
            ),
            Self::Poisoned => Some("restart portcullis".to_owned()),
            Self::NoModel => {
                Some("run scripts/embed-model/make.sh, then rebuild; or use --mode bm25".to_owned())
            }
            _ => None,
        }
    }
}
