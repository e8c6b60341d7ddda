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
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::domain::search::{Atom, SearchQuery};
pub use crate::repo::search_source::DocText;

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

/// One term's postings in the open segment, as growing lists, ordered by slot. Slots are kept
/// as varint gaps (about one byte a posting, against four), the weighted term frequency in one
/// byte (against four), and the positions two bytes each, the last of a posting flagged: a
/// posting's frequency is found by its index in O(1), its slot is decoded from the nearest skip
/// entry, and its positions are counted off from the start of its sub-block's. A frozen
/// [`Segment`] keeps the same lists back to back; both are read through a [`List`].
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
    /// For a term found in many papers of the segment: its slots as a bitset, so that a
    /// conjunction finds a slot's posting in O(1) instead of merging whole lists.
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

/// A term is given a [`Dense`] view once it is in at least one paper in `DENSE_SHARE` of its
/// segment (the view then costs at most 3/8 of its postings' memory) and in `DENSE_MIN` papers.
const DENSE_SHARE: usize = 16;
const DENSE_MIN: usize = 256;

/// Papers per frozen segment: the open segment is frozen when it holds this many (a bulk load
/// then holds at most one segment's lists in growing vectors, and a frozen segment's arrays are
/// large enough that the allocator gives them exactly their size). On the 100,000-paper harness
/// the build peaks at 138 MB with segments of 16,000, 131 with 8,000 and 4,000 (122 after).
const SEGMENT_PAPERS: usize = 8_000;

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

/// Whether a list of `len` items in room for `capacity` has over an eighth of its length spare.
fn loose(capacity: usize, len: usize) -> bool {
    capacity - len > len / 8
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

/// A posting list as a bitset over the slots of its segment, from 64-slot word `first` on, with
/// the number of postings before each word: the posting of a slot is
/// `rank[w] + popcount(bits[w] below it)` (a rank query).
#[derive(Default)]
struct Dense {
    first: u32,
    bits: Vec<u64>,
    rank: Vec<u32>,
}

impl Dense {
    fn build(list: List<'_>, first: u32) -> Dense {
        let mut d = Dense {
            first,
            ..Dense::default()
        };
        for (i, slot) in Cursor::new(list) {
            d.push(slot, i as u32);
        }
        d
    }

    /// Adds a slot above every slot in the view; `before` postings precede it.
    fn push(&mut self, slot: u32, before: u32) {
        let w = (slot / 64 - self.first) as usize;
        while self.bits.len() <= w {
            room(&mut self.bits, 1);
            room(&mut self.rank, 1);
            self.bits.push(0);
            self.rank.push(before);
        }
        self.bits[w] |= 1 << (slot % 64);
    }

    fn view(&self) -> DenseRef<'_> {
        DenseRef {
            first: self.first,
            bits: &self.bits,
            rank: &self.rank,
        }
    }
}

/// A [`Dense`] view, borrowed (from the open segment's lists or a frozen segment's arrays).
#[derive(Clone, Copy)]
struct DenseRef<'a> {
    first: u32,
    bits: &'a [u64],
    rank: &'a [u32],
}

impl DenseRef<'_> {
    /// The 64-slot words `[start, end)` the view covers.
    fn words(&self) -> (usize, usize) {
        let first = self.first as usize;
        (first, first + self.bits.len())
    }

    /// Word `w` of the bitset (a word the view covers).
    #[inline]
    fn word(&self, w: usize) -> u64 {
        self.bits[w - self.first as usize]
    }

    /// The index of `slot`'s posting, if it has one.
    #[inline]
    fn index_of(&self, slot: u32) -> Option<usize> {
        let w = (slot / 64).checked_sub(self.first)? as usize;
        let word = *self.bits.get(w)?;
        let bit = 1u64 << (slot % 64);
        (word & bit != 0).then(|| self.rank[w] as usize + (word & (bit - 1)).count_ones() as usize)
    }
}

