//! Author names: the identity rule (exact after Unicode NFC) and the search key (case/accent folded).
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

/// An author's name in NFC with collapsed whitespace: the same `AuthorName` is the same author.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct AuthorName(String);

impl AuthorName {
    /// Returns `None` for a name that is empty after trimming.
    pub fn parse(raw: &str) -> Option<Self> {
        let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.is_empty() {
            return None;
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
    fn folding_ignores_case_and_accents() {
        assert_eq!(fold_for_search("Tomás NAKAMURA"), "tomas nakamura");
        assert_eq!(fold_for_search("Zoë Ça"), "zoe ca");
    }
}
