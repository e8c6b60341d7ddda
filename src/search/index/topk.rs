//! The best `limit` hits after a cursor, and the count of all.
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A ranked hit in the top-k heap, ordered so that the worst is the greatest.
#[derive(Clone, Copy, Debug)]
pub(super) struct Ranked {
    pub(super) score: f64,
    pub(super) paper_id: i64,
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
    pub(super) limit: usize,
    pub(super) after: Option<Ranked>,
    pub(super) heap: BinaryHeap<Ranked>,
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