/// One term's postings in one segment, borrowed: the layout of [`Postings`], whether its lists
/// are the open segment's vectors or slices of a frozen segment's arrays.
#[derive(Clone, Copy)]
struct List<'a> {
    n: u32,
    gaps: &'a [u8],
    wtf: &'a [u8],
    big: &'a [(u32, f32)],
    skips: &'a [Skip],
    positions: &'a [Pos],
    dense: Option<DenseRef<'a>>,
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

    fn list(&self) -> List<'_> {
        List {
            n: self.n,
            gaps: &self.gaps,
            wtf: &self.wtf,
            big: &self.big,
            skips: &self.skips,
            positions: &self.positions,
            dense: self.dense.as_ref().map(Dense::view),
        }
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

    fn heap_bytes(&self) -> [usize; 6] {
        [
            self.gaps.capacity(),
            self.wtf.capacity(),
            self.big.capacity() * std::mem::size_of::<(u32, f32)>(),
            self.skips.capacity() * std::mem::size_of::<Skip>(),
            self.positions.capacity() * std::mem::size_of::<Pos>(),
            self.dense
                .as_ref()
                .map_or(0, |d| d.bits.capacity() * 8 + d.rank.capacity() * 4),
        ]
    }
}

impl<'a> List<'a> {
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
    fn positions_of(&self, i: usize) -> &'a [Pos] {
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
}

/// Decodes one posting list's slots forward: from its gaps (jumping through the skips), or, for
/// a list with a bitset, from the bitset (a frozen segment keeps no gaps for such a list).
#[derive(Clone)]
struct Cursor<'a> {
    list: List<'a>,
    /// How many postings are decoded (the index of the next one), the next one's byte offset and
    /// the slot before it.
    decoded: usize,
    off: usize,
    base: u32,
    /// Through a bitset: the word being read (from the bitset's first) and its bits not read yet.
    word: usize,
    left: u64,
}

impl<'a> Cursor<'a> {
    fn new(list: List<'a>) -> Cursor<'a> {
        Cursor {
            list,
            decoded: 0,
            off: 0,
            base: 0,
            word: 0,
            left: list
                .dense
                .and_then(|d| d.bits.first().copied())
                .unwrap_or(0),
        }
    }

    /// Decodes the next posting and returns its slot (the current posting is then `next - 1`).
    #[inline]
    fn advance(&mut self) -> Option<u32> {
        if self.decoded >= self.list.n as usize {
            return None;
        }
        let slot = match self.list.dense {
            Some(d) => {
                // A posting is left, so a bit is.
                while self.left == 0 {
                    self.word += 1;
                    self.left = d.bits[self.word];
                }
                let slot = (d.first as usize + self.word) as u32 * 64 + self.left.trailing_zeros();
                self.left &= self.left - 1;
                slot
            }
            None => self.base + get_varint(self.list.gaps, &mut self.off),
        };
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
        if let Some(d) = self.list.dense {
            // Straight to the target's word, its bits below the target dropped; the postings
            // before are the word's rank and the bits dropped.
            let Some(w) = (target / 64).checked_sub(d.first) else {
                return self.advance() == Some(target);
            };
            let w = w as usize;
            if w >= d.bits.len() {
                self.decoded = self.list.n as usize;
                return false;
            }
            if w > self.word {
                self.word = w;
                self.left = d.bits[w];
            }
            self.left &= !((1u64 << (target % 64)) - 1);
            self.decoded = d.rank[w] as usize + (d.bits[w] & !self.left).count_ones() as usize;
        } else {
            let skips = self.list.skips;
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
        let left = self.list.n as usize - self.decoded;
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
        dense: Option<DenseRef<'a>>,
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
    fn packed(list: List<'a>) -> Probe<'a> {
        Probe::Packed {
            cursor: Cursor::new(list),
            dense: list.dense,
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
            Probe::Packed { cursor, .. } => cursor.list.n as usize,
            Probe::Slice { entries, .. } => entries.len(),
        }
    }

    fn dense(&self) -> Option<DenseRef<'a>> {
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
            } => cursor.list.wtf_of(*current),
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
            } => cursor.list.positions_of(*current),
            Probe::Slice { .. } => &[],
        }
    }
}

/// Matches of one atom: `(slot, weighted tf)` ordered by slot.
type Matches<'a> = Cow<'a, [(u32, f32)]>;

/// Where one term's lists start in a frozen segment's arrays (they end where the next term's
/// start).
#[derive(Clone, Copy, Default)]
struct Starts {
    gaps: u32,
    /// Postings before the term's (where its frequencies start).
    wtf: u32,
    big: u32,
    skips: u32,
    positions: u32,
    /// Bitset words before the term's (and rank counts).
    bits: u32,
}

