//! Clients' YAML files: Continue's `config.yaml` (a list `mcpServers`) and
//! Goose's `config.yaml` (a map `extensions`).
//!
//! No maintained Rust crate both parses YAML and writes it back with its
//! comments, so the edit is textual and narrow: the lines of the one
//! `portcullis` entry are added at the end of the top-level block that holds
//! the servers, or put in place of the old entry's lines, in the block
//! style and indentation the file already uses. Every other line stays byte
//! for byte. `format` then parses the result (with `yaml_serde`) and refuses
//! it unless it holds exactly the old document plus the entry, so a file
//! this cannot edit safely (flow style, anchors, an indented root) is an
//! error, never a broken file.

use serde_json::Value;

use super::EditError;
use super::ENTRY_NAME;

/// The file as a JSON value (an empty file is null).
pub(super) fn parse(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    let value: yaml_serde::Value = yaml_serde::from_str(text).map_err(|e| e.to_string())?;
    serde_json::to_value(value).map_err(|e| e.to_string())
}

/// `text` (none: no file yet) with `entry` under the top-level `key`: a map
/// entry `portcullis:`, or with `list_at`, the item at that index of a list
/// (the list's length: a new item at its end).
pub(super) fn write(
    text: Option<&str>,
    key: &str,
    list_at: Option<usize>,
    entry: &Value,
    preamble: &str,
) -> Result<String, EditError> {
    let list = list_at.is_some();
    let Some(text) = text else {
        let mut out = preamble.to_owned();
        for line in top_block(key, list, entry) {
            out.push_str(&line);
            out.push('\n');
        }
        return Ok(out);
    };
    // Each line keeps its own "\r" (if any), so joining with "\n" gives back the bytes.
    let cr = if text.contains("\r\n") { "\r" } else { "" };
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let Some(at) = lines
        .iter()
        .position(|l| indent(l) == 0 && key_of(l).is_some_and(|(k, _)| k == key))
    else {
        // No such key yet: the block goes at the end of the file.
        let last = lines.len() - 1;
        if !lines[last].is_empty() {
            lines[last].push_str(cr);
            lines.push(String::new());
        }
        let block = top_block(key, list, entry).into_iter().map(|l| l + cr);
        lines.splice(lines.len() - 1..lines.len() - 1, block);
        return Ok(lines.join("\n"));
    };
    empty_inline_value(&mut lines[at], key)?;
    // The block: every line after the key that is indented, blank, a comment,
    // or (a list may sit at the key's own indentation) an item.
    let end = at
        + 1
        + lines[at + 1..]
            .iter()
            .take_while(|l| {
                quiet(l)
                    || l.starts_with([' ', '\t'])
                    || (list && is_item(l.trim_end_matches('\r')))
            })
            .count();
    let content: Vec<usize> = (at + 1..end).filter(|&i| !quiet(&lines[i])).collect();
    let child = content.first().map_or(2, |&i| indent(&lines[i]));
    if let Some(&first) = content.first() {
        if lines[first].trim_start().starts_with(['[', '{']) {
            return Err(EditError::Unreadable(format!(
                "`{key}` is written in flow style ([...] or {{...}}); Portcullis edits only the block style"
            )));
        }
    }
    // Where each entry of the block starts.
    let starts: Vec<usize> = content
        .iter()
        .copied()
        .filter(|&i| {
            indent(&lines[i]) == child
                && (!list || is_item(lines[i].trim_start().trim_end_matches('\r')))
        })
        .collect();
    let old = match list_at {
        Some(at_item) => {
            let items = parse(text)
                .ok()
                .and_then(|doc| doc.get(key).and_then(Value::as_array).map(Vec::len))
                .unwrap_or(0);
            if starts.len() != items {
                return Err(EditError::Unverified(format!(
                    "the items of `{key}` are not one per `- ` line at one indentation"
                )));
            }
            starts.get(at_item).copied()
        }
        None => starts
            .iter()
            .copied()
            .find(|&i| key_of(&lines[i]).is_some_and(|(k, _)| k == ENTRY_NAME)),
    };
    let new = entry_lines(child, list, entry).into_iter().map(|l| l + cr);
    match old {
        Some(start) => {
            let mut stop = starts.iter().copied().find(|&i| i > start).unwrap_or(end);
            while stop > start + 1 && quiet(&lines[stop - 1]) {
                stop -= 1;
            }
            lines.splice(start..stop, new);
        }
        None => {
            let after = content.last().map_or(at + 1, |&i| i + 1);
            lines.splice(after..after, new);
        }
    }
    Ok(lines.join("\n"))
}

