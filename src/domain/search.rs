//! The keyword query language, parsed once and rendered for each backend: words (stemmed by the
//! index), `"phrases in quotes"`, `-excluded` words or phrases, `a OR b`, and `prefix*`. Anything
//! else (stray quotes, operators, `NEAR(…)`, `column:` filters, punctuation) is read as the words
//! it contains, so no input reaches the database as syntax.

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 256;
/// Most words and phrases in one query.
pub const MAX_TERMS: usize = 16;
/// Shortest prefix for `word*` (a one-letter prefix would match most of the index).
pub const MIN_PREFIX: usize = 2;

/// One thing to look for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Atom {
    /// A word, lowercase; `prefix` for `word*`.
    Word { word: String, prefix: bool },
    /// Words that must appear in this order.
    Phrase(Vec<String>),
}

/// A parsed query: every group must match (a group matches when any of its atoms does), and no
/// excluded atom may.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchQuery {
    pub groups: Vec<Vec<Atom>>,
    pub excluded: Vec<Atom>,
}

/// Why a query cannot run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the search query is empty; give at least one word")]
    Empty,
    #[error("the search query is longer than {MAX_QUERY_CHARS} characters; shorten it")]
    TooLong,
    #[error("the search query has more than {MAX_TERMS} words or phrases; remove some")]
    TooManyTerms,
    #[error("the search query only excludes words; add a word to search for")]
    OnlyExclusions,
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String, bool),
    Phrase(Vec<String>),
    Or,
    Not,
}

fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

fn tokens(input: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    // A `-` directly before a word or phrase excludes it.
    let mut negate_next = false;
    // Whether the last character consumed was whitespace (or there was none).
    let mut at_gap = true;
    while let Some(&c) = chars.peek() {
        if c == '"' {
            chars.next();
            let mut inner = String::new();
            for ch in chars.by_ref() {
                if ch == '"' {
                    break;
                }
                inner.push(ch);
            }
            at_gap = false;
            let words = words_of(&inner);
            if negate_next && !words.is_empty() {
                out.push(Token::Not);
            }
            negate_next = false;
            match words.len() {
                0 => {}
                1 => out.push(Token::Word(words[0].clone(), false)),
                _ => out.push(Token::Phrase(words)),
            }
        } else if c.is_alphanumeric() {
            let mut raw = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_alphanumeric() {
                    raw.push(ch);
                    chars.next();
                } else {
                    break;
                }
            }
            let prefix = chars.peek() == Some(&'*');
            if prefix {
                chars.next();
            }
            at_gap = false;
            if raw == "OR" && !negate_next {
                out.push(Token::Or);
            } else if (raw == "NOT" || raw == "AND") && !negate_next {
                if raw == "NOT" {
                    out.push(Token::Not);
                }
            } else {
                if negate_next {
                    out.push(Token::Not);
                }
                out.push(Token::Word(raw.to_lowercase(), prefix));
            }
            negate_next = false;
        } else {
            chars.next();
            // `-` excludes only at the start of a word (`state-of-the-art` is four words).
            negate_next = c == '-'
                && at_gap
                && chars
                    .peek()
                    .is_some_and(|n| n.is_alphanumeric() || *n == '"');
            at_gap = c.is_whitespace();
        }
    }
    out
}