/// The lists of every term found in the papers of slots `[lo, hi)`, back to back in one array
/// per kind, each allocated once at its exact size: lists grown one by one leave behind the
/// allocator's rounding and the blocks they grew out of (on the 100,000-paper harness, about a
/// quarter more resident memory than their bytes). A frozen segment is only read; papers
/// replaced or removed leave dead slots in it until a compaction rebuilds it.
#[derive(Default)]
struct Segment {
    lo: u32,
    hi: u32,
    /// The terms with postings here, ascending, and where their lists start (with one more
    /// entry, where the last term's end).
    terms: Vec<u32>,
    starts: Vec<Starts>,
    /// Every term's lists back to back (`n` and `last` unused), the bitsets from word `lo / 64`.
    all: Postings,
}

impl Segment {
    /// Moves `lists` (the postings of slots `[lo, hi)`, by term) into a frozen segment, a term at
    /// a time, giving back the memory of the lists moved as it goes.
    fn freeze(mut lists: HashMap<u32, Postings>, lo: u32, hi: u32) -> Segment {
        let mut terms: Vec<u32> = lists
            .iter()
            .filter(|(_, p)| p.n > 0)
            .map(|(t, _)| *t)
            .collect();
        terms.sort_unstable();
        let total = |f: fn(&Postings) -> usize| lists.values().map(f).sum::<usize>();
        let dense = |p: &Postings| p.dense.as_ref().map_or(0, |d| d.bits.len());
        let all = Postings {
            gaps: Vec::with_capacity(total(|p| if p.dense.is_none() { p.gaps.len() } else { 0 })),
            wtf: Vec::with_capacity(total(|p| p.wtf.len())),
            big: Vec::with_capacity(total(|p| p.big.len())),
            skips: Vec::with_capacity(total(|p| p.skips.len())),
            positions: Vec::with_capacity(total(|p| p.positions.len())),
            dense: Some(Dense {
                first: lo / 64,
                bits: Vec::with_capacity(lists.values().map(dense).sum()),
                rank: Vec::with_capacity(lists.values().map(dense).sum()),
            }),
            ..Postings::default()
        };
        let mut s = Segment {
            lo,
            hi,
            terms: Vec::new(),
            starts: Vec::with_capacity(terms.len() + 1),
            all,
        };
        let mut moved = 0;
        for t in &terms {
            let Some(p) = lists.remove(t) else {
                continue;
            };
            s.starts.push(s.end());
            let all = &mut s.all;
            // A list with a bitset is read through it: its gaps would say the same again.
            if p.dense.is_none() {
                all.gaps.extend_from_slice(&p.gaps);
            }
            all.wtf.extend_from_slice(&p.wtf);
            all.big.extend_from_slice(&p.big);
            all.skips.extend_from_slice(&p.skips);
            all.positions.extend_from_slice(&p.positions);
            if let (Some(d), Some(to)) = (&p.dense, &mut all.dense) {
                to.bits.extend_from_slice(&d.bits);
                to.rank.extend_from_slice(&d.rank);
            }
            moved += p.heap_bytes().iter().sum::<usize>();
            drop(p);
            // The lists moved from go back as they are left, not all at the end.
            if moved > 4 << 20 {
                crate::alloc::give_back();
                moved = 0;
            }
        }
        s.starts.push(s.end());
        s.terms = terms;
        s
    }

    fn end(&self) -> Starts {
        let all = &self.all;
        Starts {
            gaps: all.gaps.len() as u32,
            wtf: all.wtf.len() as u32,
            big: all.big.len() as u32,
            skips: all.skips.len() as u32,
            positions: all.positions.len() as u32,
            bits: all.dense.as_ref().map_or(0, |d| d.bits.len()) as u32,
        }
    }

