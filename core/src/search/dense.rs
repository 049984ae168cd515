//! The dense signal: one vector per tool, searched by cosine similarity.
//!
//! Vectors live in memory as one flat matrix (10k tools × 256 dims = 10 MB) scanned in full
//! per query, which at that size is cheaper than any approximate index. They are persisted in
//! `dense-vectors.bin` beside the tantivy index, keyed by server, tool name and a hash of the
//! embedded text, so a restart or a re-listed server recomputes only the tools whose text
//! changed. A tool without a vector (being embedded, or nothing known in its text) is still
//! found by BM25: fusion uses whichever signals a tool has.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use super::embed::{fnv1a, Embedder};
use super::fields::{param_texts, StoredHit};
use super::{signature, SearchError, ToolDoc};

/// The file beside the tantivy index.
pub(crate) const VECTORS_FILE: &str = "dense-vectors.bin";
const MAGIC: &[u8; 8] = b"PCDENSE1";

/// One tool's row: what a hit shows, and the hash of the text its vector was made from.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) hit: StoredHit,
    hash: u64,
}

#[derive(Debug, Default)]
struct Table {
    rows: Vec<Row>,
    /// `rows.len() × dims` floats, row-major.
    matrix: Vec<f32>,
    /// Row of each (server, name), so a BM25 candidate's cosine is one lookup.
    by_key: HashMap<(String, String), usize>,
}

