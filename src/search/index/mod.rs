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
//! one paper in 16 (O(1) a probe), else by galloping over skip entries; so only the papers that
//! match are scored. Queries with `OR` or `prefix*` mark each group's matches in a bitset and
//! score the survivors.
//!
//! A posting's slot is stored as a varint gap from the previous one, with a skip entry every
//! 64 postings; its weighted term frequency in one byte, its positions as two bytes each, the
//! last one flagged (a phrase counts a posting's positions off from the start of its 8-posting
//! sub-block, whose offset the skip entry keeps): the
//! index of the 100,000-paper harness takes 106 MB, against 140 with a two-byte offset to every
//! posting's positions and 242 with a 4-byte slot and frequency.
//!
//! Slots are cut into segments of [`SEGMENT_PAPERS`] papers. New papers go to the open segment,
//! whose lists grow a quarter at a time; a full segment is frozen: its lists are copied back to
//! back into one exact-size array per kind, so the allocator's rounding and the blocks the lists
//! grew out of are not left resident (on that harness, 122 MB resident after the build against
//! 143 with every list in an allocation of its own, and a peak of 131 MB against 152). A frozen
//! list with a bitset keeps no slot gaps: its cursor walks the bitset (108 MB resident, peak
//! 118). A query runs segment by segment.
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use crate::domain::search::{Atom, SearchQuery};
pub use crate::repo::search_source::DocText;

mod analysis;
mod cursor;
mod evaluate;
mod postings;
mod ragged;
mod segment;
mod similar;
#[cfg(test)]
mod tests;
mod topk;

pub use analysis::{Word, fold, stem, words};
use cursor::*;
use postings::*;
use ragged::Ragged;
use segment::*;
pub use topk::TopK;

/// The indexed fields, in slot order, by their GraphQL names (`SearchHighlight.field`).
pub const FIELDS: [&str; 4] = ["title", "abstract", "authors", "aiKeywords"];
/// Field weights: a title match counts ten times an abstract match.
const WEIGHTS: [f64; 4] = [10.0, 1.0, 4.0, 5.0];
const K1: f64 = 1.2;
const B: f64 = 0.75;
/// Positions are `field << FIELD_SHIFT | index` in the low 15 bits of a `u16` (two bits for the
/// field, four fields), and the top bit ([`LAST`]) marks the last position of its posting, so
/// that a posting's positions are found without an offset of their own. A word past index
/// [`MAX_INDEX`] in a field (no abstract comes near; an author list of thousands of names might)
/// is indexed without its position; a posting with no position kept stores [`NO_POSITION`].
type Pos = u16;
const FIELD_SHIFT: u32 = 13;
const INDEX_BITS: u32 = (1 << FIELD_SHIFT) - 1;
const MAX_INDEX: u32 = INDEX_BITS - 1;
const LAST: Pos = 1 << 15;
/// The one position stored for a posting whose positions all lie past [`MAX_INDEX`]: an index no
/// phrase can reach.
const NO_POSITION: Pos = INDEX_BITS as Pos;

#[derive(Clone, Copy, Debug)]
struct Slot {
    paper_id: i64,
    /// Words in all fields (BM25's document length).
    len: u32,
    live: bool,
}

