//! Reading posting lists: forward cursors and probes by slot.
use super::*;

/// Decodes one posting list's slots forward: from its gaps (jumping through the skips), or, for
/// a list with a bitset, from the bitset (a frozen segment keeps no gaps for such a list).
#[derive(Clone)]
pub(super) struct Cursor<'a> {
    pub(super) list: List<'a>,
    /// How many postings are decoded (the index of the next one), the next one's byte offset and
    /// the slot before it.
    pub(super) decoded: usize,
    pub(super) off: usize,
    pub(super) base: u32,
    /// Through a bitset: the word being read (from the bitset's first) and its bits not read yet.
    pub(super) word: usize,
    pub(super) left: u64,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(list: List<'a>) -> Cursor<'a> {
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
    pub(super) fn advance(&mut self) -> Option<u32> {
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
    pub(super) fn seek(&mut self, target: u32) -> bool {
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
pub(super) enum Probe<'a> {
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
    pub(super) fn packed(list: List<'a>) -> Probe<'a> {
        Probe::Packed {
            cursor: Cursor::new(list),
            dense: list.dense,
            current: 0,
        }
    }

    pub(super) fn slice(entries: &'a [(u32, f32)]) -> Probe<'a> {
        Probe::Slice {
            entries,
            at: 0,
            current: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Probe::Packed { cursor, .. } => cursor.list.n as usize,
            Probe::Slice { entries, .. } => entries.len(),
        }
    }

    pub(super) fn dense(&self) -> Option<DenseRef<'a>> {
        match self {
            Probe::Packed { dense, .. } => *dense,
            Probe::Slice { .. } => None,
        }
    }

    /// The next posting's slot, making it the current one (for the list that drives).
    #[inline]
    pub(super) fn advance(&mut self) -> Option<u32> {
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
    pub(super) fn find(&mut self, slot: u32) -> bool {
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
    pub(super) fn wtf(&self) -> f32 {
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
    pub(super) fn positions(&self) -> &'a [Pos] {
        match self {
            Probe::Packed {
                cursor, current, ..
            } => cursor.list.positions_of(*current),
            Probe::Slice { .. } => &[],
        }
    }
}

/// Matches of one atom: `(slot, weighted tf)` ordered by slot.
pub(super) type Matches<'a> = Cow<'a, [(u32, f32)]>;
