//! Tool search benchmarks: index build for 10k and 100k generated tools, one-server
//! re-index, and query latency, plus directly measured p50/p99 query latencies.
//!
//! Run: `cargo bench -p portcullis --bench search` (see BENCHMARKS.md, section "Search").
//! The tools are generated deterministically to look like real MCP catalogues: snake, camel
//! and kebab-case names from verbs and nouns, one- to three-sentence descriptions, and one to
//! six parameters with descriptions and sometimes enums or nested objects.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use portcullis::search::{SearchIndex, SearchMode, SearchOptions, ToolDoc};
use serde_json::{json, Map, Value};

const TOOLS_PER_SERVER: usize = 20;

const SERVICES: &[&str] = &[
    "github",
    "gitlab",
    "slack",
    "jira",
    "linear",
    "notion",
    "stripe",
    "postgres",
    "sqlite",
    "filesystem",
    "fetch",
    "weather",
    "calendar",
    "gmail",
    "drive",
    "dropbox",
    "s3",
    "docker",
    "kubernetes",
    "sentry",
    "datadog",
    "twilio",
    "shopify",
    "hubspot",
    "salesforce",
    "zendesk",
    "figma",
    "spotify",
    "youtube",
    "maps",
    "translate",
    "browser",
    "puppeteer",
    "redis",
    "mongo",
    "elastic",
    "confluence",
    "trello",
    "asana",
    "airtable",
];
const VERBS: &[&str] = &[
    "get",
    "list",
    "create",
    "update",
    "delete",
    "search",
    "send",
    "fetch",
    "run",
    "add",
    "remove",
    "find",
    "upload",
    "download",
    "archive",
    "close",
    "open",
    "merge",
    "assign",
    "schedule",
    "cancel",
    "export",
    "import",
    "translate",
    "summarize",
    "resize",
    "query",
];
const NOUNS: &[&str] = &[
    "issue",
    "repository",
    "pull request",
    "branch",
    "commit",
    "file",
    "directory",
    "user",
    "message",
    "channel",
    "thread",
    "event",
    "invoice",
    "customer",
    "order",
    "payment",
    "subscription",
    "table",
    "row",
    "document",
    "page",
    "comment",
    "label",
    "project",
    "task",
    "ticket",
    "contact",
    "deal",
    "image",
    "video",
    "playlist",
    "container",
    "pod",
    "deployment",
    "alert",
    "metric",
    "log",
    "dashboard",
    "forecast",
    "route",
    "place",
    "email",
    "attachment",
    "folder",
    "record",
    "report",
    "webhook",
    "secret",
    "bucket",
    "note",
];
const ADJECTIVES: &[&str] = &[
    "recent",
    "open",
    "archived",
    "shared",
    "private",
    "public",
    "active",
    "pending",
    "failed",
    "scheduled",
    "draft",
    "starred",
    "unread",
    "large",
    "remote",
    "local",
    "default",
    "custom",
];
const PARAMS: &[(&str, &str, &str)] = &[
    (
        "owner",
        "string",
        "Account or organisation that owns the resource",
    ),
    ("repo", "string", "Repository name without the owner"),
    ("path", "string", "Path of the file relative to the root"),
    ("query", "string", "Free-text search query"),
    ("limit", "integer", "Maximum number of results to return"),
    ("page", "integer", "Page number for paginated results"),
    ("id", "string", "Unique identifier of the item"),
    ("channel", "string", "Channel name or identifier"),
    ("text", "string", "Body text of the message"),
    ("start", "string", "Start time in ISO 8601 format"),
    ("end", "string", "End time in ISO 8601 format"),
    ("email", "string", "Email address of the recipient"),
    ("amount", "number", "Amount in the smallest currency unit"),
    ("currency", "string", "Three-letter ISO currency code"),
    ("recursive", "boolean", "Whether to include nested items"),
    ("labels", "array", "Labels to attach"),
    ("city", "string", "City name, optionally with country code"),
    ("url", "string", "Absolute URL of the page to load"),
    ("width", "integer", "Target width in pixels"),
    ("namespace", "string", "Kubernetes namespace"),
];

/// Small deterministic generator (xorshift), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

fn name_of(rng: &mut Rng, verb: &str, adjective: &str, noun: &str) -> String {
    let words: Vec<&str> = std::iter::once(verb)
        .chain((rng.below(3) == 0).then_some(adjective))
        .chain(noun.split(' '))
        .collect();
    match rng.below(3) {
        0 => words.join("_"),
        1 => words.join("-"),
        _ => words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if i == 0 {
                    (*w).to_owned()
                } else {
                    let mut c = w.chars();
                    c.next()
                        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
                }
            })
            .collect(),
    }
}

