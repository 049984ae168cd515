//! Splits text into the word pieces of a BERT uncased vocabulary, as the model was trained.
//!
//! BERT's basic tokenizer (lowercase, split on whitespace, punctuation and CJK characters),
//! then greedy longest-match WordPiece with `##` continuation pieces. Identifiers are split
//! first (`listEvents`, `get_user-profile` → `list events`, `get user profile`): the model
//! knows words, not the names programmers glue them into. Accents are not stripped: a word
//! with one becomes pieces or the unknown token, which only costs that word.

/// Words longer than this (in characters) are one unknown token, as in BERT.
const MAX_WORD_CHARS: usize = 100;

/// What to do with a word the vocabulary can only spell out in short pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpelledOut {
    /// Keep its pieces (tool texts: whatever they say is what the tool is).
    Keep,
    /// Drop it (requests): a word split into pieces shorter than two characters on average
    /// (`zzyzx` → `z ##zy ##z ##x`) is unknown to a static table, whose letter pieces point
    /// anywhere; BM25 still matches it as a word.
    Skip,
}

/// Calls `piece` with the vocabulary id of every word piece of `text`, in order, until it
/// returns false. `lookup` maps a piece (`list`, `##ing`) to its id; words that cannot be
/// split into known pieces are skipped (the unknown token carries no meaning to pool).
pub(crate) fn for_each_piece(
    text: &str,
    spelled_out: SpelledOut,
    lookup: impl Fn(&str) -> Option<u32>,
    mut piece: impl FnMut(u32) -> bool,
) {
    let mut word = String::new();
    let mut buf = String::new();
    let mut prev: Option<char> = None;
    let mut flush = |word: &mut String, piece: &mut dyn FnMut(u32) -> bool| -> bool {
        let go = word_pieces(word, spelled_out, &lookup, &mut buf, piece);
        word.clear();
        go
    };
    for c in text.chars() {
        let boundary = match prev {
            // camelCase and letter/digit boundaries split identifiers.
            Some(p) => {
                (p.is_lowercase() && c.is_uppercase())
                    || (p.is_alphabetic() != c.is_alphabetic()
                        && c.is_alphanumeric()
                        && p.is_alphanumeric())
            }
            None => false,
        };
        prev = Some(c);
        if c.is_alphanumeric() && !is_cjk(c) {
            if boundary && !word.is_empty() && !flush(&mut word, &mut piece) {
                return;
            }
            word.extend(c.to_lowercase());
            continue;
        }
        if !word.is_empty() && !flush(&mut word, &mut piece) {
            return;
        }
        // `_`, `-`, `.` and `/` join identifier parts: separators, not meaning.
        if c.is_whitespace() || c.is_control() || matches!(c, '_' | '-' | '.' | '/') {
            continue;
        }
        // Punctuation and CJK characters are tokens of their own.
        let mut single = [0u8; 4];
        if let Some(id) = lookup(c.encode_utf8(&mut single)) {
            if !piece(id) {
                return;
            }
        }
    }
    if !word.is_empty() {
        flush(&mut word, &mut piece);
    }
}

/// WordPiece of one lowercased word; false when `piece` asked to stop.
fn word_pieces(
    word: &str,
    spelled_out: SpelledOut,
    lookup: &impl Fn(&str) -> Option<u32>,
    buf: &mut String,
    piece: &mut dyn FnMut(u32) -> bool,
) -> bool {
    if word.chars().count() > MAX_WORD_CHARS {
        return true;
    }
    let mut ids: Vec<u32> = Vec::new();
    let mut start = 0;
    while start < word.len() {
        let mut end = word.len();
        let mut found = None;
        while end > start {
            if word.is_char_boundary(end) {
                buf.clear();
                if start > 0 {
                    buf.push_str("##");
                }
                buf.push_str(&word[start..end]);
                if let Some(id) = lookup(buf) {
                    found = Some(id);
                    break;
                }
            }
            end -= 1;
        }
        let Some(id) = found else {
            return true;
        };
        ids.push(id);
        start = end;
    }
    if spelled_out == SpelledOut::Skip && ids.len() > 1 && word.chars().count() < 2 * ids.len() {
        return true;
    }
    ids.into_iter().all(piece)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<String> {
        pieces_of(text, SpelledOut::Keep)
    }

    fn pieces_of(text: &str, spelled_out: SpelledOut) -> Vec<String> {
        let vocab = [
            "list", "events", "event", "##s", "get", "user", "profile", "un", "##ava", "##il",
            "##able", "?", "v", "1", "z", "##zy", "##x",
        ];
        let mut out = Vec::new();
        for_each_piece(
            text,
            spelled_out,
            |p| vocab.iter().position(|v| *v == p).map(|i| i as u32),
            |id| {
                out.push(vocab[id as usize].to_owned());
                true
            },
        );
        out
    }

    #[test]
    fn identifiers_split_into_words() {
        assert_eq!(pieces("listEvents"), ["list", "events"]);
        assert_eq!(pieces("get_user-profile"), ["get", "user", "profile"]);
        assert_eq!(pieces("v1.list"), ["v", "1", "list"]);
    }

    #[test]
    fn unknown_words_become_pieces_or_vanish() {
        assert_eq!(
            pieces("Unavailable events?"),
            ["un", "##ava", "##il", "##able", "events", "?"]
        );
        assert_eq!(pieces("zzz list"), ["list"]);
    }

    #[test]
    fn a_request_word_spelled_out_letter_by_letter_is_dropped() {
        assert_eq!(pieces("zzyx events"), ["z", "##zy", "##x", "events"]);
        assert_eq!(pieces_of("zzyx events", SpelledOut::Skip), ["events"]);
        assert_eq!(
            pieces_of("unavailable", SpelledOut::Skip),
            ["un", "##ava", "##il", "##able"]
        );
    }

    #[test]
    fn stopping_early_is_honoured() {
        let mut n = 0;
        for_each_piece(
            "list list list",
            SpelledOut::Keep,
            |_| Some(0),
            |_| {
                n += 1;
                n < 2
            },
        );
        assert_eq!(n, 2);
    }
}
