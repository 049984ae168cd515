//! `portcullis tools …` and `portcullis search-eval`.

use anyhow::Context;
use portcullis::api::AdminClient;
use portcullis::config::{ConfigFile, Overrides, Paths, Settings};
use portcullis::search::{SearchHit, SearchIndex, SearchMode, SearchOptions};
use portcullis::store::{Store, ToolDiff};
use serde_json::Value;

use super::args::{ConfigArgs, EvalMode, ToolsCommand};

pub(crate) async fn run(cmd: ToolsCommand) -> anyhow::Result<()> {
    match cmd {
        ToolsCommand::Search {
            query,
            limit,
            server,
            explain,
            json,
            config,
        } => {
            search(
                &query,
                SearchOptions {
                    limit,
                    server,
                    explain,
                },
                json,
                &config,
            )
            .await
        }
        ToolsCommand::List {
            server,
            json,
            config,
        } => list(server, json, &config).await,
        ToolsCommand::Pending { json, config } => pending(json, &config).await,
        ToolsCommand::Diff { name, config } => diff(&name, &config).await,
    }
}

fn paths(config: &ConfigArgs) -> anyhow::Result<Paths> {
    Ok(Paths::resolve(config.config.as_deref())?)
}

/// Splits `<server><sep><tool>` using the configured servers and separator.
fn split_name(paths: &Paths, name: &str) -> anyhow::Result<(String, String)> {
    let file = ConfigFile::load(&paths.config)?;
    let settings = Settings::resolve(&file, &Overrides::default(), &paths.config)?;
    for server in settings.servers.keys() {
        if let Some(tool) = name
            .strip_prefix(server.as_str())
            .and_then(|r| r.strip_prefix(settings.separator.as_str()))
        {
            return Ok((server.clone(), tool.to_owned()));
        }
    }
    if !settings.prefix {
        if let Some(server) = settings.servers.keys().next() {
            return Ok((server.clone(), name.to_owned()));
        }
    }
    let sep = &settings.separator;
    fail!(
        hint = format!("write it as <server>{sep}<tool>, e.g. github{sep}create_issue"),
        "`{name}` does not start with a configured server's name and `{sep}`"
    )
}

async fn search(
    query: &str,
    opts: SearchOptions,
    json: bool,
    config: &ConfigArgs,
) -> anyhow::Result<()> {
    let paths = paths(config)?;
    let hits: Vec<SearchHit> = match AdminClient::discover(&paths) {
        Some(client) => {
            let mut path = format!(
                "search?q={}&limit={}&explain={}",
                urlencode(query),
                opts.limit,
                opts.explain
            );
            if let Some(s) = &opts.server {
                path.push_str(&format!("&server={}", urlencode(s)));
            }
            let v: Value = client.get(&path, &paths.runtime_file()).await?;
            hits_from_json(&v)
        }
        None => {
            let index = SearchIndex::open(&paths.index())
                .with_context(|| format!("opening the index at {}", paths.index().display()))?;
            index.search(query, &opts)?
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&hits)?);
        return Ok(());
    }
    if hits.is_empty() {
        println!("no tools match `{query}`");
    }
    for (i, h) in hits.iter().enumerate() {
        let desc = h
            .description
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let desc: String = desc.chars().take(100).collect();
        println!(
            "{:>2}. {}__{}{}  [{}]\n    {desc}",
            i + 1,
            h.server,
            h.name,
            h.signature,
            h.state
        );
        if let Some(e) = &h.explanation {
            println!("    matched: {e}");
        }
    }
    Ok(())
}