impl Table {
    fn push(&mut self, row: Row, vector: &[f32]) {
        self.by_key.insert(
            (row.hit.server.clone(), row.hit.name.clone()),
            self.rows.len(),
        );
        self.rows.push(row);
        self.matrix.extend_from_slice(vector);
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
    /// An empty index; with `dir`, vectors saved there by an earlier run are loaded as a cache
    /// for [`Self::replace_all`] and [`Self::replace_server`] to reuse.
    pub(crate) fn new(embedder: &'static Embedder, dir: Option<&Path>) -> Self {
        Self {
            embedder,
            table: RwLock::new(Table::default()),
            path: dir.map(|d| d.join(VECTORS_FILE)),
        }
    }

    /// Vectors saved by an earlier run, by (server, name): hash and vector.
    pub(crate) fn saved(&self) -> HashMap<(String, String), (u64, Vec<f32>)> {
        let Some(path) = &self.path else {
            return HashMap::new();
        };
        match std::fs::read(path) {
            Ok(bytes) => decode(&bytes, self.embedder.fingerprint(), self.embedder.dims())
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

    /// Replaces every row with `tools`, reusing vectors from `cache` and the current rows
    /// where the text is unchanged; saves the result.
    pub(crate) fn replace_all(
        &self,
        tools: &[ToolDoc],
        cache: HashMap<(String, String), (u64, Vec<f32>)>,
    ) -> Result<(), SearchError> {
        let mut cache = cache;
        cache.extend(self.current(|_| true));
        let fresh = self.embed_all(tools, &cache);
        let mut table = Table::default();
        for (row, vector) in fresh {
            table.push(row, &vector);
        }
        *self.write_table()? = table;
        self.save();
        Ok(())
    }

    /// Replaces the rows of `server` with `tools`; unchanged texts keep their vectors.
    pub(crate) fn replace_server(
        &self,
        server: &str,
        tools: &[ToolDoc],
    ) -> Result<(), SearchError> {
        // Embedding happens outside the lock: searches keep the old rows meanwhile.
        let cache = self.current(|r| r.hit.server == server);
        let fresh = self.embed_all(tools, &cache);
        {
            let mut table = self.write_table()?;
            retain_rows(&mut table, self.embedder.dims(), |r| r.hit.server != server);
            for (mut row, vector) in fresh {
                row.hit.server = server.to_owned();
                table.push(row, &vector);
            }
        }
        self.save();
        Ok(())
    }

    /// Replaces the rows of these tools of `server`; unchanged texts keep their vectors.
    /// Not saved: the saved vectors are a cache by text, and a decision changes no text.
    pub(crate) fn replace_tools(&self, server: &str, tools: &[ToolDoc]) -> Result<(), SearchError> {
        let names: std::collections::HashSet<&str> =
            tools.iter().map(|t| t.name.as_str()).collect();
        let ours = |r: &Row| r.hit.server == server && names.contains(r.hit.name.as_str());
        let cache = self.current(ours);
        let fresh = self.embed_all(tools, &cache);
        let mut table = self.write_table()?;
        retain_rows(&mut table, self.embedder.dims(), |r| !ours(r));
        for (row, vector) in fresh {
            table.push(row, &vector);
        }
        Ok(())
    }

    /// Removes the rows of `server`.
    pub(crate) fn remove_server(&self, server: &str) -> Result<(), SearchError> {
        retain_rows(&mut *self.write_table()?, self.embedder.dims(), |r| {
            r.hit.server != server
        });
        self.save();
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

    fn embed_all(
        &self,
        tools: &[ToolDoc],
        cache: &HashMap<(String, String), (u64, Vec<f32>)>,
    ) -> Vec<(Row, Vec<f32>)> {
        tools
            .iter()
            .filter_map(|tool| {
                let text = tool_text(tool);
                let hash = fnv1a(text.as_bytes());
                let vector = match cache.get(&(tool.server.clone(), tool.name.clone())) {
                    Some((h, v)) if *h == hash => v.clone(),
                    _ => self.embedder.embed(&text)?,
                };
                let hit = StoredHit {
                    server: tool.server.clone(),
                    name: tool.name.clone(),
                    title: tool.title.clone(),
                    description: tool.description.clone(),
                    signature: signature(&tool.input_schema),
                    state: tool.state.clone(),
                };
                Some((Row { hit, hash }, vector))
            })
            .collect()
    }

    fn current(&self, keep: impl Fn(&Row) -> bool) -> HashMap<(String, String), (u64, Vec<f32>)> {
        let Ok(table) = self.table.read() else {
            return HashMap::new();
        };
        let dims = self.embedder.dims();
        table
            .rows
            .iter()
            .zip(table.matrix.chunks_exact(dims))
            .filter(|(r, _)| keep(r))
            .map(|(r, v)| {
                (
                    (r.hit.server.clone(), r.hit.name.clone()),
                    (r.hash, v.to_vec()),
                )
            })
            .collect()
    }

    fn write_table(&self) -> Result<std::sync::RwLockWriteGuard<'_, Table>, SearchError> {
        self.table.write().map_err(|_| SearchError::Poisoned)
    }

    /// Writes the vectors beside the index (through a temporary file and a rename, so a crash
    /// leaves the old file or the new one). A failure is logged, not returned: the index
    /// itself is committed, and a lost file only costs recomputation at the next start.
    fn save(&self) {
        let Some(path) = &self.path else {
            return;
        };
        let Ok(table) = self.table.read() else {
            return;
        };
        let bytes = encode(&table, self.embedder.fingerprint(), self.embedder.dims());
        drop(table);
        let tmp = path.with_extension("bin.tmp");
        if let Err(e) = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path)) {
            tracing::warn!(path = %path.display(), error = %e, "tool search: could not save vectors; they are recomputed at the next start");
        }
    }
}

fn retain_rows(table: &mut Table, dims: usize, keep: impl Fn(&Row) -> bool) {
    let old = std::mem::take(table);
    for (row, v) in old.rows.into_iter().zip(old.matrix.chunks_exact(dims)) {
        if keep(&row) {
            table.push(row, v);
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

fn encode(table: &Table, fingerprint: u64, dims: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + table.matrix.len() * 4 + table.rows.len() * 48);
    out.extend(MAGIC);
    out.extend(fingerprint.to_le_bytes());
    out.extend((dims as u32).to_le_bytes());
    out.extend((table.rows.len() as u32).to_le_bytes());
    for (row, v) in table.rows.iter().zip(table.matrix.chunks_exact(dims)) {
        for s in [&row.hit.server, &row.hit.name] {
            out.extend((s.len() as u32).to_le_bytes());
            out.extend(s.as_bytes());
        }
        out.extend(row.hash.to_le_bytes());
        v.iter().for_each(|x| out.extend(x.to_le_bytes()));
    }
    out
}

type Saved = HashMap<(String, String), (u64, Vec<f32>)>;

fn decode(bytes: &[u8], fingerprint: u64, dims: usize) -> Result<Saved, String> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8], String> {
        let end = at
            .checked_add(n)
            .filter(|&e| e <= bytes.len())
            .ok_or("truncated")?;
        let out = &bytes[at..end];
        at = end;
        Ok(out)
    };
    if take(8)? != MAGIC {
        return Err("not a vectors file".to_owned());
    }
    let u64_of = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or_default());
    let u32_of = |b: &[u8]| u32::from_le_bytes(b.try_into().unwrap_or_default()) as usize;
    if u64_of(take(8)?) != fingerprint || u32_of(take(4)?) != dims {
        return Err("made with another embedding model".to_owned());
    }
    let rows = u32_of(take(4)?);
    let mut out = HashMap::with_capacity(rows.min(1 << 20));
    for _ in 0..rows {
        let mut key = [String::new(), String::new()];
        for k in &mut key {
            let n = u32_of(take(4)?);
            *k = String::from_utf8(take(n)?.to_vec()).map_err(|e| e.to_string())?;
        }
        let hash = u64_of(take(8)?);
        let v = take(dims * 4)?
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let [server, name] = key;
        out.insert((server, name), (hash, v));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn embedder() -> &'static Embedder {
        let words = ["list", "events", "send", "mail", "calendar", "weather"];
        let bytes = super::super::embed::tests_support::tiny_model(&words, 6);
        Box::leak(Box::new(Embedder::from_bytes(bytes).expect("model")))
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
    fn saved_vectors_are_reused_only_for_unchanged_text() {
        let dir = tempfile::tempdir().unwrap();
        let e = embedder();
        let events = tool("cal", "list_events", "calendar events");
        let first = DenseIndex::new(e, Some(dir.path()));
        first
            .replace_server("cal", std::slice::from_ref(&events))
            .unwrap();
        assert!(dir.path().join(VECTORS_FILE).exists());

        // A saved vector whose hash matches is taken as is, not recomputed: plant a marker.
        let mut saved = DenseIndex::new(e, Some(dir.path())).saved();
        let key = ("cal".to_owned(), "list_events".to_owned());
        let (hash, _) = saved.get(&key).cloned().expect("saved row");
        let marker = vec![0.5f32; e.dims()];
        saved.insert(key.clone(), (hash, marker.clone()));
        let second = DenseIndex::new(e, None);
        second
            .replace_all(std::slice::from_ref(&events), saved.clone())
            .unwrap();
        assert_eq!(second.current(|_| true)[&key].1, marker);

        // Changed text: the planted vector is ignored and a new one computed.
        let changed = tool("cal", "list_events", "weather");
        let third = DenseIndex::new(e, None);
        third.replace_all(&[changed], saved).unwrap();
        assert_ne!(third.current(|_| true)[&key].1, marker);
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
