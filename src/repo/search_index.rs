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
//! posting's positions and 242 with a 4-byte slot and frequency. Lists grow by a quarter at a
//! time and are copied to their exact size after a bulk load (see [`exact`]).
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

/// One term's postings, ordered by slot. Slots are kept as varint gaps (about one byte a
/// posting, against four), the weighted term frequency in one byte (against four), and the
/// positions two bytes each, the last of a posting flagged: a posting's frequency is found by
/// its index in O(1), its slot is decoded from the nearest skip entry, and its positions are
/// counted off from the start of its sub-block's.
#[derive(Default)]
struct Postings {
    /// Postings in the list.
    n: u32,
    /// The slot of the last posting (the base of the next gap).
    last: u32,
    /// Each posting's slot as its gap from the previous one (the first from 0), as a varint.
    gaps: Vec<u8>,
    /// Each posting's weighted term frequency (the sum of the field weights of its
    /// occurrences, a whole number); [`BIG_WTF`] means it is in `big` instead.
    wtf: Vec<u8>,
    /// `(index, frequency)` of postings whose frequency does not fit below [`BIG_WTF`].
    big: Vec<(u32, f32)>,
    /// Per block of [`SKIP`] postings: the slot before the block (the base of its first gap,
    /// 0 for the first block), where the block's gaps start, and where its positions and its
    /// sub-blocks' positions start.
    skips: Vec<Skip>,
    /// Every posting's positions in turn, at least one each, the last one of each with [`LAST`].
    positions: Vec<Pos>,
    /// For a term found in many papers: its slots as a bitset, so that a conjunction finds a
    /// slot's posting in O(1) instead of merging whole lists.
    dense: Option<Dense>,
}

#[derive(Clone, Copy, Default)]
struct Skip {
    base: u32,
    gaps: u32,
    positions: u32,
    /// Where the positions of the block's postings 8, 16, ... 56 start, from `positions`
    /// (so that a posting's positions are counted off from at most 7 postings before it).
    sub: [u16; SKIP / SUB - 1],
}

/// Postings per sub-block of a skip block (see [`Skip::sub`]).
const SUB: usize = 8;

/// Postings per skip entry.
const SKIP: usize = 64;
/// Positions kept per posting, so that a block's offsets fit in 16 bits (64 x 1,023 < 65,536).
/// Only a paper with a word over a thousand times in one text would lose some (for phrases;
/// its term frequency counts them all).
const MAX_POSITIONS: usize = 1_023;
const BIG_WTF: u8 = u8::MAX;

/// A term is given a [`Dense`] view once it is in at least one paper in `DENSE_SHARE` (the view
/// then costs at most 3/8 of its postings' memory) and in `DENSE_MIN` papers.
const DENSE_SHARE: usize = 16;
const DENSE_MIN: usize = 256;

/// Makes room for `extra` more items in a list that only grows at its end, by a quarter of its
/// length at a time rather than the doubling of `Vec::push`: a list grown by doubling holds up
/// to twice its items while the index builds.
#[inline]
fn room<T>(v: &mut Vec<T>, extra: usize) {
    if v.capacity() - v.len() < extra {
        v.reserve_exact(extra.max(v.len() / 4).max(8));
    }
}

/// Moves `v` into an allocation of its length. `Vec::shrink_to_fit` does not do it here:
/// mimalloc keeps a block where it is when it shrinks by less than half, so a list would keep
/// its spare room (an index built by doubling its lists held up to twice its size).
fn exact<T>(v: &mut Vec<T>) {
    if v.capacity() > v.len() {
        let mut out = Vec::with_capacity(v.len());
        out.append(v);
        *v = out;
    }
}

