//! The static embedding table: one int8 vector per word piece, with one scale per piece.
//!
//! Written by `scripts/embed-model/distill.py` (format in its docstring). The table is read
//! in place from the bytes built into the binary; only the vocabulary map and the scales are
//! copied out, so the model costs its file size in the binary and about 2 MB of heap.

use std::collections::HashMap;

const MAGIC: &[u8; 8] = b"PCEMB001";

/// A parsed model file.
pub(crate) struct StaticModel {
    dims: usize,
    vocab: HashMap<&'static str, u32>,
    scales: Vec<f32>,
    vectors: &'static [u8],
    fingerprint: u64,
}

impl StaticModel {
    /// Parses a model file whose [`fnv1a`] hash is `fingerprint` (taken by
    /// build.rs for the built-in one, so a start does not read every page of
    /// it); the error says what is wrong with it.
    pub(crate) fn parse(bytes: &'static [u8], fingerprint: u64) -> Result<Self, String> {
        let mut at = 0usize;
        let mut take = |n: usize| -> Result<&'static [u8], String> {
            let end = at
                .checked_add(n)
                .filter(|&e| e <= bytes.len())
                .ok_or_else(|| format!("truncated at byte {at} (file is {} bytes)", bytes.len()))?;
            let out = &bytes[at..end];
            at = end;
            Ok(out)
        };
        if take(8)? != MAGIC {
            return Err("not a portcullis embedding model (bad magic)".to_owned());
        }
        let mut u32_at = || -> Result<usize, String> {
            let b = take(4)?;
            Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        };
        let (dims, tokens, vocab_len) = (u32_at()?, u32_at()?, u32_at()?);
        if dims == 0 || dims > 4096 {
            return Err(format!("implausible dimension count {dims}"));
        }
        let vocab_text = std::str::from_utf8(take(vocab_len)?)
            .map_err(|e| format!("vocabulary is not UTF-8: {e}"))?;
        let words: Vec<&'static str> = vocab_text.split('\n').collect();
        if words.len() != tokens {
            return Err(format!(
                "{} vocabulary entries for {tokens} vectors",
                words.len()
            ));
        }
        let scales = take(tokens * 4)?
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let vectors = take(tokens * dims)?;
        let vocab = words
            .into_iter()
            .enumerate()
            .map(|(i, w)| (w, i as u32))
            .collect();
        Ok(Self {
            dims,
            vocab,
            scales,
            vectors,
            fingerprint,
        })
    }

    /// Vector length.
    pub(crate) fn dims(&self) -> usize {
        self.dims
    }

    /// A hash of the whole file: vectors stored with another model are not reused.
    pub(crate) fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The id of a word piece (`list`, `##ing`).
    pub(crate) fn id(&self, piece: &str) -> Option<u32> {
        self.vocab.get(piece).copied()
    }

    /// Number of word pieces.
    pub(crate) fn len(&self) -> usize {
        self.scales.len()
    }

    /// Adds the vector of piece `id`, times `weight`, to `acc` (of length [`Self::dims`]).
    pub(crate) fn add_to(&self, id: u32, weight: f32, acc: &mut [f32]) {
        let id = id as usize;
        let scale = self.scales[id] * weight;
        let row = &self.vectors[id * self.dims..(id + 1) * self.dims];
        for (a, &q) in acc.iter_mut().zip(row) {
            *a += f32::from(q as i8) * scale;
        }
    }
}

/// FNV-1a, 64 bits: stable across builds and platforms, unlike `DefaultHasher`.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tiny model file: `words[i]` gets the one-hot vector on axis `i % dims`.
    pub(crate) fn tiny_model(words: &[&str], dims: usize) -> &'static [u8] {
        let mut out = MAGIC.to_vec();
        let vocab = words.join("\n");
        for n in [dims, words.len(), vocab.len()] {
            out.extend((n as u32).to_le_bytes());
        }
        out.extend(vocab.as_bytes());
        for _ in words {
            out.extend(1.0f32.to_le_bytes());
        }
        for i in 0..words.len() {
            out.extend((0..dims).map(|d| u8::from(d == i % dims)));
        }
        Box::leak(out.into_boxed_slice())
    }

    #[test]
    fn a_model_file_round_trips() {
        let m = StaticModel::parse(tiny_model(&["list", "events"], 4), 0).expect("parses");
        assert_eq!((m.dims(), m.id("events"), m.id("nope")), (4, Some(1), None));
        let mut acc = vec![0.0; 4];
        m.add_to(1, 1.0, &mut acc);
        assert_eq!(acc, [0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn a_truncated_or_foreign_file_is_refused_with_a_reason() {
        let good = tiny_model(&["a", "b"], 4);
        let err = StaticModel::parse(&good[..good.len() - 1], 0)
            .err()
            .expect("fails");
        assert!(err.contains("truncated"), "{err}");
        let err = StaticModel::parse(b"GIF89a..........", 0)
            .err()
            .expect("fails");
        assert!(err.contains("magic"), "{err}");
    }
}
