//! The architecture map and the protocol notes cannot rot silently: every
//! repository path they write in backticks exists, every relative link
//! points at a file, and every subsystem folder of `core/src` has its
//! section in `docs/ARCHITECTURE.md`. A renamed file then breaks this test,
//! which names the page and line to fix.
//!
//! A backticked word is a repository path when it has no spaces or
//! placeholders (`<`, `{`, `*`, `$`, `=`, `:`) and either starts with a
//! top-level folder of the repository (`core/…`, `tests/…`) or is a bare
//! file name with a source or doc extension (`README.md`), which must then
//! be at the root: a short `router.rs` is ambiguous, so it is refused.
//! Protocol methods (`tools/list`) and URL paths (`/mcp`) are not paths.

use std::path::{Path, PathBuf};

/// The pages this test keeps honest.
const PAGES: &[&str] = &["docs/ARCHITECTURE.md", "docs/PROTOCOL.md"];

/// Extensions of files a bare name in backticks refers to.
const FILE_EXTENSIONS: &[&str] = &[
    "rs", "py", "sh", "md", "mjs", "js", "html", "css", "yml", "jsonl",
];

/// Folders at the root that are built or installed, not part of the repository.
const NOT_IN_REPO: &[&str] = &["target", ".git", ".venv", ".deps", "node_modules"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the repository root")
}

/// The top-level folders of the repository (`core`, `tests`, `ui`…).
fn top_folders(root: &Path) -> Vec<String> {
    let mut folders: Vec<String> = std::fs::read_dir(root)
        .expect("the repository root is readable")
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| !NOT_IN_REPO.contains(&name.as_str()))
        .collect();
    folders.sort();
    folders
}

/// Inline code spans outside fenced blocks, with their 1-based line numbers.
fn code_spans(text: &str) -> Vec<(usize, String)> {
    let mut spans = Vec::new();
    let mut fenced = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut parts = line.split('`');
        parts.next();
        while let (Some(inside), Some(_)) = (parts.next(), parts.next()) {
            spans.push((n + 1, inside.to_owned()));
        }
    }
    spans
}

/// Whether a code span names a file or folder of the repository.
fn looks_like_path(span: &str, top: &[String]) -> bool {
    if span.is_empty()
        || span.starts_with(['/', '.'])
        || span.contains(|c: char| c.is_whitespace() || "<>{}*$=:\"[]()|".contains(c))
    {
        return false;
    }
    match span.split_once('/') {
        Some((first, _)) => top.iter().any(|t| t == first),
        None => span
            .rsplit_once('.')
            .is_some_and(|(_, ext)| FILE_EXTENSIONS.contains(&ext)),
    }
}

/// Relative link targets (`[text](target)`), without their `#fragment`.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            let target = &after[..end];
            rest = &after[end..];
            if target.contains("://") || target.starts_with('#') || target.starts_with("mailto:") {
                continue;
            }
            let path = target.split('#').next().unwrap_or(target);
            found.push((n + 1, path.to_owned()));
        }
    }
    found
}

/// What is wrong with one page: paths and links that lead nowhere.
fn problems(root: &Path, page: &str, text: &str) -> (Vec<String>, usize) {
    let top = top_folders(root);
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (line, span) in code_spans(text) {
        if !looks_like_path(&span, &top) {
            continue;
        }
        checked += 1;
        if !root.join(&span).exists() {
            let hint = if span.contains('/') {
                "no such file or folder"
            } else {
                "not at the repository root; write the path from the root"
            };
            wrong.push(format!("{page}:{line}: `{span}`: {hint}"));
        }
    }
    let dir = root
        .join(page)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    for (line, target) in links(text) {
        checked += 1;
        if !dir.join(&target).exists() {
            wrong.push(format!("{page}:{line}: link to `{target}` leads nowhere"));
        }
    }
    (wrong, checked)
}

#[test]
fn every_path_and_link_in_the_architecture_docs_exists() {
    let root = repo_root();
    let mut wrong = Vec::new();
    for page in PAGES {
        let text = std::fs::read_to_string(root.join(page))
            .unwrap_or_else(|e| panic!("{page} should exist: {e}"));
        let (mut page_wrong, checked) = problems(&root, page, &text);
        // The extractor must find what it is meant to, or this test checks nothing.
        assert!(
            checked >= 15,
            "{page}: only {checked} paths and links found"
        );
        wrong.append(&mut page_wrong);
    }
    assert!(
        wrong.is_empty(),
        "paths in the docs that do not exist (fix the page, or the file name):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_subsystem_of_core_has_a_section_in_the_architecture_map() {
    let root = repo_root();
    let text = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).expect("the map");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root.join("core/src"))
        .expect("core/src")
        .flatten()
    {
        if !entry.path().is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let folder = format!("`core/src/{name}/`");
        if !text
            .lines()
            .any(|l| l.starts_with("### ") && l.contains(&folder))
        {
            missing.push(folder);
        }
    }
    assert!(
        missing.is_empty(),
        "subsystems without a section in docs/ARCHITECTURE.md (add one, with what it may depend on):\n{}",
        missing.join("\n")
    );
}

#[test]
fn a_path_that_does_not_exist_is_reported_and_prose_is_not_taken_for_a_path() {
    let root = repo_root();
    let text = "\
The router (`core/src/gateway/router.rs`) answers `tools/list` on `/mcp`.
A moved file: `core/src/gateway/no_such_file.rs`, a short name: `router.rs`.
Placeholders are not paths: `<data dir>/portcullis.db`, `tests/python/test_*.py`.
```
core/src/not/checked/in/a/fence.rs
```
See [the notes](PROTOCOL.md) and [nothing](MISSING.md#part), [a site](https://example.org).
";
    let (wrong, checked) = problems(&root, "docs/ARCHITECTURE.md", text);
    assert_eq!(checked, 5, "{wrong:#?}");
    assert_eq!(
        wrong,
        [
            "docs/ARCHITECTURE.md:2: `core/src/gateway/no_such_file.rs`: no such file or folder",
            "docs/ARCHITECTURE.md:2: `router.rs`: not at the repository root; write the path from the root",
            "docs/ARCHITECTURE.md:7: link to `MISSING.md` leads nowhere",
        ]
    );
}
