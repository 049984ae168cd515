//! Score-aware fusion of the BM25 and dense rankings.
//!
//! BM25's score is put on a scale where its best candidate is 1, a cosine on one where the
//! best cosine's lead over `center` is worth `dense`; then the two are added, counting a
//! cosine only from the band's lower edge up:
//!
//! `fused = bm25 / bm25_best + dense · max(0, cos − edge) / (cos_best − center)`,
//! `edge = max(center, cos_best − band)`
//!
//! Scores rather than ranks, so that how sure a signal is counts: a BM25 first place well
//! ahead of the second (the request names the tool's words) keeps its lead unless the dense
//! signal is far surer about another tool, while a close BM25 race is settled by meaning.
//! A cosine at or below `center` adds nothing (most unrelated tool texts sit there).
//!
//! The band: the dense signal tells tools apart only within `band` of its best cosine.
//! Further down a static model's cosines are noise (over the git server's tools, "show the
//! commit history of my repository" is .39 from `git_branch`, whose parameters say "commit"
//! and "repository", and .21 from `git_log`, "Shows the commit logs"), so every tool there
//! gets the edge's credit, none, and BM25's order stands among them. Without the band that
//! noise settled a 1% BM25 race far below the top the wrong way (`git_branch` over `git_log`).
//!
//! A tool only the dense signal ranks enters the results only when its cosine reaches
//! `floor`: every tool is *some* distance from any request, so without a floor a request
//! that matches nothing would still list the nearest tools. The values were chosen on one
//! half of the shared sets and checked on the other (BENCHMARKS.md, "Hybrid search").

/// How the two signals are weighed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Fusion {
    /// What the best cosine's lead over `center` is worth, on the scale where BM25's best is 1
    /// (the best candidate adds less when the band starts above `center`).
    pub(crate) dense: f32,
    /// The cosine below which the dense signal adds nothing.
    pub(crate) center: f32,
    /// How far below the best cosine the dense signal still tells tools apart.
    pub(crate) band: f32,
    /// The cosine a tool no query word matches must reach to be listed at all.
    pub(crate) floor: f32,
}

/// The weights the index uses.
pub(crate) const FUSION: Fusion = Fusion {
    dense: 0.7,
    center: 0.2,
    band: 0.25,
    floor: 0.4,
};

/// One signal's view of a tool: its 1-based rank and raw score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Signal {
    pub(crate) rank: usize,
    pub(crate) score: f32,
}

/// A fused result: which candidate, the fused score, and each signal's view of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fused<K> {
    pub(crate) key: K,
    pub(crate) score: f32,
    pub(crate) bm25: Option<Signal>,
    /// The tool's cosine; `None` when it has no vector.
    pub(crate) cosine: Option<f32>,
    /// The tool's rank in the dense ranking, when it is among the dense candidates.
    pub(crate) dense_rank: Option<usize>,
}

