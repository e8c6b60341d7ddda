//! Suggestions as you type: titles, authors, organizations and AI keywords with a word that
//! starts with a prefix (case- and accent-folded), most popular first. Each kind keeps its
//! texts in popularity order and, per folded word, the texts that contain it; a prefix walks
//! the words in its range of a sorted map and merges their lists, best first. Built on first
//! use and again after the data changed (`events::generation`).
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashSet};
use std::sync::{Arc, RwLock};

use sea_orm::{DatabaseConnection, DbErr};

use super::index::{fold, words};
use crate::repo::suggest_source::{self as source, Row};

/// What a suggestion names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Organization,
    Author,
    Keyword,
    Paper,
}

/// The order kinds take turns in: the few organizations first, the many papers last.
const KINDS: [Kind; 4] = [Kind::Organization, Kind::Author, Kind::Keyword, Kind::Paper];

/// One suggestion: what it names, the text to show, and its key (arXiv id, author name,
/// organization handle or keyword).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub kind: Kind,
    pub text: String,
    pub key: String,
}

/// The texts of one kind, most popular first, and for each folded word the texts with it.
#[derive(Default)]
struct Texts {
    rows: Vec<(String, String)>,
    words: BTreeMap<Box<str>, Vec<u32>>,
}

impl Texts {
    fn build(mut rows: Vec<Row>) -> Texts {
        // Most popular first, ties by text: a row's place is its rank.
        rows.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
        let mut words: BTreeMap<Box<str>, Vec<u32>> = BTreeMap::new();
        for (i, (_, text, _)) in rows.iter().enumerate() {
            let mut seen = HashSet::new();
            for w in super::index::words(text) {
                if seen.insert(w.folded.clone()) {
                    words
                        .entry(w.folded.as_ref().into())
                        .or_default()
                        .push(i as u32);
                }
            }
        }
        for list in words.values_mut() {
            list.shrink_to_fit();
        }
        Texts {
            rows: rows.into_iter().map(|(k, t, _)| (k, t)).collect(),
            words,
        }
    }

    /// The ranks of the `n` most popular texts with a word starting with `prefix`.
    fn top(&self, prefix: &str, n: usize) -> Vec<u32> {
        // A heap of each word's next rank; ranks are popularity order, so the smallest first.
        let mut heap: BinaryHeap<Reverse<(u32, usize, usize)>> = BinaryHeap::new();
        let lists: Vec<&Vec<u32>> = self
            .words
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(w, _)| w.starts_with(prefix))
            .map(|(_, l)| l)
            .collect();
        for (k, l) in lists.iter().enumerate() {
            if let Some(r) = l.first() {
                heap.push(Reverse((*r, k, 0)));
            }
        }
        let mut out: Vec<u32> = Vec::with_capacity(n);
        while out.len() < n {
            let Some(Reverse((rank, k, at))) = heap.pop() else {
                break;
            };
            if out.last() != Some(&rank) {
                out.push(rank);
            }
            if let Some(next) = lists[k].get(at + 1) {
                heap.push(Reverse((*next, k, at + 1)));
            }
        }
        out
    }
}

/// Every kind's texts, as of one data generation.
struct Built {
    generation: u64,
    kinds: Vec<(Kind, Texts)>,
}

/// The suggestion lists of one database, shared by a server's requests.
pub struct Suggester {
    db: DatabaseConnection,
    built: RwLock<Option<Arc<Built>>>,
    building: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Suggester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Suggester").finish_non_exhaustive()
    }
}

/// Longest prefix accepted, in characters.
pub const MAX_PREFIX: usize = 100;

impl Suggester {
    pub fn new(db: DatabaseConnection) -> Arc<Suggester> {
        Arc::new(Suggester {
            db,
            built: RwLock::new(None),
            building: tokio::sync::Mutex::new(()),
        })
    }

    fn current(&self) -> Option<Arc<Built>> {
        let built = self.built.read().unwrap_or_else(|e| e.into_inner());
        built
            .as_ref()
            .filter(|b| b.generation == crate::events::generation())
            .cloned()
    }