fn schema_of(rng: &mut Rng) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for _ in 0..1 + rng.below(6) {
        let (name, ty, desc) = PARAMS[rng.below(PARAMS.len())];
        let mut prop = json!({"type": ty, "description": desc});
        if ty == "array" {
            prop["items"] = json!({"type": "string"});
        }
        if rng.below(8) == 0 {
            prop = json!({"enum": ["asc", "desc", "relevance"], "description": "Sort order"});
        }
        if rng.below(10) == 0 {
            prop = json!({"type": "object", "description": "Filter", "properties": {
                "state": {"enum": ["open", "closed", "all"]},
                "since": {"type": "string", "description": "Only items updated after this time"}
            }});
        }
        if rng.below(2) == 0 {
            required.push(name);
        }
        props.insert(name.to_owned(), prop);
    }
    json!({"type": "object", "properties": props, "required": required})
}

fn generate(count: usize) -> Vec<ToolDoc> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..count)
        .map(|i| {
            let service = SERVICES[(i / TOOLS_PER_SERVER) % SERVICES.len()];
            let server = format!("{service}-{}", i / TOOLS_PER_SERVER);
            let verb = rng.pick(VERBS);
            let noun = rng.pick(NOUNS);
            let adjective = rng.pick(ADJECTIVES);
            let other = rng.pick(NOUNS);
            let mut description = format!(
                "{} {} {noun} in {service}. Returns the {other} details",
                capitalize(verb),
                if rng.below(2) == 0 { "a" } else { adjective }
            );
            if rng.below(2) == 0 {
                description.push_str(&format!(
                    ", including the {} {} and its {}",
                    rng.pick(ADJECTIVES),
                    rng.pick(NOUNS),
                    rng.pick(NOUNS)
                ));
            }
            description.push('.');
            ToolDoc {
                name: name_of(&mut rng, verb, adjective, noun),
                server,
                title: (rng.below(4) == 0).then(|| format!("{} {noun}", capitalize(verb))),
                description: Some(description),
                input_schema: schema_of(&mut rng),
                state: "approved".to_owned(),
            }
        })
        .collect()
}

fn capitalize(word: &str) -> String {
    let mut c = word.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

fn queries() -> Vec<String> {
    let mut rng = Rng(42);
    let mut out = vec![
        "create an issue in the repository".to_owned(),
        "send a message to the team channel".to_owned(),
        "what's the weather forecast for Paris tomorrow?".to_owned(),
        "list open pull requests".to_owned(),
        "listPullRequests".to_owned(),
        "refund a payment for a customer".to_owned(),
        "read file".to_owned(),
        "kubernetes pods failing in namespace prod".to_owned(),
    ];
    while out.len() < 200 {
        out.push(format!(
            "{} the {} {} {}",
            rng.pick(VERBS),
            rng.pick(ADJECTIVES),
            rng.pick(NOUNS),
            if rng.below(2) == 0 {
                rng.pick(SERVICES)
            } else {
                ""
            }
        ));
    }
    out
}

fn build(tools: &[ToolDoc]) -> SearchIndex {
    build_with(tools, SearchMode::Hybrid)
}

fn build_with(tools: &[ToolDoc], mode: SearchMode) -> SearchIndex {
    let index = SearchIndex::in_memory_with(mode).expect("index");
    index.replace_all(tools).expect("replace_all");
    index
}

fn bench_build(c: &mut Criterion, sizes: &[usize]) {
    let mut group = c.benchmark_group("search_index_build");
    group.sample_size(10);
    for &n in sizes {
        let tools = generate(n);
        group.throughput(Throughput::Elements(n as u64));
        if n > 10_000 {
            group.measurement_time(Duration::from_secs(30));
        }
        group.bench_with_input(BenchmarkId::from_parameter(n), &tools, |b, tools| {
            b.iter(|| black_box(build(tools)));
        });
    }
    group.finish();
}

fn bench_replace_server(c: &mut Criterion, indexes: &[(usize, SearchIndex, Vec<ToolDoc>)]) {
    let mut group = c.benchmark_group("search_replace_server");
    group.sample_size(20);
    for (n, index, tools) in indexes {
        let server = tools[0].server.clone();
        let batch: Vec<ToolDoc> = tools[..TOOLS_PER_SERVER].to_vec();
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter_batched(
                || batch.clone(),
                |batch| index.replace_server(&server, &batch).expect("replace"),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

fn bench_query(c: &mut Criterion, indexes: &[(usize, SearchIndex, Vec<ToolDoc>)]) {
    let queries = queries();
    let opts = SearchOptions::default();
    let mut group = c.benchmark_group("search_query");
    for (n, index, _) in indexes {
        if *n > 10_000 {
            group.sample_size(20);
        }
        let mut i = 0;
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                i = (i + 1) % queries.len();
                black_box(index.search(&queries[i], &opts).expect("search"))
            });
        });
    }
    group.finish();
}

