//! Downstream tool names: `<server><separator><tool>`.
//!
//! MCP tool names are 1 to 128 characters of `[A-Za-z0-9_.-]`. The rule:
//! 1. the name is `server + separator + tool`;
//! 2. when the upstream's tool name has characters outside that set, each is
//!    replaced by `_` and `-` plus eight hex digits of a hash of the original
//!    (server, tool) pair is appended, so two tools that only differ in such
//!    characters stay apart;
//! 3. a name longer than 128 characters is cut and gets the same suffix;
//! 4. if a name is still taken, the suffix is added (and then a counter).
//!
//! The hash is FNV-1a, so the same tool gets the same name on every run.

use std::collections::{BTreeMap, HashMap};

/// Longest tool name the spec allows.
const MAX_LEN: usize = 128;

/// Where a downstream tool name leads.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ToolName {
    /// The upstream server's name.
    pub server: String,
    /// The tool's name as the upstream lists it.
    pub tool: String,
}

/// The two-way map between downstream names and upstream tools.
#[derive(Debug, Default, Clone)]
pub struct NameMap {
    forward: HashMap<ToolName, String>,
    back: HashMap<String, ToolName>,
}

impl NameMap {
    /// Builds the map for every (server, tool) pair. With `prefix` false
    /// (single-upstream mode) names are kept as the upstream gave them.
    pub fn build<'a>(
        tools: impl IntoIterator<Item = (&'a str, &'a str)>,
        separator: &str,
        prefix: bool,
    ) -> Self {
        let mut sorted: BTreeMap<ToolName, ()> = BTreeMap::new();
        for (server, tool) in tools {
            sorted.insert(
                ToolName {
                    server: server.to_owned(),
                    tool: tool.to_owned(),
                },
                (),
            );
        }
        let mut map = NameMap::default();
        for (key, ()) in sorted {
            let name = map.pick(&key, separator, prefix);
            map.back.insert(name.clone(), key.clone());
            map.forward.insert(key, name);
        }
        map
    }

    fn pick(&self, key: &ToolName, separator: &str, prefix: bool) -> String {
        let joined = if prefix {
            format!("{}{}{}", key.server, separator, key.tool)
        } else {
            key.tool.clone()
        };
        let clean: String = joined
            .chars()
            .map(|c| if valid_char(c) { c } else { '_' })
            .collect();
        let suffix = format!("-{:08x}", fnv1a(&format!("{}\0{}", key.server, key.tool)));
        let mut name = if clean != joined || clean.len() > MAX_LEN || clean.is_empty() {
            with_suffix(&clean, &suffix)
        } else {
            clean.clone()
        };
        if self.back.contains_key(&name) {
            name = with_suffix(&clean, &suffix);
        }
        let mut n = 2;
        while self.back.contains_key(&name) {
            name = with_suffix(&clean, &format!("{suffix}-{n}"));
            n += 1;
        }
        name
    }

    /// The downstream name of an upstream tool.
    pub fn downstream(&self, server: &str, tool: &str) -> Option<&str> {
        self.forward
            .get(&ToolName {
                server: server.to_owned(),
                tool: tool.to_owned(),
            })
            .map(String::as_str)
    }

    /// The upstream tool a downstream name leads to.
    pub fn upstream(&self, name: &str) -> Option<&ToolName> {
        self.back.get(name)
    }

    /// How many names the map holds.
    pub fn len(&self) -> usize {
        self.back.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.back.is_empty()
    }
}

fn valid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn with_suffix(clean: &str, suffix: &str) -> String {
    let room = MAX_LEN.saturating_sub(suffix.len());
    // `clean` is ASCII, so byte slicing is safe.
    let base = if clean.len() > room {
        &clean[..room]
    } else {
        clean
    };
    format!("{base}{suffix}")
}

fn fnv1a(text: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(name: &str) -> bool {
        !name.is_empty() && name.len() <= MAX_LEN && name.chars().all(valid_char)
    }

    #[test]
    fn plain_names_are_prefixed() {
        let map = NameMap::build(
            [("github", "create_issue"), ("time", "get_current_time")],
            "__",
            true,
        );
        assert_eq!(
            map.downstream("github", "create_issue"),
            Some("github__create_issue")
        );
        assert_eq!(
            map.upstream("time__get_current_time").unwrap().tool,
            "get_current_time"
        );
    }

    #[test]
    fn invalid_long_and_colliding_names_are_rewritten_stably() {
        let long = "x".repeat(200);
        let tools = [
            ("s", "has space"),
            ("s", "has/space"),
            ("s", long.as_str()),
            ("s", "has_space"),
        ];
        let map = NameMap::build(tools, "__", true);
        let names: Vec<&str> = tools
            .iter()
            .map(|(s, t)| map.downstream(s, t).unwrap())
            .collect();
        for n in &names {
            assert!(valid(n), "{n}");
        }
        assert_eq!(names[3], "s__has_space");
        assert_ne!(names[0], names[1]);
        assert!(names[0].starts_with("s__has_space-"));
        assert_eq!(names[2].len(), MAX_LEN);
        // Same input, same names, whatever the order.
        let again = NameMap::build(tools.iter().rev().copied(), "__", true);
        for (s, t) in tools {
            assert_eq!(map.downstream(s, t), again.downstream(s, t));
        }
    }

    #[test]
    fn unprefixed_mode_keeps_names() {
        let map = NameMap::build([("only", "echo")], "__", false);
        assert_eq!(map.downstream("only", "echo"), Some("echo"));
    }
}
