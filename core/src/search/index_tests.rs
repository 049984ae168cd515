//! Behaviour tests of the search index: freshness, persistence, filters, explanations,
//! hostile input, and retrieval quality on a fixture and on the shared evaluation sets.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::analysis::{analyze, analyzer};
use super::eval;
use super::{SearchIndex, SearchMode, SearchOptions, ToolDoc};

fn tool(server: &str, name: &str, description: &str) -> ToolDoc {
    ToolDoc {
        server: server.to_owned(),
        name: name.to_owned(),
        title: None,
        description: Some(description.to_owned()),
        input_schema: json!({"type": "object", "properties": {"path": {"type": "string", "description": "where to look"}}, "required": ["path"]}),
        state: "approved".to_owned(),
    }
}

fn names(index: &SearchIndex, query: &str, opts: &SearchOptions) -> Vec<String> {
    index
        .search(query, opts)
        .expect("search")
        .into_iter()
        .map(|h| format!("{}/{}", h.server, h.name))
        .collect()
}

fn terms(text: &str) -> Vec<String> {
    analyze(&mut analyzer(), text)
        .into_iter()
        .map(|t| t.text)
        .collect()
}

#[test]
fn analyzer_splits_identifiers() {
    assert_eq!(
        terms("get_userProfile"),
        ["getuserprofil", "get", "user", "profil"]
    );
    assert_eq!(terms("list-repos"), ["listrepo", "list", "repo"]);
    assert_eq!(terms("HTMLParser"), ["htmlparser", "html", "parser"]);
    assert_eq!(terms("ec2Instances"), ["ec2inst", "ec", "2", "instanc"]);
    assert_eq!(
        terms("chat.postMessage"),
        ["chat", "postmessag", "post", "messag"]
    );
    assert_eq!(terms("Café Übersicht"), ["cafe", "ubersicht"]);
    assert_eq!(
        terms("Can you please find the weather?"),
        ["find", "weather"]
    );
}

#[test]
fn replaced_description_is_found_by_new_words_only() {
    // Keyword freshness; in hybrid mode "zebra" rightly finds the giraffe note by meaning.
    let index = SearchIndex::in_memory_with(SearchMode::Bm25).unwrap();
    index
        .replace_server("notes", &[tool("notes", "save", "Store a zebra note")])
        .unwrap();
    assert_eq!(
        names(&index, "zebra", &SearchOptions::default()),
        ["notes/save"]
    );
    index
        .replace_server("notes", &[tool("notes", "save", "Store a giraffe note")])
        .unwrap();
    assert!(names(&index, "zebra", &SearchOptions::default()).is_empty());
    assert_eq!(
        names(&index, "giraffe", &SearchOptions::default()),
        ["notes/save"]
    );
    assert_eq!(index.len(), 1);
}

#[test]
fn replace_touches_only_that_server() {
    let index = SearchIndex::in_memory().unwrap();
    index
        .replace_server("a", &[tool("a", "one", "alpha tool")])
        .unwrap();
    index
        .replace_server("b", &[tool("b", "two", "alpha tool")])
        .unwrap();
    index.replace_server("a", &[]).unwrap();
    assert_eq!(names(&index, "alpha", &SearchOptions::default()), ["b/two"]);
    index.remove_server("b").unwrap();
    assert!(index.is_empty());
}

#[test]
fn replacing_some_tools_keeps_the_rest_of_the_server_and_other_servers() {
    let index = SearchIndex::in_memory().unwrap();
    let one = tool("a", "one", "o");
    let two = tool("a", "two", "t");
    let other = tool("b", "one", "o");
    index
        .replace_server("a", &[one.clone(), two.clone()])
        .unwrap();
    index
        .replace_server("b", std::slice::from_ref(&other))
        .unwrap();
    let decided = ToolDoc {
        state: "blocked".to_owned(),
        ..one
    };
    index
        .replace_tools("a", std::slice::from_ref(&decided))
        .unwrap();
    assert_eq!(index.server_tools("a").unwrap(), [decided, two]);
    assert_eq!(index.server_tools("b").unwrap(), [other]);
    assert_eq!(index.len(), 3);
}

#[test]
fn stored_tools_by_server_and_all() {
    let index = SearchIndex::in_memory().unwrap();
    let b2 = tool("b", "zeta", "z");
    let b1 = tool("b", "alpha", "a");
    let a1 = tool("a", "one", "o");
    index
        .replace_server("b", &[b2.clone(), b1.clone()])
        .unwrap();
    index
        .replace_server("a", std::slice::from_ref(&a1))
        .unwrap();
    assert_eq!(index.server_tools("b").unwrap(), [b1.clone(), b2.clone()]);
    assert!(index.server_tools("missing").unwrap().is_empty());
    assert_eq!(index.all().unwrap(), [a1, b1, b2]);
}

