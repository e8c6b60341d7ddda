//! The keyword search index: an inverted index in memory over each paper's title, abstract,
//! author names and AI keywords, ranked with BM25 (the formula of SQLite FTS5's `bm25()`, with
//! per-field weights and Lucene's always-positive idf).
//!
//! Words are split on anything that is not a letter or digit, case- and accent-folded and
//! stemmed with the Snowball English stemmer (the one PostgreSQL's `english` configuration
//! uses), so "Transformers" finds "transformer" and "Schölkopf" finds "Scholkopf". Positions
//! are kept for phrases. Every posting list is ordered by slot; a changed paper gets a new slot
//! and its old one is marked dead (dead slots are skipped, and squeezed out when they pile up).
//!
//! Evaluating a query scores every match (no early termination), so `totalCount` is exact and
//! any filter combines; on 100,000 papers a word found in most of them scores in about a
//! millisecond.
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::domain::search::{Atom, SearchQuery};

/// The indexed fields, in slot order, by their GraphQL names (`SearchHighlight.field`).
pub const FIELDS: [&str; 4] = ["title", "abstract", "authors", "aiKeywords"];
/// Field weights: a title match counts ten times an abstract match.
const WEIGHTS: [f64; 4] = [10.0, 1.0, 4.0, 5.0];
const K1: f64 = 1.2;
const B: f64 = 0.75;
/// Positions are `field << FIELD_SHIFT | index` in 16 bits (two for the field, four fields);
/// words past index 16,383 in a field (no abstract comes near; an author list of thousands of
/// names might) are not kept. Two bytes a position instead of four: 44 MB less for 100,000
/// papers.
type Pos = u16;
const FIELD_SHIFT: u32 = 14;
const MAX_INDEX: u32 = (1 << FIELD_SHIFT) - 1;

/// The searchable text of one paper.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocText {
    pub paper_id: i64,
    /// Title, abstract, author names (", "-separated), AI keywords (", "-separated).
    pub fields: [String; 4],
}

fn stemmer() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