/// CPU time used so far by the calling thread. tantivy searches on the calling thread, so
/// this is the work of one search, unaffected by other processes competing for the CPU.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID exists on Linux
    // and macOS.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Times each query on its own and prints p50/p99/max, since criterion reports means: wall
/// time, and the thread's CPU time, which stays meaningful on a busy machine.
fn percentiles(indexes: &[(usize, SearchIndex, Vec<ToolDoc>)]) {
    let queries = queries();
    let opts = SearchOptions::default();
    for (n, index, _) in indexes {
        for q in &queries {
            black_box(index.search(q, &opts).expect("warm-up"));
        }
        let mut wall: Vec<Duration> = Vec::new();
        let mut cpu: Vec<Duration> = Vec::new();
        for _ in 0..10 {
            for q in &queries {
                let (start, start_cpu) = (Instant::now(), thread_cpu_time());
                black_box(index.search(q, &opts).expect("search"));
                cpu.push(thread_cpu_time() - start_cpu);
                wall.push(start.elapsed());
            }
        }
        for (label, times) in [("wall", &mut wall), ("cpu", &mut cpu)] {
            times.sort();
            let at = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
            println!(
                "search_query/{n} {label} latency over {} searches: p50 {:?}  p99 {:?}  max {:?}",
                times.len(),
                at(0.50),
                at(0.99),
                at(1.0)
            );
        }
    }
    let tools = generate(10_000);
    for mode in [SearchMode::Bm25, SearchMode::Hybrid] {
        let start = Instant::now();
        black_box(build_with(&tools, mode));
        println!(
            "search_index_build/10000 {mode} single run: {:?}",
            start.elapsed()
        );
    }
    memory(&tools);
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average: {}", load.trim());
    }
}

/// Resident memory of this process, from /proc (Linux).
fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// What an index of `tools` adds to resident memory, BM25-only then hybrid: the hybrid
/// figure minus the BM25 one is the dense signal's cost (vectors, rows, the model's vocabulary).
fn memory(tools: &[ToolDoc]) {
    let mb = |b: usize| b as f64 / (1024.0 * 1024.0);
    let before = rss_bytes();
    let bm25 = build_with(tools, SearchMode::Bm25);
    let after_bm25 = rss_bytes();
    let hybrid = build_with(tools, SearchMode::Hybrid);
    let after_hybrid = rss_bytes();
    println!(
        "memory at {} tools: bm25 index +{:.1} MB, hybrid index +{:.1} MB (dense signal +{:.1} MB)",
        tools.len(),
        mb(after_bm25.saturating_sub(before)),
        mb(after_hybrid.saturating_sub(after_bm25)),
        mb(after_hybrid.saturating_sub(after_bm25)).max(0.0)
            - mb(after_bm25.saturating_sub(before))
    );
    drop((bm25, hybrid));
}

fn main() {
    // Without `--bench` (e.g. `cargo test --benches`) criterion only checks that each
    // benchmark runs once; do that at a small size and skip the percentile pass.
    let quick = !std::env::args().any(|a| a == "--bench");
    // SEARCH_BENCH_ONLY_10K=1 skips the 100k catalogue (e.g. for a quick run in the dev profile).
    let only_10k = std::env::var_os("SEARCH_BENCH_ONLY_10K").is_some();
    let sizes: &[usize] = match (quick, only_10k) {
        (true, _) => &[1_000],
        (false, true) => &[10_000],
        (false, false) => &[10_000, 100_000],
    };
    let mut c = Criterion::default().configure_from_args();
    bench_build(&mut c, sizes);
    let indexes: Vec<(usize, SearchIndex, Vec<ToolDoc>)> = sizes
        .iter()
        .map(|&n| {
            let tools = generate(n);
            (n, build(&tools), tools)
        })
        .collect();
    bench_query(&mut c, &indexes);
    bench_replace_server(&mut c, &indexes);
    c.final_summary();
    if !quick {
        percentiles(&indexes);
    }
}