    /// The lists as of the current data, built when the data moved since.
    async fn lists(&self) -> Result<Arc<Built>, DbErr> {
        if let Some(b) = self.current() {
            return Ok(b);
        }
        let _one = self.building.lock().await;
        if let Some(b) = self.current() {
            return Ok(b);
        }
        // Read before the rows, so a write committed while they are read moves it again.
        let generation = crate::events::generation();
        let (orgs, authors, keywords, papers) = (
            source::organizations(&self.db).await?,
            source::authors(&self.db).await?,
            source::keywords(&self.db).await?,
            source::papers(&self.db).await?,
        );
        let kinds = tokio::task::spawn_blocking(move || {
            vec![
                (Kind::Organization, Texts::build(orgs)),
                (Kind::Author, Texts::build(authors)),
                (Kind::Keyword, Texts::build(keywords)),
                (Kind::Paper, Texts::build(papers)),
            ]
        })
        .await
        .map_err(|e| DbErr::Custom(format!("the suggestion lists were lost: {e}")))?;
        let built = Arc::new(Built { generation, kinds });
        *self.built.write().unwrap_or_else(|e| e.into_inner()) = Some(built.clone());
        crate::alloc::give_back();
        Ok(built)
    }

    /// Up to `n` suggestions for `prefix` (its last word is the prefix; words before it must
    /// each start a word of the text too): each kind's most popular, the kinds taking turns.
    pub async fn suggest(&self, prefix: &str, n: usize) -> Result<Vec<Suggestion>, DbErr> {
        let folded: Vec<String> = words(prefix).iter().map(|w| fold(&w.folded)).collect();
        let Some((last, before)) = folded.split_last() else {
            return Ok(Vec::new());
        };
        let built = self.lists().await?;
        let mut per_kind: Vec<Vec<Suggestion>> = Vec::new();
        for kind in KINDS {
            let Some((_, texts)) = built.kinds.iter().find(|(k, _)| *k == kind) else {
                continue;
            };
            // Earlier words narrow the candidates: take more, then keep those with all words.
            let want = if before.is_empty() { n } else { n * 8 };
            let found: Vec<Suggestion> = texts
                .top(last, want)
                .into_iter()
                .filter_map(|r| texts.rows.get(r as usize))
                .filter(|(_, text)| {
                    before.is_empty() || {
                        let ws: Vec<String> =
                            words(text).iter().map(|w| w.folded.to_string()).collect();
                        before
                            .iter()
                            .all(|b| ws.iter().any(|w| w.starts_with(b.as_str())))
                    }
                })
                .take(n)
                .map(|(key, text)| Suggestion {
                    kind,
                    text: text.clone(),
                    key: key.clone(),
                })
                .collect();
            per_kind.push(found);
        }
        let mut out = Vec::with_capacity(n);
        let mut at = 0;
        while out.len() < n && per_kind.iter().any(|l| l.len() > at) {
            for l in &per_kind {
                if out.len() < n
                    && let Some(s) = l.get(at)
                {
                    out.push(s.clone());
                }
            }
            at += 1;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_starting_with_the_prefix_most_popular_first() {
        let t = Texts::build(vec![
            ("a".into(), "Diffusion Models Beat GANs".into(), 10),
            ("b".into(), "Latent Diffusion".into(), 50),
            ("c".into(), "Différentiable rendering".into(), 30),
            ("d".into(), "Unrelated".into(), 99),
        ]);
        let texts = |ranks: Vec<u32>| -> Vec<&str> {
            ranks
                .into_iter()
                .map(|r| t.rows[r as usize].1.as_str())
                .collect()
        };
        assert_eq!(
            texts(t.top("dif", 10)),
            [
                "Latent Diffusion",
                "Différentiable rendering",
                "Diffusion Models Beat GANs"
            ]
        );
        assert_eq!(texts(t.top("dif", 1)), ["Latent Diffusion"]);
        assert!(t.top("zzz", 5).is_empty());
    }
}