#[test]
fn on_disk_index_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let stored = tool("files", "read_file", "Read a file from disk");
    {
        let index = SearchIndex::open(dir.path()).unwrap();
        index
            .replace_server("files", std::slice::from_ref(&stored))
            .unwrap();
    }
    let index = SearchIndex::open(dir.path()).unwrap();
    assert_eq!(index.all().unwrap(), [stored]);
    assert_eq!(
        names(&index, "read file", &SearchOptions::default()),
        ["files/read_file"]
    );
}

#[test]
fn corrupt_index_is_rebuilt_empty() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = SearchIndex::open(dir.path()).unwrap();
        index
            .replace_server("files", &[tool("files", "read_file", "Read a file")])
            .unwrap();
    }
    std::fs::write(dir.path().join("meta.json"), b"{ not json").unwrap();
    std::fs::write(dir.path().join("unrelated.txt"), b"keep me").unwrap();
    let index = SearchIndex::open(dir.path()).unwrap();
    assert!(index.is_empty());
    assert!(dir.path().join("unrelated.txt").exists());
    index
        .replace_server("files", &[tool("files", "read_file", "Read a file")])
        .unwrap();
    assert_eq!(index.len(), 1);
}

#[test]
fn index_of_another_analysis_version_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = SearchIndex::open(dir.path()).unwrap();
        index
            .replace_server("files", &[tool("files", "read_file", "Read a file")])
            .unwrap();
    }
    let meta_path = dir.path().join("meta.json");
    let meta = std::fs::read_to_string(&meta_path).unwrap();
    assert!(meta.contains("portcullis-search/2"), "{meta}");
    std::fs::write(
        &meta_path,
        meta.replace("portcullis-search/2", "portcullis-search/0"),
    )
    .unwrap();
    assert!(SearchIndex::open(dir.path()).unwrap().is_empty());
}

#[test]
fn second_open_of_a_locked_index_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let _first = SearchIndex::open(dir.path()).unwrap();
    let second = SearchIndex::open(dir.path());
    assert!(
        matches!(second, Err(super::SearchError::Locked { .. })),
        "{second:?}"
    );
}

#[test]
fn server_filter_restricts_hits() {
    let index = SearchIndex::in_memory().unwrap();
    index
        .replace_server("a", &[tool("a", "read", "read a file")])
        .unwrap();
    index
        .replace_server("b", &[tool("b", "read", "read a file")])
        .unwrap();
    let opts = SearchOptions {
        server: Some("b".to_owned()),
        ..SearchOptions::default()
    };
    assert_eq!(names(&index, "read file", &opts), ["b/read"]);
    assert_eq!(names(&index, "", &opts), ["b/read"]);
    let none = SearchOptions {
        server: Some("missing".to_owned()),
        ..SearchOptions::default()
    };
    assert!(names(&index, "read", &none).is_empty());
}

#[test]
fn explain_names_matched_fields() {
    let index = SearchIndex::in_memory().unwrap();
    let mut t = tool("weather", "get_forecast", "Daily weather for a city");
    t.input_schema =
        json!({"properties": {"city": {"type": "string", "description": "City name"}}});
    index.replace_server("weather", &[t]).unwrap();
    let opts = SearchOptions {
        explain: true,
        ..SearchOptions::default()
    };
    let hits = index
        .search("Weather forecasts for my cities", &opts)
        .unwrap();
    let explanation = hits[0].explanation.as_deref().unwrap();
    assert!(
        explanation.starts_with(
            "name: forecasts; server: weather; description: weather, cities; params: cities; \
             param_desc: cities; bm25 #1 ("
        ),
        "{explanation}"
    );
    assert_eq!(hits[0].signature, "(city?: string)");
    let plain = index.search("weather", &SearchOptions::default()).unwrap();
    assert!(plain[0].explanation.is_none());
}

#[test]
fn hostile_queries_do_not_fail() {
    let index = SearchIndex::in_memory().unwrap();
    index
        .replace_server("s", &[tool("s", "read_file", "Read a file")])
        .unwrap();
    let long = "file ".repeat(10_000);
    let queries = [
        "",
        " ",
        "\"",
        "\"unterminated",
        "a:b",
        "name:read",
        "(((",
        ")",
        "[1 TO 5]",
        "+-!^~*?",
        "file AND OR NOT",
        "\\",
        "\u{0}",
        "é😀中文ファイル",
        "'; DROP TABLE tools; --",
        &long,
        "read_file^10",
        "*",
        "ﬁle",
    ];
    for q in queries {
        for limit in [0, 1, 10, usize::MAX] {
            let opts = SearchOptions {
                limit,
                ..SearchOptions::default()
            };
            let hits = index.search(q, &opts);
            assert!(hits.is_ok(), "query {q:?} failed: {hits:?}");
        }
    }
    assert_eq!(
        names(&index, "\"read\" (file)", &SearchOptions::default()),
        ["s/read_file"]
    );
}

