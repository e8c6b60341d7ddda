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
//! millisecond. Words and phrases that must all match are intersected: the shortest posting list
//! drives and the others are probed, through a bitset with rank counts for terms in at least
//! one paper in 16 (O(1) a probe), else by galloping; so only the papers that match are scored.
//! Queries with `OR` or `prefix*` mark each group's matches in a bitset and score the survivors.
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
    /// Where the positions of each block of [`POS_BLOCK`] postings start in `positions`, and
    /// where each posting's start within its block: a posting's positions are found in O(1)
    /// with two bytes a posting instead of four.
    block_start: Vec<u32>,
    pos_offset: Vec<u16>,
    positions: Vec<Pos>,
    /// For a term found in many papers: its slots as a bitset, so that a conjunction finds a
    /// slot's posting in O(1) instead of merging whole lists.
    dense: Option<Dense>,
}

/// Postings per block of position starts.
const POS_BLOCK: usize = 64;
/// Positions kept per posting, so that a block's offsets fit in 16 bits (64 x 1,023 < 65,536).
/// Only a paper with a word over a thousand times in one text would lose some (for phrases;
/// its term frequency counts them all).
const MAX_POSITIONS: usize = 1_023;

/// A term is given a [`Dense`] view once it is in at least one paper in `DENSE_SHARE` (the view
/// then costs at most 3/8 of its postings' memory) and in `DENSE_MIN` papers.
const DENSE_SHARE: usize = 16;
const DENSE_MIN: usize = 256;

/// A posting list as a bitset over slots, with the number of postings before each 64-slot word:
/// the posting of a slot is `rank[w] + popcount(bits[w] below it)` (a rank query).
#[derive(Default)]
struct Dense {
    bits: Vec<u64>,
    rank: Vec<u32>,
}

impl Dense {
    fn build(entries: &[(u32, f32)]) -> Dense {
        let mut d = Dense::default();
        for (i, (slot, _)) in entries.iter().enumerate() {
            d.push(*slot, i as u32);
        }
        d
    }

    /// Adds a slot above every slot in the view; `before` postings precede it.
    fn push(&mut self, slot: u32, before: u32) {
        let w = slot as usize / 64;
        while self.bits.len() <= w {
            self.bits.push(0);
            self.rank.push(before);
        }
        self.bits[w] |= 1 << (slot % 64);
    }

    /// The index of `slot`'s posting, if it has one.
    #[inline]
    fn index_of(&self, slot: u32) -> Option<usize> {
        let w = slot as usize / 64;
        let word = *self.bits.get(w)?;
        let bit = 1u64 << (slot % 64);
        (word & bit != 0).then(|| self.rank[w] as usize + (word & (bit - 1)).count_ones() as usize)
    }
}

/// Finds postings by slot in one list, for slots asked in increasing order: through the list's
/// bitset when it has one, else by galloping forward from the last answer.
#[derive(Clone)]
struct Probe<'a> {
    entries: &'a [(u32, f32)],
    dense: Option<&'a Dense>,
    at: usize,
}

impl<'a> Probe<'a> {
    fn new(entries: &'a [(u32, f32)], dense: Option<&'a Dense>) -> Probe<'a> {
        Probe {
            entries,
            dense,
            at: 0,
        }
    }

    /// The index of `slot`'s posting; `slot` is never below an earlier call's.
    #[inline]
    fn find(&mut self, slot: u32) -> Option<usize> {
        if let Some(d) = self.dense {
            return d.index_of(slot);
        }
        let e = self.entries;
        let mut step = 1;
        let mut hi = self.at;
        while hi < e.len() && e[hi].0 < slot {
            self.at = hi + 1;
            hi += step;
            step *= 2;
        }
        let end = hi.min(e.len());
        self.at += e[self.at..end].partition_point(|p| p.0 < slot);
        (self.at < e.len() && e[self.at].0 == slot).then_some(self.at)
    }
}

