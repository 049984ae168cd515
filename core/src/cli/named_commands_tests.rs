//! Every `portcullis …` command that a hint, an error, a log line or a doc
//! comment tells a person to run exists in the command-line grammar, with
//! the long options it names. A renamed or removed subcommand or option then
//! breaks this test, not the person who follows the hint.
//!
//! The sources are read as text (the Rust files of `core/src` and
//! `src-tauri/src`, and the Markdown docs a person reads), because hints are
//! built by `format!` in many places and only the source holds them all.
//! A mention is a command when `portcullis` is written in lower case,
//! followed by a space and a lower-case word, and is not prose ("the other
//! portcullis instance": the word before it is an article or the like). In
//! backticks the command ends at the closing backtick; elsewhere at the end
//! of the line, a parenthesis, a quote, a backslash, a semicolon or ` #`.

use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::args::Cli;

/// Words that, written just before `portcullis`, make it prose rather than a command.
const PROSE_BEFORE: &[&str] = &[
    "a", "an", "another", "any", "each", "every", "one", "other", "that", "the", "this",
];

/// One mention of a command in a file.
#[derive(Debug)]
struct Mention {
    file: PathBuf,
    line: usize,
    /// The command as written, from `portcullis` to its end.
    text: String,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The files whose text a person reads as instructions.
fn sources() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = Vec::new();
    for dir in ["core/src", "src-tauri/src"] {
        collect(&root.join(dir), "rs", &mut files);
    }
    collect(&root.join("docs"), "md", &mut files);
    for name in ["README.md", "CONFORMANCE.md", "BENCHMARKS.md"] {
        let path = root.join(name);
        if path.is_file() {
            files.push(path);
        }
    }
    // This file names wrong commands on purpose, to test the check.
    files.retain(|f| !f.ends_with("cli/named_commands_tests.rs"));
    files.sort();
    files
}

fn collect(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

/// The commands mentioned in `text`.
fn mentions_in(file: &Path, text: &str) -> Vec<Mention> {
    const WORD: &str = "portcullis ";
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut from = 0;
        while let Some(at) = line[from..].find(WORD).map(|i| from + i) {
            from = at + WORD.len();
            let before = &line[..at];
            let after = &line[from..];
            if !after.starts_with(|c: char| c.is_ascii_lowercase()) {
                continue;
            }
            if before.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '-') {
                continue;
            }
            let previous_word = before
                .trim_end()
                .rsplit(|c: char| !c.is_alphabetic())
                .next()
                .unwrap_or("");
            if before.ends_with(' ')
                && PROSE_BEFORE.contains(&previous_word.to_lowercase().as_str())
            {
                continue;
            }
            let end = if before.ends_with('`') {
                after.find('`').unwrap_or(after.len())
            } else {
                let stops = [")", "\"", "\\", ";", "`", " #"];
                stops
                    .iter()
                    .filter_map(|s| after.find(s))
                    .min()
                    .unwrap_or(after.len())
            };
            found.push(Mention {
                file: file.to_owned(),
                line: n + 1,
                text: format!("{WORD}{}", &after[..end]).trim_end().to_owned(),
            });
        }
    }
    found
}

/// What is wrong with a mention, if anything: an unknown subcommand or option.
fn check(root: &clap::Command, text: &str) -> Option<String> {
    let mut words = text.split_whitespace().skip(1).peekable();
    // The commands the path leads to: more than one after `approve|block`.
    let mut commands = vec![root.clone()];
    let mut path = vec!["portcullis".to_owned()];
    while let Some(word) = words.peek() {
        let is_word = word.split('|').all(|w| {
            w.starts_with(|c: char| c.is_ascii_lowercase())
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        });
        if !is_word || commands.iter().all(|c| !c.has_subcommands()) {
            break;
        }
        let mut next = Vec::new();
        for c in &commands {
            for alternative in word.split('|') {
                match c.find_subcommand(alternative) {
                    Some(sub) => next.push(sub.clone()),
                    None => {
                        let known: Vec<&str> =
                            c.get_subcommands().map(clap::Command::get_name).collect();
                        return Some(format!(
                            "`{} {alternative}` does not exist; `{}` has: {}",
                            path.join(" "),
                            path.join(" "),
                            known.join(", ")
                        ));
                    }
                }
            }
        }
        path.push((*word).to_owned());
        commands = next;
        words.next();
    }
    for word in words {
        let Some(start) = word.find("--") else {
            continue;
        };
        let flag: String = word[start + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if flag.is_empty() || flag == "help" {
            continue;
        }
        for c in &commands {
            let known = c
                .get_arguments()
                .any(|a| a.get_long() == Some(flag.as_str()))
                || (flag == "version" && c.get_name() == root.get_name());
            if !known {
                return Some(format!("`{}` has no option `--{flag}`", path.join(" ")));
            }
        }
    }
    None
}

#[test]
fn every_command_a_hint_names_exists_with_its_options() {
    let root = Cli::command();
    let files = sources();
    assert!(
        files.iter().any(|f| f.ends_with("store/error.rs")),
        "the sources were not found under {}",
        repo_root().display()
    );
    let mut mentions = Vec::new();
    for file in &files {
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        mentions.extend(mentions_in(file, &text));
    }
    // The grep must find what it is meant to: hints with options, in several subsystems.
    assert!(
        mentions.len() > 30,
        "only {} commands found",
        mentions.len()
    );
    let wrong: Vec<String> = mentions
        .iter()
        .filter_map(|m| {
            check(&root, &m.text).map(|why| {
                let file = m.file.strip_prefix(repo_root()).unwrap_or(&m.file);
                format!("{}:{}: {}\n    {why}", file.display(), m.line, m.text)
            })
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "commands named in hints, errors or docs that the CLI does not have:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn a_hint_naming_a_missing_command_or_option_is_caught() {
    let root = Cli::command();
    let file = Path::new("example.rs");
    let text = r#"
        hint: list its tools with `portcullis upstream tools --name {server}`
        hint: approve with `portcullis upstream approve --name gh --tool x`
        hint: e.g. portcullis upstream add --name time --command uvx --args mcp-server-time");
        hint: `portcullis upstream approve|block` and (portcullis tools diff {server}__{tool})
        hint: stop the other portcullis instance, or `portcullis activity [--json] [--follow]`
    "#;
    let verdicts: Vec<(String, Option<String>)> = mentions_in(file, text)
        .into_iter()
        .map(|m| {
            let verdict = check(&root, &m.text);
            (m.text, verdict)
        })
        .collect();
    let texts: Vec<&str> = verdicts.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        texts,
        [
            "portcullis upstream tools --name {server}",
            "portcullis upstream approve --name gh --tool x",
            "portcullis upstream add --name time --command uvx --args mcp-server-time",
            "portcullis upstream approve|block",
            "portcullis tools diff {server}__{tool}",
            "portcullis activity [--json] [--follow]",
        ]
    );
    let wrong: Vec<bool> = verdicts.iter().map(|(_, v)| v.is_some()).collect();
    assert_eq!(
        wrong,
        [true, true, false, false, false, false],
        "{verdicts:#?}"
    );
    assert!(verdicts[0]
        .1
        .as_deref()
        .unwrap()
        .contains("`portcullis upstream tools` does not exist"));
    assert!(verdicts[1]
        .1
        .as_deref()
        .unwrap()
        .contains("no option `--tool`"));
}
