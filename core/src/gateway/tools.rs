//! The merged tool list: every upstream's tools under downstream names.

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

/// The merged list, rebuilt whenever an upstream's tools change.
#[derive(Debug, Default)]
pub(crate) struct ToolTable {
    names: NameMap,
    entries: Vec<ToolEntry>,
    /// Fingerprint of what clients see, to tell whether a change shows.
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
        let mut hasher = std::hash::DefaultHasher::new();
        for (server, tools) in servers {
            for tool in tools.iter() {
                if let Some(name) = names.downstream(server, &tool.name) {
                    let callable = callable(server, &tool.name);
                    // Direct-mode clients see callable tools only: only they count.
                    if callable {
                        std::hash::Hash::hash(name, &mut hasher);
                        for (k, v) in &tool.fields {
                            std::hash::Hash::hash(k, &mut hasher);
                            std::hash::Hash::hash(v.get(), &mut hasher);
                        }
                    }
                    entries.push(ToolEntry {
                        name: name.to_owned(),
                        server: server.clone(),
                        callable,
                        tool: tool.clone(),
                    });
                }
            }
        }
        let fingerprint = std::hash::Hasher::finish(&hasher);
        Self {
            names,
            entries,
            fingerprint,
        }
    }

    /// Where a downstream name leads.
    pub(crate) fn resolve(&self, name: &str) -> Option<&ToolName> {
        self.names.upstream(name)
    }

    /// All entries in order.
    pub(crate) fn entries(&self) -> &[ToolEntry] {
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

    /// One page of the callable tools' downstream definitions, and the offset of the next.
    pub(crate) fn page(&self, offset: usize, size: usize) -> (Vec<Box<RawValue>>, Option<usize>) {
        let callable: Vec<&ToolEntry> = self.entries.iter().filter(|e| e.callable).collect();
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
