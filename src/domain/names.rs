//! Author names: the identity rule (exact after Unicode NFC) and the search key (case/accent folded).
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

/// An author's name in NFC with collapsed whitespace: the same `AuthorName` is the same author.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct AuthorName(String);

impl AuthorName {
    /// Returns `None` for a name that is empty after trimming.
    pub fn parse(raw: &str) -> Option<Self> {
        let collapsed = collapse_whitespace(raw);
        if collapsed.is_empty() {
            return None;
        }
        if collapsed.is_ascii() || unicode_normalization::is_nfc(&collapsed) {
            return Some(Self(collapsed));
        }
        Some(Self(collapsed.nfc().collect()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Lower-cases and strips accents, so `José` and `jose` meet in a search.
/// `s` trimmed, with every run of whitespace made one space (the hot path of parsing a list:
/// one pass, ASCII checked byte by byte).
pub fn collapse_whitespace(s: &str) -> String {
    let bytes = s.as_bytes();
    // Most text has nothing to collapse: single ASCII spaces between words.
    let clean = bytes.first() != Some(&b' ')
        && bytes.last() != Some(&b' ')
        && !bytes
            .iter()
            .any(|b| matches!(b, 9..=13 | 0xC2 | 0xE1..=0xE3))
        && !s.contains("  ");
    if clean {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    // Start of the current run of non-whitespace, if in one.
    let mut run: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // Only these lead bytes start a non-ASCII whitespace character (U+0085, U+00A0,
        // U+1680, U+2000..U+205F, U+3000).
        let (space, width) = match b {
            9..=13 | 32 => (true, 1),
            0xC2 | 0xE1 | 0xE2 | 0xE3 => match s[i..].chars().next() {
                Some(c) => (c.is_whitespace(), c.len_utf8()),
                None => (false, 1),
            },
            _ => (false, 1),
        };
        if space {
            if let Some(start) = run.take() {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&s[start..i]);
            }
        } else if run.is_none() {
            run = Some(i);
        }
        i += width;
    }
    if let Some(start) = run {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&s[start..]);
    }
    out
}

/// The key an author name is looked up by: whitespace collapsed, case and accents folded.
pub fn author_key(name: &str) -> String {
    fold_for_search(&collapse_whitespace(name))
}

pub fn fold_for_search(s: &str) -> String {
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfc_makes_composed_and_decomposed_names_one_author() {
        let composed = AuthorName::parse("Tomás Nakamura").unwrap();
        let decomposed = AuthorName::parse("Toma\u{301}s  Nakamura ").unwrap();
        assert_eq!(composed, decomposed);
        assert_ne!(composed, AuthorName::parse("tomás nakamura").unwrap());
        assert!(AuthorName::parse("   ").is_none());
    }

    #[test]
    fn whitespace_collapses_like_split_whitespace() {
        for s in [
            "",
            "  ",
            "a",
            " a  b\tc\n\r d \u{a0}e\u{2003} ",
            "\u{b}x\u{c}y",
            "Tomás  Nakamura",
            "模型\u{3000}视觉",
        ] {
            assert_eq!(
                collapse_whitespace(s),
                s.split_whitespace().collect::<Vec<_>>().join(" "),
                "{s:?}"
            );
        }
    }

    #[test]
    fn folding_ignores_case_and_accents() {
        assert_eq!(fold_for_search("Tomás NAKAMURA"), "tomas nakamura");
        assert_eq!(fold_for_search("Zoë Ça"), "zoe ca");
    }
}