/// `key: []`, `key: {}`, `key: null` and `key: ~` become `key:` (a comment
/// after them stays); any other value on the key's own line is refused.
fn empty_inline_value(line: &mut String, key: &str) -> Result<(), EditError> {
    let Some((_, after_colon)) = key_of(line) else {
        return Ok(());
    };
    let (head, rest) = line.split_at(after_colon);
    let rest = rest.trim_end_matches('\r');
    let (value, comment) = match rest.find(" #").or_else(|| rest.find("\t#")) {
        Some(c) => (&rest[..c], &rest[c..]),
        None if rest.trim_start().starts_with('#') => ("", rest),
        None => (rest, ""),
    };
    match value.trim() {
        "" => Ok(()),
        "[]" | "{}" | "null" | "Null" | "NULL" | "~" => {
            let cr = if line.ends_with('\r') { "\r" } else { "" };
            *line = format!("{head}{comment}{cr}");
            Ok(())
        }
        other => Err(EditError::Unreadable(format!(
            "`{key}` has `{other}` on its own line; Portcullis edits only a block below the key"
        ))),
    }
}

/// Blank or a comment.
fn quiet(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_item(line: &str) -> bool {
    line == "-" || line.starts_with("- ")
}

/// The key a `key: ...` line starts with (after its indentation), and the
/// byte just after its colon.
fn key_of(line: &str) -> Option<(String, usize)> {
    let start = indent(line);
    let rest = &line[start..];
    let (key, len) = match rest.chars().next()? {
        q @ ('"' | '\'') => {
            let close = rest[1..].find(q)? + 1;
            (rest[1..close].to_owned(), close + 1)
        }
        _ => {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "_-.$".contains(c)))
                .unwrap_or(rest.len());
            (rest[..len].to_owned(), len)
        }
    };
    let after = &rest[len..];
    let colon_ok = after.starts_with(':')
        && after[1..]
            .chars()
            .next()
            .is_none_or(|c| c == ' ' || c == '\t' || c == '\r');
    (colon_ok && !key.is_empty()).then_some((key, start + len + 1))
}

/// `key:` and the entry below it, for a file that has no `key` yet.
fn top_block(key: &str, list: bool, entry: &Value) -> Vec<String> {
    let mut lines = vec![format!("{}:", yaml_key(key))];
    lines.extend(entry_lines(2, list, entry));
    lines
}

/// The entry at indentation `at`: `portcullis:` and its fields below, or a
/// list item `- name: portcullis` with the rest aligned under it.
fn entry_lines(at: usize, list: bool, entry: &Value) -> Vec<String> {
    let Value::Object(fields) = entry else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    if !list {
        lines.push(format!("{}{ENTRY_NAME}:", " ".repeat(at)));
    }
    for (k, v) in fields {
        lines.extend(field(at + 2, k, v));
    }
    if list {
        if let Some(first) = lines.first_mut() {
            *first = format!("{}- {}", " ".repeat(at), first.trim_start());
        }
    }
    lines
}

fn field(at: usize, key: &str, value: &Value) -> Vec<String> {
    let pad = " ".repeat(at);
    match value {
        Value::Object(map) if !map.is_empty() => {
            let mut lines = vec![format!("{pad}{}:", yaml_key(key))];
            for (k, v) in map {
                lines.extend(field(at + 2, k, v));
            }
            lines
        }
        other => vec![format!("{pad}{}: {}", yaml_key(key), flow(other))],
    }
}

/// A value on one line: JSON's syntax is YAML's flow style, and a string
/// that YAML reads as itself is written without quotes.
fn flow(value: &Value) -> String {
    match value {
        Value::String(s) if plain(s) => s.clone(),
        other => other.to_string(),
    }
}

fn yaml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_owned()
    } else {
        Value::String(key.to_owned()).to_string()
    }
}

/// Whether YAML reads `s` unquoted as the string `s`: no spaces, indicators
/// or trailing colon, and not a word YAML reads as a bool, null or number.
fn plain(s: &str) -> bool {
    let words = ["true", "false", "yes", "no", "on", "off", "null", "y", "n"];
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/:-@+=".contains(c))
        && !s.ends_with(':')
        && !words.contains(&s.to_ascii_lowercase().as_str())
        && s.parse::<f64>().is_err()
        && !s.starts_with("0x")
        && !s.starts_with("0o")
}

#[cfg(test)]
#[path = "yaml_tests.rs"]
mod tests;
