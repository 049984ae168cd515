//! Reciprocal rank fusion of the BM25 and dense rankings.
//!
//! Ranks, not scores, are fused: BM25 scores grow with query length and term rarity, cosine
//! similarities sit in a narrow band, and neither scale says how sure the signal is. A tool
//! scores `w / (k + rank)` for each ranking it appears in (rank from 1). The weights were
//! chosen on one half of the shared sets and checked on the other (BENCHMARKS.md, "Hybrid").

/// How the two rankings are weighed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fusion {
    /// RRF's damping constant: larger flattens the difference between nearby ranks.
    pub(crate) k: f32,
    /// Weight of the BM25 ranking.
    pub(crate) bm25: f32,
    /// Weight of the dense ranking.
    pub(crate) dense: f32,
}

/// The weights the index uses.
pub(crate) const FUSION: Fusion = Fusion {
    k: 5.0,
    bm25: 1.0,
    dense: 0.3,
};

/// One signal's view of a tool: its 1-based rank and raw score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Signal {
    pub(crate) rank: usize,
    pub(crate) score: f32,
}

/// A fused result: which candidate, the fused score, and each signal that ranked it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fused<K> {
    pub(crate) key: K,
    pub(crate) score: f32,
    pub(crate) bm25: Option<Signal>,
    pub(crate) dense: Option<Signal>,
}

/// Fuses two rankings (best first, with raw scores), best fused first; ties keep BM25's
/// order, then the dense order.
pub(crate) fn fuse<K: PartialEq + Clone>(
    f: &Fusion,
    bm25: &[(K, f32)],
    dense: &[(K, f32)],
) -> Vec<Fused<K>> {
    let mut out: Vec<Fused<K>> = Vec::with_capacity(bm25.len() + dense.len());
    for (i, (key, score)) in bm25.iter().enumerate() {
        out.push(Fused {
            key: key.clone(),
            score: f.bm25 / (f.k + (i + 1) as f32),
            bm25: Some(Signal {
                rank: i + 1,
                score: *score,
            }),
            dense: None,
        });
    }
    for (i, (key, score)) in dense.iter().enumerate() {
        let signal = Signal {
            rank: i + 1,
            score: *score,
        };
        let add = f.dense / (f.k + (i + 1) as f32);
        match out.iter_mut().find(|o| o.key == *key) {
            Some(o) => {
                o.score += add;
                o.dense = Some(signal);
            }
            None => out.push(Fused {
                key: key.clone(),
                score: add,
                bm25: None,
                dense: Some(signal),
            }),
        }
    }
    // Stable: equal scores keep insertion order (BM25's, then dense-only by dense rank).
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVEN: Fusion = Fusion {
        k: 60.0,
        bm25: 1.0,
        dense: 1.0,
    };

    #[test]
    fn a_tool_both_signals_rank_beats_one_only_one_ranks_first() {
        let fused = fuse(&EVEN, &[("a", 9.0), ("b", 5.0)], &[("c", 0.9), ("b", 0.8)]);
        let keys: Vec<&str> = fused.iter().map(|f| f.key).collect();
        assert_eq!(keys, ["b", "a", "c"]);
        assert_eq!(
            fused[0].bm25,
            Some(Signal {
                rank: 2,
                score: 5.0
            })
        );
        assert_eq!(
            fused[0].dense,
            Some(Signal {
                rank: 2,
                score: 0.8
            })
        );
        assert_eq!(fused[2].bm25, None);
    }

    #[test]
    fn with_one_signal_its_order_is_kept() {
        let fused = fuse::<&str>(&EVEN, &[("a", 2.0), ("b", 1.0)], &[]);
        assert_eq!(fused.iter().map(|f| f.key).collect::<Vec<_>>(), ["a", "b"]);
    }
}