/// Fuses BM25's candidates (best first, with scores) with the dense signal's (best first,
/// with cosines); `cosine` gives any BM25 candidate's own cosine. Best fused first; ties
/// keep BM25's order, then the dense order.
pub(crate) fn fuse<K: PartialEq + Clone>(
    f: &Fusion,
    bm25: &[(K, f32)],
    dense: &[(K, f32)],
    cosine: impl Fn(&K) -> Option<f32>,
) -> Vec<Fused<K>> {
    let bm25_best = bm25.first().map_or(0.0, |(_, s)| *s);
    let cos_best = dense.first().map_or(0.0, |(_, s)| *s);
    let dense_rank = |key: &K| dense.iter().position(|(k, _)| k == key).map(|i| i + 1);
    let edge = f.center.max(cos_best - f.band);
    let dense_part = |cos: f32| {
        if cos_best <= f.center {
            return 0.0;
        }
        f.dense * (cos - edge).max(0.0) / (cos_best - f.center)
    };
    let mut out: Vec<Fused<K>> = Vec::with_capacity(bm25.len() + dense.len());
    for (i, (key, score)) in bm25.iter().enumerate() {
        let lexical = if bm25_best > 0.0 {
            score / bm25_best
        } else {
            0.0
        };
        let semantic = cosine(key);
        out.push(Fused {
            key: key.clone(),
            score: lexical + semantic.map_or(0.0, dense_part),
            bm25: Some(Signal {
                rank: i + 1,
                score: *score,
            }),
            cosine: semantic,
            dense_rank: dense_rank(key),
        });
    }
    for (i, (key, cos)) in dense.iter().enumerate() {
        if *cos < f.floor || bm25.iter().any(|(k, _)| k == key) {
            continue;
        }
        out.push(Fused {
            key: key.clone(),
            score: dense_part(*cos),
            bm25: None,
            cosine: Some(*cos),
            dense_rank: Some(i + 1),
        });
    }
    // Stable: equal scores keep insertion order (BM25's, then dense-only by dense rank).
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(rank: usize, score: f32) -> Signal {
        Signal { rank, score }
    }

    fn keys(fused: &[Fused<&'static str>]) -> Vec<&'static str> {
        fused.iter().map(|f| f.key).collect()
    }

    /// Cosines of every tool, as the dense index would give them.
    fn cosines(all: &'static [(&'static str, f32)]) -> impl Fn(&&str) -> Option<f32> {
        move |k| all.iter().find(|(n, _)| n == k).map(|(_, c)| *c)
    }

    #[test]
    fn a_close_bm25_race_is_settled_by_meaning() {
        const COS: &[(&str, f32)] = &[("b", 0.7), ("a", 0.35)];
        let fused = fuse(&FUSION, &[("a", 10.0), ("b", 9.5)], COS, cosines(COS));
        assert_eq!(keys(&fused), ["b", "a"]);
        assert_eq!(fused[0].bm25, Some(sig(2, 9.5)));
        assert_eq!((fused[0].cosine, fused[0].dense_rank), (Some(0.7), Some(1)));
    }

    #[test]
    fn a_clear_bm25_first_place_survives_a_dense_favourite() {
        // Clear: the second scores less than 1 − dense of the first.
        const COS: &[(&str, f32)] = &[("b", 0.7), ("a", 0.3)];
        let fused = fuse(&FUSION, &[("a", 10.0), ("b", 2.5)], COS, cosines(COS));
        assert_eq!(keys(&fused), ["a", "b"]);
    }

    #[test]
    fn a_tool_only_the_dense_signal_ranks_needs_the_floor() {
        const COS: &[(&str, f32)] = &[("near", 0.45), ("far", 0.35)];
        let fused = fuse::<&str>(&FUSION, &[], COS, cosines(COS));
        assert_eq!(keys(&fused), ["near"]);
        assert_eq!(fused[0].bm25, None);
    }

    #[test]
    fn cosines_far_below_the_dense_favourite_do_not_reorder_a_close_bm25_race() {
        // "show the commit history of my repository" over the git server's tools: BM25 has
        // git_log 1% ahead of git_branch; the model finds git_branch closer, but both sit
        // far below its favourite (git_commit, .67).
        const COS: &[(&str, f32)] = &[
            ("commit", 0.67),
            ("show", 0.63),
            ("diff_staged", 0.42),
            ("branch", 0.39),
            ("log", 0.21),
        ];
        let bm25 = [
            ("commit", 7.54),
            ("show", 6.51),
            ("log", 5.97),
            ("branch", 5.91),
            ("diff_staged", 4.63),
        ];
        let fused = fuse(&FUSION, &bm25, COS, cosines(COS));
        assert_eq!(keys(&fused)[..4], ["commit", "show", "log", "branch"]);
        // Within the band the dense signal still counts.
        let within = Fusion {
            band: 0.5,
            ..FUSION
        };
        let fused = keys(&fuse(&within, &bm25, COS, cosines(COS)));
        let at = |k| fused.iter().position(|f| *f == k);
        assert!(at("branch") < at("log"), "{fused:?}");
    }

    #[test]
    fn with_one_signal_its_order_is_kept() {
        let fused = fuse::<&str>(&FUSION, &[("a", 2.0), ("b", 1.0)], &[], |_| None);
        assert_eq!(keys(&fused), ["a", "b"]);
    }
}
