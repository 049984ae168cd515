//! Text analysis made for tool names and descriptions.
//!
//! Tool names are identifiers (`get_userProfile`, `list-repos`, `v1.search`, `ec2Instances`), so
//! the tokenizer splits on snake_case, camelCase, kebab-case, dots and letter/digit boundaries,
//! and also keeps the joined identifier (`userprofile`, `ec2`) so a query that spells a name as one
//! word still finds it. Tokens are then lowercased, ASCII-folded, stripped of stop words (English
//! function words plus the filler of requests: "can you", "I want", "please") and stemmed with
//! tantivy's English stemmer. Index and query go through the same analyzer, so they agree.

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, Stemmer, StopWordFilter,
    TextAnalyzer, Token, TokenStream, Tokenizer,
};

/// Name under which the analyzer is registered in the index's tokenizer manager.
pub(crate) const ANALYZER: &str = "portcullis_tool";

/// Tokens longer than this (in bytes) are dropped: they are hashes, blobs or base64, not words.
const MAX_TOKEN_LEN: usize = 40;

/// Words that carry no meaning for choosing a tool: Lucene's English list, the pronouns and
/// auxiliaries of requests, and the fragments apostrophes leave ("I'm" → "i", "m").
#[rustfmt::skip]
const STOP_WORDS: &[&str] = &[
    // Lucene's English stop words.
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they",
    "this", "to", "was", "will", "with",
    // Request filler.
    "i", "me", "my", "mine", "myself", "we", "us", "our", "you", "your", "yours", "he", "she",
    "him", "her", "his", "its", "them", "am", "been", "being", "do", "does", "did", "doing", "have",
    "has", "had", "can", "could", "would", "should", "shall", "may", "might", "must", "please",
    "want", "wanna", "need", "like", "what", "which", "who", "whom", "whose", "how", "when",
    "where", "why", "some", "any", "so", "too", "very", "just", "also", "about", "here", "those",
    "from", "up", "out", "than", "let", "lets", "know", "tell", "help", "hey", "hi", "thanks",
    "thank", "im", "ive", "id", "m", "s", "t", "ll", "re", "ve", "d", "don", "doesn", "isn", "aren",
    "anyone", "someone", "something", "anything", "way", "possible", "able", "currently", "right",
    "now", "today", "really", "maybe", "perhaps", "kind", "sort", "bit", "lot", "etc", "eg", "ie",
    "e", "g",
];

/// Builds the analyzer used for every indexed text field and for queries.
pub(crate) fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(IdentTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_LEN))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(StopWordFilter::remove(
            STOP_WORDS.iter().map(|w| (*w).to_owned()),
        ))
        .filter(Stemmer::new(Language::English))
        .build()
}

/// One analyzed term with its position in the analyzed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnalyzedTerm {
    /// Token position; parts of one identifier are consecutive, the joined form shares the
    /// position of the first part.
    pub(crate) position: usize,
    /// The term as stored in the index.
    pub(crate) text: String,
    /// True for the joined form of a split identifier (`userprofile` for `userProfile`).
    pub(crate) joined: bool,
    /// The text the term came from, lowercased, as a person wrote it (`forecasts` for
    /// the term `forecast`): what explanations show.
    pub(crate) word: String,
}

/// Runs `text` through `analyzer`, collecting the terms.
pub(crate) fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> Vec<AnalyzedTerm> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        out.push(AnalyzedTerm {
            position: token.position,
            text: token.text.clone(),
            joined: token.position_length == JOINED_MARK,
            word: text
                .get(token.offset_from..token.offset_to)
                .unwrap_or(&token.text)
                .to_lowercase(),
        });
    }
    out
}

/// `position_length` value that marks the joined form of a split identifier. tantivy does not
/// use `position_length` when indexing, so it is free to carry this flag through the filters.
const JOINED_MARK: usize = 0;

/// Splits text into words, and words into identifier parts.
#[derive(Clone, Default)]
pub(crate) struct IdentTokenizer {
    pieces: Vec<Token>,
}

/// Token stream of [`IdentTokenizer`]: the pieces are computed up front.
pub(crate) struct IdentTokenStream<'a> {
    pieces: &'a mut [Token],
    next: usize,
}

