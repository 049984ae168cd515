//! The dense signal: one vector per tool, searched by cosine similarity.
//!
//! Vectors live in memory as one flat matrix (10k tools × 256 dims = 10 MB) scanned in full
//! per query, which at that size is cheaper than any approximate index. A tool's vector is
//! the sum of its text's word-piece vectors, each weighed by how rare the piece is in this
//! catalogue (an idf, as BM25 weighs terms): pieces every tool of a server shares (`git`,
//! `repo`, `path`) then say less than the ones that tell its tools apart. So every vector
//! is derived again whenever the catalogue changes; the tokenized texts are kept (in memory
//! and in `dense_file.rs`'s file) so only changed texts are read again. A tool without a
//! vector (nothing known in its text) is still found by BM25: fusion uses whichever signals
//! a tool has.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use super::dense_file::{self, Entry, Readings, VECTORS_FILE};
use super::embed::{fnv1a, Embedder};
use super::fields::{param_texts, StoredHit};
use super::{signature, SearchError, ToolDoc};

/// The least weight a piece gets, however common: a piece every tool has still says a little.
const MIN_PIECE_WEIGHT: f32 = 0.5;

/// One tool's row: what a hit shows, and the model's reading of its text.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) hit: StoredHit,
    /// Hash of the text the pieces were read from.
    hash: u64,
    /// The tool text's word pieces.
    pieces: Vec<u32>,
}

#[derive(Debug, Default)]
struct Table {
    rows: Vec<Row>,
    /// `rows.len() × dims` floats, row-major; derived from the rows by [`Table::reweigh`].
    matrix: Vec<f32>,
    /// Row of each (server, name), so a BM25 candidate's cosine is one lookup.
    by_key: HashMap<(String, String), usize>,
}

impl Table {
    /// Weighs every piece by its rarity in the catalogue, `ln((n + 1) / (df + 0.5))` (at least
    /// [`MIN_PIECE_WEIGHT`]), and recomputes every row's vector and the key map.
    fn reweigh(&mut self, embedder: &Embedder) {
        let mut df = vec![0u32; embedder.pieces_known()];
        let mut seen: Vec<u32> = Vec::new();
        for row in &self.rows {
            seen.clear();
            seen.extend(&row.pieces);
            seen.sort_unstable();
            seen.dedup();
            for &p in &seen {
                df[p as usize] += 1;
            }
        }
        let n = self.rows.len() as f32;
        let weight = |p: u32| {
            ((n + 1.0) / (df[p as usize] as f32 + 0.5))
                .ln()
                .max(MIN_PIECE_WEIGHT)
        };
        let dims = embedder.dims();
        self.matrix.clear();
        self.matrix.resize(self.rows.len() * dims, 0.0);
        for (row, v) in self.rows.iter().zip(self.matrix.chunks_exact_mut(dims)) {
            if let Some(w) = embedder.pool_weighted(&row.pieces, weight) {
                v.copy_from_slice(&w);
            }
        }
        self.by_key = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.hit.server.clone(), r.hit.name.clone()), i))
            .collect();
    }
}

/// One query's cosines against every row, read under the table's lock.
pub(crate) struct Scores<'a> {
    table: &'a Table,
    /// Cosine per row; rows outside the server filter are `-inf`.
    cosines: Vec<f32>,
    /// The best rows, best first.
    top: Vec<usize>,
}

impl Scores<'_> {
    /// The best rows, best first, with their cosines.
    pub(crate) fn top(&self) -> impl Iterator<Item = (&Row, f32)> + '_ {
        self.top
            .iter()
            .map(|&i| (&self.table.rows[i], self.cosines[i]))
    }

    /// The cosine of one tool, `None` when it has no vector (or is filtered out).
    pub(crate) fn cosine(&self, server: &str, name: &str) -> Option<f32> {
        let i = *self
            .table
            .by_key
            .get(&(server.to_owned(), name.to_owned()))?;
        Some(self.cosines[i]).filter(|c| c.is_finite())
    }

    /// The 1-based rank a cosine has among all rows (for explanations: a full count).
    pub(crate) fn rank(&self, cosine: f32) -> usize {
        1 + self.cosines.iter().filter(|&&c| c > cosine).count()
    }
}

