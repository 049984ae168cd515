//! Adds the score of a second query to the best candidates of the first.
//!
//! Phrase matches change the order among tools that already match the words, so they are
//! scored on a small pool of candidates instead of over the whole index: the main query stays
//! a pure union of terms, which tantivy answers with block-max WAND, skipping most documents.

use tantivy::query::{EnableScoring, Query};
use tantivy::{DocAddress, DocId, Score, Searcher, TERMINATED};

/// Adds `query`'s score to each candidate it matches, then re-sorts by score, best first.
pub(crate) fn add_scores(
    searcher: &Searcher,
    query: &dyn Query,
    candidates: &mut [(Score, DocAddress)],
) -> tantivy::Result<()> {
    let weight = query.weight(EnableScoring::enabled_from_searcher(searcher))?;
    // Scorers only move forward: visit candidates segment by segment, in doc id order.
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by_key(|&i| candidates[i].1);
    let mut segment = None;
    let mut scorer = None;
    for i in order {
        let DocAddress {
            segment_ord,
            doc_id,
        } = candidates[i].1;
        if segment != Some(segment_ord) {
            segment = Some(segment_ord);
            scorer = Some(weight.scorer(searcher.segment_reader(segment_ord), 1.0)?);
        }
        let Some(scorer) = scorer.as_mut() else {
            continue;
        };
        if seek(scorer.as_mut(), doc_id) {
            candidates[i].0 += scorer.score();
        }
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    Ok(())
}

/// Moves `docs` to `target` if it is ahead; true when `target` matches.
fn seek(docs: &mut dyn tantivy::query::Scorer, target: DocId) -> bool {
    let current = docs.doc();
    if current == TERMINATED || current > target {
        return false;
    }
    current == target || docs.seek(target) == target
}
