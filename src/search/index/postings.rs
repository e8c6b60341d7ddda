//! One term's postings in one segment: varint slot gaps with skips, one-byte weighted term
//! frequencies, two-byte positions, and a bitset view for frequent terms.
use super::*;
/// One term's postings in the open segment, as growing lists, ordered by slot. Slots are kept
/// as varint gaps (about one byte a posting, against four), the weighted term frequency in one
/// byte (against four), and the positions two bytes each, the last of a posting flagged: a
/// posting's frequency is found by its index in O(1), its slot is decoded from the nearest skip
/// entry, and its positions are counted off from the start of its sub-block's. A frozen
/// [`Segment`] keeps the same lists back to back; both are read through a [`List`].
#[derive(Default)]
pub(super) struct Postings {
    /// Postings in the list.
    pub(super) n: u32,
    /// The slot of the last posting (the base of the next gap).
    pub(super) last: u32,
    /// Each posting's slot as its gap from the previous one (the first from 0), as a varint.
    pub(super) gaps: Vec<u8>,
    /// Each posting's weighted term frequency (the sum of the field weights of its
    /// occurrences, a whole number); [`BIG_WTF`] means it is in `big` instead.
    pub(super) wtf: Vec<u8>,
    /// `(index, frequency)` of postings whose frequency does not fit below [`BIG_WTF`].
    pub(super) big: Vec<(u32, f32)>,
    /// Per block of [`SKIP`] postings: the slot before the block (the base of its first gap,
    /// 0 for the first block), where the block's gaps start, and where its positions and its
    /// sub-blocks' positions start.
    pub(super) skips: Vec<Skip>,
    /// Every posting's positions in turn, at least one each, the last one of each with [`LAST`].
    pub(super) positions: Vec<Pos>,
    /// For a term found in many papers of the segment: its slots as a bitset, so that a
    /// conjunction finds a slot's posting in O(1) instead of merging whole lists.
    pub(super) dense: Option<Dense>,
}

#[derive(Clone, Copy, Default)]
pub(super) struct Skip {
    pub(super) base: u32,
    pub(super) gaps: u32,
    pub(super) positions: u32,
    /// Where the positions of the block's postings 8, 16, ... 56 start, from `positions`
    /// (so that a posting's positions are counted off from at most 7 postings before it).
    pub(super) sub: [u16; SKIP / SUB - 1],
}

/// Postings per sub-block of a skip block (see [`Skip::sub`]).
pub(super) const SUB: usize = 8;

/// Postings per skip entry.
pub(super) const SKIP: usize = 64;
/// Positions kept per posting, so that a block's offsets fit in 16 bits (64 x 1,023 < 65,536).
/// Only a paper with a word over a thousand times in one text would lose some (for phrases;
/// its term frequency counts them all).
pub(super) const MAX_POSITIONS: usize = 1_023;
pub(super) const BIG_WTF: u8 = u8::MAX;

/// A term is given a [`Dense`] view once it is in at least one paper in `DENSE_SHARE` of its
/// segment (the view then costs at most 3/8 of its postings' memory) and in `DENSE_MIN` papers.
pub(super) const DENSE_SHARE: usize = 16;
pub(super) const DENSE_MIN: usize = 256;

/// Papers per frozen segment: the open segment is frozen when it holds this many (a bulk load
/// then holds at most one segment's lists in growing vectors, and a frozen segment's arrays are
/// large enough that the allocator gives them exactly their size). On the 100,000-paper harness
/// the build peaks at 138 MB with segments of 16,000, 131 with 8,000 and 4,000 (122 after).
pub(super) const SEGMENT_PAPERS: usize = 8_000;

/// Makes room for `extra` more items in a list that only grows at its end, by a quarter of its
/// length at a time rather than the doubling of `Vec::push`: a list grown by doubling holds up
/// to twice its items while the index builds.
#[inline]
pub(super) fn room<T>(v: &mut Vec<T>, extra: usize) {
    if v.capacity() - v.len() < extra {
        v.reserve_exact(extra.max(v.len() / 4).max(8));
    }
}

