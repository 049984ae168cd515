//! The dense signal's file beside the tantivy index: each tool's word pieces, by text hash.
//!
//! What is saved is the model's reading of a tool text (its word pieces), not the vector:
//! vectors weigh each piece by how rare it is in the whole catalogue, so they change when
//! any server's tools change, while a tool's pieces change only with its own text. A restart
//! or a re-listed server therefore tokenizes only the tools whose text changed and derives
//! every vector from the pieces (a weighted sum, cheap). The file names the model it was
//! made with; another model's file is ignored.

use std::collections::HashMap;

/// The file beside the tantivy index.
pub(crate) const VECTORS_FILE: &str = "dense-vectors.bin";
const MAGIC: &[u8; 8] = b"PCDENSE2";

/// Saved readings by (server, tool name): the hash of the text read, and its pieces.
pub(crate) type Readings = HashMap<(String, String), (u64, Vec<u32>)>;

/// One saved row, borrowed from the table.
pub(crate) struct Entry<'a> {
    pub(crate) server: &'a str,
    pub(crate) name: &'a str,
    pub(crate) hash: u64,
    pub(crate) pieces: &'a [u32],
}

/// The file's bytes for these rows.
pub(crate) fn encode<'a>(rows: impl Iterator<Item = Entry<'a>>, fingerprint: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 << 16);
    out.extend(MAGIC);
    out.extend(fingerprint.to_le_bytes());
    let count_at = out.len();
    out.extend(0u32.to_le_bytes());
    let mut count = 0u32;
    for row in rows {
        for s in [row.server, row.name] {
            out.extend((s.len() as u32).to_le_bytes());
            out.extend(s.as_bytes());
        }
        out.extend(row.hash.to_le_bytes());
        out.extend((row.pieces.len() as u32).to_le_bytes());
        row.pieces.iter().for_each(|p| out.extend(p.to_le_bytes()));
        count += 1;
    }
    out[count_at..count_at + 4].copy_from_slice(&count.to_le_bytes());
    out
}

/// The readings in a file's bytes; the error says why they cannot be used.
pub(crate) fn decode(bytes: &[u8], fingerprint: u64) -> Result<Readings, String> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8], String> {
        let end = at
            .checked_add(n)
            .filter(|&e| e <= bytes.len())
            .ok_or("truncated")?;
        let out = &bytes[at..end];
        at = end;
        Ok(out)
    };
    if take(8)? != MAGIC {
        return Err("not a vectors file of this version".to_owned());
    }
    let u64_of = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or_default());
    let u32_of = |b: &[u8]| u32::from_le_bytes(b.try_into().unwrap_or_default()) as usize;
    if u64_of(take(8)?) != fingerprint {
        return Err("made with another embedding model".to_owned());
    }
    let rows = u32_of(take(4)?);
    let mut out = HashMap::with_capacity(rows.min(1 << 20));
    for _ in 0..rows {
        let mut key = [String::new(), String::new()];
        for k in &mut key {
            let n = u32_of(take(4)?);
            *k = String::from_utf8(take(n)?.to_vec()).map_err(|e| e.to_string())?;
        }
        let hash = u64_of(take(8)?);
        let n = u32_of(take(4)?);
        let pieces = take(n.checked_mul(4).ok_or("truncated")?)?
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let [server, name] = key;
        out.insert((server, name), (hash, pieces));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_round_trip_and_a_foreign_or_truncated_file_is_refused() {
        let entry = Entry {
            server: "cal",
            name: "list_events",
            hash: 7,
            pieces: &[3, 1, 4],
        };
        let bytes = encode(std::iter::once(entry), 42);
        let back = decode(&bytes, 42).unwrap();
        let key = ("cal".to_owned(), "list_events".to_owned());
        assert_eq!(back[&key], (7, vec![3, 1, 4]));
        assert!(decode(&bytes, 43)
            .unwrap_err()
            .contains("another embedding model"));
        assert!(decode(&bytes[..bytes.len() - 3], 42).is_err());
        assert!(decode(b"garbage", 42).is_err());
    }
}
