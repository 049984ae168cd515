//! The dense signal's model: text in, a unit vector out, on the CPU, offline.
//!
//! A static embedding (one vector per word piece, mean-pooled) distilled at build time from
//! all-MiniLM-L6-v2 by `scripts/embed-model/make.sh` and built into the binary by
//! `core/build.rs`, so the CLI and the desktop app carry it without configuration. Embedding a
//! text is a vocabulary lookup and a sum: about a microsecond per word, so a whole catalogue
//! is embedded in the time tantivy takes to index it.
//!
//! A binary built without the model file still works: [`builtin`] returns `None`, search is
//! BM25 only, and the first search index to notice says so once in the log.

mod model;
mod tokenize;

/// Test helpers for other modules of `search`.
#[cfg(test)]
pub(crate) mod tests_support {
    pub(crate) use super::model::tests::tiny_model;
}

use std::sync::OnceLock;

pub(crate) use model::fnv1a;
use model::StaticModel;
use tokenize::SpelledOut;

include!(concat!(env!("OUT_DIR"), "/embed_model.rs"));

/// Word pieces pooled per text: past this a tool's text only dilutes what it is about.
const MAX_PIECES: usize = 512;

/// Turns text into vectors with the built-in static model.
pub(crate) struct Embedder {
    model: StaticModel,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("dims", &self.model.dims())
            .finish_non_exhaustive()
    }
}

/// The model built into this binary, parsed on first use; `None` (and one warning in the log)
/// when the binary was built without it or the file is unusable.
pub(crate) fn builtin() -> Option<&'static Embedder> {
    static EMBEDDER: OnceLock<Option<Embedder>> = OnceLock::new();
    EMBEDDER
        .get_or_init(|| {
            let Some((bytes, fingerprint)) = MODEL_BYTES else {
                tracing::warn!(
                    "tool search: this build has no embedding model, so search is keyword-only (BM25)\nhint: run scripts/embed-model/make.sh, then rebuild"
                );
                return None;
            };
            match Embedder::from_bytes(bytes, fingerprint) {
                Ok(e) => Some(e),
                Err(reason) => {
                    tracing::warn!(%reason, "tool search: the built-in embedding model is unusable, so search is keyword-only (BM25)\nhint: rerun scripts/embed-model/make.sh, then rebuild");
                    None
                }
            }
        })
        .as_ref()
}

impl Embedder {
    /// An embedder over a model file's bytes, whose [`model::fnv1a`] hash is `fingerprint`.
    pub(crate) fn from_bytes(bytes: &'static [u8], fingerprint: u64) -> Result<Self, String> {
        Ok(Self {
            model: StaticModel::parse(bytes, fingerprint)?,
        })
    }

    /// Vector length.
    pub(crate) fn dims(&self) -> usize {
        self.model.dims()
    }

    /// Identifies the model: vectors made by another one are recomputed.
    pub(crate) fn fingerprint(&self) -> u64 {
        self.model.fingerprint()
    }

    /// A text's vector, every piece weighing the same: the unit-length mean of its pieces'
    /// vectors, or `None` when no piece is known. (The index weighs tool texts' pieces by
    /// their rarity, [`Self::pool_weighted`].)
    #[cfg(test)]
    pub(crate) fn embed(&self, text: &str) -> Option<Vec<f32>> {
        self.pool(text, SpelledOut::Keep)
    }

    /// A request's vector, like [`Self::embed`] but without the words the model can only
    /// spell out (see [`SpelledOut::Skip`]): `None` for a request of such words alone.
    pub(crate) fn embed_query(&self, text: &str) -> Option<Vec<f32>> {
        self.pool(text, SpelledOut::Skip)
    }

    /// Number of word pieces the model knows; piece ids are below it.
    pub(crate) fn pieces_known(&self) -> usize {
        self.model.len()
    }

    /// The word pieces of a tool text, at most [`MAX_PIECES`].
    pub(crate) fn pieces(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        tokenize::for_each_piece(
            text,
            SpelledOut::Keep,
            |p| self.model.id(p),
            |id| {
                out.push(id);
                out.len() < MAX_PIECES
            },
        );
        out
    }

    /// The unit-length weighted sum of these pieces' vectors, `None` when it is zero.
    pub(crate) fn pool_weighted(
        &self,
        pieces: &[u32],
        weight: impl Fn(u32) -> f32,
    ) -> Option<Vec<f32>> {
        let mut acc = vec![0.0f32; self.model.dims()];
        for &id in pieces {
            self.model.add_to(id, weight(id), &mut acc);
        }
        unit(acc)
    }

    fn pool(&self, text: &str, spelled_out: SpelledOut) -> Option<Vec<f32>> {
        let mut acc = vec![0.0f32; self.model.dims()];
        let mut n = 0usize;
        tokenize::for_each_piece(
            text,
            spelled_out,
            |p| self.model.id(p),
            |id| {
                self.model.add_to(id, 1.0, &mut acc);
                n += 1;
                n < MAX_PIECES
            },
        );
        unit(acc)
    }
}

/// `v` scaled to unit length, `None` when it is zero (no known piece) or not finite.
fn unit(mut v: Vec<f32>) -> Option<Vec<f32>> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return None;
    }
    v.iter_mut().for_each(|x| *x /= norm);
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_with_the_same_words_embed_alike() {
        let e = Embedder::from_bytes(model::tests::tiny_model(&["list", "events", "send"], 3), 0)
            .expect("model");
        let a = e.embed("listEvents").expect("vector");
        let b = e.embed("list the events").expect("vector");
        let dot: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot - 1.0).abs() < 1e-6);
        assert!(e.embed("nothing known here").is_none());
    }

    /// The real model, when this build has it: a request and the tool that serves it are
    /// closer than the same request and an unrelated tool, without sharing a word.
    #[test]
    fn the_builtin_model_knows_meaning() {
        let Some((bytes, fingerprint)) = MODEL_BYTES else {
            assert!(
                std::env::var_os("PORTCULLIS_REQUIRE_EMBED_MODEL").is_none(),
                "built without the embedding model; run scripts/embed-model/make.sh"
            );
            return;
        };
        assert_eq!(
            fingerprint,
            model::fnv1a(bytes),
            "build.rs hashes as the model does"
        );
        let e = Embedder::from_bytes(bytes, fingerprint).expect("the built-in model parses");
        let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let q = e.embed("what's on my calendar tomorrow").expect("query");
        let events = e
            .embed("list_events: upcoming meetings and appointments")
            .expect("tool");
        let refund = e
            .embed("create_refund: return a payment to a customer")
            .expect("tool");
        assert!(cos(&q, &events) > cos(&q, &refund));
    }
}