impl Postings {
    /// Where posting `i`'s positions start.
    #[inline]
    fn pos_start(&self, i: usize) -> usize {
        self.block_start[i / POS_BLOCK] as usize + usize::from(self.pos_offset[i])
    }

    fn positions_of(&self, i: usize) -> &[Pos] {
        let end = if i + 1 < self.entries.len() {
            self.pos_start(i + 1)
        } else {
            self.positions.len()
        };
        &self.positions[self.pos_start(i)..end]
    }

    /// Appends a posting (its slot above every slot in the list) with its positions.
    fn push(&mut self, entry: (u32, f32), positions: &[Pos]) {
        let i = self.entries.len();
        if i.is_multiple_of(POS_BLOCK) {
            self.block_start.push(self.positions.len() as u32);
        }
        let block = self.block_start[i / POS_BLOCK] as usize;
        self.pos_offset
            .push(u16::try_from(self.positions.len() - block).unwrap_or(u16::MAX));
        self.entries.push(entry);
        self.positions
            .extend_from_slice(&positions[..positions.len().min(MAX_POSITIONS)]);
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
    /// Live slots as a bitset.
    live_bits: Vec<u64>,
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
                p.entries.capacity() * 8
                    + p.block_start.capacity() * 4
                    + p.pos_offset.capacity() * 2
                    + p.positions.capacity() * 2
                    + p.dense.as_ref().map_or(0, |d| d.bits.capacity() * 12)
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
            let before = p.entries.len();
            p.push((slot, wtf), &positions);
            match &mut p.dense {
                Some(d) => d.push(slot, before as u32),
                None if before + 1 >= DENSE_MIN && (before + 1) * DENSE_SHARE > slot as usize => {
                    p.dense = Some(Dense::build(&p.entries));
                }
                None => {}
            }
        }
        let w = slot as usize / 64;
        if self.live_bits.len() <= w {
            self.live_bits.resize(w + 1, 0);
        }
        self.live_bits[w] |= 1 << (slot % 64);
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
            p.block_start.shrink_to_fit();
            p.pos_offset.shrink_to_fit();
            p.positions.shrink_to_fit();
            if let Some(d) = &mut p.dense {
                d.bits.shrink_to_fit();
                d.rank.shrink_to_fit();
            }
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
            self.live_bits[old as usize / 64] &= !(1 << (old % 64));
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
                    out.push(p.entries[i], p.positions_of(i));
                }
            }
            if p.dense.is_some() {
                out.dense = Some(Dense::build(&out.entries));
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

    fn is_live(&self, slot: u32) -> bool {
        self.live_bits[slot as usize / 64] & (1 << (slot % 64)) != 0
    }

    /// Calls `visit(slot, postings)` for every live slot found in all `lists`, in slot order,
    /// with the index of the slot's posting in each list. The shortest list drives and the
    /// others are probed; when every list has a bitset, the bitsets are intersected instead.
    fn intersect(&self, lists: &[Probe<'_>], mut visit: impl FnMut(u32, &[usize])) {
        let mut at = vec![0usize; lists.len()];
        if let Some(dense) = lists.iter().map(|l| l.dense).collect::<Option<Vec<_>>>() {
            let words = dense
                .iter()
                .map(|d| d.bits.len())
                .min()
                .unwrap_or(0)
                .min(self.live_bits.len());
            for w in 0..words {
                let mut bits = dense
                    .iter()
                    .fold(self.live_bits[w], |acc, d| acc & d.bits[w]);
                while bits != 0 {
                    let slot = (w * 64) as u32 + bits.trailing_zeros();
                    bits &= bits - 1;
                    for (k, d) in dense.iter().enumerate() {
                        at[k] = d.index_of(slot).unwrap_or_default();
                    }
                    visit(slot, &at);
                }
            }
            return;
        }
        let Some(driver) = (0..lists.len()).min_by_key(|k| lists[*k].entries.len()) else {
            return;
        };
        let mut probes = lists.to_vec();
        'slots: for (i, (slot, _)) in lists[driver].entries.iter().enumerate() {
            if !self.is_live(*slot) {
                continue;
            }
            for (k, probe) in probes.iter_mut().enumerate() {
                at[k] = if k == driver {
                    i
                } else {
                    match probe.find(*slot) {
                        Some(i) => i,
                        None => continue 'slots,
                    }
                };
            }
            visit(*slot, &at);
        }
    }

    /// The posting list of a word (not a prefix), if the index has the word.
    fn term_postings(&self, word: &str) -> Option<&Postings> {
        self.terms
            .get(&stem(&fold(word)))
            .map(|t| &self.postings[*t as usize])
    }

    /// How many live papers have a posting in `p`.
    fn live_df(&self, p: &Postings) -> usize {
        if self.dead == 0 {
            return p.entries.len();
        }
        match &p.dense {
            Some(d) => d
                .bits
                .iter()
                .zip(&self.live_bits)
                .map(|(a, b)| (a & b).count_ones() as usize)
                .sum(),
            None => p.entries.iter().filter(|(s, _)| self.is_live(*s)).count(),
        }
    }

    fn phrase_matches(&self, words: &[String]) -> Matches<'_> {
        let mut lists = Vec::with_capacity(words.len());
        for w in words {
            match self.term_postings(w) {
                Some(p) => lists.push(p),
                None => return Cow::Borrowed(&[]),
            }
        }
        let probes: Vec<Probe<'_>> = lists
            .iter()
            .map(|p| Probe::new(&p.entries, p.dense.as_ref()))
            .collect();
        let mut out = Vec::new();
        self.intersect(&probes, |slot, at| {
            let mut wtf = 0.0f32;
            for &p in lists[0].positions_of(at[0]) {
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
                out.push((slot, wtf));
            }
        });
        Cow::Owned(out)
    }

    fn atom_matches(&self, a: &Atom) -> Matches<'_> {
        match a {
            Atom::Word { word, prefix } => self.word_matches(word, *prefix),
            Atom::Phrase(words) => self.phrase_matches(words),
        }
    }

    /// The slots matching any of `excluded` as a bitset, or `None` when nothing is excluded.
    fn excluded_bits(&self, excluded: &[Atom]) -> Option<Vec<u64>> {
        if excluded.is_empty() {
            return None;
        }
        let mut bits = vec![0u64; self.slots.len().div_ceil(64)];
        for a in excluded {
            for (s, _) in self.atom_matches(a).iter() {
                bits[*s as usize / 64] |= 1 << (*s % 64);
            }
        }
        Some(bits)
    }

    /// Calls `visit(paper_id, score)` for every paper matching `q` (and `allowed`, when given).
    pub fn evaluate<F: FnMut(i64, f64)>(
        &self,
        q: &SearchQuery,
        allowed: Option<&dyn Fn(i64) -> bool>,
        visit: F,
    ) {
        self.evaluate_by(q, allowed, visit, true)
    }

    /// `evaluate`, through the conjunction path when the query allows it and `conjunctions`
    /// (else through bitsets, the path of queries with OR or prefixes; the tests compare them).
    fn evaluate_by<F: FnMut(i64, f64)>(
        &self,
        q: &SearchQuery,
        allowed: Option<&dyn Fn(i64) -> bool>,
        mut visit: F,
        conjunctions: bool,
    ) {
        if self.live == 0 {
            return;
        }
        let docs = self.live as f64;
        let avg_len = (self.total_len as f64 / docs).max(1.0);
        // idf (Lucene's, never negative) times (k1 + 1), per atom.
        let idf = |df: usize| {
            let df = df as f64;
            (1.0 + (docs - df + 0.5) / (df + 0.5)).ln() * (K1 + 1.0)
        };
        // k1 (1 - b + b len / avg_len) = c1 + c2 len
        let (c1, c2) = (K1 * (1.0 - B), K1 * B / avg_len);
        let score = |slot: &Slot, tf: f32, idf: f64| {
            let tf = f64::from(tf);
            idf * tf / (tf + c1 + c2 * f64::from(slot.len))
        };
        // Every group one word or phrase (no OR, no prefix): intersect their postings.
        if conjunctions
            && q.groups.iter().all(|g| {
                matches!(
                    g.as_slice(),
                    [Atom::Word { prefix: false, .. }] | [Atom::Phrase(_)]
                )
            })
        {
            let mut phrases: Vec<Matches<'_>> = Vec::new();
            let mut terms: Vec<Option<&Postings>> = Vec::new();
            for g in &q.groups {
                match &g[0] {
                    Atom::Word { word, .. } => match self.term_postings(word) {
                        Some(p) => terms.push(Some(p)),
                        None => return,
                    },
                    phrase => {
                        let m = self.atom_matches(phrase);
                        if m.is_empty() {
                            return;
                        }
                        phrases.push(m);
                        terms.push(None);
                    }
                }
            }
            let mut phrases = phrases.iter();
            let mut lists = Vec::with_capacity(terms.len());
            let mut idfs = Vec::with_capacity(terms.len());
            for t in &terms {
                match t {
                    Some(p) => {
                        lists.push(Probe::new(&p.entries, p.dense.as_ref()));
                        idfs.push(idf(self.live_df(p)));
                    }
                    None => {
                        let m = phrases.next().map_or(&[][..], |m| &m[..]);
                        lists.push(Probe::new(m, None));
                        idfs.push(idf(m.len()));
                    }
                }
            }
            let excluded = self.excluded_bits(&q.excluded);
            if let ([list], None) = (lists.as_slice(), &excluded) {
                // One word or phrase: every live posting is a match, in order.
                let dead = self.dead > 0;
                for (s, tf) in list.entries {
                    if dead && !self.is_live(*s) {
                        continue;
                    }
                    let slot = &self.slots[*s as usize];
                    if allowed.is_none_or(|f| f(slot.paper_id)) {
                        visit(slot.paper_id, score(slot, *tf, idfs[0]));
                    }
                }
                return;
            }
            self.intersect(&lists, |s, at| {
                if excluded
                    .as_ref()
                    .is_some_and(|x| x[s as usize / 64] & (1 << (s % 64)) != 0)
                {
                    return;
                }
                let slot = &self.slots[s as usize];
                if allowed.is_none_or(|f| f(slot.paper_id)) {
                    let mut total = 0.0;
                    for (k, l) in lists.iter().enumerate() {
                        total += score(slot, l.entries[at[k]].1, idfs[k]);
                    }
                    visit(slot.paper_id, total);
                }
            });
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
        if let Some(excluded) = self.excluded_bits(&q.excluded) {
            for (c, x) in candidates.iter_mut().zip(excluded) {
                *c &= !x;
            }
        }
        let idfs: Vec<f64> = atoms.iter().map(|m| idf(m.len())).collect();
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

    /// A small deterministic generator (no dependency for one test).
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % n
        }
    }

    #[test]
    fn the_conjunction_path_ranks_exactly_like_the_bitset_path() {
        // Word frequencies from 1 in 2 to 1 in 64 papers, so some terms get bitsets and
        // others are probed by galloping; updates and removals leave dead slots.
        let vocab: Vec<String> = (0..400).map(|i| format!("w{i}x")).collect();
        let mut rng = Lcg(42);
        let text = |rng: &mut Lcg, n: usize| {
            (0..n)
                .map(|_| {
                    // Word k with probability about (k + 1)^(1/3) - k^(1/3) (in 400^(1/3)).
                    let r = rng.below(1 << 12) as usize;
                    vocab[(400 * r * r * r) >> 36].as_str()
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut i = Index::default();
        for id in 0..4_000 {
            let (t, a) = (text(&mut rng, 4), text(&mut rng, 30));
            i.upsert(&doc(id, &t, &a, ""));
        }
        for id in (0..4_000).step_by(7) {
            let (t, a) = (text(&mut rng, 4), text(&mut rng, 30));
            i.upsert(&doc(id, &t, &a, ""));
        }
        for id in (0..4_000).step_by(11) {
            i.remove(id);
        }
        assert!(i.dead > 0, "the test needs dead slots");
        assert!(
            i.postings.iter().any(|p| p.dense.is_some())
                && i.postings
                    .iter()
                    .any(|p| p.dense.is_none() && p.entries.len() > 20),
            "the test needs both kinds of list"
        );
        let w = |k: usize| vocab[k].as_str();
        let queries = [
            w(0).to_string(),
            w(30).to_string(),
            format!("{} {}", w(0), w(1)),
            format!("{} {} {}", w(0), w(2), w(5)),
            format!("{} {}", w(3), w(25)),
            format!("{} {}", w(2), w(390)),
            format!("{} {} {}", w(300), w(350), w(1)),
            w(399).to_string(),
            format!("\"{} {}\"", w(0), w(1)),
            format!("\"{} {}\" {}", w(1), w(0), w(4)),
            format!("\"{} {} {}\"", w(0), w(0), w(1)),
            format!("{} -{}", w(0), w(1)),
            format!("{} {} -\"{} {}\"", w(0), w(3), w(1), w(2)),
            format!("{} nothingatall", w(0)),
        ];
        let allowed = |id: i64| id % 3 != 0;
        for text in queries {
            let q = SearchQuery::parse(&text).unwrap();
            for filter in [None, Some(&allowed as &dyn Fn(i64) -> bool)] {
                let mut fast = Vec::new();
                i.evaluate_by(&q, filter, |id, s| fast.push((id, s)), true);
                let mut slow = Vec::new();
                i.evaluate_by(&q, filter, |id, s| slow.push((id, s)), false);
                fast.sort_by_key(|h| h.0);
                slow.sort_by_key(|h| h.0);
                assert_eq!(fast, slow, "{text}");
                if !text.contains("nothing") && filter.is_none() {
                    assert!(!fast.is_empty(), "{text} should match");
                }
            }
        }
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

    #[test]
    fn phrases_find_their_positions_across_position_blocks_and_compaction() {
        // 700 papers: more than ten blocks of postings for "alpha" and "beta", with varying
        // numbers of positions per posting (so block offsets vary).
        let text = |i: i64| {
            let filler = "filler ".repeat((i % 13) as usize);
            match i % 3 {
                0 => format!("{filler}alpha beta and alpha beta"),
                1 => format!("{filler}beta alpha"),
                _ => format!("alpha {filler}x beta"),
            }
        };
        let mut index = Index::default();
        for i in 0..700 {
            index.upsert(&doc(i, "t", &text(i), "a"));
        }
        let hits = |index: &Index| -> Vec<i64> {
            let q = SearchQuery::parse("\"alpha beta\"").unwrap();
            let mut ids: Vec<i64> = page(index, &q, None, 1_000)
                .into_sorted()
                .into_iter()
                .map(|h| h.0)
                .collect();
            ids.sort_unstable();
            ids
        };
        let expected: Vec<i64> = (0..700).filter(|i| i % 3 == 0).collect();
        assert_eq!(hits(&index), expected);
        // Every 5th paper gone, every 7th rewritten without the phrase, then squeezed out.
        for i in (0..700).step_by(5) {
            index.remove(i);
        }
        for i in (0..700).step_by(7) {
            if i % 5 != 0 {
                index.upsert(&doc(i, "t", "gamma delta", "a"));
            }
        }
        index.compact();
        let expected: Vec<i64> = (0..700)
            .filter(|i| i % 3 == 0 && i % 5 != 0 && i % 7 != 0)
            .collect();
        assert_eq!(hits(&index), expected);
    }
}