fn is_word_char(c: char) -> bool {
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

fn word_at(text: &str, start: usize, end: usize) -> Word<'_> {
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

#[derive(Clone, Copy, Debug)]
struct Slot {
    paper_id: i64,
    /// Words in all fields (BM25's document length).
    len: u32,
    live: bool,
}

/// One term's postings, ordered by slot.
#[derive(Default)]
struct Postings {
    /// `(slot, weighted term frequency)`: the sum of the field weights of its occurrences.
    entries: Vec<(u32, f32)>,
    /// Where each posting's positions start in `positions`.
    pos_start: Vec<u32>,
    positions: Vec<Pos>,
}

impl Postings {
    fn positions_of(&self, i: usize) -> &[Pos] {
        let start = self.pos_start[i] as usize;
        let end = self
            .pos_start
            .get(i + 1)
            .map_or(self.positions.len(), |e| *e as usize);
        &self.positions[start..end]
    }
}

/// Matches of one atom: `(slot, weighted tf)` ordered by slot.
type Matches<'a> = Cow<'a, [(u32, f32)]>;

/// The in-memory index. Not synchronised: `repo::search` wraps it in a lock.
#[derive(Default)]
pub struct Index {
    terms: HashMap<String, u32>,
    /// Folded surface words and their term, for `prefix*` queries.
    surfaces: BTreeMap<String, u32>,
    postings: Vec<Postings>,
    slots: Vec<Slot>,
    /// Each slot's author names as indexed (for highlights, which would otherwise read them back
    /// from the database on every search).
    authors: Vec<Box<str>>,
    slot_of: HashMap<i64, u32>,
    live: usize,
    dead: usize,
    total_len: u64,
}

impl Index {
    /// Papers in the index.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Roughly how many bytes the index holds (for logs and the benchmark note).
    pub fn approx_bytes(&self) -> usize {
        let postings: usize = self
            .postings
            .iter()
            .map(|p| {
                p.entries.capacity() * 8 + p.pos_start.capacity() * 4 + p.positions.capacity() * 2
            })
            .sum();
        let dict: usize = self.terms.keys().map(|k| k.len() + 40).sum::<usize>()
            + self.surfaces.keys().map(|k| k.len() + 40).sum::<usize>();
        postings
            + dict
            + self.slots.capacity() * 24
            + self.slot_of.len() * 24
            + self.authors.iter().map(|a| a.len() + 16).sum::<usize>()
    }

    /// Adds a paper, replacing its earlier text if it had one.
    pub fn upsert(&mut self, doc: &DocText) {
        self.remove(doc.paper_id);
        let slot = self.slots.len() as u32;
        // Occurrences per term, in order of first appearance.
        let mut order: Vec<u32> = Vec::new();
        let mut occ: HashMap<u32, (f32, Vec<Pos>)> = HashMap::new();
        let mut len = 0u32;
        for (field, text) in doc.fields.iter().enumerate() {
            for (index, w) in words(text).into_iter().enumerate() {
                len = len.saturating_add(1);
                let index = index as u32;
                if index > MAX_INDEX {
                    continue;
                }
                let term = self.term_id(&w.folded);
                let e = occ.entry(term).or_insert_with(|| {
                    order.push(term);
                    (0.0, Vec::new())
                });
                e.0 += WEIGHTS[field] as f32;
                e.1.push((((field as u32) << FIELD_SHIFT) | index) as Pos);
            }
        }
        for term in order {
            let Some((wtf, positions)) = occ.remove(&term) else {
                continue;
            };
            let p = &mut self.postings[term as usize];
            p.entries.push((slot, wtf));
            p.pos_start.push(p.positions.len() as u32);
            p.positions.extend(positions);
        }
        self.slots.push(Slot {
            paper_id: doc.paper_id,
            len,
            live: true,
        });
        self.authors.push(doc.fields[2].as_str().into());
        self.slot_of.insert(doc.paper_id, slot);
        self.live += 1;
        self.total_len += u64::from(len);
    }

    /// Gives back the spare capacity of the posting lists (after a bulk load).
    pub fn shrink(&mut self) {
        for p in &mut self.postings {
            p.entries.shrink_to_fit();
            p.pos_start.shrink_to_fit();
            p.positions.shrink_to_fit();
        }
    }

    /// The author names of an indexed paper, as indexed.
    pub fn authors_of(&self, paper_id: i64) -> Option<&str> {
        let slot = *self.slot_of.get(&paper_id)?;
        self.authors.get(slot as usize).map(|a| &**a)
    }

    /// Takes a paper out of the index (no-op when absent).
    pub fn remove(&mut self, paper_id: i64) {
        if let Some(old) = self.slot_of.remove(&paper_id) {
            if let Some(a) = self.authors.get_mut(old as usize) {
                *a = Box::default();
            }
            let s = &mut self.slots[old as usize];
            s.live = false;
            self.live -= 1;
            self.dead += 1;
            self.total_len -= u64::from(s.len);
        }
        if self.dead > 1_000 && self.dead > self.live / 4 {
            self.compact();
        }
    }

    fn term_id(&mut self, folded: &str) -> u32 {
        if let Some(t) = self.surfaces.get(folded) {
            return *t;
        }
        let stemmed = stem(folded);
        let next = self.postings.len() as u32;
        let t = *self.terms.entry(stemmed).or_insert(next);
        if t == next {
            self.postings.push(Postings::default());
        }
        self.surfaces.insert(folded.to_owned(), t);
        t
    }

    /// Drops the postings of dead slots (slots keep their numbers).
    fn compact(&mut self) {
        let slots = &self.slots;
        for p in &mut self.postings {
            let mut out = Postings::default();
            for i in 0..p.entries.len() {
                if slots[p.entries[i].0 as usize].live {
                    out.entries.push(p.entries[i]);
                    out.pos_start.push(out.positions.len() as u32);
                    out.positions.extend_from_slice(p.positions_of(i));
                }
            }
            *p = out;
        }
        self.dead = 0;
        tracing::debug!(papers = self.live, "search index compacted");
    }

    fn live_matches(&self, term: u32) -> Matches<'_> {
        let p = &self.postings[term as usize];
        if self.dead == 0 {
            return Cow::Borrowed(&p.entries);
        }
        Cow::Owned(
            p.entries
                .iter()
                .filter(|(s, _)| self.slots[*s as usize].live)
                .copied()
                .collect(),
        )
    }

    fn word_matches(&self, word: &str, prefix: bool) -> Matches<'_> {
        let folded = fold(word);
        if !prefix {
            return match self.terms.get(&stem(&folded)) {
                Some(t) => self.live_matches(*t),
                None => Cow::Borrowed(&[]),
            };
        }
        let mut terms: Vec<u32> = self
            .surfaces
            .range(folded.clone()..)
            .take_while(|(s, _)| s.starts_with(&folded))
            .map(|(_, t)| *t)
            .collect();
        terms.sort_unstable();
        terms.dedup();
        match terms.as_slice() {
            [] => Cow::Borrowed(&[]),
            [one] => self.live_matches(*one),
            many => {
                let mut acc: HashMap<u32, f32> = HashMap::new();
                for t in many {
                    for (s, w) in self.live_matches(*t).iter() {
                        *acc.entry(*s).or_default() += w;
                    }
                }
                let mut out: Vec<(u32, f32)> = acc.into_iter().collect();
                out.sort_unstable_by_key(|(s, _)| *s);
                Cow::Owned(out)
            }
        }
    }

    fn phrase_matches(&self, words: &[String]) -> Matches<'_> {
        let mut terms = Vec::with_capacity(words.len());
        for w in words {
            match self.terms.get(&stem(&fold(w))) {
                Some(t) => terms.push(*t as usize),
                None => return Cow::Borrowed(&[]),
            }
        }
        let Some(first) = terms.first() else {
            return Cow::Borrowed(&[]);
        };
        let lists: Vec<&Postings> = terms.iter().map(|t| &self.postings[*t]).collect();
        let mut cursors = vec![0usize; lists.len()];
        let mut out = Vec::new();
        // The posting of every word in the current slot.
        let mut at = vec![0usize; lists.len()];
        'docs: for (i0, (slot, _)) in self.postings[*first].entries.iter().enumerate() {
            if !self.slots[*slot as usize].live {
                continue;
            }
            at[0] = i0;
            for (k, list) in lists.iter().enumerate().skip(1) {
                let c = &mut cursors[k];
                while *c < list.entries.len() && list.entries[*c].0 < *slot {
                    *c += 1;
                }
                if *c >= list.entries.len() || list.entries[*c].0 != *slot {
                    continue 'docs;
                }
                at[k] = *c;
            }
            let mut wtf = 0.0f32;
            for &p in lists[0].positions_of(i0) {
                // Word k of the phrase is k places on, in the same field.
                let whole = (1..lists.len()).all(|k| {
                    (u32::from(p) & MAX_INDEX) + k as u32 <= MAX_INDEX
                        && lists[k]
                            .positions_of(at[k])
                            .binary_search(&(p + k as Pos))
                            .is_ok()
                });
                if whole {
                    wtf += WEIGHTS[(p >> FIELD_SHIFT) as usize] as f32;
                }
            }
            if wtf > 0.0 {
                out.push((*slot, wtf));
            }
        }
        Cow::Owned(out)
    }

    fn atom_matches(&self, a: &Atom) -> Matches<'_> {
        match a {
            Atom::Word { word, prefix } => self.word_matches(word, *prefix),
            Atom::Phrase(words) => self.phrase_matches(words),
        }
    }

    /// Calls `visit(paper_id, score)` for every paper matching `q` (and `allowed`, when given).
    pub fn evaluate<F: FnMut(i64, f64)>(
        &self,
        q: &SearchQuery,
        allowed: Option<&dyn Fn(i64) -> bool>,
        mut visit: F,
    ) {
        if self.live == 0 {
            return;
        }
        let docs = self.live as f64;
        let avg_len = (self.total_len as f64 / docs).max(1.0);
        // idf (Lucene's, never negative) times (k1 + 1), per atom.
        let idf = |m: &[(u32, f32)]| {
            let df = m.len() as f64;
            (1.0 + (docs - df + 0.5) / (df + 0.5)).ln() * (K1 + 1.0)
        };
        // k1 (1 - b + b len / avg_len) = c1 + c2 len
        let (c1, c2) = (K1 * (1.0 - B), K1 * B / avg_len);
        let score = |slot: &Slot, tf: f32, idf: f64| {
            let tf = f64::from(tf);
            idf * tf / (tf + c1 + c2 * f64::from(slot.len))
        };
        // One word or phrase: its matches are the candidates, already in order.
        if let ([group], []) = (q.groups.as_slice(), q.excluded.as_slice())
            && let [atom] = group.as_slice()
        {
            let m = self.atom_matches(atom);
            let idf = idf(&m);
            for (s, tf) in m.iter() {
                let slot = &self.slots[*s as usize];
                if allowed.is_none_or(|f| f(slot.paper_id)) {
                    visit(slot.paper_id, score(slot, *tf, idf));
                }
            }
            return;
        }
        let words = self.slots.len().div_ceil(64);
        let mut atoms: Vec<Matches<'_>> = Vec::new();
        let mut candidates: Option<Vec<u64>> = None;
        for group in &q.groups {
            let mut bits = vec![0u64; words];
            for a in group {
                let m = self.atom_matches(a);
                for (s, _) in m.iter() {
                    bits[*s as usize / 64] |= 1 << (*s % 64);
                }
                atoms.push(m);
            }
            candidates = Some(match candidates {
                None => bits,
                Some(c) => c.iter().zip(&bits).map(|(a, b)| a & b).collect(),
            });
        }
        let Some(mut candidates) = candidates else {
            return;
        };
        for a in &q.excluded {
            for (s, _) in self.atom_matches(a).iter() {
                candidates[*s as usize / 64] &= !(1 << (*s % 64));
            }
        }
        let idfs: Vec<f64> = atoms.iter().map(|m| idf(m)).collect();
        // One pass per atom adds its part of the score of every candidate into a dense array
        // (kept per thread, all zeros between queries), then one pass over the candidates.
        thread_local! {
            static SCORES: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        SCORES.with_borrow_mut(|acc| {
            if acc.len() < self.slots.len() {
                acc.resize(self.slots.len(), 0.0);
            }
            for (k, m) in atoms.iter().enumerate() {
                for (s, tf) in m.iter() {
                    let s = *s as usize;
                    if candidates[s / 64] & (1 << (s % 64)) != 0 {
                        acc[s] += score(&self.slots[s], *tf, idfs[k]);
                    }
                }
            }
            for (w, bits) in candidates.iter().enumerate() {
                let mut bits = *bits;
                while bits != 0 {
                    let s = w * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    let total = std::mem::take(&mut acc[s]);
                    let slot = &self.slots[s];
                    if allowed.is_none_or(|f| f(slot.paper_id)) {
                        visit(slot.paper_id, total);
                    }
                }
            }
        });
    }
}