/// The vectors of every indexed tool, under a lock searches share.
#[derive(Debug)]
pub(crate) struct DenseIndex {
    embedder: &'static Embedder,
    table: RwLock<Table>,
    /// Held by one change at a time while it builds the next table outside `table`'s lock.
    changing: Mutex<()>,
    path: Option<PathBuf>,
}

/// What a tool is about, as the model reads it: name (split by the tokenizer), title,
/// description, server, and parameter names and descriptions.
pub(crate) fn tool_text(tool: &ToolDoc) -> String {
    let params = param_texts(&tool.input_schema);
    let mut text = String::with_capacity(256);
    for part in [
        Some(tool.name.as_str()),
        tool.title.as_deref(),
        tool.description.as_deref(),
        Some(tool.server.as_str()),
    ]
    .into_iter()
    .flatten()
    .chain(params.params.iter().map(String::as_str))
    .chain(params.param_desc.iter().map(String::as_str))
    {
        text.push_str(part);
        text.push_str(" . ");
    }
    text
}

impl DenseIndex {
    /// An empty index; with `dir`, readings saved there by an earlier run are loaded as a
    /// cache for [`Self::replace_all`] to reuse.
    pub(crate) fn new(embedder: &'static Embedder, dir: Option<&Path>) -> Self {
        Self {
            embedder,
            table: RwLock::new(Table::default()),
            changing: Mutex::new(()),
            path: dir.map(|d| d.join(VECTORS_FILE)),
        }
    }

    /// Readings saved by an earlier run.
    pub(crate) fn saved(&self) -> Readings {
        let Some(path) = &self.path else {
            return HashMap::new();
        };
        match std::fs::read(path) {
            Ok(bytes) => dense_file::decode(&bytes, self.embedder.fingerprint())
                .unwrap_or_else(|reason| {
                    tracing::warn!(path = %path.display(), %reason, "tool search: saved vectors unusable, recomputing them");
                    HashMap::new()
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "tool search: saved vectors unreadable, recomputing them");
                HashMap::new()
            }
        }
    }

    /// Replaces every row with `tools`, reusing readings from `cache` and the current rows
    /// where the text is unchanged; saves the result.
    pub(crate) fn replace_all(
        &self,
        tools: &[ToolDoc],
        cache: Readings,
    ) -> Result<(), SearchError> {
        let mut cache = cache;
        cache.extend(self.current(|_| true));
        let fresh = self.read_all(tools, &cache);
        self.change(|_| true, fresh)?;
        self.save();
        Ok(())
    }

    /// Replaces the rows of `server` with `tools`; unchanged texts are not read again.
    pub(crate) fn replace_server(
        &self,
        server: &str,
        tools: &[ToolDoc],
    ) -> Result<(), SearchError> {
        // Reading happens outside the lock: searches keep the old rows meanwhile.
        let cache = self.current(|r| r.hit.server == server);
        let mut fresh = self.read_all(tools, &cache);
        fresh
            .iter_mut()
            .for_each(|row| row.hit.server = server.to_owned());
        self.change(|r| r.hit.server == server, fresh)?;
        self.save();
        Ok(())
    }

    /// Replaces the rows of these tools of `server`; unchanged texts are not read again.
    /// Not saved: the saved readings are a cache by text, and a decision changes no text.
    pub(crate) fn replace_tools(&self, server: &str, tools: &[ToolDoc]) -> Result<(), SearchError> {
        let names: std::collections::HashSet<&str> =
            tools.iter().map(|t| t.name.as_str()).collect();
        let ours = |r: &Row| r.hit.server == server && names.contains(r.hit.name.as_str());
        let cache = self.current(ours);
        let fresh = self.read_all(tools, &cache);
        self.change(ours, fresh)
    }

    /// Removes the rows of `server`.
    pub(crate) fn remove_server(&self, server: &str) -> Result<(), SearchError> {
        self.change(|r| r.hit.server == server, Vec::new())?;
        self.save();
        Ok(())
    }

    /// Replaces the rows matching `drop` with `fresh` and derives every vector again. The
    /// next table is built beside the current one, which searches keep using until it is
    /// swapped in; changes are serialised so none is lost.
    fn change(&self, drop: impl Fn(&Row) -> bool, fresh: Vec<Row>) -> Result<(), SearchError> {
        let _one_at_a_time = self.changing.lock().map_err(|_| SearchError::Poisoned)?;
        let mut next = Table {
            rows: self
                .table
                .read()
                .map_err(|_| SearchError::Poisoned)?
                .rows
                .iter()
                .filter(|r| !drop(r))
                .cloned()
                .collect(),
            ..Table::default()
        };
        next.rows.extend(fresh);
        next.reweigh(self.embedder);
        *self.write_table()? = next;
        Ok(())
    }

