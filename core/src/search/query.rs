//! Turns analyzed query terms into a tantivy query.
//!
//! User text never reaches tantivy's query parser: the query is built from the terms the
//! analyzer produced, so quotes, colons, parentheses or any other syntax in a request are just
//! text, and a query cannot fail to parse. Scoring is BM25 per field, weighted by how much a
//! match in that field says about the tool, plus lower-weighted generic synonyms and a boost
//! when two query words appear next to each other in the tool's text.

use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;

use super::analysis::AnalyzedTerm;
use super::fields::Fields;
use super::synonyms::{synonyms, Synonym};

/// How much each field and each kind of match counts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Weights {
    /// All of the tool's text; the main signal.
    pub(crate) all: f32,
    /// Extra for a match in the tool name.
    pub(crate) name: f32,
    /// Extra for a match in the server name.
    pub(crate) server: f32,
    /// Extra for a match in the title.
    pub(crate) title: f32,
    /// Extra for a match in a parameter name.
    pub(crate) params: f32,
    /// Factor applied to a synonym's field weights.
    pub(crate) synonym: f32,
    /// The factor instead for the synonyms of a query word that no tool contains: 1, as if
    /// the request had used the tools' own word.
    pub(crate) stand_in: f32,
    /// Weight of two adjacent query words found next to each other.
    pub(crate) phrase: f32,
}

/// The weights the index uses, chosen on the shared evaluation sets (see BENCHMARKS.md):
/// one BM25 over all text does most of the work; name, title and parameter names add a little
/// on top, because a word there says more about the tool than one deep in a description.
pub(crate) const WEIGHTS: Weights = Weights {
    all: 1.0,
    name: 0.4,
    server: 0.2,
    title: 0.4,
    params: 0.3,
    synonym: 0.3,
    stand_in: 1.0,
    phrase: 0.2,
};

/// Query terms after analysis: unique terms with their first position, and the synonyms
/// searched for them.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryTerms {
    /// Unique terms in query order.
    pub(crate) terms: Vec<AnalyzedTerm>,
    /// Synonyms not already among the terms.
    pub(crate) synonyms: Vec<Synonym>,
    /// The stems of the synonyms that stand in for a word no tool contains
    /// (see [`QueryTerms::promote_stand_ins`]).
    pub(crate) stand_ins: Vec<String>,
}

impl QueryTerms {
    /// Deduplicates analyzed terms and looks up their synonyms.
    pub(crate) fn new(analyzed: Vec<AnalyzedTerm>) -> Self {
        let mut terms: Vec<AnalyzedTerm> = Vec::new();
        for t in analyzed {
            if !terms.iter().any(|u| u.text == t.text) {
                terms.push(t);
            }
        }
        let mut syns: Vec<Synonym> = Vec::new();
        for t in &terms {
            for s in synonyms(&t.text) {
                let known =
                    terms.iter().any(|u| u.text == s.stem) || syns.iter().any(|u| u.stem == s.stem);
                if !known {
                    syns.push(s.clone());
                }
            }
        }
        Self {
            terms,
            synonyms: syns,
            stand_ins: Vec::new(),
        }
    }

    /// The synonyms of a term that no tool contains weigh more than other synonyms: the word
    /// itself cannot add to any score, so they are all the request says on that point ("commit
    /// history" finds a log tool among tools that all say "commit").
    pub(crate) fn promote_stand_ins(&mut self, absent: impl Fn(&str) -> bool) {
        for t in &self.terms {
            if !absent(&t.text) {
                continue;
            }
            for s in synonyms(&t.text) {
                if self.synonyms.iter().any(|u| u.stem == s.stem)
                    && !self.stand_ins.contains(&s.stem)
                {
                    self.stand_ins.push(s.stem.clone());
                }
            }
        }
    }

    /// True when nothing is left to search for (empty or only stop words).
    pub(crate) fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

fn field_weights(f: &Fields, w: &Weights) -> [(Field, f32); 5] {
    [
        (f.all, w.all),
        (f.name, w.name),
        (f.server, w.server),
        (f.title, w.title),
        (f.params, w.params),
    ]
}

/// One term searched in every field, each field weighted; the scores add up.
fn term_in_fields(
    f: &Fields,
    w: &Weights,
    text: &str,
    factor: f32,
) -> Vec<(Occur, Box<dyn Query>)> {
    field_weights(f, w)
        .into_iter()
        .filter(|(_, weight)| *weight > 0.0)
        .map(|(field, weight)| {
            let q = TermQuery::new(
                Term::from_field_text(field, text),
                IndexRecordOption::WithFreqs,
            );
            (
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(q), weight * factor)) as Box<dyn Query>,
            )
        })
        .collect()
}

/// Builds the main scoring query (terms and synonyms), restricted to `server` when given.
pub(crate) fn build(
    f: &Fields,
    w: &Weights,
    q: &QueryTerms,
    server: Option<&str>,
) -> Box<dyn Query> {
    let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for t in &q.terms {
        should.extend(term_in_fields(f, w, &t.text, 1.0));
    }
    // Synonyms only in the all-text field: they are a hint, and every extra clause costs.
    for s in &q.synonyms {
        let factor = if q.stand_ins.contains(&s.stem) {
            w.stand_in
        } else {
            w.synonym
        };
        let q = TermQuery::new(
            Term::from_field_text(f.all, &s.stem),
            IndexRecordOption::WithFreqs,
        );
        should.push((
            Occur::Should,
            Box::new(BoostQuery::new(Box::new(q), w.all * factor)),
        ));
    }
    let text_query: Box<dyn Query> = Box::new(BooleanQuery::new(should));
    match server {
        None => text_query,
        Some(server) => Box::new(BooleanQuery::new(vec![
            (Occur::Must, text_query),
            (Occur::Must, server_filter(f, server)),
        ])),
    }
}

/// Adjacent query words (joined identifier forms excluded) found next to each other in the
/// tool's text, or `None` when the query has no such pair. Scored only on the best candidates
/// of [`build`] (see `rerank`): a phrase clause in the main query would stop tantivy from
/// skipping hopeless documents (block-max WAND), which costs more than it adds.
pub(crate) fn phrases(f: &Fields, w: &Weights, q: &QueryTerms) -> Option<Box<dyn Query>> {
    if w.phrase <= 0.0 {
        return None;
    }
    let words: Vec<&AnalyzedTerm> = q.terms.iter().filter(|t| !t.joined).collect();
    let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for pair in words.windows(2) {
        let gap = pair[1].position.saturating_sub(pair[0].position);
        if gap == 0 || gap > 3 {
            continue;
        }
        let phrase = PhraseQuery::new_with_offset_and_slop(
            vec![
                (0, Term::from_field_text(f.all, &pair[0].text)),
                (gap, Term::from_field_text(f.all, &pair[1].text)),
            ],
            1,
        );
        should.push((
            Occur::Should,
            Box::new(BoostQuery::new(Box::new(phrase), w.phrase)),
        ));
    }
    (!should.is_empty()).then(|| Box::new(BooleanQuery::new(should)) as Box<dyn Query>)
}

/// Matches the documents of one server, adding nothing to the score.
pub(crate) fn server_filter(f: &Fields, server: &str) -> Box<dyn Query> {
    let term = TermQuery::new(
        Term::from_field_text(f.server_key, server),
        IndexRecordOption::Basic,
    );
    Box::new(ConstScoreQuery::new(Box::new(term), 0.0))
}