impl SearchQuery {
    pub fn parse(input: &str) -> Result<SearchQuery, QueryError> {
        if input.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong);
        }
        let mut q = SearchQuery::default();
        let mut pending_or = false;
        let mut pending_not = false;
        let mut terms = 0usize;
        for token in tokens(input) {
            let atom = match token {
                Token::Or => {
                    pending_or = !q.groups.is_empty();
                    continue;
                }
                Token::Not => {
                    pending_not = true;
                    continue;
                }
                Token::Word(word, prefix) => Atom::Word {
                    prefix: prefix && word.chars().count() >= MIN_PREFIX,
                    word,
                },
                Token::Phrase(words) => Atom::Phrase(words),
            };
            terms += 1;
            if terms > MAX_TERMS {
                return Err(QueryError::TooManyTerms);
            }
            if pending_not {
                q.excluded.push(atom);
            } else if pending_or && let Some(last) = q.groups.last_mut() {
                last.push(atom);
            } else {
                q.groups.push(vec![atom]);
            }
            pending_or = false;
            pending_not = false;
        }
        match (q.groups.is_empty(), q.excluded.is_empty()) {
            (true, true) => Err(QueryError::Empty),
            (true, false) => Err(QueryError::OnlyExclusions),
            _ => Ok(q),
        }
    }

    /// The query in SQLite FTS5 syntax. Every word is a quoted string, so nothing the user typed
    /// is read as FTS5 syntax.
    pub fn to_fts5(&self) -> String {
        fn atom(a: &Atom) -> String {
            match a {
                Atom::Word { word, prefix: true } => format!("\"{word}\"*"),
                Atom::Word { word, .. } => format!("\"{word}\""),
                Atom::Phrase(words) => format!("\"{}\"", words.join(" ")),
            }
        }
        let groups: Vec<String> = self
            .groups
            .iter()
            .map(|g| {
                let parts: Vec<String> = g.iter().map(atom).collect();
                format!("({})", parts.join(" OR "))
            })
            .collect();
        let mut out = groups.join(" AND ");
        if !self.excluded.is_empty() {
            let parts: Vec<String> = self.excluded.iter().map(atom).collect();
            out = format!("({out}) NOT ({})", parts.join(" OR "));
        }
        out
    }

    /// Every word of the query that is looked for (not excluded), for highlighting.
    pub fn positive_words(&self) -> Vec<&str> {
        self.groups
            .iter()
            .flatten()
            .flat_map(|a| match a {
                Atom::Word { word, .. } => vec![word.as_str()],
                Atom::Phrase(ws) => ws.iter().map(String::as_str).collect(),
            })
            .collect()
    }

    /// A canonical text of the query (for cache keys and logs).
    pub fn canonical(&self) -> String {
        self.to_fts5()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(word: &str) -> Atom {
        Atom::Word {
            word: word.into(),
            prefix: false,
        }
    }

    #[test]
    fn parses_words_phrases_exclusions_or_and_prefixes() {
        let q =
            SearchQuery::parse(r#"Diffusion "vision transformer" -survey video OR audio token*"#)
                .unwrap();
        assert_eq!(
            q.groups,
            vec![
                vec![w("diffusion")],
                vec![Atom::Phrase(vec!["vision".into(), "transformer".into()])],
                vec![w("video"), w("audio")],
                vec![Atom::Word {
                    word: "token".into(),
                    prefix: true
                }],
            ]
        );
        assert_eq!(q.excluded, vec![w("survey")]);
        assert_eq!(
            q.to_fts5(),
            r#"(("diffusion") AND ("vision transformer") AND ("video" OR "audio") AND ("token"*)) NOT ("survey")"#
        );
    }

    #[test]
    fn hostile_input_is_words_or_a_clear_error() {
        assert_eq!(SearchQuery::parse("   "), Err(QueryError::Empty));
        assert_eq!(SearchQuery::parse("*"), Err(QueryError::Empty));
        assert_eq!(SearchQuery::parse("\""), Err(QueryError::Empty));
        assert_eq!(SearchQuery::parse("-foo"), Err(QueryError::OnlyExclusions));
        assert_eq!(
            SearchQuery::parse(&"a ".repeat(200)),
            Err(QueryError::TooLong)
        );
        assert_eq!(
            SearchQuery::parse(&"ab ".repeat(20)),
            Err(QueryError::TooManyTerms)
        );
        let q = SearchQuery::parse(r#"title:attention NEAR(a b) "unclosed phrase"#).unwrap();
        assert_eq!(q.to_fts5().matches('"').count() % 2, 0);
        assert!(q.positive_words().contains(&"attention"));
        let q = SearchQuery::parse("state-of-the-art OR").unwrap();
        assert_eq!(q.groups.len(), 4);
        let q = SearchQuery::parse("Ünïcödé 日本語 模型").unwrap();
        assert_eq!(q.groups[0], vec![w("ünïcödé")]);
        // A one-letter prefix is a plain word.
        let q = SearchQuery::parse("a*").unwrap();
        assert_eq!(q.groups[0], vec![w("a")]);
    }
}