fn hits_from_json(v: &Value) -> Vec<SearchHit> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|h| SearchHit {
                    server: text(h, "server"),
                    name: text(h, "name"),
                    score: h.get("score").and_then(Value::as_f64).unwrap_or(0.0) as f32,
                    title: h.get("title").and_then(Value::as_str).map(str::to_owned),
                    description: h
                        .get("description")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    signature: text(h, "signature"),
                    state: text(h, "state"),
                    explanation: h
                        .get("explanation")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn text(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn list(server: Option<String>, json: bool, config: &ConfigArgs) -> anyhow::Result<()> {
    let paths = paths(config)?;
    let rows: Vec<Value> = match AdminClient::discover(&paths) {
        Some(client) => {
            let path = match &server {
                Some(s) => format!("tools?server={}", urlencode(s)),
                None => "tools".into(),
            };
            client.get(&path, &paths.runtime_file()).await?
        }
        None => {
            let store = Store::open(paths.database())?;
            let names: Vec<String> = match &server {
                Some(s) => vec![s.clone()],
                None => store.servers()?.into_iter().map(|s| s.name).collect(),
            };
            let mut rows = Vec::new();
            for s in names {
                for t in store.tools(&s)?.into_iter().filter(|t| t.present) {
                    rows.push(serde_json::json!({ "name": format!("{}__{}", t.server, t.name), "server": t.server, "tool": t.name, "description": t.description, "state": t.state, "callable": null }));
                }
            }
            rows
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("no tools known yet: servers list their tools once the gateway has started them");
    }
    for r in &rows {
        let desc: String = text(r, "description")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(80)
            .collect();
        println!("{:<40}  {:<9}  {desc}", text(r, "name"), text(r, "state"));
    }
    Ok(())
}

async fn pending(json: bool, config: &ConfigArgs) -> anyhow::Result<()> {
    let paths = paths(config)?;
    let tools: Vec<Value> = match AdminClient::discover(&paths) {
        Some(client) => client.get("tools/pending", &paths.runtime_file()).await?,
        None => serde_json::from_value(serde_json::to_value(
            Store::open(paths.database())?.pending_tools()?,
        )?)?,
    };
    let items: Vec<Value> = match AdminClient::discover(&paths) {
        Some(client) => client.get("items/pending", &paths.runtime_file()).await?,
        None => serde_json::from_value(serde_json::to_value(
            Store::open(paths.database())?.pending_items()?,
        )?)?,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&tools)?);
        return Ok(());
    }
    print_items(&items);
    if tools.is_empty() {
        println!("no tools wait for approval");
        return Ok(());
    }
    for t in &tools {
        let desc: String = text(t, "description")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(100)
            .collect();
        println!(
            "{}__{}  [{}]  {desc}",
            text(t, "server"),
            text(t, "name"),
            text(t, "state")
        );
        println!("    definition {}", text(t, "hash"));
        for f in t
            .get("findings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            println!("    {}", super::findings::finding_line(f));
        }
    }
    let servers: std::collections::BTreeSet<String> =
        tools.iter().map(|t| text(t, "server")).collect();
    for s in servers {
        let names: Vec<String> = tools
            .iter()
            .filter(|t| text(t, "server") == s)
            .map(|t| text(t, "name"))
            .collect();
        println!(
            "approve: portcullis upstream approve --name {s} --tools \"{}\"",
            names.join(",")
        );
    }
    Ok(())
}

/// Instructions, prompts, resources and templates waiting for approval.
fn print_items(items: &[Value]) {
    for i in items {
        println!(
            "{} {} of `{}`  [{}]",
            text(i, "kind"),
            text(i, "name"),
            text(i, "server"),
            text(i, "state")
        );
        println!("    definition {}", text(i, "hash"));
        let body = serde_json::to_string_pretty(&i["definition"]).unwrap_or_default();
        for line in body.lines() {
            println!("      {line}");
        }
        for f in i
            .get("findings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            println!("    {}", super::findings::finding_line(f));
        }
        println!(
            "    approve: portcullis upstream approve --name {} --item \"{}:{}\" --hash {}",
            text(i, "server"),
            text(i, "kind"),
            text(i, "name"),
            text(i, "hash")
        );
    }
}

async fn diff(name: &str, config: &ConfigArgs) -> anyhow::Result<()> {
    let paths = paths(config)?;
    let (server, tool) = split_name(&paths, name)?;
    let d: Option<Value> = match AdminClient::discover(&paths) {
        Some(client) => Some(
            client
                .get(
                    &format!(
                        "tools/diff?server={}&tool={}",
                        urlencode(&server),
                        urlencode(&tool)
                    ),
                    &paths.runtime_file(),
                )
                .await?,
        ),
        None => Store::open(paths.database())?
            .tool_diff(&server, &tool)?
            .map(|d: ToolDiff| serde_json::json!({ "approved": d.approved, "current": d.current })),
    };
    let Some(d) = d else {
        fail!(
            hint = "`portcullis tools pending` shows tools that wait for approval",
            "`{name}` is not known, or was never approved"
        )
    };
    let old = serde_json::to_string_pretty(&d["approved"])?;
    let current = serde_json::to_string_pretty(&d["current"])?;
    print!("{}", side_by_side(&old, &current));
    Ok(())
}

/// Two texts in columns, lines matched by longest common subsequence: a
/// changed line is marked `|`, a removed one `<`, an added one `>`.
fn side_by_side(old: &str, new: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let width = a
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(20, 70);
    let cut = |s: &str| -> String {
        let c: String = s.chars().take(width).collect();
        format!("{c:<width$}")
    };
    let mut out = format!("{}   {}\n", cut("APPROVED"), "CURRENT");
    for (l, mark, r) in rows(&a, &b) {
        out.push_str(&format!("{} {mark} {}\n", cut(l), r));
    }
    out
}

/// Side-by-side rows: equal lines together, and each run of removed and
/// added lines between them paired up (`|`), the rest alone (`<`, `>`).
fn rows<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<(&'a str, char, &'a str)> {
    let (n, m) = (a.len(), b.len());
    // Longest common subsequence from the end; a definition too large for
    // that is shown as all replaced.
    let lcs = if n * m <= 4_000_000 {
        let mut t = vec![vec![0u32; m + 1]; n + 1];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                t[i][j] = if a[i] == b[j] {
                    t[i + 1][j + 1] + 1
                } else {
                    t[i + 1][j].max(t[i][j + 1])
                };
            }
        }
        Some(t)
    } else {
        None
    };
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    let (mut dels, mut adds): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    let flush = |dels: &mut Vec<&'a str>,
                 adds: &mut Vec<&'a str>,
                 out: &mut Vec<(&'a str, char, &'a str)>| {
        for k in 0..dels.len().max(adds.len()) {
            out.push(match (dels.get(k), adds.get(k)) {
                (Some(l), Some(r)) => (*l, '|', *r),
                (Some(l), None) => (*l, '<', ""),
                (None, r) => ("", '>', r.copied().unwrap_or("")),
            });
        }
        dels.clear();
        adds.clear();
    };
    while i < n || j < m {
        if lcs.is_some() && i < n && j < m && a[i] == b[j] {
            flush(&mut dels, &mut adds, &mut out);
            out.push((a[i], ' ', b[j]));
            (i, j) = (i + 1, j + 1);
            continue;
        }
        let remove = match &lcs {
            Some(t) => i < n && (j == m || t[i + 1][j] >= t[i][j + 1]),
            None => i < n,
        };
        if remove {
            dels.push(a[i]);
            i += 1;
        } else {
            adds.push(b[j]);
            j += 1;
        }
    }
    flush(&mut dels, &mut adds, &mut out);
    out
}

