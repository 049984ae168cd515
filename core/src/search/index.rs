//! The search index: one tantivy index, writes one at a time, one manually reloaded reader.
//!
//! Writes are per server: [`SearchIndex::replace_server`] deletes that server's documents and
//! adds the new ones in a single commit, then reloads the reader, so a search that starts after
//! it returns sees exactly the new tools. Searches never wait for a write.
//!
//! The tantivy writer exists only during a write: made for it, dropped once its commit and the
//! merges that commit started are done. A writer holds a 10,000-slot operation channel (2.5 MiB)
//! and its threads from the moment it is made, and a gateway writes only when a server's tools
//! change, so keeping one would be most of the index's memory at idle. The index directory is
//! locked for the life of a [`SearchIndex`] instead, so a second process is still refused.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::directory::error::LockError;
use tantivy::directory::{Directory, DirectoryLock, Lock, INDEX_WRITER_LOCK};
use tantivy::indexer::IndexWriterOptions;
use tantivy::query::{AllQuery, Query};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError, Term,
};

use super::analysis::{analyze, analyzer, ANALYZER};
use super::dense::DenseIndex;
use super::explain::explain;
use super::fields::{from_document, hit_from_document, schema, to_document, Fields, StoredHit};
use super::fusion::{fuse, Fused, Fusion, Signal, FUSION};
use super::query::{build, phrases, server_filter, QueryTerms, WEIGHTS};
use super::rerank;
use super::{embed, SearchError, SearchHit, SearchMode, SearchOptions, ToolDoc};

/// Memory the writer may buffer before flushing a segment. Tool documents are small; this is
/// plenty for 100k tools in one commit while staying modest for a desktop gateway.
const WRITER_MEMORY_BYTES: usize = 32 * 1024 * 1024;

/// Bytes of query text analyzed; the rest is ignored. A request for a tool is a sentence.
const MAX_QUERY_BYTES: usize = 1024;

/// Distinct query terms searched; more only slows the search down.
const MAX_QUERY_TERMS: usize = 32;

/// Written as the payload of every commit. Bump it when analysis changes what terms a text
/// produces (tokenizer, stop words, stemming): an index written by another version is then
/// rebuilt instead of being searched with terms it does not contain.
const INDEX_FORMAT: &str = "portcullis-search/2";

/// Candidates rescored with phrase matches before the top `limit` are kept.
const RERANK_POOL: usize = 50;

/// Candidates taken from each signal before fusion: enough that a tool ranked low by one
/// signal and high by the other reaches the top.
const FUSION_POOL: usize = 50;

/// The lock file a [`SearchIndex`] holds in its directory for as long as it is open.
const OPEN_LOCK: &str = ".portcullis-search.lock";

/// File names tantivy owns in an index directory, removed when a broken index is rebuilt.
const INDEX_FILE_EXTENSIONS: &[&str] = &["idx", "pos", "term", "store", "fast", "fieldnorm", "del"];

/// A searchable set of tools. `Send + Sync`; share it in an `Arc`.
pub struct SearchIndex {
    fields: Fields,
    index: Index,
    reader: IndexReader,
    /// Taken by each write: one writer at a time.
    writing: Mutex<()>,
    /// Held while the index is open: another process opening it is refused.
    _open: DirectoryLock,
    analyzer: TextAnalyzer,
    path: Option<PathBuf>,
    /// The dense signal; `None` in BM25 mode or when the binary has no model.
    dense: Option<DenseIndex>,
    /// How the two rankings are fused.
    fusion: Fusion,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// Opens the index stored in `dir`, creating the directory and the index if missing.
    ///
    /// An index that cannot be opened (corrupt, or written with another schema) is removed and
    /// recreated empty, with a warning: the gateway refills it from its upstreams, so losing it
    /// costs less than refusing to start. An index locked by another process is an error.
    ///
    /// Ranks as the gateway does: hybrid, or BM25 when the binary has no model (see
    /// [`Self::mode`]); [`Self::open_with`] chooses.
    pub fn open(dir: &Path) -> Result<Self, SearchError> {
        Self::open_with(dir, SearchMode::Hybrid)
    }