#[test]
fn searches_during_replacements_see_one_version() {
    let index = std::sync::Arc::new(SearchIndex::in_memory().unwrap());
    index
        .replace_server("s", &[tool("s", "read", "read a file")])
        .unwrap();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let index = index.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let hits = index
                        .search("read file", &SearchOptions::default())
                        .unwrap();
                    assert_eq!(hits.len(), 1, "{hits:?}");
                }
            })
        })
        .collect();
    for i in 0..30 {
        let description = format!("read a file, version {i}");
        index
            .replace_server("s", &[tool("s", "read", &description)])
            .unwrap();
    }
    for reader in readers {
        reader.join().unwrap();
    }
}

#[test]
fn index_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<SearchIndex>();
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/search/testdata/fixture")
}

#[test]
fn eval_on_fixture_retrieves() {
    let report = eval::run(&fixture_dir(), SearchMode::Bm25).unwrap();
    println!("fixture: {report}");
    assert_eq!((report.queries, report.tools), (15, 15));
    assert!(report.p_at_1 >= 0.8, "{report}");
    assert!(report.hit_at_5 >= 0.9, "{report}");
}

/// The tools of the real servers the end-to-end tests run (server-everything 2026.8.31,
/// mcp-server-time and mcp-server-git 2026.10.19, all MIT) as the gateway lists them, with the
/// requests of `tests/python/test_search.py` (`REQUESTS`), each expected in the top 3.
fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/search/testdata/peers")
}