pub(crate) fn search_eval(dir: &std::path::Path, mode: EvalMode) -> anyhow::Result<()> {
    let mode = match mode {
        EvalMode::Bm25 => SearchMode::Bm25,
        EvalMode::Hybrid => SearchMode::Hybrid,
    };
    let r = portcullis::search::eval::run(dir, mode)?;
    println!(
        "{} ({mode}): {} tools, {} queries",
        dir.display(),
        r.tools,
        r.queries
    );
    println!(
        "P@1 {:.3}  R@5 {:.3}  Hit@5 {:.3}  nDCG@10 {:.3}",
        r.p_at_1, r.r_at_5, r.hit_at_5, r.ndcg_at_10
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::rows;

    #[test]
    fn diff_rows_keep_equal_lines_together() {
        let old = ["{", "  \"a\": 1,", "  \"url\": 2", "}"];
        let new = [
            "{",
            "  \"a\": 1,",
            "  \"sidenote\": 3,",
            "  \"url\": 2",
            "}",
        ];
        let marks: Vec<(char, &str, &str)> = rows(&old, &new)
            .into_iter()
            .map(|(l, m, r)| (m, l, r))
            .collect();
        assert_eq!(
            marks,
            [
                (' ', "{", "{"),
                (' ', "  \"a\": 1,", "  \"a\": 1,"),
                ('>', "", "  \"sidenote\": 3,"),
                (' ', "  \"url\": 2", "  \"url\": 2"),
                (' ', "}", "}")
            ]
        );
        let changed: Vec<char> = rows(&["x", "old text", "y"], &["x", "new text", "y", "z"])
            .into_iter()
            .map(|r| r.1)
            .collect();
        assert_eq!(changed, [' ', '|', ' ', '>']);
        let removed: Vec<char> = rows(&["x", "gone", "y"], &["x", "y"])
            .into_iter()
            .map(|r| r.1)
            .collect();
        assert_eq!(removed, [' ', '<', ' ']);
    }
}