#[inline]
fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[inline]
fn get_varint(bytes: &[u8], off: &mut usize) -> u32 {
    let mut v = 0u32;
    let mut shift = 0;
    loop {
        let b = bytes[*off];
        *off += 1;
        v |= u32::from(b & 0x7f) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

/// A posting list as a bitset over slots, with the number of postings before each 64-slot word:
/// the posting of a slot is `rank[w] + popcount(bits[w] below it)` (a rank query).
#[derive(Default)]
struct Dense {
    bits: Vec<u64>,
    rank: Vec<u32>,
}

impl Dense {
    fn build(p: &Postings) -> Dense {
        let mut d = Dense::default();
        for (i, slot) in Cursor::new(p) {
            d.push(slot, i as u32);
        }
        d
    }

    /// Adds a slot above every slot in the view; `before` postings precede it.
    fn push(&mut self, slot: u32, before: u32) {
        let w = slot as usize / 64;
        while self.bits.len() <= w {
            room(&mut self.bits, 1);
            room(&mut self.rank, 1);
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

impl Postings {
    /// Appends a posting (its slot above every slot in the list) with its positions.
    fn push(&mut self, slot: u32, wtf: f32, positions: &[Pos]) {
        let i = self.n as usize;
        room(&mut self.gaps, 5);
        room(&mut self.wtf, 1);
        room(&mut self.positions, positions.len().clamp(1, MAX_POSITIONS));
        if i.is_multiple_of(SKIP) {
            room(&mut self.skips, 1);
            self.skips.push(Skip {
                base: self.last,
                gaps: self.gaps.len() as u32,
                positions: self.positions.len() as u32,
                sub: [0; SKIP / SUB - 1],
            });
        } else if i.is_multiple_of(SUB) {
            let block = &mut self.skips[i / SKIP];
            block.sub[(i % SKIP) / SUB - 1] =
                u16::try_from(self.positions.len() - block.positions as usize).unwrap_or(u16::MAX);
        }
        put_varint(&mut self.gaps, slot - self.last);
        if wtf < f32::from(BIG_WTF) {
            self.wtf.push(wtf as u8);
        } else {
            self.wtf.push(BIG_WTF);
            self.big.push((i as u32, wtf));
        }
        let kept = &positions[..positions.len().min(MAX_POSITIONS)];
        if kept.is_empty() {
            self.positions.push(NO_POSITION | LAST);
        } else {
            self.positions.extend(kept.iter().map(|p| p & !LAST));
            if let Some(end) = self.positions.last_mut() {
                *end |= LAST;
            }
        }
        self.last = slot;
        self.n += 1;
    }

    /// Posting `i`'s weighted term frequency.
    #[inline]
    fn wtf_of(&self, i: usize) -> f32 {
        match self.wtf[i] {
            BIG_WTF => self
                .big
                .binary_search_by_key(&(i as u32), |b| b.0)
                .map_or(0.0, |k| self.big[k].1),
            w => f32::from(w),
        }
    }

    /// Posting `i`'s positions (the last one flagged with [`LAST`]): from the start of its
    /// sub-block's, the postings before it are counted off by their flags.
    #[inline]
    fn positions_of(&self, i: usize) -> &[Pos] {
        let block = &self.skips[i / SKIP];
        let within = i % SKIP;
        let mut start = block.positions as usize;
        if within >= SUB {
            start += usize::from(block.sub[within / SUB - 1]);
        }
        let mut run = &self.positions[start..];
        let before = within % SUB;
        // The flags of the next 16 positions as bits, without a branch a position: the posting
        // starts after the `before`-th flag and ends at the next one.
        let mut flags = 0u32;
        for (k, p) in run.iter().take(16).enumerate() {
            flags |= u32::from(p >> 15) << k;
        }
        if flags.count_ones() as usize > before {
            let mut from = 0;
            for _ in 0..before {
                from = flags.trailing_zeros() as usize + 1;
                flags &= flags - 1;
            }
            return &run[from..=flags.trailing_zeros() as usize];
        }
        for _ in 0..before {
            let end = run
                .iter()
                .position(|p| *p & LAST != 0)
                .map_or(run.len(), |k| k + 1);
            run = &run[end..];
        }
        let len = run
            .iter()
            .position(|p| *p & LAST != 0)
            .map_or(run.len(), |k| k + 1);
        &run[..len]
    }

    /// Makes room for the list to grow `times` over (by the postings indexed so far).
    fn reserve_scaled(&mut self, times: f64) {
        fn scale<T>(v: &mut Vec<T>, times: f64) {
            let want = (v.len() as f64 * times) as usize;
            if want > v.capacity() {
                v.reserve_exact(want - v.len());
            }
        }
        scale(&mut self.gaps, times);
        scale(&mut self.wtf, times);
        scale(&mut self.skips, times);
        scale(&mut self.positions, times);
        if let Some(d) = &mut self.dense {
            scale(&mut d.bits, times);
            scale(&mut d.rank, times);
        }
    }

    /// Moves every list into an allocation of its length.
    fn repack(&mut self) {
        exact(&mut self.gaps);
        exact(&mut self.wtf);
        exact(&mut self.big);
        exact(&mut self.skips);
        exact(&mut self.positions);
        if let Some(d) = &mut self.dense {
            exact(&mut d.bits);
            exact(&mut d.rank);
        }
    }
}

/// Decodes one posting list's slots forward; jumps through the skips.
#[derive(Clone)]
struct Cursor<'a> {
    p: &'a Postings,
    /// How many postings are decoded (the index of the next one), the next one's byte offset and
    /// the slot before it.
    decoded: usize,
    off: usize,
    base: u32,
}

impl<'a> Cursor<'a> {
    fn new(p: &'a Postings) -> Cursor<'a> {
        Cursor {
            p,
            decoded: 0,
            off: 0,
            base: 0,
        }
    }

    /// Decodes the next posting and returns its slot (the current posting is then `next - 1`).
    #[inline]
    fn advance(&mut self) -> Option<u32> {
        if self.decoded >= self.p.n as usize {
            return None;
        }
        let slot = self.base + get_varint(&self.p.gaps, &mut self.off);
        self.base = slot;
        self.decoded += 1;
        Some(slot)
    }

    /// Moves to the first posting at or above `target` (never below the current one) and says
    /// whether it is `target`'s.
    #[inline]
    fn seek(&mut self, target: u32) -> bool {
        if self.decoded > 0 && self.base >= target {
            return self.base == target;
        }
        let skips = &self.p.skips;
        let from = self.decoded / SKIP + 1;
        if from < skips.len() && skips[from].base < target {
            // The last block whose base is below the target, galloping from the current one.
            let (mut lo, mut step) = (from, 1);
            let mut hi = lo + step;
            while hi < skips.len() && skips[hi].base < target {
                lo = hi;
                step *= 2;
                hi = lo + step;
            }
            let hi = hi.min(skips.len());
            let block = lo + skips[lo + 1..hi].partition_point(|s| s.base < target);
            self.decoded = block * SKIP;
            self.off = skips[block].gaps as usize;
            self.base = skips[block].base;
        }
        while let Some(slot) = self.advance() {
            if slot >= target {
                return slot == target;
            }
        }
        false
    }
}

/// `(index, slot)` of every posting, in order.
impl Iterator for Cursor<'_> {
    type Item = (usize, u32);

    #[inline]
    fn next(&mut self) -> Option<(usize, u32)> {
        let slot = self.advance()?;
        Some((self.decoded - 1, slot))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.p.n as usize - self.decoded;
        (left, Some(left))
    }
}

/// Finds postings by slot in one list, for slots asked in increasing order: a term's list
/// (through its bitset when it has one, else through its skips), or computed matches (by
/// galloping).
#[derive(Clone)]
enum Probe<'a> {
    Packed {
        cursor: Cursor<'a>,
        dense: Option<&'a Dense>,
        /// The posting found last.
        current: usize,
    },
    Slice {
        entries: &'a [(u32, f32)],
        /// The first entry not below the last slot asked, and the entry found last.
        at: usize,
        current: usize,
    },
}

impl<'a> Probe<'a> {
    fn packed(p: &'a Postings) -> Probe<'a> {
        Probe::Packed {
            cursor: Cursor::new(p),
            dense: p.dense.as_ref(),
            current: 0,
        }
    }

    fn slice(entries: &'a [(u32, f32)]) -> Probe<'a> {
        Probe::Slice {
            entries,
            at: 0,
            current: 0,
        }
    }

    fn len(&self) -> usize {
        match self {
            Probe::Packed { cursor, .. } => cursor.p.n as usize,
            Probe::Slice { entries, .. } => entries.len(),
        }
    }

    fn dense(&self) -> Option<&'a Dense> {
        match self {
            Probe::Packed { dense, .. } => *dense,
            Probe::Slice { .. } => None,
        }
    }

    /// The next posting's slot, making it the current one (for the list that drives).
    #[inline]
    fn advance(&mut self) -> Option<u32> {
        match self {
            Probe::Packed {
                cursor, current, ..
            } => {
                let slot = cursor.advance()?;
                *current = cursor.decoded - 1;
                Some(slot)
            }
            Probe::Slice {
                entries,
                at,
                current,
            } => {
                let e = entries.get(*at)?;
                *current = *at;
                *at += 1;
                Some(e.0)
            }
        }
    }

    /// Makes `slot`'s posting the current one, if it has one; `slot` is never below an earlier
    /// call's.
    #[inline]
    fn find(&mut self, slot: u32) -> bool {
        match self {
            Probe::Packed {
                cursor,
                dense,
                current,
            } => {
                let found = match dense {
                    Some(d) => d.index_of(slot),
                    None => cursor.seek(slot).then(|| cursor.decoded - 1),
                };
                if let Some(i) = found {
                    *current = i;
                }
                found.is_some()
            }
            Probe::Slice {
                entries,
                at,
                current,
            } => {
                let e = *entries;
                let mut step = 1;
                let mut hi = *at;
                while hi < e.len() && e[hi].0 < slot {
                    *at = hi + 1;
                    hi += step;
                    step *= 2;
                }
                let end = hi.min(e.len());
                *at += e[*at..end].partition_point(|p| p.0 < slot);
                let found = *at < e.len() && e[*at].0 == slot;
                if found {
                    *current = *at;
                }
                found
            }
        }
    }

    /// The current posting's weighted term frequency.
    #[inline]
    fn wtf(&self) -> f32 {
        match self {
            Probe::Packed {
                cursor, current, ..
            } => cursor.p.wtf_of(*current),
            Probe::Slice {
                entries, current, ..
            } => entries[*current].1,
        }
    }

    /// The current posting's positions (none for computed matches).
    fn positions(&self) -> &'a [Pos] {
        match self {
            Probe::Packed {
                cursor, current, ..
            } => cursor.p.positions_of(*current),
            Probe::Slice { .. } => &[],
        }
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
    /// Every slot's author names as indexed, one after another (for highlights, which would
    /// otherwise read them back from the database on every search): one block rather than one
    /// small allocation a paper, which would stay scattered between the lists as they grow.
    author_text: String,
    /// Where each slot's names end in `author_text` (they start where the slot before's end).
    author_ends: Vec<u32>,
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
            + self.postings.capacity() * std::mem::size_of::<Postings>()
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
        for p in &self.postings {
            v[0].1 += p.gaps.capacity();
            v[1].1 += p.wtf.capacity();
            v[2].1 += p.big.capacity() * 8;
            v[3].1 += p.skips.capacity() * std::mem::size_of::<Skip>();
            v[4].1 += p.positions.capacity() * 2;
            v[5].1 += p
                .dense
                .as_ref()
                .map_or(0, |d| d.bits.capacity() * 8 + d.rank.capacity() * 4);
        }
        v.push((
            "authors",
            self.author_text.capacity() + self.author_ends.capacity() * 4,
        ));
        v.push((
            "slots",
            self.slots.capacity() * std::mem::size_of::<Slot>()
                + self.slot_of.capacity() * 17
                + self.live_bits.capacity() * 8,
        ));
        v
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
        for term in order {
            let Some((wtf, positions)) = occ.remove(&term) else {
                continue;
            };
            let p = &mut self.postings[term as usize];
            let before = p.n as usize;
            p.push(slot, wtf, &positions);
            match &mut p.dense {
                Some(d) => d.push(slot, before as u32),
                None if before + 1 >= DENSE_MIN && (before + 1) * DENSE_SHARE > slot as usize => {
                    p.dense = Some(Dense::build(p));
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
        self.push_authors(&doc.fields[2]);
        self.slot_of.insert(doc.paper_id, slot);
        self.live += 1;
        self.total_len += u64::from(len);
    }

    /// Indexes a paper's current text, or takes it out when it has none (it was deleted).
    pub fn apply(&mut self, paper_id: i64, doc: Option<&DocText>) {
        match doc {
            Some(d) => self.upsert(d),
            None => self.remove(paper_id),
        }
    }

    /// Sizes every list for `papers` papers in all, from the papers indexed so far (a bulk load
    /// calls it once, early): lists grown a quarter at a time would otherwise be moved a dozen
    /// times each while the index builds, and the blocks they leave behind (as much again as
    /// the index) stay resident, scattered between the lists that live on.
    fn presize(&mut self, papers: usize) {
        let seen = self.slots.len();
        if seen == 0 || papers <= seen {
            return;
        }
        // A little over the estimate: a list that overshoots is moved once more, at its full size.
        let times = papers as f64 / seen as f64 * 1.05;
        for p in &mut self.postings {
            p.reserve_scaled(times);
        }
        let slots = (papers as f64 * 1.05) as usize;
        self.slots
            .reserve_exact(slots.saturating_sub(self.slots.len()));
        self.author_ends
            .reserve_exact(slots.saturating_sub(self.author_ends.len()));
        let text = (self.author_text.len() as f64 * times) as usize;
        self.author_text
            .reserve_exact(text.saturating_sub(self.author_text.len()));
        self.live_bits
            .reserve_exact((slots / 64 + 1).saturating_sub(self.live_bits.len()));
        self.slot_of
            .reserve(papers.saturating_sub(self.slot_of.len()));
    }

    /// Builds an index of `papers` papers from their texts, a batch at a time, as a bulk load
    /// should (the start-up build and `bench/index_mem.rs`): the lists are sized ahead after the
    /// first batch, the memory the build frees goes back to the system after every batch, and
    /// the lists end in allocations of their length.
    pub fn build(
        batches: impl IntoIterator<Item = Vec<(i64, Option<DocText>)>>,
        papers: usize,
    ) -> Index {
        let mut index = Index::default();
        for (k, batch) in batches.into_iter().enumerate() {
            for (id, doc) in batch {
                index.apply(id, doc.as_ref());
            }
            if k == 0 {
                index.presize(papers);
            }
            // The lists grown since the last batch left their old blocks behind.
            crate::alloc::give_back();
        }
        index.shrink();
        crate::alloc::give_back();
        index
    }

    /// Gives back the spare room of the posting lists (after a bulk load).
    pub fn shrink(&mut self) {
        for (k, p) in self.postings.iter_mut().enumerate() {
            p.repack();
            // The blocks just moved from go back as they are left, not all at the end.
            if k % 64 == 63 {
                crate::alloc::give_back();
            }
        }
        exact(&mut self.postings);
        exact(&mut self.slots);
        exact(&mut self.author_ends);
        if self.author_text.capacity() > self.author_text.len() {
            self.author_text = self.author_text.as_str().into();
        }
        exact(&mut self.live_bits);
        self.terms.shrink_to_fit();
        self.slot_of.shrink_to_fit();
    }

    /// The author names of an indexed paper, as indexed.
    pub fn authors_of(&self, paper_id: i64) -> Option<&str> {
        let slot = *self.slot_of.get(&paper_id)? as usize;
        let start = match slot {
            0 => 0,
            s => *self.author_ends.get(s - 1)? as usize,
        };
        let end = *self.author_ends.get(slot)? as usize;
        self.author_text.get(start..end)
    }

    /// Appends the next slot's author names.
    fn push_authors(&mut self, names: &str) {
        // Past 4 GiB of names (never in practice) a paper's are left out of its highlights.
        let end = u32::try_from(self.author_text.len() + names.len()).ok();
        if end.is_some() {
            let free = self.author_text.capacity() - self.author_text.len();
            if free < names.len() {
                self.author_text
                    .reserve_exact(names.len().max(self.author_text.len() / 4));
            }
            self.author_text.push_str(names);
        }
        let end = end.unwrap_or_else(|| self.author_ends.last().copied().unwrap_or(0));
        room(&mut self.author_ends, 1);
        self.author_ends.push(end);
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
            for (i, slot) in Cursor::new(p) {
                if slots[slot as usize].live {
                    out.push(slot, p.wtf_of(i), p.positions_of(i));
                }
            }
            if p.dense.is_some() {
                out.dense = Some(Dense::build(&out));
            }
            out.repack();
            *p = out;
        }
        // The names of live slots only (a dead slot's range becomes empty).
        let mut text = String::with_capacity(self.author_text.len());
        let mut start = 0;
        for (slot, end) in self.author_ends.iter_mut().enumerate() {
            let stop = *end as usize;
            if self.slots[slot].live {
                text.push_str(&self.author_text[start..stop]);
            }
            start = stop;
            *end = text.len() as u32;
        }
        self.author_text = text;
        self.dead = 0;
        tracing::debug!(papers = self.live, "search index compacted");
    }

    /// A term's live postings, decoded.
    fn live_matches(&self, term: u32) -> Matches<'_> {
        let p = &self.postings[term as usize];
        let mut out = Vec::with_capacity(p.n as usize);
        for (i, slot) in Cursor::new(p) {
            if self.dead == 0 || self.is_live(slot) {
                out.push((slot, p.wtf_of(i)));
            }
        }
        Cow::Owned(out)
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

    /// Calls `visit(slot, lists)` for every live slot found in all `lists`, in slot order, with
    /// the slot's posting current in each list. The shortest list drives and the others are
    /// probed; when every list has a bitset, the bitsets are intersected instead.
    fn intersect<'a>(&self, lists: &mut [Probe<'a>], mut visit: impl FnMut(u32, &[Probe<'a>])) {
        if let Some(dense) = lists.iter().map(|l| l.dense()).collect::<Option<Vec<_>>>() {
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
                    for l in lists.iter_mut() {
                        l.find(slot);
                    }
                    visit(slot, lists);
                }
            }
            return;
        }
        let Some(driver) = (0..lists.len()).min_by_key(|k| lists[*k].len()) else {
            return;
        };
        'slots: while let Some(slot) = lists[driver].advance() {
            if !self.is_live(slot) {
                continue;
            }
            for (k, list) in lists.iter_mut().enumerate() {
                if k != driver && !list.find(slot) {
                    continue 'slots;
                }
            }
            visit(slot, lists);
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
            return p.n as usize;
        }
        match &p.dense {
            Some(d) => d
                .bits
                .iter()
                .zip(&self.live_bits)
                .map(|(a, b)| (a & b).count_ones() as usize)
                .sum(),
            None => Cursor::new(p).filter(|(_, s)| self.is_live(*s)).count(),
        }
    }

    fn phrase_matches(&self, words: &[String]) -> Matches<'_> {
        let mut probes = Vec::with_capacity(words.len());
        for w in words {
            match self.term_postings(w) {
                Some(p) => probes.push(Probe::packed(p)),
                None => return Cow::Borrowed(&[]),
            }
        }
        let mut out = Vec::new();
        let mut others: Vec<&[Pos]> = Vec::with_capacity(probes.len());
        self.intersect(&mut probes, |slot, lists| {
            let mut wtf = 0.0f32;
            others.clear();
            others.extend(lists[1..].iter().map(|l| l.positions()));
            for &p in lists[0].positions() {
                let p = p & !LAST;
                // Word k of the phrase is k places on, in the same field (positions are in
                // order, the flag aside).
                let whole = (u32::from(p) & INDEX_BITS) + others.len() as u32 <= MAX_INDEX
                    && others.iter().enumerate().all(|(k, positions)| {
                        let want = p + k as Pos + 1;
                        positions
                            .binary_search_by(|q| (q & !LAST).cmp(&want))
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
                        lists.push(Probe::packed(p));
                        idfs.push(idf(self.live_df(p)));
                    }
                    None => {
                        let m = phrases.next().map_or(&[][..], |m| &m[..]);
                        lists.push(Probe::slice(m));
                        idfs.push(idf(m.len()));
                    }
                }
            }
            let excluded = self.excluded_bits(&q.excluded);
            if let ([list], None) = (lists.as_mut_slice(), &excluded) {
                // One word or phrase: every live posting is a match, in order.
                let dead = self.dead > 0;
                while let Some(s) = list.advance() {
                    if dead && !self.is_live(s) {
                        continue;
                    }
                    let slot = &self.slots[s as usize];
                    if allowed.is_none_or(|f| f(slot.paper_id)) {
                        visit(slot.paper_id, score(slot, list.wtf(), idfs[0]));
                    }
                }
                return;
            }
            self.intersect(&mut lists, |s, lists| {
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
                        total += score(slot, l.wtf(), idfs[k]);
                    }
                    visit(slot.paper_id, total);
                }
            });
            return;
        }
        let words = self.slots.len().div_ceil(64);
        // A word's list is read in place (its bitset, when it has one, marks its slots a word at
        // a time); prefixes and phrases are computed.
        enum Found<'a> {
            Term(&'a Postings),
            Computed(Matches<'a>),
        }
        let mut atoms: Vec<Found<'_>> = Vec::new();
        let mut candidates: Option<Vec<u64>> = None;
        for group in &q.groups {
            let mut bits = vec![0u64; words];
            for a in group {
                let found = match a {
                    Atom::Word {
                        word,
                        prefix: false,
                    } => match self.term_postings(word) {
                        Some(p) => Found::Term(p),
                        None => Found::Computed(Cow::Borrowed(&[])),
                    },
                    _ => Found::Computed(self.atom_matches(a)),
                };
                match &found {
                    Found::Term(p) => match &p.dense {
                        Some(d) => bits.iter_mut().zip(&d.bits).for_each(|(b, d)| *b |= d),
                        None => {
                            for (_, s) in Cursor::new(p) {
                                bits[s as usize / 64] |= 1 << (s % 64);
                            }
                        }
                    },
                    Found::Computed(m) => {
                        for (s, _) in m.iter() {
                            bits[*s as usize / 64] |= 1 << (*s % 64);
                        }
                    }
                }
                atoms.push(found);
            }
            candidates = Some(match candidates {
                None => bits,
                Some(c) => c.iter().zip(&bits).map(|(a, b)| a & b).collect(),
            });
        }
        let Some(mut candidates) = candidates else {
            return;
        };
        // Term lists still hold the postings of dead slots.
        for (w, c) in candidates.iter_mut().enumerate() {
            *c &= self.live_bits.get(w).copied().unwrap_or(0);
        }
        if let Some(excluded) = self.excluded_bits(&q.excluded) {
            for (c, x) in candidates.iter_mut().zip(excluded) {
                *c &= !x;
            }
        }
        let idfs: Vec<f64> = atoms
            .iter()
            .map(|a| match a {
                Found::Term(p) => idf(self.live_df(p)),
                Found::Computed(m) => idf(m.len()),
            })
            .collect();
        // One pass per atom adds its part of the score of every candidate into a dense array
        // (kept per thread, all zeros between queries), then one pass over the candidates.
        thread_local! {
            static SCORES: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        SCORES.with_borrow_mut(|acc| {
            if acc.len() < self.slots.len() {
                acc.resize(self.slots.len(), 0.0);
            }
            let candidate = |s: usize| candidates[s / 64] & (1 << (s % 64)) != 0;
            for (k, a) in atoms.iter().enumerate() {
                match a {
                    Found::Term(p) => {
                        for (i, s) in Cursor::new(p) {
                            let s = s as usize;
                            if candidate(s) {
                                acc[s] += score(&self.slots[s], p.wtf_of(i), idfs[k]);
                            }
                        }
                    }
                    Found::Computed(m) => {
                        for (s, tf) in m.iter() {
                            let s = *s as usize;
                            if candidate(s) {
                                acc[s] += score(&self.slots[s], *tf, idfs[k]);
                            }
                        }
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
                && i.postings.iter().any(|p| p.dense.is_none() && p.n > 20),
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
    fn sizing_ahead_and_packing_change_no_answer_and_keep_author_names() {
        let vocab: Vec<String> = (0..300).map(|i| format!("v{i}y")).collect();
        let mut rng = Lcg(7);
        let mut text = |n: usize| {
            (0..n)
                .map(|_| {
                    let r = rng.below(1 << 12) as usize;
                    vocab[(300 * r * r) >> 24].as_str()
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let docs: Vec<DocText> = (0..3_000)
            .map(|id| {
                doc(
                    id,
                    &text(5),
                    &text(40),
                    &format!("Author {id}, Other {}", id * 7),
                )
            })
            .collect();
        let mut plain = Index::default();
        for d in &docs {
            plain.upsert(d);
        }
        let batches = docs
            .chunks(150)
            .map(|b| b.iter().map(|d| (d.paper_id, Some(d.clone()))).collect());
        let mut sized = Index::build(batches, docs.len());
        assert!(
            sized.approx_bytes() <= plain.approx_bytes(),
            "a packed index holds no more than one grown a list at a time"
        );
        let same = |a: &Index, b: &Index| {
            for q in [
                "v0y",
                "v1y v2y",
                "\"v0y v1y\"",
                "v3y -v0y",
                "v29y v1y v0y",
                "v299y",
            ] {
                let q = SearchQuery::parse(q).unwrap();
                let mut x = Vec::new();
                a.evaluate(&q, None, |id, s| x.push((id, s)));
                let mut y = Vec::new();
                b.evaluate(&q, None, |id, s| y.push((id, s)));
                assert_eq!(x, y);
            }
            for id in 0..3_000 {
                assert_eq!(a.authors_of(id), b.authors_of(id));
            }
        };
        same(&plain, &sized);
        assert_eq!(sized.authors_of(42), Some("Author 42, Other 294"));
        // Enough removals and replacements to compact both (dead slots over a quarter).
        for id in (0..3_000).step_by(2) {
            sized.remove(id);
            plain.remove(id);
        }
        for id in (1..3_000).step_by(4) {
            let d = doc(id, "renamed", "text", &format!("New {id}"));
            sized.upsert(&d);
            plain.upsert(&d);
        }
        assert!(sized.dead < 1_500, "the test needs a compaction");
        assert_eq!(sized.dead, plain.dead);
        same(&plain, &sized);
        assert_eq!(sized.authors_of(42), None);
        assert_eq!(sized.authors_of(43), Some("Author 43, Other 301"));
        assert_eq!(sized.authors_of(45), Some("New 45"));
        assert_eq!(ids(&sized, "renamed").len(), 100);
    }

    #[test]
    fn slots_are_found_by_seeking_through_the_skips() {
        // Gaps of one to several varint bytes, over many skip blocks.
        let mut rng = Lcg(7);
        let mut p = Postings::default();
        let mut slots = Vec::new();
        let mut slot = 0u32;
        for i in 0..1_000u32 {
            slot += match i % 4 {
                0 => 1,
                1 => 1 + rng.below(100) as u32,
                2 => 200 + rng.below(20_000) as u32,
                _ => 3_000_000 + rng.below(100) as u32,
            };
            slots.push(slot);
            p.push(slot, (i % 300) as f32, &[(i % 5) as Pos]);
        }
        let mut c = Cursor::new(&p);
        let decoded: Vec<u32> = std::iter::from_fn(|| c.advance()).collect();
        assert_eq!(decoded, slots);
        // Every posting, every third, the first of every block, the last of every fifth, and more.
        for (first, step) in [(0, 1), (0, 3), (0, 64), (SKIP - 1, 5 * SKIP), (0, 200)] {
            let mut c = Cursor::new(&p);
            for (i, s) in slots.iter().enumerate().skip(first).step_by(step) {
                // A slot missing from the list is passed over, then the slot itself is found.
                if first == 0 && i > 0 && slots[i - 1] + 1 < *s {
                    assert!(!c.seek(s - 1), "slot {} is not in the list", s - 1);
                }
                assert!(c.seek(*s), "slot {s} (posting {i}, step {step})");
                assert_eq!(c.decoded - 1, i);
                assert_eq!(p.wtf_of(i), (i % 300) as f32);
                assert_eq!(p.positions_of(i), &[(i % 5) as Pos | LAST]);
            }
            assert!(!c.seek(slot + 1));
        }
    }

    #[test]
    fn a_frequency_past_one_byte_is_kept_exactly() {
        // A title word 10 times counts 100; 30 times, 300 (past the byte, kept on the side).
        let mut i = Index::default();
        i.upsert(&doc(1, &"word ".repeat(10), "x", ""));
        i.upsert(&doc(2, &"word ".repeat(30), "x", ""));
        i.upsert(&doc(3, &"word ".repeat(26), "x", ""));
        let p = i.term_postings("word").unwrap();
        assert_eq!(
            (0..3).map(|k| p.wtf_of(k)).collect::<Vec<_>>(),
            vec![100.0, 300.0, 260.0]
        );
        assert_eq!(p.big.len(), 2);
        assert_eq!(ids(&i, "word"), vec![2, 3, 1]);
    }

    #[test]
    fn a_word_past_the_last_kept_position_is_found_but_not_as_a_phrase() {
        // An author list longer than positions reach: its last names are found as words.
        let mut authors = "name ".repeat(MAX_INDEX as usize + 10);
        authors.push_str("zeta omega");
        let mut i = Index::default();
        i.upsert(&doc(1, "t", "zeta alone", &authors));
        i.upsert(&doc(2, "t", "x", "zeta omega"));
        assert_eq!(ids(&i, "omega"), vec![2, 1]);
        let mut both = ids(&i, "zeta omega");
        both.sort_unstable();
        assert_eq!(both, vec![1, 2]);
        assert_eq!(ids(&i, "\"zeta omega\""), vec![2]);
        // Words within reach keep their positions.
        assert_eq!(ids(&i, "\"name name\""), vec![1]);
        assert_eq!(ids(&i, "\"zeta alone\""), vec![1]);
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