/// The in-memory index. Not synchronised: `crate::search` wraps it in a lock.
///
/// Papers get slots in the order they are indexed; the slots are cut into segments of
/// [`SEGMENT_PAPERS`]. New papers go to the open segment, whose lists grow; a full one is
/// frozen into exact-size arrays ([`Segment`]). A query runs segment by segment, in slot order,
/// with its statistics (document frequencies, lengths) over the whole index.
pub struct Index {
    terms: HashMap<String, u32>,
    /// Folded surface words and their term, for `prefix*` queries.
    surfaces: BTreeMap<String, u32>,
    /// Frozen segments, in slot order.
    frozen: Vec<Segment>,
    /// The open segment: slots from `open_lo` on, its lists by term.
    open: HashMap<u32, Postings>,
    open_lo: u32,
    /// Papers per segment ([`SEGMENT_PAPERS`]; fewer in tests).
    segment_papers: usize,
    slots: Vec<Slot>,
    /// Every slot's author names as indexed (for highlights, which would otherwise read them
    /// back from the database on every search).
    author_names: Ragged<u8>,
    /// Every slot's author ids (the authors facet counts them over a search's matches here, not
    /// by sending the matches to the database).
    author_ids: Ragged<i64>,
    slot_of: HashMap<i64, u32>,
    /// Live slots as a bitset.
    live_bits: Vec<u64>,
    live: usize,
    dead: usize,
    total_len: u64,
}

impl Default for Index {
    fn default() -> Index {
        Index {
            terms: HashMap::new(),
            surfaces: BTreeMap::new(),
            frozen: Vec::new(),
            open: HashMap::new(),
            open_lo: 0,
            segment_papers: SEGMENT_PAPERS,
            slots: Vec::new(),
            author_names: Ragged::default(),
            author_ids: Ragged::default(),
            slot_of: HashMap::new(),
            live_bits: Vec::new(),
            live: 0,
            dead: 0,
            total_len: 0,
        }
    }
}

impl Index {
    /// Papers in the index.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Distinct terms (stems) in the index.
    pub fn terms(&self) -> usize {
        self.terms.len()
    }

    /// Roughly how many bytes the index holds (for logs and the benchmark note).
    pub fn approx_bytes(&self) -> usize {
        let dict: usize = self.terms.keys().map(|k| k.len() + 40).sum::<usize>()
            + self.surfaces.keys().map(|k| k.len() + 40).sum::<usize>();
        self.breakdown()
            .iter()
            .map(|(_, bytes)| bytes)
            .sum::<usize>()
            + dict
    }

    /// The bytes each part of the index holds (`bench/index_mem.rs`).
    pub fn breakdown(&self) -> Vec<(&'static str, usize)> {
        let mut v = vec![
            ("slot gaps", 0),
            ("term frequencies", 0),
            ("large frequencies", 0),
            ("skips", 0),
            ("positions", 0),
            ("bitsets", 0),
        ];
        let parts = self
            .open
            .values()
            .map(Postings::heap_bytes)
            .chain(self.frozen.iter().map(|s| s.all.heap_bytes()));
        for bytes in parts {
            for (k, b) in bytes.iter().enumerate() {
                v[k].1 += b;
            }
        }
        let directories = self
            .frozen
            .iter()
            .map(|s| s.terms.capacity() * 4 + s.starts.capacity() * std::mem::size_of::<Starts>())
            .sum::<usize>()
            + self.open.capacity() * (8 + std::mem::size_of::<Postings>());
        v.push(("term directories", directories));
        v.push(("authors", self.author_names.heap_bytes()));
        v.push(("author ids", self.author_ids.heap_bytes()));
        v.push((
            "slots",
            self.slots.capacity() * std::mem::size_of::<Slot>()
                + self.slot_of.capacity() * 17
                + self.live_bits.capacity() * 8,
        ));
        v
    }

