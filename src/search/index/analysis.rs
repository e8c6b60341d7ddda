//! How text becomes terms: words split on anything that is not a letter or digit, case- and
//! accent-folded, and stemmed with the Snowball English stemmer.
use std::borrow::Cow;
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

pub(super) fn stemmer() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

pub(super) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c)
}

/// Lowercase, without accents.
pub fn fold(word: &str) -> String {
    if word.is_ascii() {
        return word.to_ascii_lowercase();
    }
    word.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The index term of a folded word.
pub fn stem(folded: &str) -> String {
    stemmer().stem(folded).into_owned()
}

/// A word of a text: its byte range and its folded form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word<'a> {
    pub start: usize,
    pub end: usize,
    pub folded: Cow<'a, str>,
}

/// The words of `text`, in order.
pub fn words(text: &str) -> Vec<Word<'_>> {
    let mut out = Vec::with_capacity(text.len() / 6);
    let mut start = None;
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        let word_char = if bytes[i] < 128 {
            bytes[i].is_ascii_alphanumeric()
        } else {
            is_word_char(c)
        };
        match (word_char, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(word_at(text, s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(word_at(text, s, text.len()));
    }
    out.retain(|w| !w.folded.is_empty());
    out
}

pub(super) fn word_at(text: &str, start: usize, end: usize) -> Word<'_> {
    let w = &text[start..end];
    let folded = if w
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        Cow::Borrowed(w)
    } else {
        Cow::Owned(fold(w))
    };
    Word { start, end, folded }
}