impl Tokenizer for IdentTokenizer {
    type TokenStream<'a> = IdentTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> IdentTokenStream<'a> {
        self.pieces.clear();
        split(text, &mut self.pieces);
        IdentTokenStream {
            pieces: &mut self.pieces,
            next: 0,
        }
    }
}

impl TokenStream for IdentTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if self.next < self.pieces.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    // tantivy calls `token`/`token_mut` only after `advance` returned true, so `next >= 1`.
    fn token(&self) -> &Token {
        &self.pieces[self.next.saturating_sub(1)]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.pieces[self.next.saturating_sub(1)]
    }
}

/// Is `c` written without spaces between words (CJK and similar)? Such characters become
/// one token each.
fn is_unspaced_script(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF // Hiragana, Katakana
        | 0x3400..=0x4DBF // CJK Extension A
        | 0x4E00..=0x9FFF // CJK Unified Ideographs
        | 0xF900..=0xFAFF // CJK Compatibility Ideographs
        | 0x0E00..=0x0E7F // Thai
    )
}

/// Splits `text` into tokens; see the module docs for the rules.
fn split(text: &str, out: &mut Vec<Token>) {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(text.len(), |(o, _)| *o);
    let mut position = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let (offset, c) = chars[i];
        if is_unspaced_script(c) {
            out.push(piece(text, offset, end_of(i + 1), position, false));
            position += 1;
            i += 1;
            continue;
        }
        if !c.is_alphanumeric() {
            i += 1;
            continue;
        }
        // A run: alphanumerics, possibly joined by single '_' or '-' (an identifier).
        let start = i;
        let mut j = i;
        while j < chars.len() {
            let cj = chars[j].1;
            let word_char = |c: char| c.is_alphanumeric() && !is_unspaced_script(c);
            let joiner = (cj == '_' || cj == '-')
                && j > start
                && chars.get(j + 1).is_some_and(|(_, n)| word_char(*n));
            if word_char(cj) || joiner {
                j += 1;
            } else {
                break;
            }
        }
        let parts = parts_of(&chars[start..j]);
        if parts.len() > 1 {
            let from = chars[start].0;
            let to = end_of(j);
            let mut joined = Token {
                offset_from: from,
                offset_to: to,
                position,
                text: text[from..to]
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .collect(),
                position_length: JOINED_MARK,
            };
            if joined.text.len() > MAX_TOKEN_LEN {
                joined.text.clear();
            }
            if !joined.text.is_empty() {
                out.push(joined);
            }
        }
        for (a, b) in parts {
            out.push(piece(
                text,
                chars[start + a].0,
                end_of(start + b),
                position,
                false,
            ));
            position += 1;
        }
        i = j;
    }
}

fn piece(text: &str, from: usize, to: usize, position: usize, joined: bool) -> Token {
    Token {
        offset_from: from,
        offset_to: to,
        position,
        text: text[from..to].to_owned(),
        position_length: if joined { JOINED_MARK } else { 1 },
    }
}

/// Splits one run (alphanumerics joined by `_`/`-`) into parts, as index ranges into `run`.
fn parts_of(run: &[(usize, char)]) -> Vec<(usize, usize)> {
    let mut parts = Vec::new();
    let mut start = 0;
    for k in 1..=run.len() {
        let boundary = if k == run.len() {
            true
        } else {
            let prev = run[k - 1].1;
            let cur = run[k].1;
            let next = run.get(k + 1).map(|(_, c)| *c);
            !cur.is_alphanumeric()
                || !prev.is_alphanumeric()
                || (prev.is_lowercase() && cur.is_uppercase())
                || (prev.is_uppercase()
                    && cur.is_uppercase()
                    && next.is_some_and(char::is_lowercase))
                || (prev.is_numeric() != cur.is_numeric())
        };
        if boundary {
            let part_end = k;
            if part_end > start
                && run[start..part_end]
                    .iter()
                    .all(|(_, c)| c.is_alphanumeric())
            {
                parts.push((start, part_end));
            }
            start = if k < run.len() && !run[k].1.is_alphanumeric() {
                k + 1
            } else {
                k
            };
        }
    }
    parts
}
