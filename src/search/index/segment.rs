//! Frozen segments: every list of a range of slots, back to back in exact-size arrays.
use super::*;

/// Where one term's lists start in a frozen segment's arrays (they end where the next term's
/// start).
#[derive(Clone, Copy, Default)]
pub(super) struct Starts {
    pub(super) gaps: u32,
    /// Postings before the term's (where its frequencies start).
    pub(super) wtf: u32,
    pub(super) big: u32,
    pub(super) skips: u32,
    pub(super) positions: u32,
    /// Bitset words before the term's (and rank counts).
    pub(super) bits: u32,
}

/// The lists of every term found in the papers of slots `[lo, hi)`, back to back in one array
/// per kind, each allocated once at its exact size: lists grown one by one leave behind the
/// allocator's rounding and the blocks they grew out of (on the 100,000-paper harness, about a
/// quarter more resident memory than their bytes). A frozen segment is only read; papers
/// replaced or removed leave dead slots in it until a compaction rebuilds it.
#[derive(Default)]
pub(super) struct Segment {
    pub(super) lo: u32,
    pub(super) hi: u32,
    /// The terms with postings here, ascending, and where their lists start (with one more
    /// entry, where the last term's end).
    pub(super) terms: Vec<u32>,
    pub(super) starts: Vec<Starts>,
    /// Every term's lists back to back (`n` and `last` unused), the bitsets from word `lo / 64`.
    pub(super) all: Postings,
}

impl Segment {
    /// Moves `lists` (the postings of slots `[lo, hi)`, by term) into a frozen segment, a term at
    /// a time, giving back the memory of the lists moved as it goes.
    pub(super) fn freeze(mut lists: HashMap<u32, Postings>, lo: u32, hi: u32) -> Segment {
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

    pub(super) fn end(&self) -> Starts {
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
    pub(super) fn list_at(&self, k: usize) -> List<'_> {
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

    pub(super) fn list(&self, term: u32) -> Option<List<'_>> {
        let k = self.terms.binary_search(&term).ok()?;
        Some(self.list_at(k))
    }
}

/// `list` without the postings of dead slots (`None` when none is left); a list with a bitset
/// keeps one, from 64-slot word `first`.
pub(super) fn without_dead(
    list: List<'_>,
    live: impl Fn(u32) -> bool,
    first: u32,
) -> Option<Postings> {
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
pub(super) enum Part<'a> {
    Frozen(&'a Segment),
    Open {
        lists: &'a HashMap<u32, Postings>,
        lo: u32,
    },
}

impl<'a> Part<'a> {
    /// A term's postings in this segment, if it has some.
    pub(super) fn list(self, term: u32) -> Option<List<'a>> {
        match self {
            Part::Frozen(s) => s.list(term),
            Part::Open { lists, .. } => lists.get(&term).filter(|p| p.n > 0).map(Postings::list),
        }
    }

    /// The slots `[lo, hi)` of the segment.
    pub(super) fn range(self) -> (u32, u32) {
        match self {
            Part::Frozen(s) => (s.lo, s.hi),
            Part::Open { lo, .. } => (lo, u32::MAX),
        }
    }
}
