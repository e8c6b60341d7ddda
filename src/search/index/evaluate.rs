//! Evaluating a query: intersections for conjunctions, bitsets for OR and prefixes, BM25.
use super::*;
impl Index {
    /// A term's live postings, decoded.
    pub(super) fn live_matches(&self, term: u32) -> Matches<'_> {
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

    pub(super) fn word_matches(&self, word: &str, prefix: bool) -> Matches<'_> {
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

    pub(super) fn is_live(&self, slot: u32) -> bool {
        self.live_bits[slot as usize / 64] & (1 << (slot % 64)) != 0
    }

    /// Calls `visit(slot, lists)` for every live slot found in all `lists`, in slot order, with
    /// the slot's posting current in each list. The shortest list drives and the others are
    /// probed; when every list has a bitset, the bitsets are intersected instead.
    pub(super) fn intersect<'a>(
        &self,
        lists: &mut [Probe<'a>],
        mut visit: impl FnMut(u32, &[Probe<'a>]),
    ) {
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
    pub(super) fn term_of(&self, word: &str) -> Option<u32> {
        self.terms.get(&stem(&fold(word))).copied()
    }

    /// How many live papers have a posting of `term`.
    pub(super) fn live_df(&self, term: u32) -> usize {
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

    pub(super) fn phrase_matches(&self, words: &[String]) -> Matches<'_> {
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

    pub(super) fn atom_matches(&self, a: &Atom) -> Matches<'_> {
        match a {
            Atom::Word { word, prefix } => self.word_matches(word, *prefix),
            Atom::Phrase(words) => self.phrase_matches(words),
        }
    }

    /// The slots matching any of `excluded` as a bitset, or `None` when nothing is excluded.
    pub(super) fn excluded_bits(&self, excluded: &[Atom]) -> Option<Vec<u64>> {
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
    pub(super) fn evaluate_by<F: FnMut(i64, f64)>(
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