    /// Like [`Self::open`], ranking with `mode`; hybrid keeps its vectors in
    /// `dense-vectors.bin` in `dir`.
    pub fn open_with(dir: &Path, mode: SearchMode) -> Result<Self, SearchError> {
        let io_err = |source| SearchError::Io {
            path: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io_err)?;
        let (schema, fields) = schema();
        let index = match open_existing(dir, &schema) {
            Ok(Some(index)) => index,
            Ok(None) => Index::create_in_dir(dir, schema)?,
            Err(reason) => {
                tracing::warn!(
                    path = %dir.display(),
                    %reason,
                    "search index unusable, rebuilding it empty; it refills as upstreams connect"
                );
                clear_index_files(dir).map_err(io_err)?;
                Index::create_in_dir(dir, schema)?
            }
        };
        let mut this = Self::with_index(index, fields, Some(dir.to_owned()))?;
        if mode == SearchMode::Hybrid {
            this.dense = embed::builtin().map(|e| DenseIndex::new(e, Some(dir)));
        }
        if let Some(dense) = &this.dense {
            // Vectors saved by the last run are reused for every tool whose text is unchanged.
            dense.replace_all(&this.all()?, dense.saved())?;
        }
        Ok(this)
    }

    /// Creates an empty index held in memory only, hybrid when the binary has a model.
    pub fn in_memory() -> Result<Self, SearchError> {
        Self::in_memory_with(SearchMode::Hybrid)
    }

    /// Creates an empty in-memory index that ranks with `mode`; [`SearchMode::Hybrid`]
    /// without a built-in model is BM25 (see [`Self::mode`]).
    pub fn in_memory_with(mode: SearchMode) -> Result<Self, SearchError> {
        let (schema, fields) = schema();
        let mut this = Self::with_index(Index::create_in_ram(schema), fields, None)?;
        if mode == SearchMode::Hybrid {
            this.dense = embed::builtin().map(|e| DenseIndex::new(e, None));
        }
        Ok(this)
    }

    /// How this index ranks: hybrid only when asked for and a model is built in.
    pub fn mode(&self) -> SearchMode {
        if self.dense.is_some() {
            SearchMode::Hybrid
        } else {
            SearchMode::Bm25
        }
    }

    /// Replaces the fusion weights (for tuning them on evaluation sets).
    pub(crate) fn set_fusion(&mut self, fusion: Fusion) {
        self.fusion = fusion;
    }

