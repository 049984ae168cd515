//! Retrieval quality measured on labeled data, so ranking changes are judged by numbers.
//!
//! A data set is a folder with `tools.jsonl` (`{"id", "server", "name", "description",
//! "inputSchema"}` per line) and `queries.jsonl` (`{"id", "text", "relevant": [tool ids]}`), the
//! format of the project's shared `search-eval` sets. [`run`] indexes the tools in a temporary
//! in-memory index, runs every query and reports the usual figures over the top 10 results.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::embed::fnv1a;
use super::fusion::Fusion;
use super::{SearchError, SearchIndex, SearchMode, SearchOptions, ToolDoc};

/// Results looked at per query.
const DEPTH: usize = 10;

/// Retrieval figures for one data set, each a mean over its queries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalReport {
    /// Number of queries run.
    pub queries: usize,
    /// Number of tools indexed.
    pub tools: usize,
    /// Share of queries whose top result is relevant.
    pub p_at_1: f64,
    /// Share of the relevant tools found in the top 5, averaged over queries.
    pub r_at_5: f64,
    /// Share of queries with at least one relevant tool in the top 5.
    pub hit_at_5: f64,
    /// nDCG over the top 10 with binary gains.
    pub ndcg_at_10: f64,
}

impl std::fmt::Display for EvalReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} queries over {} tools: P@1 {:.3}  R@5 {:.3}  Hit@5 {:.3}  nDCG@10 {:.3}",
            self.queries, self.tools, self.p_at_1, self.r_at_5, self.hit_at_5, self.ndcg_at_10
        )
    }
}

#[derive(Deserialize)]
struct EvalTool {
    id: String,
    server: String,
    name: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, rename = "inputSchema")]
    input_schema: serde_json::Value,
}

/// A request and the ids of the tools that serve it.
#[derive(Deserialize)]
pub(crate) struct EvalQuery {
    pub(crate) text: String,
    pub(crate) relevant: Vec<String>,
}

/// A labeled data set: its tools as the index takes them, each tool's id by (server, name),
/// and its queries.
pub(crate) struct DataSet {
    pub(crate) tools: Vec<ToolDoc>,
    pub(crate) ids: HashMap<(String, String), String>,
    pub(crate) queries: Vec<EvalQuery>,
}

/// Reads the data set in `dir`.
pub(crate) fn read(dir: &Path) -> Result<DataSet, SearchError> {
    let tools: Vec<EvalTool> = read_jsonl(&dir.join("tools.jsonl"))?;
    let queries: Vec<EvalQuery> = read_jsonl(&dir.join("queries.jsonl"))?;
    let mut ids: HashMap<(String, String), String> = HashMap::new();
    let tools: Vec<ToolDoc> = tools
        .into_iter()
        .map(|t| {
            ids.insert((t.server.clone(), t.name.clone()), t.id);
            ToolDoc {
                server: t.server,
                name: t.name,
                title: t.title,
                description: t.description,
                input_schema: t.input_schema,
                state: "approved".to_owned(),
            }
        })
        .collect();
    Ok(DataSet {
        tools,
        ids,
        queries,
    })
}

/// Reads the data set in `dir`, indexes its tools and scores every query, ranking with
/// `mode`. Hybrid in a binary without the embedding model is an error, not a silent BM25 run.
pub fn run(dir: &Path, mode: SearchMode) -> Result<EvalReport, SearchError> {
    let [all, _, _] = run_with(dir, mode, None)?;
    Ok(all)
}

/// Like [`run`], with other fusion weights when given; returns the figures over all queries,
/// then over each half of them split by a fixed hash of the query text (tune on one half,
/// check on the other).
pub(crate) fn run_with(
    dir: &Path,
    mode: SearchMode,
    fusion: Option<Fusion>,
) -> Result<[EvalReport; 3], SearchError> {
    let DataSet {
        tools: docs,
        ids: id_of,
        queries,
    } = read(dir)?;
    let mut index = SearchIndex::in_memory_with(mode)?;
    if let Some(fusion) = fusion {
        index.set_fusion(fusion);
    }
    if index.mode() != mode {
        return Err(SearchError::NoModel);
    }
    index.replace_all(&docs)?;

    let opts = SearchOptions {
        limit: DEPTH,
        server: None,
        explain: false,
    };
    // Sums of the four figures and query counts: all queries, half 0, half 1.
    let mut sums = [[0.0f64; 4]; 3];
    let mut counts = [0usize; 3];
    for q in &queries {
        let ranked: Vec<&str> = index
            .search(&q.text, &opts)?
            .into_iter()
            .filter_map(|h| id_of.get(&(h.server, h.name)).map(String::as_str))
            .collect();
        let figures = score(&ranked, &q.relevant);
        let half = 1 + (fnv1a(q.text.as_bytes()) % 2) as usize;
        for slot in [0, half] {
            counts[slot] += 1;
            for (sum, x) in sums[slot].iter_mut().zip(figures) {
                *sum += x;
            }
        }
    }
    let report = |slot: usize| {
        let n = counts[slot].max(1) as f64;
        EvalReport {
            queries: counts[slot],
            tools: docs.len(),
            p_at_1: sums[slot][0] / n,
            r_at_5: sums[slot][1] / n,
            hit_at_5: sums[slot][2] / n,
            ndcg_at_10: sums[slot][3] / n,
        }
    };
    Ok([report(0), report(1), report(2)])
}

/// P@1, R@5, Hit@5 and nDCG@10 of one ranking.
fn score(ranked: &[&str], relevant: &[String]) -> [f64; 4] {
    if relevant.is_empty() {
        return [0.0; 4];
    }
    let is_rel = |id: &&str| relevant.iter().any(|r| r == id);
    let p1 = ranked.first().filter(|id| is_rel(id)).map_or(0.0, |_| 1.0);
    let found5 = ranked.iter().take(5).filter(|id| is_rel(id)).count();
    let r5 = found5 as f64 / relevant.len() as f64;
    let hit5 = if found5 > 0 { 1.0 } else { 0.0 };
    let gain = |i: usize| 1.0 / ((i + 2) as f64).log2();
    let dcg: f64 = ranked
        .iter()
        .take(DEPTH)
        .enumerate()
        .filter(|(_, id)| is_rel(id))
        .map(|(i, _)| gain(i))
        .sum();
    let ideal: f64 = (0..relevant.len().min(DEPTH)).map(gain).sum();
    [p1, r5, hit5, dcg / ideal]
}

fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, SearchError> {
    let err = |line: usize, message: String| SearchError::EvalData {
        path: PathBuf::from(path),
        line,
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(0, e.to_string()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| err(i + 1, e.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_of_one_ranking() {
        let rel = vec!["a".to_owned(), "b".to_owned()];
        let [p1, r5, hit5, ndcg] = score(&["a", "x", "b"], &rel);
        assert_eq!((p1, r5, hit5), (1.0, 1.0, 1.0));
        let expected = (1.0 + 0.5) / (1.0 + 1.0 / 3f64.log2());
        assert!((ndcg - expected).abs() < 1e-9);
        assert_eq!(score(&["x"], &rel), [0.0, 0.0, 0.0, 0.0]);
    }
}