    /// The lists of the `k`-th term of the segment.
    fn list_at(&self, k: usize) -> List<'_> {
        let (a, b) = (self.starts[k], self.starts[k + 1]);
        let r = |x: u32, y: u32| x as usize..y as usize;
        let all = &self.all;
        // `big` keeps each posting's index within its own list.
        List {
            n: b.wtf - a.wtf,
            gaps: &all.gaps[r(a.gaps, b.gaps)],
            wtf: &all.wtf[r(a.wtf, b.wtf)],
            big: &all.big[r(a.big, b.big)],
            skips: &all.skips[r(a.skips, b.skips)],
            positions: &all.positions[r(a.positions, b.positions)],
            dense: all
                .dense
                .as_ref()
                .filter(|_| b.bits > a.bits)
                .map(|d| DenseRef {
                    first: d.first,
                    bits: &d.bits[r(a.bits, b.bits)],
                    rank: &d.rank[r(a.bits, b.bits)],
                }),
        }
    }

    fn list(&self, term: u32) -> Option<List<'_>> {
        let k = self.terms.binary_search(&term).ok()?;
        Some(self.list_at(k))
    }
}

/// `list` without the postings of dead slots (`None` when none is left); a list with a bitset
/// keeps one, from 64-slot word `first`.
fn without_dead(list: List<'_>, live: impl Fn(u32) -> bool, first: u32) -> Option<Postings> {
    let mut out = Postings::default();
    for (i, slot) in Cursor::new(list) {
        if live(slot) {
            out.push(slot, list.wtf_of(i), list.positions_of(i));
        }
    }
    if out.n == 0 {
        return None;
    }
    if list.dense.is_some() {
        out.dense = Some(Dense::build(out.list(), first));
    }
    Some(out)
}

/// A segment of the index, to read: a frozen one or the open one (slots from `lo` on).
#[derive(Clone, Copy)]
enum Part<'a> {
    Frozen(&'a Segment),
    Open {
        lists: &'a HashMap<u32, Postings>,
        lo: u32,
    },
}

