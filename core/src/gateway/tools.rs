//! The merged tool list: every upstream's tools under downstream names.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde_json::value::RawValue;

use crate::protocol::{NameMap, ToolName};
use crate::upstream::Tool;

/// One tool as the clients see it.
#[derive(Debug, Clone)]
pub struct ToolEntry {
    /// The downstream name, e.g. `github__create_issue`.
    pub name: String,
    /// The server it belongs to.
    pub server: String,
    /// Whether it may be called now (its server trusted, its definition approved).
    pub callable: bool,
    /// The tool as the upstream lists it.
    pub tool: Tool,
}

/// The merged list, rebuilt whenever an upstream's tools change. A decision
/// on a few tools derives a new table from this one ([`ToolTable::decided`])
/// at a cost that follows those tools, not the total.
#[derive(Debug, Default, Clone)]
pub(crate) struct ToolTable {
    names: Arc<NameMap>,
    entries: Vec<Arc<ToolEntry>>,
    /// Where each tool sits in `entries`, by server, then upstream name.
    at: Arc<HashMap<String, HashMap<String, usize>>>,
    /// Each entry's part of the fingerprint (a hash of its downstream name
    /// and fields), counted while it is callable.
    parts: Arc<Vec<u64>>,
    /// Fingerprint of what clients see, to tell whether a change shows: the
    /// wrapping sum of the callable entries' parts (direct-mode clients see
    /// callable tools only).
    pub(crate) fingerprint: u64,
}

impl ToolTable {
    /// Builds the table from each server's tools, in server order.
    pub(crate) fn build(
        servers: &[(String, Arc<Vec<Tool>>)],
        separator: &str,
        prefix: bool,
        callable: impl Fn(&str, &str) -> bool,
    ) -> Self {
        let pairs = servers
            .iter()
            .flat_map(|(s, tools)| tools.iter().map(move |t| (s.as_str(), t.name.as_str())));
        let names = NameMap::build(pairs, separator, prefix);
        let mut entries = Vec::new();
        let mut at: HashMap<String, HashMap<String, usize>> = HashMap::new();
        let mut parts = Vec::new();
        let mut fingerprint = 0u64;
        for (server, tools) in servers {
            for tool in tools.iter() {
                if let Some(name) = names.downstream(server, &tool.name) {
                    let mut hasher = std::hash::DefaultHasher::new();
                    name.hash(&mut hasher);
                    for (k, v) in &tool.fields {
                        k.hash(&mut hasher);
                        v.get().hash(&mut hasher);
                    }
                    let part = hasher.finish();
                    let callable = callable(server, &tool.name);
                    if callable {
                        fingerprint = fingerprint.wrapping_add(part);
                    }
                    at.entry(server.clone())
                        .or_default()
                        .insert(tool.name.clone(), entries.len());
                    parts.push(part);
                    entries.push(Arc::new(ToolEntry {
                        name: name.to_owned(),
                        server: server.clone(),
                        callable,
                        tool: tool.clone(),
                    }));
                }
            }
        }
        Self {
            names: Arc::new(names),
            entries,
            at: Arc::new(at),
            parts: Arc::new(parts),
            fingerprint,
        }
    }

    /// This table after a decision on some `tools` of `server`: their
    /// callability asked again, everything else shared with this table.
    pub(crate) fn decided(
        &self,
        server: &str,
        tools: &[&str],
        callable: impl Fn(&str, &str) -> bool,
    ) -> Self {
        let mut next = self.clone();
        let Some(at) = self.at.get(server) else {
            return next;
        };
        for i in tools.iter().filter_map(|t| at.get(*t).copied()) {
            let entry = &next.entries[i];
            let now = callable(server, &entry.tool.name);
            if entry.callable == now {
                continue;
            }
            let part = self.parts[i];
            next.fingerprint = if now {
                next.fingerprint.wrapping_add(part)
            } else {
                next.fingerprint.wrapping_sub(part)
            };
            let mut changed = ToolEntry::clone(entry);
            changed.callable = now;
            next.entries[i] = Arc::new(changed);
        }
        next
    }

    /// Where a downstream name leads.
    pub(crate) fn resolve(&self, name: &str) -> Option<&ToolName> {
        self.names.upstream(name)
    }

    /// All entries in order.
    pub(crate) fn entries(&self) -> &[Arc<ToolEntry>] {
        &self.entries
    }

    /// The input schema of a listed tool as it was listed, by its downstream name.
    pub(crate) fn input_schema(&self, name: &str) -> Option<&RawValue> {
        self.entries
            .iter()
            .find(|e| e.name == name)?
            .tool
            .fields
            .get("inputSchema")
            .map(|raw| &**raw)
    }

    /// One page of the callable tools' downstream definitions that `keep`
    /// keeps, and the offset of the next.
    pub(crate) fn page(
        &self,
        offset: usize,
        size: usize,
        keep: impl Fn(&ToolEntry) -> bool,
    ) -> (Vec<Box<RawValue>>, Option<usize>) {
        let callable: Vec<&Arc<ToolEntry>> = self
            .entries
            .iter()
            .filter(|e| e.callable && keep(e))
            .collect();
        let end = (offset + size).min(callable.len());
        let tools = callable
            .get(offset..end)
            .unwrap_or_default()
            .iter()
            .map(|e| e.tool.renamed(&e.name))
            .collect();
        (tools, (end < callable.len()).then_some(end))
    }

    /// The downstream name of a tool, also for one not connected now.
    pub(crate) fn downstream_name(
        &self,
        server: &str,
        tool: &str,
        separator: &str,
        prefix: bool,
    ) -> String {
        if let Some(n) = self.names.downstream(server, tool) {
            return n.to_owned();
        }
        let single = NameMap::build([(server, tool)], separator, prefix);
        single.downstream(server, tool).unwrap_or(tool).to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools(names: &[&str]) -> Arc<Vec<Tool>> {
        Arc::new(
            names
                .iter()
                .map(|n| {
                    let raw = serde_json::value::to_raw_value(
                        &serde_json::json!({ "name": n, "description": format!("{n} things") }),
                    )
                    .unwrap();
                    Tool::from_raw(&raw).unwrap()
                })
                .collect(),
        )
    }

    #[test]
    fn a_decision_gives_the_table_a_rebuild_would() {
        let servers = vec![
            ("a".to_owned(), tools(&["x", "y", "z"])),
            ("b".to_owned(), tools(&["x", "w"])),
        ];
        let before = |s: &str, t: &str| s == "a" && t == "x";
        let after = |s: &str, t: &str| (s == "a" && t == "x") || (s == "b" && t == "w");
        let table = ToolTable::build(&servers, "__", true, before);
        let decided = table.decided("b", &["w", "unknown"], after);
        let rebuilt = ToolTable::build(&servers, "__", true, after);
        assert_eq!(decided.fingerprint, rebuilt.fingerprint);
        assert_ne!(decided.fingerprint, table.fingerprint);
        let callable = |t: &ToolTable| -> Vec<(String, bool)> {
            t.entries()
                .iter()
                .map(|e| (e.name.clone(), e.callable))
                .collect()
        };
        assert_eq!(callable(&decided), callable(&rebuilt));
        // Untouched entries are shared, not copied.
        assert!(Arc::ptr_eq(&decided.entries()[1], &table.entries()[1]));
        // Blocking it again gives back the first fingerprint.
        assert_eq!(
            decided.decided("b", &["w"], before).fingerprint,
            table.fingerprint
        );
        // A decision on an unknown server changes nothing.
        assert_eq!(
            table.decided("c", &["x"], after).fingerprint,
            table.fingerprint
        );
    }
}
