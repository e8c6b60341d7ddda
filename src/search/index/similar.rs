//! "More like these": papers scored against weighted terms (a Rocchio query built from seed
//! papers), with the same BM25 as keyword search.
use super::*;

impl Index {
    /// The index's terms among the words of `text`, with how often each occurs (a word the
    /// index does not hold is left out).
    pub fn term_counts(&self, text: &str) -> HashMap<u32, f64> {
        let mut out: HashMap<u32, f64> = HashMap::new();
        for w in words(text) {
            if let Some(t) = self.surfaces.get(w.folded.as_ref()) {
                *out.entry(*t).or_default() += 1.0;
            }
        }
        out
    }

    /// A term's inverse document frequency (Lucene's, never negative).
    pub fn idf(&self, term: u32) -> f64 {
        let docs = self.live as f64;
        let df = self.live_df(term) as f64;
        (1.0 + (docs - df + 0.5) / (df + 0.5)).ln()
    }

    /// Calls `visit(paper_id, score)` for every paper (allowed, when a filter is given) whose
    /// score is positive: the sum over `weights` of the weight times the term's BM25 in it.
    pub fn score_terms(
        &self,
        weights: &[(u32, f64)],
        allowed: Option<&dyn Fn(i64) -> bool>,
        mut visit: impl FnMut(i64, f64),
    ) {
        if self.live == 0 {
            return;
        }
        let avg_len = (self.total_len as f64 / self.live as f64).max(1.0);
        let (c1, c2) = (K1 * (1.0 - B), K1 * B / avg_len);
        // Scores by slot, and the slots touched (a dense array: a hash map per posting is
        // several times slower over the ~10^5-10^6 postings of a query).
        let mut acc = vec![0.0f64; self.slots.len()];
        let mut touched: Vec<u32> = Vec::new();
        for (term, w) in weights {
            let idf = self.idf(*term) * (K1 + 1.0);
            for (slot, tf) in self.live_matches(*term).iter() {
                let tf = f64::from(*tf);
                let len = f64::from(self.slots[*slot as usize].len);
                let a = &mut acc[*slot as usize];
                if *a == 0.0 {
                    touched.push(*slot);
                }
                *a += w * idf * tf / (tf + c1 + c2 * len);
            }
        }
        for slot in touched {
            let score = acc[slot as usize];
            let paper_id = self.slots[slot as usize].paper_id;
            if score > 0.0 && allowed.is_none_or(|f| f(paper_id)) {
                visit(paper_id, score);
            }
        }
    }
}