/// Moves `v` into an allocation of its length. `Vec::shrink_to_fit` does not do it here:
/// mimalloc keeps a block where it is when it shrinks by less than half, so a list would keep
/// its spare room (an index built by doubling its lists held up to twice its size).
pub(super) fn exact<T>(v: &mut Vec<T>) {
    if v.capacity() > v.len() {
        let mut out = Vec::with_capacity(v.len());
        out.append(v);
        *v = out;
    }
}

/// Whether a list of `len` items in room for `capacity` has over an eighth of its length spare.
pub(super) fn loose(capacity: usize, len: usize) -> bool {
    capacity - len > len / 8
}

#[inline]
pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[inline]
pub(super) fn get_varint(bytes: &[u8], off: &mut usize) -> u32 {
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
pub(super) struct Dense {
    pub(super) first: u32,
    pub(super) bits: Vec<u64>,
    pub(super) rank: Vec<u32>,
}

impl Dense {
    pub(super) fn build(list: List<'_>, first: u32) -> Dense {
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
    pub(super) fn push(&mut self, slot: u32, before: u32) {
        let w = (slot / 64 - self.first) as usize;
        while self.bits.len() <= w {
            room(&mut self.bits, 1);
            room(&mut self.rank, 1);
            self.bits.push(0);
            self.rank.push(before);
        }
        self.bits[w] |= 1 << (slot % 64);
    }

    pub(super) fn view(&self) -> DenseRef<'_> {
        DenseRef {
            first: self.first,
            bits: &self.bits,
            rank: &self.rank,
        }
    }
}

/// A [`Dense`] view, borrowed (from the open segment's lists or a frozen segment's arrays).
#[derive(Clone, Copy)]
pub(super) struct DenseRef<'a> {
    pub(super) first: u32,
    pub(super) bits: &'a [u64],
    pub(super) rank: &'a [u32],
}

impl DenseRef<'_> {
    /// The 64-slot words `[start, end)` the view covers.
    pub(super) fn words(&self) -> (usize, usize) {
        let first = self.first as usize;
        (first, first + self.bits.len())
    }

    /// Word `w` of the bitset (a word the view covers).
    #[inline]
    pub(super) fn word(&self, w: usize) -> u64 {
        self.bits[w - self.first as usize]
    }

    /// The index of `slot`'s posting, if it has one.
    #[inline]
    pub(super) fn index_of(&self, slot: u32) -> Option<usize> {
        let w = (slot / 64).checked_sub(self.first)? as usize;
        let word = *self.bits.get(w)?;
        let bit = 1u64 << (slot % 64);
        (word & bit != 0).then(|| self.rank[w] as usize + (word & (bit - 1)).count_ones() as usize)
    }
}

/// One term's postings in one segment, borrowed: the layout of [`Postings`], whether its lists
/// are the open segment's vectors or slices of a frozen segment's arrays.
#[derive(Clone, Copy)]
pub(super) struct List<'a> {
    pub(super) n: u32,
    pub(super) gaps: &'a [u8],
    pub(super) wtf: &'a [u8],
    pub(super) big: &'a [(u32, f32)],
    pub(super) skips: &'a [Skip],
    pub(super) positions: &'a [Pos],
    pub(super) dense: Option<DenseRef<'a>>,
}

impl Postings {
    /// Appends a posting (its slot above every slot in the list) with its positions.
    pub(super) fn push(&mut self, slot: u32, wtf: f32, positions: &[Pos]) {
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

    pub(super) fn list(&self) -> List<'_> {
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
    pub(super) fn reserve_scaled(&mut self, times: f64) {
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
    pub(super) fn repack(&mut self) {
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

    pub(super) fn heap_bytes(&self) -> [usize; 6] {
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
    pub(super) fn wtf_of(&self, i: usize) -> f32 {
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
    pub(super) fn positions_of(&self, i: usize) -> &'a [Pos] {
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
