//! Says why a tool matched: which of its fields contain which query terms.
//!
//! Computed from the stored tool, re-analyzed with the index's analyzer, only for the few hits
//! returned; tantivy's own score explanation is a tree of BM25 factors, too noisy for an agent
//! or a person deciding whether the ranking makes sense.

use tantivy::tokenizer::TextAnalyzer;

use super::analysis::analyze;
use super::fields::param_texts;
use super::query::QueryTerms;
use super::ToolDoc;

/// One line such as `name: forecast; description: weather, ~climate`, listing the query words
/// each field contains (`~` marks a synonym of a query word).
pub(crate) fn explain(analyzer: &mut TextAnalyzer, tool: &ToolDoc, q: &QueryTerms) -> String {
    let params = param_texts(&tool.input_schema);
    let fields: [(&str, Vec<&str>); 6] = [
        ("name", vec![tool.name.as_str()]),
        ("server", vec![tool.server.as_str()]),
        ("title", tool.title.as_deref().into_iter().collect()),
        (
            "description",
            tool.description.as_deref().into_iter().collect(),
        ),
        ("params", params.params.iter().map(String::as_str).collect()),
        (
            "param_desc",
            params.param_desc.iter().map(String::as_str).collect(),
        ),
    ];
    let mut parts = Vec::new();
    for (label, texts) in fields {
        let mut present: Vec<String> = Vec::new();
        for text in texts {
            for term in analyze(analyzer, text) {
                if !present.contains(&term.text) {
                    present.push(term.text);
                }
            }
        }
        let mut matched: Vec<String> = q
            .terms
            .iter()
            .filter(|t| present.contains(&t.text))
            .map(|t| t.word.clone())
            .collect();
        matched.extend(
            q.synonyms
                .iter()
                .filter(|s| present.contains(&s.stem))
                .map(|s| format!("~{}", s.word)),
        );
        if !matched.is_empty() {
            parts.push(format!("{label}: {}", matched.join(", ")));
        }
    }
    if parts.is_empty() {
        "no field matched a query term".to_owned()
    } else {
        parts.join("; ")
    }
}