/// A ranked hit in the top-k heap, ordered so that the worst is the greatest.
#[derive(Clone, Copy, Debug)]
struct Ranked {
    score: f64,
    paper_id: i64,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.paper_id.cmp(&other.paper_id))
    }
}

/// Collects the best `limit` hits after a cursor (score descending, then paper id ascending)
/// and counts every hit.
#[derive(Debug)]
pub struct TopK {
    limit: usize,
    after: Option<Ranked>,
    heap: BinaryHeap<Ranked>,
    /// Every hit offered, on all pages.
    pub total: usize,
}

impl TopK {
    pub fn new(after: Option<(f64, i64)>, limit: usize) -> TopK {
        TopK {
            limit,
            after: after.map(|(score, paper_id)| Ranked { score, paper_id }),
            heap: BinaryHeap::with_capacity(limit.min(1_024) + 1),
            total: 0,
        }
    }

    #[inline]
    pub fn offer(&mut self, paper_id: i64, score: f64) {
        self.total += 1;
        if self.limit == 0
            || (self.heap.len() == self.limit && self.heap.peek().is_some_and(|w| score < w.score))
        {
            return;
        }
        let r = Ranked { score, paper_id };
        if self.after.is_some_and(|a| r <= a) {
            return;
        }
        if self.heap.len() < self.limit {
            self.heap.push(r);
        } else if self.heap.peek().is_some_and(|worst| r < *worst) {
            self.heap.pop();
            self.heap.push(r);
        }
    }