    fn with_index(
        index: Index,
        fields: Fields,
        path: Option<PathBuf>,
    ) -> Result<Self, SearchError> {
        index.tokenizers().register(ANALYZER, analyzer());
        let locked = |e: LockError| lock_error(TantivyError::LockFailure(e, None), &path);
        let open = index
            .directory()
            .acquire_lock(&Lock {
                filepath: PathBuf::from(OPEN_LOCK),
                is_blocking: false,
            })
            .map_err(locked)?;
        // A release from before holds tantivy's writer lock for as long as it runs: refused too.
        drop(
            index
                .directory()
                .acquire_lock(&INDEX_WRITER_LOCK)
                .map_err(locked)?,
        );
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            fields,
            index,
            reader,
            writing: Mutex::new(()),
            _open: open,
            analyzer: analyzer(),
            path,
            dense: None,
            fusion: FUSION,
        })
    }

    /// Replaces every tool of `server` with `tools`, in one commit.
    ///
    /// Each tool is indexed under `server` whatever its own `server` field says, so that
    /// [`SearchIndex::remove_server`] and the server filter always agree with this call.
    ///
    /// A server listed again with the tools the index holds for it (a restart, a reconnect)
    /// writes nothing.
    pub fn replace_server(&self, server: &str, tools: &[ToolDoc]) -> Result<(), SearchError> {
        let renamed: Vec<ToolDoc>;
        let tools = if tools.iter().all(|t| t.server == server) {
            tools
        } else {
            renamed = tools
                .iter()
                .map(|t| ToolDoc {
                    server: server.to_owned(),
                    ..t.clone()
                })
                .collect();
            &renamed
        };
        if !self.holds_exactly(server, tools)? {
            self.write(|writer, fields| {
                writer.delete_term(Term::from_field_text(fields.server_key, server));
                for tool in tools {
                    writer.add_document(to_document(fields, tool)?)?;
                }
                Ok(())
            })?;
        }
        // BM25 already serves the new tools while their vectors are computed.
        match &self.dense {
            Some(dense) => dense.replace_server(server, tools),
            None => Ok(()),
        }
    }

    /// Replaces the documents of these tools of `server` (a decision changed
    /// their state), in one commit; the server's other tools stay as they are,
    /// so the cost follows `tools`, not the server's tool count.
    pub fn replace_tools(&self, server: &str, tools: &[ToolDoc]) -> Result<(), SearchError> {
        let tools: Vec<ToolDoc> = tools
            .iter()
            .map(|t| ToolDoc {
                server: server.to_owned(),
                ..t.clone()
            })
            .collect();
        self.write(|writer, fields| {
            for tool in &tools {
                writer.delete_term(Term::from_field_text(
                    fields.tool_key,
                    &super::fields::tool_key(server, &tool.name),
                ));
                writer.add_document(to_document(fields, tool)?)?;
            }
            Ok(())
        })?;
        match &self.dense {
            Some(dense) => dense.replace_tools(server, &tools),
            None => Ok(()),
        }
    }

    /// Replaces the whole content of the index with `tools`, in one commit.
    ///
    /// For a full rebuild (startup, tests, benchmarks) this is much cheaper than one
    /// [`SearchIndex::replace_server`] per server, which commits each time.
    #[allow(dead_code)]
    pub fn replace_all(&self, tools: &[ToolDoc]) -> Result<(), SearchError> {
        self.write(|writer, fields| {
            writer.delete_all_documents()?;
            for tool in tools {
                writer.add_document(to_document(fields, tool)?)?;
            }
            Ok(())
        })?;
        match &self.dense {
            Some(dense) => dense.replace_all(tools, std::collections::HashMap::new()),
            None => Ok(()),
        }
    }

    /// Removes every tool of `server`.
    pub fn remove_server(&self, server: &str) -> Result<(), SearchError> {
        self.write(|writer, fields| {
            writer.delete_term(Term::from_field_text(fields.server_key, server));
            Ok(())
        })?;
        match &self.dense {
            Some(dense) => dense.remove_server(server),
            None => Ok(()),
        }
    }

    /// Whether the index holds exactly `tools` for `server` (same documents, same order of
    /// equal names).
    fn holds_exactly(&self, server: &str, tools: &[ToolDoc]) -> Result<bool, SearchError> {
        let mut wanted: Vec<&ToolDoc> = tools.iter().collect();
        wanted.sort_by(|a, b| a.name.cmp(&b.name));
        let held = self.server_tools(server)?;
        Ok(held.len() == wanted.len() && held.iter().zip(wanted).all(|(h, w)| h == w))
    }

    /// Makes a writer, runs `change`, commits, waits for the merges the commit started, drops
    /// the writer and reloads the reader. If anything fails before the commit, nothing of the
    /// change is published: the writer is dropped with it.
    fn write(
        &self,
        change: impl FnOnce(&IndexWriter, &Fields) -> Result<(), SearchError>,
    ) -> Result<(), SearchError> {
        let _writing = self.lock_writing()?;
        // One merge thread: a merge of tool documents is small, and each thread is made anew.
        let options = IndexWriterOptions::builder()
            .num_worker_threads(1)
            .num_merge_threads(1)
            .memory_budget_per_thread(WRITER_MEMORY_BYTES)
            .build();
        let mut writer: IndexWriter = self
            .index
            .writer_with_options(options)
            .map_err(|e| lock_error(e, &self.path))?;
        change(&writer, &self.fields)?;
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(INDEX_FORMAT);
        commit.commit()?;
        // Merges left running would be abandoned when the writer goes, and segments would pile
        // up one per write; a merge of tool documents takes milliseconds.
        if let Err(e) = writer.wait_merging_threads() {
            tracing::warn!(error = %e, "search index merge failed; the commit stands");
        }
        self.reader.reload()?;
        Ok(())
    }

    fn lock_writing(&self) -> Result<MutexGuard<'_, ()>, SearchError> {
        self.writing.lock().map_err(|_| SearchError::Poisoned)
    }

    /// Ranks the tools for a request in plain words.
    ///
    /// Any text is a valid query. A query with no searchable word (empty, or only stop words
    /// such as "can you") lists tools with score 0, so an agent still sees what exists.
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<Vec<SearchHit>, SearchError> {
        let searcher = self.reader.searcher();
        let total = usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX);
        let limit = opts.limit.min(total);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut analyzer = self.analyzer.clone();
        let mut analyzed = analyze(&mut analyzer, truncate(query, MAX_QUERY_BYTES));
        analyzed.truncate(MAX_QUERY_TERMS * 2);
        let mut terms = QueryTerms::new(analyzed);
        terms.terms.truncate(MAX_QUERY_TERMS);
        let all = self.fields.all;
        terms.promote_stand_ins(|t| {
            searcher
                .doc_freq(&Term::from_field_text(all, t))
                .is_ok_and(|n| n == 0)
        });

        let server = opts.server.as_deref();
        if terms.is_empty() {
            let q: Box<dyn Query> = match server {
                Some(server) => server_filter(&self.fields, server),
                None => Box::new(AllQuery),
            };
            let mut docs = searcher.search(&q, &TopDocs::with_limit(limit))?;
            docs.sort_by_key(|(_, addr)| *addr);
            let scored: Vec<(f32, DocAddress)> =
                docs.into_iter().map(|(_, addr)| (0.0, addr)).collect();
            return self.bm25_hits(&searcher, &mut analyzer, &terms, scored, opts);
        }

        let query_vector = self.dense.as_ref().and_then(|d| {
            d.embed_query(truncate(query, MAX_QUERY_BYTES))
                .map(|v| (d, v))
        });
        let pool = match query_vector {
            Some(_) => limit.max(FUSION_POOL.min(total)),
            None => limit,
        };
        let q = build(&self.fields, &WEIGHTS, &terms, server);
        let mut bm25 = match phrases(&self.fields, &WEIGHTS, &terms) {
            None => searcher.search(&q, &TopDocs::with_limit(pool))?,
            Some(phrase_query) => {
                let rerank_pool = pool.max(RERANK_POOL.min(total));
                let mut top = searcher.search(&q, &TopDocs::with_limit(rerank_pool))?;
                rerank::add_scores(&searcher, phrase_query.as_ref(), &mut top)?;
                top
            }
        };
        bm25.truncate(pool);
        let Some((dense, vector)) = query_vector else {
            return self.bm25_hits(&searcher, &mut analyzer, &terms, bm25, opts);
        };

        // BM25 candidates by (server, name), the key both signals share.
        let mut lexical: Vec<(Key, f32)> = Vec::with_capacity(bm25.len());
        let mut docs: Vec<(TantivyDocument, StoredHit)> = Vec::with_capacity(bm25.len());
        for (score, addr) in &bm25 {
            let doc: TantivyDocument = searcher.doc(*addr)?;
            let hit = hit_from_document(&self.fields, &doc)?;
            lexical.push(((hit.server.clone(), hit.name.clone()), *score));
            docs.push((doc, hit));
        }
        let fused: Vec<(Fused<Key>, Option<StoredHit>, Option<usize>)> =
            dense.search(&vector, server, pool, |scores| {
                let semantic: Vec<(Key, f32)> = scores
                    .top()
                    .map(|(r, s)| ((r.hit.server.clone(), r.hit.name.clone()), s))
                    .collect();
                fuse(&self.fusion, &lexical, &semantic, |(server, name)| {
                    scores.cosine(server, name)
                })
                .into_iter()
                .take(limit)
                .map(|f| {
                    let row = match f.bm25 {
                        Some(_) => None,
                        None => scores
                            .top()
                            .find(|(r, _)| (&r.hit.server, &r.hit.name) == (&f.key.0, &f.key.1))
                            .map(|(r, _)| r.hit.clone()),
                    };
                    // The full dense rank is a count over every tool: only when asked.
                    let rank = opts
                        .explain
                        .then(|| f.dense_rank.or_else(|| f.cosine.map(|c| scores.rank(c))))
                        .flatten();
                    (f, row, rank)
                })
                .collect()
            })?;

        let mut hits = Vec::with_capacity(fused.len());
        for (f, row, dense_rank) in fused {
            let (hit, lexical_match) = match (f.bm25, row) {
                (Some(Signal { rank, .. }), _) => {
                    let (doc, hit) = &docs[rank - 1];
                    let matched = opts
                        .explain
                        .then(|| {
                            from_document(&self.fields, doc)
                                .map(|t| explain(&mut analyzer, &t, &terms))
                        })
                        .transpose()?;
                    (hit.clone(), matched)
                }
                (None, Some(hit)) => (hit, None),
                (None, None) => continue,
            };
            let explanation = opts.explain.then(|| {
                let signals = signals(f.bm25, dense_rank.zip(f.cosine), f.score);
                match lexical_match {
                    Some(m) => format!("{m}; {signals}"),
                    None => signals,
                }
            });
            hits.push(to_hit(hit, f.score, explanation));
        }
        Ok(hits)
    }

    /// Hits of a BM25-only ranking, top `opts.limit`.
    fn bm25_hits(
        &self,
        searcher: &tantivy::Searcher,
        analyzer: &mut TextAnalyzer,
        terms: &QueryTerms,
        mut scored: Vec<(f32, DocAddress)>,
        opts: &SearchOptions,
    ) -> Result<Vec<SearchHit>, SearchError> {
        scored.truncate(opts.limit);
        let mut hits = Vec::with_capacity(scored.len());
        for (i, (score, addr)) in scored.into_iter().enumerate() {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let hit = hit_from_document(&self.fields, &doc)?;
            let explanation = if opts.explain {
                let tool = from_document(&self.fields, &doc)?;
                let matched = explain(analyzer, &tool, terms);
                Some(if terms.is_empty() {
                    matched
                } else {
                    format!("{matched}; bm25 #{} ({score:.3})", i + 1)
                })
            } else {
                None
            };
            hits.push(to_hit(hit, score, explanation));
        }
        Ok(hits)
    }

    /// Every stored tool, sorted by server then name.
    pub fn all(&self) -> Result<Vec<ToolDoc>, SearchError> {
        self.stored(&AllQuery)
    }

    /// The stored tools of one server, sorted by name; cheaper than filtering [`Self::all`].
    pub fn server_tools(&self, server: &str) -> Result<Vec<ToolDoc>, SearchError> {
        self.stored(server_filter(&self.fields, server).as_ref())
    }

    fn stored(&self, query: &dyn Query) -> Result<Vec<ToolDoc>, SearchError> {
        let searcher = self.reader.searcher();
        let mut addrs: Vec<DocAddress> = searcher
            .search(query, &DocSetCollector)?
            .into_iter()
            .collect();
        addrs.sort();
        let mut tools = Vec::with_capacity(addrs.len());
        for addr in addrs {
            let doc: TantivyDocument = searcher.doc(addr)?;
            tools.push(from_document(&self.fields, &doc)?);
        }
        tools.sort_by(|a, b| (&a.server, &a.name).cmp(&(&b.server, &b.name)));
        Ok(tools)
    }

    /// Number of tools indexed.
    pub fn len(&self) -> usize {
        usize::try_from(self.reader.searcher().num_docs()).unwrap_or(usize::MAX)
    }

    /// True when no tool is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A tool's identity in both signals: (server, name).