    /// The query's vector, `None` when the model knows none of its words.
    pub(crate) fn embed_query(&self, query: &str) -> Option<Vec<f32>> {
        self.embedder.embed_query(query)
    }

    /// Scores every row against `query` (rows of `server` only, when given) and keeps the
    /// `k` best; calls `with` on the result under the read lock.
    pub(crate) fn search<T>(
        &self,
        query: &[f32],
        server: Option<&str>,
        k: usize,
        with: impl FnOnce(&Scores<'_>) -> T,
    ) -> Result<T, SearchError> {
        let table = self.table.read().map_err(|_| SearchError::Poisoned)?;
        let dims = self.embedder.dims();
        let cosines: Vec<f32> = table
            .matrix
            .chunks_exact(dims)
            .zip(&table.rows)
            .map(|(v, row)| {
                if server.is_none_or(|s| row.hit.server == s) {
                    dot(query, v)
                } else {
                    f32::NEG_INFINITY
                }
            })
            .collect();
        let mut top: Vec<usize> = (0..cosines.len())
            .filter(|&i| cosines[i].is_finite())
            .collect();
        let k = k.min(top.len());
        if k > 0 {
            top.select_nth_unstable_by(k - 1, |&a, &b| cosines[b].total_cmp(&cosines[a]));
        }
        top.truncate(k);
        top.sort_by(|&a, &b| cosines[b].total_cmp(&cosines[a]).then(a.cmp(&b)));
        Ok(with(&Scores {
            table: &table,
            cosines,
            top,
        }))
    }

    /// Number of tools with a vector.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.read().map(|t| t.rows.len()).unwrap_or(0)
    }

    /// Rows for `tools`, their pieces taken from `cache` when the text is unchanged; tools
    /// with no known piece get no row.
    fn read_all(&self, tools: &[ToolDoc], cache: &Readings) -> Vec<Row> {
        tools
            .iter()
            .filter_map(|tool| {
                let text = tool_text(tool);
                let hash = fnv1a(text.as_bytes());
                let pieces = match cache.get(&(tool.server.clone(), tool.name.clone())) {
                    Some((h, p)) if *h == hash => p.clone(),
                    _ => self.embedder.pieces(&text),
                };
                if pieces.is_empty() {
                    return None;
                }
                let hit = StoredHit {
                    server: tool.server.clone(),
                    name: tool.name.clone(),
                    title: tool.title.clone(),
                    description: tool.description.clone(),
                    signature: signature(&tool.input_schema),
                    state: tool.state.clone(),
                };
                Some(Row { hit, hash, pieces })
            })
            .collect()
    }

    fn current(&self, keep: impl Fn(&Row) -> bool) -> Readings {
        let Ok(table) = self.table.read() else {
            return HashMap::new();
        };
        table
            .rows
            .iter()
            .filter(|r| keep(r))
            .map(|r| {
                (
                    (r.hit.server.clone(), r.hit.name.clone()),
                    (r.hash, r.pieces.clone()),
                )
            })
            .collect()
    }