#[test]
fn plain_requests_find_the_real_servers_tools_in_the_top_3_in_both_modes() {
    let set = eval::read(&peers_dir()).unwrap();
    let mut modes = vec![SearchMode::Bm25];
    if super::embed::builtin().is_some() {
        modes.push(SearchMode::Hybrid);
    }
    let mut misses = Vec::new();
    for mode in modes {
        let index = SearchIndex::in_memory_with(mode).unwrap();
        assert_eq!(index.mode(), mode);
        // Server by server, as the gateway fills its index.
        for server in ["everything", "time", "git"] {
            let tools: Vec<ToolDoc> = set
                .tools
                .iter()
                .filter(|t| t.server == server)
                .cloned()
                .collect();
            index.replace_server(server, &tools).unwrap();
        }
        assert_eq!(index.len(), set.tools.len());
        let opts = SearchOptions {
            limit: 3,
            explain: true,
            ..SearchOptions::default()
        };
        for q in &set.queries {
            let hits = index.search(&q.text, &opts).unwrap();
            let top: Vec<&str> = hits
                .iter()
                .filter_map(|h| set.ids.get(&(h.server.clone(), h.name.clone())))
                .map(String::as_str)
                .collect();
            if !q.relevant.iter().any(|r| top.contains(&r.as_str())) {
                let why: Vec<String> = hits
                    .iter()
                    .map(|h| format!("{} ({})", h.name, h.explanation.as_deref().unwrap_or("")))
                    .collect();
                misses.push(format!(
                    "{mode}: {:?} wants {:?}, top 3: {why:#?}",
                    q.text, q.relevant
                ));
            }
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

/// The shared sets sit beside the checkout (`../shared/search-eval`), in CI too.
fn shared_set(name: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/search-eval")
        .join(name);
    if dir.join("tools.jsonl").exists() {
        Some(dir)
    } else {
        println!("skipped: {} not found", dir.display());
        None
    }
}

/// BM25 reference figures from the shared README: P@1, R@5, Hit@5, nDCG@10.
const REFERENCE: [(&str, [f64; 4]); 2] = [
    ("toollens", [0.346, 0.265, 0.544, 0.295]),
    ("metatool", [0.287, 0.457, 0.457, 0.401]),
];

#[test]
fn eval_on_shared_sets_beats_reference() {
    let mut failures = Vec::new();
    for (name, reference) in REFERENCE {
        let Some(dir) = shared_set(name) else {
            continue;
        };
        let r = eval::run(&dir, SearchMode::Bm25).unwrap();
        println!("{name}: {r}");
        let got = [r.p_at_1, r.r_at_5, r.hit_at_5, r.ndcg_at_10];
        if got.iter().zip(reference).any(|(g, want)| *g < want) {
            failures.push(format!("{name}: {r} is below the reference {reference:?}"));
        }
        if r.r_at_5 < reference[1] * 1.15 {
            failures.push(format!(
                "{name}: R@5 {:.3} is not 15% above {:.3}",
                r.r_at_5, reference[1]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn only_the_synonyms_of_a_word_no_tool_has_stand_in_for_it() {
    let mut q = super::query::QueryTerms::new(analyze(&mut analyzer(), "show the commit history"));
    assert!(
        q.synonyms.iter().any(|s| s.stem == "log"),
        "{:?}",
        q.synonyms
    );
    q.promote_stand_ins(|t| t == "histori");
    assert!(q.stand_ins.iter().any(|s| s == "log"), "{:?}", q.stand_ins);
    // "show" is in the index: its synonyms ("list", "display") stay weak.
    assert!(
        !q.stand_ins.iter().any(|s| s == "list"),
        "{:?}",
        q.stand_ins
    );
}

/// Fusion weights tried on the shared sets, each printed over half 0 (tuned on) and half 1
/// (held back). Run: `cargo test -p portcullis --lib search::index_tests::tune_fusion --
/// --ignored --nocapture`.
#[test]
#[ignore = "prints a tuning table; minutes"]
fn tune_fusion() {
    use super::fusion::Fusion;
    for name in ["toollens", "metatool"] {
        let Some(dir) = shared_set(name) else {
            continue;
        };
        let [_, a, b] = eval::run_with(&dir, SearchMode::Bm25, None).unwrap();
        println!("{name} bm25\n  half0 {a}\n  half1 {b}");
        // (dense, center, band, floor); a band of 1 is the fusion without one.
        for (dense, center, band, floor) in [
            (0.5, 0.3, 1.0, 0.4),
            (0.5, 0.3, 0.25, 0.4),
            (0.5, 0.3, 0.2, 0.4),
            (0.6, 0.2, 0.25, 0.4),
            (0.7, 0.2, 0.2, 0.4),
            (0.7, 0.2, 0.25, 0.4),
            (0.7, 0.3, 0.25, 0.4),
            (0.8, 0.2, 0.25, 0.4),
        ] {
            let fusion = Fusion {
                dense,
                center,
                band,
                floor,
            };
            let [_, a, b] = eval::run_with(&dir, SearchMode::Hybrid, Some(fusion)).unwrap();
            println!("{name} {fusion:?}\n  half0 {a}\n  half1 {b}");
        }
    }
}

/// Portcullis' BM25 figures on the shared sets before the dense signal (BENCHMARKS.md):
/// P@1, R@5, Hit@5, nDCG@10. Hybrid search must not fall below any of them.
const BM25_TODAY: [(&str, [f64; 4]); 2] = [
    ("toollens", [0.408, 0.335, 0.647, 0.366]),
    ("metatool", [0.466, 0.700, 0.700, 0.613]),
];

/// The first hybrid ranking's figures (reciprocal rank fusion, k 5, dense weight 0.3):
/// what the score-aware fusion replaced must not be lost either.
const HYBRID_RRF: [(&str, [f64; 4]); 2] = [
    ("toollens", [0.413, 0.344, 0.660, 0.377]),
    ("metatool", [0.483, 0.725, 0.725, 0.637]),
];

/// True when this build has the embedding model; says so when it does not.
fn has_model() -> bool {
    let has = super::embed::builtin().is_some();
    if !has {
        println!("skipped: built without the embedding model (scripts/embed-model/make.sh)");
    }
    has
}

#[test]
fn hybrid_on_shared_sets_never_falls_below_bm25() {
    if !has_model() {
        return;
    }
    let mut failures = Vec::new();
    for (name, today) in BM25_TODAY {
        let Some(dir) = shared_set(name) else {
            continue;
        };
        let r = eval::run(&dir, SearchMode::Hybrid).unwrap();
        println!("{name} hybrid: {r}");
        let got = [r.p_at_1, r.r_at_5, r.hit_at_5, r.ndcg_at_10];
        if got.iter().zip(today).any(|(g, want)| *g < want) {
            failures.push(format!("{name}: hybrid {r} is below BM25's {today:?}"));
        }
        let (_, before) = HYBRID_RRF.iter().find(|(n, _)| *n == name).unwrap();
        if got.iter().zip(before).any(|(g, want)| *g < *want) {
            failures.push(format!(
                "{name}: hybrid {r} is below the first hybrid's {before:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_request_finds_a_tool_that_shares_no_word_with_it() {
    if !has_model() {
        return;
    }
    let index = SearchIndex::in_memory().unwrap();
    assert_eq!(index.mode(), SearchMode::Hybrid);
    index
        .replace_server(
            "cal",
            &[
                tool("cal", "list_events", "Upcoming meetings and appointments"),
                tool("cal", "create_refund", "Return a payment to a customer"),
                tool("cal", "get_forecast", "Weather for a city"),
            ],
        )
        .unwrap();
    let opts = SearchOptions {
        explain: true,
        ..SearchOptions::default()
    };
    let hits = index
        .search("what's on my calendar tomorrow", &opts)
        .unwrap();
    assert_eq!(hits[0].name, "list_events", "{hits:?}");
    let explanation = hits[0].explanation.as_deref().unwrap();
    assert!(explanation.contains("dense #1 (cos 0."), "{explanation}");
    assert!(explanation.contains(", fused "), "{explanation}");
}

/// A hybrid index of two tools of server `sea`.
fn sea_index() -> SearchIndex {
    let index = SearchIndex::in_memory().unwrap();
    index
        .replace_server(
            "sea",
            &[
                tool("sea", "gauge", "Reports the tide tables of a harbour."),
                tool("sea", "forecast", "Weather forecast for a city"),
            ],
        )
        .unwrap();
    index
}

#[test]
fn a_request_about_nothing_indexed_finds_nothing_in_hybrid_too() {
    if !has_model() {
        return;
    }
    let index = sea_index();
    let opts = SearchOptions::default();
    // Words no tool has and the model can only spell out letter by letter.
    assert_eq!(names(&index, "zzyzx qwxv", &opts), Vec::<String>::new());
    // Real words, but far from every tool: the nearest is still not listed.
    assert_eq!(
        names(&index, "count the penguins on a glacier", &opts),
        Vec::<String>::new()
    );
}

#[test]
fn explain_gives_both_signals_of_a_lexical_match() {
    if !has_model() {
        return;
    }
    let index = sea_index();
    let opts = SearchOptions {
        explain: true,
        ..SearchOptions::default()
    };
    let hits = index.search("tide tables", &opts).unwrap();
    assert_eq!(hits[0].name, "gauge");
    let explanation = hits[0].explanation.as_deref().unwrap();
    // The fields matched, then BM25's rank and score, the dense rank and cosine, the fused score.
    let re = regex::Regex::new(
        r"^description: tide, tables; bm25 #1 \(\d+\.\d{3}\), dense #\d+ \(cos -?\d\.\d{3}\), fused \d\.\d{3}$",
    )
    .unwrap();
    assert!(re.is_match(explanation), "{explanation}");
}

#[test]
fn vectors_persist_beside_the_index() {
    if !has_model() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    {
        let index = SearchIndex::open_with(dir.path(), SearchMode::Hybrid).unwrap();
        index
            .replace_server("cal", &[tool("cal", "list_events", "Upcoming meetings")])
            .unwrap();
    }
    assert!(dir.path().join(super::dense_file::VECTORS_FILE).exists());
    let index = SearchIndex::open_with(dir.path(), SearchMode::Hybrid).unwrap();
    let hits = index
        .search("what's on my calendar tomorrow", &SearchOptions::default())
        .unwrap();
    assert_eq!(hits[0].name, "list_events");
}

#[test]
fn a_server_listed_again_with_the_same_tools_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open(dir.path()).unwrap();
    let tools = [
        tool("files", "write_file", "Write a file"),
        tool("files", "read_file", "Read a file"),
    ];
    index.replace_server("files", &tools).unwrap();
    let meta = || std::fs::read_to_string(dir.path().join("meta.json")).unwrap();
    let committed = meta();
    index.replace_server("files", &tools).unwrap();
    assert_eq!(meta(), committed, "no commit");
    let mut changed = tools.clone();
    changed[1].state = "pending".to_owned();
    index.replace_server("files", &changed).unwrap();
    assert_ne!(meta(), committed);
    assert_eq!(index.server_tools("files").unwrap()[0].state, "pending");
}

#[test]
fn writes_that_add_segments_do_not_pile_them_up() {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open(dir.path()).unwrap();
    for i in 0..40 {
        let server = format!("s{i}");
        index
            .replace_server(&server, &[tool(&server, "t", "a tool")])
            .unwrap();
    }
    let segments = |dir: &Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                let path = e.as_ref().unwrap().path();
                path.extension().is_some_and(|x| x == "idx")
            })
            .count()
    };
    // Each write commits a segment; the merges each commit starts finish before the next.
    assert!(
        segments(dir.path()) < 12,
        "{} segments",
        segments(dir.path())
    );
    assert_eq!(index.len(), 40);
}
