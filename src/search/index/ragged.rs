//! Per-slot runs of values kept back to back (each slot's author names, each slot's author ids):
//! one block rather than one small allocation a paper, which would stay scattered between the
//! posting lists as they grow.
use super::postings::{exact, loose, room};

#[derive(Default)]
pub(super) struct Ragged<T> {
    values: Vec<T>,
    /// Where each slot's run ends in `values` (it starts where the slot before's ends).
    ends: Vec<u32>,
}

impl<T: Copy> Ragged<T> {
    /// Appends the next slot's run. Past 4 Gi values (never in practice) a slot's run is left
    /// empty.
    pub(super) fn push(&mut self, run: &[T]) {
        if u32::try_from(self.values.len() + run.len()).is_ok() {
            room(&mut self.values, run.len());
            self.values.extend_from_slice(run);
        }
        room(&mut self.ends, 1);
        self.ends.push(self.values.len() as u32);
    }

    /// The run of `slot`.
    pub(super) fn get(&self, slot: usize) -> Option<&[T]> {
        let start = match slot {
            0 => 0,
            s => *self.ends.get(s - 1)? as usize,
        };
        self.values.get(start..*self.ends.get(slot)? as usize)
    }

    /// Keeps the runs of the slots `live` says are, emptying the others.
    pub(super) fn squeeze(&mut self, live: impl Fn(usize) -> bool) {
        let mut kept = Vec::with_capacity(self.values.len());
        let mut start = 0;
        for (slot, end) in self.ends.iter_mut().enumerate() {
            let stop = *end as usize;
            if live(slot) {
                kept.extend_from_slice(&self.values[start..stop]);
            }
            start = stop;
            *end = kept.len() as u32;
        }
        self.values = kept;
    }

    /// Room for `slots` slots in all, and `times` the values held so far (a bulk load's
    /// estimate).
    pub(super) fn presize(&mut self, slots: usize, times: f64) {
        self.ends
            .reserve_exact(slots.saturating_sub(self.ends.len()));
        let values = (self.values.len() as f64 * times) as usize;
        self.values
            .reserve_exact(values.saturating_sub(self.values.len()));
    }

    /// Gives back spare room when it is large.
    pub(super) fn shrink(&mut self) {
        if loose(self.values.capacity(), self.values.len()) {
            exact(&mut self.values);
        }
        if loose(self.ends.capacity(), self.ends.len()) {
            exact(&mut self.ends);
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.values.capacity() * std::mem::size_of::<T>() + self.ends.capacity() * 4
    }
}