impl<'a> Part<'a> {
    /// A term's postings in this segment, if it has some.
    fn list(self, term: u32) -> Option<List<'a>> {
        match self {
            Part::Frozen(s) => s.list(term),
            Part::Open { lists, .. } => lists.get(&term).filter(|p| p.n > 0).map(Postings::list),
        }
    }

    /// The slots `[lo, hi)` of the segment.
    fn range(self) -> (u32, u32) {
        match self {
            Part::Frozen(s) => (s.lo, s.hi),
            Part::Open { lo, .. } => (lo, u32::MAX),
        }
    }
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
            author_text: String::new(),
            author_ends: Vec::new(),
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
        self.push_authors(&doc.fields[2]);
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
        if loose(self.author_ends.capacity(), self.author_ends.len()) {
            exact(&mut self.author_ends);
        }
        if loose(self.author_text.capacity(), self.author_text.len()) {
            self.author_text = self.author_text.as_str().into();
        }
        if loose(self.live_bits.capacity(), self.live_bits.len()) {
            exact(&mut self.live_bits);
        }
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
        let mut out = Vec::new();
        for list in self.parts().filter_map(|part| part.list(term)) {
            out.reserve(list.n as usize);
            for (i, slot) in Cursor::new(list) {
                if self.dead == 0 || self.is_live(slot) {
                    out.push((slot, list.wtf_of(i)));
                }
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
            // The words every bitset covers (they all cover one segment's slots).
            let start = dense.iter().map(|d| d.words().0).max().unwrap_or(0);
            let end = dense
                .iter()
                .map(|d| d.words().1)
                .min()
                .unwrap_or(0)
                .min(self.live_bits.len());
            for w in start..end {
                let mut bits = dense
                    .iter()
                    .fold(self.live_bits[w], |acc, d| acc & d.word(w));
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

    /// The term of a word (not a prefix), if the index has it.
    fn term_of(&self, word: &str) -> Option<u32> {
        self.terms.get(&stem(&fold(word))).copied()
    }

    /// How many live papers have a posting of `term`.
    fn live_df(&self, term: u32) -> usize {
        self.parts()
            .filter_map(|part| part.list(term))
            .map(|list| {
                if self.dead == 0 {
                    return list.n as usize;
                }
                match list.dense {
                    Some(d) => {
                        let (start, end) = d.words();
                        (start..end.min(self.live_bits.len()))
                            .map(|w| (d.word(w) & self.live_bits[w]).count_ones() as usize)
                            .sum()
                    }
                    None => Cursor::new(list).filter(|(_, s)| self.is_live(*s)).count(),
                }
            })
            .sum()
    }

    fn phrase_matches(&self, words: &[String]) -> Matches<'_> {
        let Some(terms) = words
            .iter()
            .map(|w| self.term_of(w))
            .collect::<Option<Vec<_>>>()
        else {
            return Cow::Borrowed(&[]);
        };
        let mut out = Vec::new();
        let mut others: Vec<&[Pos]> = Vec::with_capacity(terms.len());
        for part in self.parts() {
            let Some(mut probes) = terms
                .iter()
                .map(|t| part.list(*t).map(Probe::packed))
                .collect::<Option<Vec<_>>>()
            else {
                continue;
            };
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
        }
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
        // Every group one word or phrase (no OR, no prefix): intersect their postings, a
        // segment at a time.
        if conjunctions
            && q.groups.iter().all(|g| {
                matches!(
                    g.as_slice(),
                    [Atom::Word { prefix: false, .. }] | [Atom::Phrase(_)]
                )
            })
        {
            enum Group<'m> {
                Term(u32),
                Phrase(Matches<'m>),
            }
            let mut groups = Vec::with_capacity(q.groups.len());
            let mut idfs = Vec::with_capacity(q.groups.len());
            for g in &q.groups {
                match &g[0] {
                    Atom::Word { word, .. } => match self.term_of(word) {
                        Some(t) => {
                            idfs.push(idf(self.live_df(t)));
                            groups.push(Group::Term(t));
                        }
                        None => return,
                    },
                    phrase => {
                        let m = self.atom_matches(phrase);
                        if m.is_empty() {
                            return;
                        }
                        idfs.push(idf(m.len()));
                        groups.push(Group::Phrase(m));
                    }
                }
            }
            let excluded = self.excluded_bits(&q.excluded);
            for part in self.parts() {
                let (lo, hi) = part.range();
                let Some(mut lists) = groups
                    .iter()
                    .map(|g| match g {
                        Group::Term(t) => part.list(*t).map(Probe::packed),
                        Group::Phrase(m) => {
                            let from = m.partition_point(|e| e.0 < lo);
                            let to = m.partition_point(|e| e.0 < hi);
                            (from < to).then(|| Probe::slice(&m[from..to]))
                        }
                    })
                    .collect::<Option<Vec<_>>>()
                else {
                    continue;
                };
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
                    continue;
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
            }
            return;
        }
        let words = self.slots.len().div_ceil(64);
        // A word's lists are read in place (a bitset, when a segment has one, marks its slots a
        // word at a time); prefixes and phrases are computed.
        enum Found<'a> {
            Term(u32),
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
                    } => match self.term_of(word) {
                        Some(t) => Found::Term(t),
                        None => Found::Computed(Cow::Borrowed(&[])),
                    },
                    _ => Found::Computed(self.atom_matches(a)),
                };
                match &found {
                    Found::Term(t) => {
                        for list in self.parts().filter_map(|part| part.list(*t)) {
                            match list.dense {
                                Some(d) => {
                                    let (start, _) = d.words();
                                    for (b, word) in bits[start..].iter_mut().zip(d.bits) {
                                        *b |= word;
                                    }
                                }
                                None => {
                                    for (_, s) in Cursor::new(list) {
                                        bits[s as usize / 64] |= 1 << (s % 64);
                                    }
                                }
                            }
                        }
                    }
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
                Found::Term(t) => idf(self.live_df(*t)),
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
                    Found::Term(t) => {
                        for list in self.parts().filter_map(|part| part.list(*t)) {
                            for (i, s) in Cursor::new(list) {
                                let s = s as usize;
                                if candidate(s) {
                                    acc[s] += score(&self.slots[s], list.wtf_of(i), idfs[k]);
                                }
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

    /// Every term's list in every segment.
    fn lists(i: &Index) -> Vec<List<'_>> {
        i.parts()
            .flat_map(|part| (0..i.terms() as u32).filter_map(move |t| part.list(t)))
            .collect()
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
        // One index in one open segment, the same papers cut into segments of 700.
        let mut i = Index::default();
        let mut cut = Index {
            segment_papers: 700,
            ..Index::default()
        };
        for id in 0..4_000 {
            let (t, a) = (text(&mut rng, 4), text(&mut rng, 30));
            i.upsert(&doc(id, &t, &a, ""));
            cut.upsert(&doc(id, &t, &a, ""));
        }
        for id in (0..4_000).step_by(7) {
            let (t, a) = (text(&mut rng, 4), text(&mut rng, 30));
            i.upsert(&doc(id, &t, &a, ""));
            cut.upsert(&doc(id, &t, &a, ""));
        }
        for id in (0..4_000).step_by(11) {
            i.remove(id);
            cut.remove(id);
        }
        assert!(i.dead > 0, "the test needs dead slots");
        assert!(
            lists(&i).iter().any(|l| l.dense.is_some())
                && lists(&i).iter().any(|l| l.dense.is_none() && l.n > 20),
            "the test needs both kinds of list"
        );
        assert!(
            cut.frozen.len() >= 4 && lists(&cut).iter().any(|l| l.dense.is_some()),
            "the test needs several segments"
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
                // Segments change nothing: the same matches with the same scores.
                for conjunctions in [true, false] {
                    let mut segmented = Vec::new();
                    cut.evaluate_by(&q, filter, |id, s| segmented.push((id, s)), conjunctions);
                    segmented.sort_by_key(|h| h.0);
                    assert_eq!(segmented, fast, "{text}, cut into segments");
                }
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
        let mut sized = Index::build(batches.clone(), docs.len());
        assert!(
            sized.approx_bytes() <= plain.approx_bytes(),
            "a packed index holds no more than one grown a list at a time"
        );
        assert_eq!((sized.frozen.len(), sized.open.len()), (1, 0));
        // The same load cut into segments of 400 papers: 7 frozen, none open.
        let small = Index {
            segment_papers: 400,
            ..Index::default()
        };
        let mut cut = Index::build_into(small, batches, docs.len());
        assert_eq!((cut.frozen.len(), cut.open.len()), (8, 0));
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
        same(&plain, &cut);
        assert_eq!(sized.authors_of(42), Some("Author 42, Other 294"));
        // Enough removals and replacements to compact both (dead slots over a quarter).
        for id in (0..3_000).step_by(2) {
            sized.remove(id);
            plain.remove(id);
            cut.remove(id);
        }
        for id in (1..3_000).step_by(4) {
            let d = doc(id, "renamed", "text", &format!("New {id}"));
            sized.upsert(&d);
            plain.upsert(&d);
            cut.upsert(&d);
        }
        assert!(sized.dead < 1_500, "the test needs a compaction");
        assert_eq!(sized.dead, plain.dead);
        assert_eq!(cut.dead, plain.dead);
        same(&plain, &sized);
        same(&plain, &cut);
        assert_eq!(sized.authors_of(42), None);
        assert_eq!(sized.authors_of(43), Some("Author 43, Other 301"));
        assert_eq!(sized.authors_of(45), Some("New 45"));
        assert_eq!(ids(&sized, "renamed").len(), 100);
    }

    #[test]
    fn a_segment_left_without_papers_is_dropped_and_the_others_still_answer() {
        let mut i = Index {
            segment_papers: 100,
            ..Index::default()
        };
        for id in 0..1_500 {
            let title = format!("common t{} alpha beta", id % 7);
            i.upsert(&doc(id, &title, "gamma", &format!("Name{id}")));
        }
        assert_eq!((i.frozen.len(), i.open_lo), (15, 1_500));
        // The first 1,200 papers go: at the 1,001st (past 1,000 dead slots and a quarter of the
        // live ones) a compaction drops the 10 segments left empty and rebuilds the partly dead
        // one; the next 199 stay dead slots.
        for id in 0..1_200 {
            i.remove(id);
        }
        assert_eq!(i.dead, 199, "the test needs a compaction");
        assert_eq!(i.frozen.len(), 5);
        assert_eq!(i.frozen[0].lo, 1_000);
        assert_eq!(i.len(), 300);
        let q = SearchQuery::parse("common").unwrap();
        let mut found = Vec::new();
        i.evaluate(&q, None, |id, _| found.push(id));
        found.sort_unstable();
        assert_eq!(found, (1_200..1_500).collect::<Vec<_>>());
        let mut t3 = ids(&i, "\"t3 alpha\" gamma");
        t3.sort_unstable();
        let want: Vec<i64> = (1_200..1_500).filter(|id| id % 7 == 3).collect();
        assert_eq!(t3, want);
        assert_eq!(ids(&i, "name1499"), vec![1_499]);
        assert!(ids(&i, "name1199").is_empty());
        // Later papers open a segment of their own and are found with the rest.
        for id in 2_000..2_150 {
            i.upsert(&doc(id, "common late", "gamma", ""));
        }
        assert_eq!(ids(&i, "late common").len(), 100);
        let q = SearchQuery::parse("common gamma").unwrap();
        assert_eq!(page(&i, &q, None, 10).total, 450);
    }

    /// A list of `n` postings, the slot of posting `i` `step(i)` past the one before (the first
    /// past `from`), with frequency `i % 300` and the one position `i % 5`; and its slots.
    fn postings(from: u32, n: u32, mut step: impl FnMut(u32) -> u32) -> (Postings, Vec<u32>) {
        let mut p = Postings::default();
        let mut slots = Vec::new();
        let mut slot = from;
        for i in 0..n {
            slot += step(i);
            slots.push(slot);
            p.push(slot, (i % 300) as f32, &[(i % 5) as Pos]);
        }
        (p, slots)
    }

    #[test]
    fn slots_are_found_by_seeking_through_the_skips() {
        // Gaps of one to several varint bytes, over many skip blocks.
        let mut rng = Lcg(7);
        let (p, slots) = postings(0, 1_000, |i| match i % 4 {
            0 => 1,
            1 => 1 + rng.below(100) as u32,
            2 => 200 + rng.below(20_000) as u32,
            _ => 3_000_000 + rng.below(100) as u32,
        });
        let slot = slots[slots.len() - 1];
        let list = p.list();
        let mut c = Cursor::new(list);
        let decoded: Vec<u32> = std::iter::from_fn(|| c.advance()).collect();
        assert_eq!(decoded, slots);
        // Every posting, every third, the first of every block, the last of every fifth, and more.
        for (first, step) in [(0, 1), (0, 3), (0, 64), (SKIP - 1, 5 * SKIP), (0, 200)] {
            let mut c = Cursor::new(list);
            for (i, s) in slots.iter().enumerate().skip(first).step_by(step) {
                // A slot missing from the list is passed over, then the slot itself is found.
                if first == 0 && i > 0 && slots[i - 1] + 1 < *s {
                    assert!(!c.seek(s - 1), "slot {} is not in the list", s - 1);
                }
                assert!(c.seek(*s), "slot {s} (posting {i}, step {step})");
                assert_eq!(c.decoded - 1, i);
                assert_eq!(list.wtf_of(i), (i % 300) as f32);
                assert_eq!(list.positions_of(i), &[(i % 5) as Pos | LAST]);
            }
            assert!(!c.seek(slot + 1));
        }
    }

    #[test]
    fn a_list_with_a_bitset_is_read_through_it_without_its_gaps() {
        // Runs of near slots and stretches of whole empty words, from word 3 on.
        let mut rng = Lcg(11);
        let (p, slots) = postings(200, 3_000, |i| {
            1 + rng.below(if i % 500 < 250 { 3 } else { 300 }) as u32
        });
        let slot = slots[slots.len() - 1];
        let dense = Dense::build(p.list(), 3);
        let gapless = List {
            gaps: &[],
            dense: Some(dense.view()),
            ..p.list()
        };
        let decoded: Vec<(usize, u32)> = Cursor::new(gapless).collect();
        assert_eq!(
            decoded,
            slots.iter().copied().enumerate().collect::<Vec<_>>()
        );
        // Seeking lands where seeking through the gaps does, for slots in the list or not,
        // before the first, past the last.
        for step in [1, 2, 7, 64, 333] {
            let mut gaps = Cursor::new(p.list());
            let mut bits = Cursor::new(gapless);
            let mut target = 0;
            while target <= slot + 200 {
                assert_eq!(bits.seek(target), gaps.seek(target), "seek {target}");
                assert_eq!(bits.decoded, gaps.decoded, "seek {target}, step {step}");
                target += step;
            }
        }
    }

    #[test]
    fn a_frequency_past_one_byte_is_kept_exactly() {
        // A title word 10 times counts 100; 30 times, 300 (past the byte, kept on the side).
        let mut i = Index::default();
        i.upsert(&doc(1, &"word ".repeat(10), "x", ""));
        i.upsert(&doc(2, &"word ".repeat(30), "x", ""));
        i.upsert(&doc(3, &"word ".repeat(26), "x", ""));
        let p = i.open[&i.term_of("word").unwrap()].list();
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