type Key = (String, String);

fn to_hit(hit: StoredHit, score: f32, explanation: Option<String>) -> SearchHit {
    SearchHit {
        server: hit.server,
        name: hit.name,
        score,
        title: hit.title,
        description: hit.description,
        signature: hit.signature,
        state: hit.state,
        explanation,
    }
}

/// `bm25 #2 (7.310), dense #1 (cos 0.642), fused 1.350`: each signal's rank and raw score,
/// then the fused score the ranking sorts by.
fn signals(bm25: Option<Signal>, dense: Option<(usize, f32)>, fused: f32) -> String {
    let lexical = match bm25 {
        Some(s) => format!("bm25 #{} ({:.3})", s.rank, s.score),
        None => "bm25 no match".to_owned(),
    };
    let semantic = match dense {
        Some((rank, cos)) => format!("dense #{rank} (cos {cos:.3})"),
        None => "dense no vector".to_owned(),
    };
    format!("{lexical}, {semantic}, fused {fused:.3}")
}

/// A lock that another process holds is [`SearchError::Locked`] for an index on disk.
fn lock_error(e: TantivyError, path: &Option<PathBuf>) -> SearchError {
    match (e, path) {
        (TantivyError::LockFailure(..), Some(p)) => SearchError::Locked { path: p.clone() },
        (e, _) => SearchError::Index(e),
    }
}