    /// The collected hits, best first.
    pub fn into_sorted(self) -> Vec<(i64, f64)> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|r| (r.paper_id, r.score))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: i64, title: &str, abstract_: &str, authors: &str) -> DocText {
        DocText {
            paper_id: id,
            fields: [
                title.into(),
                abstract_.into(),
                authors.into(),
                String::new(),
            ],
        }
    }

    fn page(index: &Index, q: &SearchQuery, after: Option<(f64, i64)>, n: usize) -> TopK {
        let mut top = TopK::new(after, n);
        index.evaluate(q, None, |id, s| top.offer(id, s));
        top
    }

    fn ids(index: &Index, q: &str) -> Vec<i64> {
        let q = SearchQuery::parse(q).unwrap();
        page(index, &q, None, 100)
            .into_sorted()
            .into_iter()
            .map(|h| h.0)
            .collect()
    }

    fn corpus() -> Index {
        let mut i = Index::default();
        i.upsert(&doc(
            1,
            "Vision Transformers at scale",
            "We scale a vision transformer.",
            "Ana Gómez",
        ));
        i.upsert(&doc(
            2,
            "Diffusion for video",
            "A transformer denoiser for video diffusion models.",
            "Bo Li",
        ));
        i.upsert(&doc(
            3,
            "Audio tokens",
            "Tokenizers and the vision of audio.",
            "Zoë Schölkopf",
        ));
        i
    }

    #[test]
    fn stems_folds_and_weights_the_title_above_the_abstract() {
        let i = corpus();
        // Title match (1) above abstract match (2).
        assert_eq!(ids(&i, "transformer"), vec![1, 2]);
        assert_eq!(ids(&i, "TRANSFORMERS"), vec![1, 2]);
        assert_eq!(ids(&i, "scholkopf"), vec![3]);
        assert_eq!(ids(&i, "zoe"), vec![3]);
        assert!(ids(&i, "nothing").is_empty());
    }

    #[test]
    fn phrases_exclusions_or_and_prefixes() {
        let i = corpus();
        assert_eq!(ids(&i, "\"vision transformer\""), vec![1]);
        assert_eq!(ids(&i, "\"transformer vision\""), Vec::<i64>::new());
        assert_eq!(ids(&i, "vision -audio"), vec![1]);
        assert_eq!(ids(&i, "video OR audio").len(), 2);
        assert_eq!(ids(&i, "token*"), vec![3]);
        assert_eq!(ids(&i, "transformer video"), vec![2]);
    }

    #[test]
    fn replacing_a_text_forgets_the_old_one() {
        let mut i = corpus();
        i.upsert(&doc(2, "Sound", "Nothing about pictures.", "Bo Li"));
        assert_eq!(ids(&i, "diffusion"), Vec::<i64>::new());
        assert_eq!(ids(&i, "pictures"), vec![2]);
        assert_eq!(i.len(), 3);
        i.remove(3);
        assert_eq!(ids(&i, "audio"), Vec::<i64>::new());
        assert_eq!(i.len(), 2);
    }

    #[test]
    fn compaction_keeps_every_live_match() {
        let mut i = Index::default();
        for round in 0..3 {
            for id in 0..1_500 {
                let title = if id % 2 == 0 {
                    "even paper"
                } else {
                    "odd paper"
                };
                i.upsert(&doc(id, title, &format!("round {round}"), ""));
            }
        }
        assert_eq!(i.len(), 1_500);
        assert_eq!(ids(&i, "even").len(), 100);
        let q = SearchQuery::parse("paper").unwrap();
        assert_eq!(page(&i, &q, None, 0).total, 1_500);
        assert_eq!(ids(&i, "\"round 2\"").len(), 100);
        assert!(ids(&i, "\"round 1\"").is_empty());
    }

    #[test]
    fn pages_follow_each_other_without_gaps_or_repeats() {
        let mut i = Index::default();
        for id in 0..50 {
            let body = "word ".repeat((id % 7 + 1) as usize);
            i.upsert(&doc(id, "t", &body, ""));
        }
        let q = SearchQuery::parse("word").unwrap();
        let all = page(&i, &q, None, 100).into_sorted();
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let top = page(&i, &q, after, 7);
            assert_eq!(top.total, 50);
            let hits = top.into_sorted();
            if hits.is_empty() {
                break;
            }
            after = hits.last().map(|(id, s)| (*s, *id));
            paged.extend(hits);
        }
        assert_eq!(paged, all);
        assert_eq!(all.len(), 50);
    }
}