    fn write_table(&self) -> Result<std::sync::RwLockWriteGuard<'_, Table>, SearchError> {
        self.table.write().map_err(|_| SearchError::Poisoned)
    }

    /// Writes the readings beside the index (through a temporary file and a rename, so a
    /// crash leaves the old file or the new one). A failure is logged, not returned: the index
    /// itself is committed, and a lost file only costs reading the texts again at the next start.
    fn save(&self) {
        let Some(path) = &self.path else {
            return;
        };
        let Ok(table) = self.table.read() else {
            return;
        };
        let entries = table.rows.iter().map(|r| Entry {
            server: &r.hit.server,
            name: &r.hit.name,
            hash: r.hash,
            pieces: &r.pieces,
        });
        let bytes = dense_file::encode(entries, self.embedder.fingerprint());
        drop(table);
        let tmp = path.with_extension("bin.tmp");
        if let Err(e) = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path)) {
            tracing::warn!(path = %path.display(), error = %e, "tool search: could not save vectors; they are recomputed at the next start");
        }
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent sums let the compiler vectorise without reassociating floats.
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn embedder() -> &'static Embedder {
        let words = ["list", "events", "send", "mail", "calendar", "weather"];
        let bytes = super::super::embed::tests_support::tiny_model(&words, 6);
        Box::leak(Box::new(Embedder::from_bytes(bytes, 0).expect("model")))
    }

    fn tool(server: &str, name: &str, description: &str) -> ToolDoc {
        ToolDoc {
            server: server.to_owned(),
            name: name.to_owned(),
            title: None,
            description: Some(description.to_owned()),
            input_schema: json!({}),
            state: "approved".to_owned(),
        }
    }

    fn names(index: &DenseIndex, query: &str, server: Option<&str>) -> Vec<String> {
        let q = index.embed_query(query).expect("query vector");
        index
            .search(&q, server, 10, |scores| {
                scores.top().map(|(r, _)| r.hit.name.clone()).collect()
            })
            .expect("search")
    }

    #[test]
    fn vectors_rank_by_cosine_and_respect_the_server_filter() {
        let index = DenseIndex::new(embedder(), None);
        index
            .replace_server("cal", &[tool("cal", "list_events", "calendar events")])
            .unwrap();
        index
            .replace_server("mail", &[tool("mail", "send_mail", "send mail")])
            .unwrap();
        assert_eq!(names(&index, "calendar", None)[0], "list_events");
        assert_eq!(names(&index, "calendar", Some("mail")), ["send_mail"]);
        index.remove_server("cal").unwrap();
        assert_eq!(index.len(), 1);
    }

    #[test]
    fn saved_readings_are_reused_only_for_unchanged_text() {
        let dir = tempfile::tempdir().unwrap();
        let e = embedder();
        let events = tool("cal", "list_events", "calendar events");
        let first = DenseIndex::new(e, Some(dir.path()));
        first
            .replace_server("cal", std::slice::from_ref(&events))
            .unwrap();
        assert!(dir.path().join(VECTORS_FILE).exists());

        // A saved reading whose hash matches is taken as is, not read again: plant a marker
        // (the pieces of "weather", which the text does not say).
        let mut saved = DenseIndex::new(e, Some(dir.path())).saved();
        let key = ("cal".to_owned(), "list_events".to_owned());
        let (hash, _) = saved.get(&key).cloned().expect("saved row");
        let marker = e.pieces("weather");
        saved.insert(key.clone(), (hash, marker.clone()));
        let second = DenseIndex::new(e, None);
        second
            .replace_all(std::slice::from_ref(&events), saved.clone())
            .unwrap();
        assert_eq!(second.current(|_| true)[&key].1, marker);
        assert_eq!(names(&second, "weather", None), ["list_events"]);

        // Changed text: the planted reading is ignored and the text read again.
        let changed = tool("cal", "list_events", "send mail");
        let third = DenseIndex::new(e, None);
        third.replace_all(&[changed], saved).unwrap();
        assert_ne!(third.current(|_| true)[&key].1, marker);
    }

    #[test]
    fn a_piece_every_tool_shares_weighs_less_than_one_that_tells_them_apart() {
        let index = DenseIndex::new(embedder(), None);
        index
            .replace_server(
                "cal",
                &[
                    tool("cal", "list", "calendar events"),
                    tool("cal", "send", "calendar mail"),
                    tool("cal", "forecast", "calendar weather"),
                ],
            )
            .unwrap();
        let cosine = |query: &str| {
            let q = index.embed_query(query).unwrap();
            index
                .search(&q, None, 10, |s| s.cosine("cal", "list"))
                .unwrap()
                .unwrap()
        };
        assert!(cosine("events") > cosine("calendar"));
    }

    #[test]
    fn a_foreign_or_truncated_vectors_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let e = embedder();
        let index = DenseIndex::new(e, Some(dir.path()));
        index
            .replace_server("cal", &[tool("cal", "list_events", "calendar events")])
            .unwrap();
        let path = dir.path().join(VECTORS_FILE);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert!(DenseIndex::new(e, Some(dir.path())).saved().is_empty());
        std::fs::write(&path, b"garbage").unwrap();
        assert!(DenseIndex::new(e, Some(dir.path())).saved().is_empty());
    }
}