/// Opens an existing index; `Ok(None)` when there is none, `Err(reason)` when it is unusable.
fn open_existing(dir: &Path, schema: &tantivy::schema::Schema) -> Result<Option<Index>, String> {
    if !dir.join("meta.json").exists() {
        return Ok(None);
    }
    let index = Index::open_in_dir(dir).map_err(|e| e.to_string())?;
    if &index.schema() != schema {
        return Err("it was written with a different schema".to_owned());
    }
    let payload = index.load_metas().map_err(|e| e.to_string())?.payload;
    if payload.as_deref().is_some_and(|p| p != INDEX_FORMAT) {
        return Err(format!(
            "it was written by another version ({})",
            payload.unwrap_or_default()
        ));
    }
    // Opening a reader opens every segment: missing or truncated files show up here.
    index.tokenizers().register(ANALYZER, analyzer());
    index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
        .map_err(|e: TantivyError| e.to_string())?;
    Ok(Some(index))
}

/// Removes the files tantivy writes in an index directory, leaving anything else alone.
fn clear_index_files(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        let owned = name == "meta.json"
            || name == ".managed.json"
            || (name.starts_with(".tantivy-") && name.ends_with(".lock"))
            || (INDEX_FILE_EXTENSIONS.contains(&ext) && is_segment_file(name));
        if owned && path.is_file() {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Segment files are named `<32 hex digits>.<ext>`.
fn is_segment_file(name: &str) -> bool {
    name.split('.')
        .next()
        .is_some_and(|stem| stem.len() == 32 && stem.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