    /// The segments, in slot order.
    fn parts(&self) -> impl Iterator<Item = Part<'_>> {
        self.frozen
            .iter()
            .map(Part::Frozen)
            .chain(std::iter::once(Part::Open {
                lists: &self.open,
                lo: self.open_lo,
            }))
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
                let term = self.term_id(&w.folded);
                let e = occ.entry(term).or_insert_with(|| {
                    order.push(term);
                    (0.0, Vec::new())
                });
                e.0 += WEIGHTS[field] as f32;
                if index <= MAX_INDEX {
                    e.1.push((((field as u32) << FIELD_SHIFT) | index) as Pos);
                }
            }
        }
        let lo = self.open_lo;
        for term in order {
            let Some((wtf, positions)) = occ.remove(&term) else {
                continue;
            };
            let p = self.open.entry(term).or_default();
            let before = p.n as usize;
            p.push(slot, wtf, &positions);
            match &mut p.dense {
                Some(d) => d.push(slot, before as u32),
                None if before + 1 >= DENSE_MIN
                    && (before + 1) * DENSE_SHARE > (slot - lo) as usize =>
                {
                    p.dense = Some(Dense::build(p.list(), lo / 64));
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
        self.author_names.push(doc.fields[2].as_bytes());
        self.author_ids.push(&doc.author_ids);
        self.slot_of.insert(doc.paper_id, slot);
        self.live += 1;
        self.total_len += u64::from(len);
        if self.slots.len() - self.open_lo as usize >= self.segment_papers {
            self.freeze();
        }
    }

    /// Indexes a paper's current text, or takes it out when it has none (it was deleted).
    pub fn apply(&mut self, paper_id: i64, doc: Option<&DocText>) {
        match doc {
            Some(d) => self.upsert(d),
            None => self.remove(paper_id),
        }
    }

    /// Freezes the open segment (when it holds any slot) and opens an empty one.
    fn freeze(&mut self) {
        let hi = self.slots.len() as u32;
        if hi == self.open_lo {
            return;
        }
        let lists = std::mem::take(&mut self.open);
        self.frozen.push(Segment::freeze(lists, self.open_lo, hi));
        self.open_lo = hi;
    }

    /// Sizes the open segment's lists for the papers it will hold of the `papers` a bulk load
    /// indexes in all, from the papers it holds so far (a bulk load calls it after the first
    /// batch of each segment), and the per-paper arrays for all `papers` (after the first
    /// batch): lists grown a quarter at a time would otherwise be moved a dozen times each, and
    /// the blocks they leave behind stay resident, scattered between the lists that live on.
    fn presize(&mut self, papers: usize) {
        let seen = self.slots.len() - self.open_lo as usize;
        if seen == 0 {
            return;
        }
        let will_hold = papers
            .saturating_sub(self.open_lo as usize)
            .min(self.segment_papers);
        // A little over the estimate: a list that overshoots is moved once more, at its full size.
        if will_hold > seen {
            let times = will_hold as f64 / seen as f64 * 1.05;
            for p in self.open.values_mut() {
                p.reserve_scaled(times);
            }
        }
        let all = self.slots.len();
        if self.open_lo > 0 || papers <= all {
            return;
        }
        let times = papers as f64 / all as f64 * 1.05;
        let slots = (papers as f64 * 1.05) as usize;
        self.slots
            .reserve_exact(slots.saturating_sub(self.slots.len()));
        self.author_names.presize(slots, times);
        self.author_ids.presize(slots, times);
        self.live_bits
            .reserve_exact((slots / 64 + 1).saturating_sub(self.live_bits.len()));
        self.slot_of
            .reserve(papers.saturating_sub(self.slot_of.len()));
    }

    /// Builds an index of `papers` papers from their texts, a batch at a time, as a bulk load
    /// should (the start-up build and `bench/index_mem.rs`): a segment's lists are sized ahead
    /// after its first batch, the memory the build frees goes back to the system after every
    /// batch, and every segment ends frozen.
    pub fn build(
        batches: impl IntoIterator<Item = Vec<(i64, Option<DocText>)>>,
        papers: usize,
    ) -> Index {
        Index::build_into(Index::default(), batches, papers)
    }

    /// [`Index::build`] into an empty `index` (of the tests' segment size).
    fn build_into(
        mut index: Index,
        batches: impl IntoIterator<Item = Vec<(i64, Option<DocText>)>>,
        papers: usize,
    ) -> Index {
        let mut sized = false;
        for batch in batches {
            let lo = index.open_lo;
            for (id, doc) in batch {
                index.apply(id, doc.as_ref());
            }
            if index.open_lo != lo {
                // A segment was frozen: the next one is sized after its first batch.
                sized = false;
            }
            if !sized && index.slots.len() > index.open_lo as usize {
                index.presize(papers);
                sized = true;
            }
            // The lists grown since the last batch left their old blocks behind.
            crate::alloc::give_back();
        }
        index.freeze();
        index.shrink();
        crate::alloc::give_back();
        index
    }

    /// Gives back the spare room of the open segment's lists and of the per-paper arrays
    /// (after a bulk load).
    pub fn shrink(&mut self) {
        for (k, p) in self.open.values_mut().enumerate() {
            p.repack();
            // The blocks just moved from go back as they are left, not all at the end.
            if k % 64 == 63 {
                crate::alloc::give_back();
            }
        }
        self.open.shrink_to_fit();
        // The per-paper arrays only when their spare room is large: one sized ahead has a
        // twentieth to spare, never touched, and copying it would add its size to the peak.
        if loose(self.slots.capacity(), self.slots.len()) {
            exact(&mut self.slots);
        }
        self.author_names.shrink();
        self.author_ids.shrink();
        if loose(self.live_bits.capacity(), self.live_bits.len()) {
            exact(&mut self.live_bits);
        }
        self.terms.shrink_to_fit();
        self.slot_of.shrink_to_fit();
    }

    /// The author names of an indexed paper, as indexed.
    pub fn authors_of(&self, paper_id: i64) -> Option<&str> {
        let slot = *self.slot_of.get(&paper_id)? as usize;
        std::str::from_utf8(self.author_names.get(slot)?).ok()
    }

    /// How many of the given papers each author wrote (papers not in the index are left out).
    pub fn author_counts(&self, paper_ids: &[i64]) -> HashMap<i64, u32> {
        let mut counts: HashMap<i64, u32> = HashMap::new();
        for id in paper_ids {
            let Some(run) = self
                .slot_of
                .get(id)
                .and_then(|slot| self.author_ids.get(*slot as usize))
            else {
                continue;
            };
            for a in run {
                *counts.entry(*a).or_default() += 1;
            }
        }
        counts
    }

    /// Takes a paper out of the index (no-op when absent).
    pub fn remove(&mut self, paper_id: i64) {
        if let Some(old) = self.slot_of.remove(&paper_id) {
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
        let next = self.terms.len() as u32;
        let t = *self.terms.entry(stemmed).or_insert(next);
        self.surfaces.insert(folded.to_owned(), t);
        t
    }

    /// Drops the postings of dead slots (slots keep their numbers): frozen segments are rebuilt
    /// one at a time (one left without a live slot is dropped), the open one list by list.
    fn compact(&mut self) {
        let slots = &self.slots;
        let live = |s: u32| slots[s as usize].live;
        for seg in std::mem::take(&mut self.frozen) {
            let (lo, hi) = (seg.lo, seg.hi);
            if !(lo..hi).any(live) {
                continue;
            }
            let mut lists = HashMap::with_capacity(seg.terms.len());
            for (k, t) in seg.terms.iter().enumerate() {
                if let Some(p) = without_dead(seg.list_at(k), live, lo / 64) {
                    lists.insert(*t, p);
                }
            }
            drop(seg);
            self.frozen.push(Segment::freeze(lists, lo, hi));
            crate::alloc::give_back();
        }
        let first = self.open_lo / 64;
        for p in self.open.values_mut() {
            *p = without_dead(p.list(), live, first).unwrap_or_default();
            p.repack();
        }
        self.open.retain(|_, p| p.n > 0);
        // The authors of live slots only (a dead slot's runs become empty).
        let slots = &self.slots;
        self.author_names.squeeze(|s| slots[s].live);
        self.author_ids.squeeze(|s| slots[s].live);
        self.dead = 0;
        tracing::debug!(papers = self.live, "search index compacted");
    }
}
