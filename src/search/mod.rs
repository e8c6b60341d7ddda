//! Ranked keyword search over the in-memory index (`index`), kept in step with the
//! database through `search_changes`: the importer records, in its own transaction, every paper
//! whose searchable text (title, abstract, authors, AI keywords) it wrote, under a sequence
//! number that only grows; each server applies the rows after the last number it applied
//! whenever the data generation moved (a write here, or one seen from another process), before
//! it answers a search. A page is read in two steps: the ranked ids, then the highlights of
//! those ids only, computed from their stored text.
pub mod index;
pub mod suggest;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use crate::domain::search::{Atom, SearchQuery};
use crate::repo::papers::PaperCriteria;
use crate::repo::search_source::{self as source, DocText};
use index::{FIELDS, Index, TopK, fold, stem, words};

/// Marks around matched words in fragments, replaced after HTML escaping (private-use code
/// points, which never occur in paper text).
const START: char = '\u{E000}';
const STOP: char = '\u{E001}';
/// Words around the best passage of an abstract.
const SNIPPET_WORDS: usize = 32;

/// One ranked match.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub paper_id: i64,
    pub score: f64,
}

/// A matched field: its GraphQL name and an HTML-escaped fragment with `<mark>` around matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Highlight {
    pub field: &'static str,
    pub fragment: String,
}

/// Where a page starts: after the hit with this score and id.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct After {
    pub score: f64,
    pub paper_id: i64,
}

/// The search index of one database, shared by every request of a server.
pub struct SearchEngine {
    db: DatabaseConnection,
    index: RwLock<Index>,
    /// The last `search_changes.seq` applied (None: the index is not built yet); held while
    /// applying.
    applied: tokio::sync::Mutex<Option<i64>>,
    /// The data generation the index reflects (0: not built yet).
    seen: AtomicU64,
}

impl std::fmt::Debug for SearchEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchEngine").finish_non_exhaustive()
    }
}

impl SearchEngine {
    pub fn new(db: DatabaseConnection) -> Arc<SearchEngine> {
        Arc::new(SearchEngine {
            db,
            index: RwLock::new(Index::default()),
            applied: tokio::sync::Mutex::new(None),
            seen: AtomicU64::new(0),
        })
    }

    /// Papers in the index now.
    pub fn papers(&self) -> usize {
        self.read().len()
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Brings the index up to date with the database when the data may have changed.
    pub async fn current(&self) -> Result<(), DbErr> {
        if self.seen.load(Ordering::Acquire) == crate::events::generation() {
            return Ok(());
        }
        let mut applied = self.applied.lock().await;
        // Read before the changes, so a write committed after them moves it again.
        let generation = crate::events::generation();
        if self.seen.load(Ordering::Acquire) == generation {
            return Ok(());
        }
        let first = applied.is_none();
        let started = Instant::now();
        // The first build reads the papers themselves a page at a time, rather than every change
        // ever recorded (a row each, all held at once). The last change is read before them: a
        // paper written meanwhile is read again on the next call.
        let bulk = if first {
            let last = source::last_change(&self.db).await?;
            let papers = source::paper_count(&self.db).await?;
            (papers >= 1_000).then_some((last, papers as usize))
        } else {
            None
        };
        let (applied_now, last) = match bulk {
            Some((last, papers)) => {
                let reader = source::sqlite_reader(&self.db).await;
                let index = build_apart(reader.as_ref().unwrap_or(&self.db), papers).await;
                if let Some(reader) = reader {
                    let _ = reader.close().await;
                }
                let index = index?;
                *self.index.write().unwrap_or_else(|e| e.into_inner()) = index;
                (papers, last)
            }
            None => self.apply_changes(applied.unwrap_or(0)).await?,
        };
        *applied = Some(last);
        self.seen.store(generation, Ordering::Release);
        if first || applied_now >= 1_000 {
            let index = self.read();
            tracing::info!(
                papers = index.len(),
                terms = index.terms(),
                applied = applied_now,
                megabytes = index.approx_bytes() / (1 << 20),
                millis = started.elapsed().as_millis() as u64,
                "keyword search index up to date"
            );
        }
        Ok(())
    }

    /// Applies the changes recorded after `after` to the index in place; returns how many
    /// papers it applied and the last change's number.
    async fn apply_changes(&self, after: i64) -> Result<(usize, i64), DbErr> {
        let (changed, last) = source::changes_after(&self.db, after).await?;
        for chunk in changed.chunks(1_000) {
            let docs = source::load_texts(&self.db, chunk).await?;
            let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
            for id in chunk {
                index.apply(*id, docs.get(id));
            }
        }
        if changed.len() >= 1_000 {
            self.index
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .shrink();
            crate::alloc::give_back();
        }
        Ok((changed.len(), last))
    }

    /// Brings the index up to date, then reads the ids `criteria` allows (`None`: any), as
    /// every query of the index starts.
    async fn ready(&self, criteria: &PaperCriteria) -> Result<Option<HashSet<i64>>, DbErr> {
        self.current().await?;
        source::allowed_ids(&self.db, criteria).await
    }

    /// The scored matches of `q` within `criteria`, best first after `after`, at most `limit`,
    /// and how many match in all.
    async fn run(
        &self,
        q: &SearchQuery,
        criteria: &PaperCriteria,
        after: Option<After>,
        limit: usize,
    ) -> Result<(Vec<Hit>, usize), DbErr> {
        let allowed = self.ready(criteria).await?;
        let index = self.read();
        let filter = allowed.as_ref().map(|set| move |id: i64| set.contains(&id));
        let mut top = TopK::new(after.map(|a| (a.score, a.paper_id)), limit);
        index.evaluate(
            q,
            filter.as_ref().map(|f| f as &dyn Fn(i64) -> bool),
            |id, score| top.offer(id, score),
        );
        let total = top.total;
        let hits = top
            .into_sorted()
            .into_iter()
            .map(|(paper_id, score)| Hit { paper_id, score })
            .collect();
        Ok((hits, total))
    }
}

/// Builds an index of the given papers on a thread of its own, fed by this task: the first
/// build tokenises and stems every paper (5-7 s of CPU on 100,000 papers), which would otherwise
/// hold one of the runtime's worker threads and the requests queued on it.
async fn build_apart<C: ConnectionTrait>(db: &C, papers: usize) -> Result<Index, DbErr> {
    // A channel the task sends on without blocking its worker while the builder is busy.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<(i64, Option<DocText>)>>(1);
    let builder = std::thread::Builder::new()
        .name("search-index".into())
        .spawn(move || Index::build(std::iter::from_fn(|| rx.blocking_recv()), papers))
        .map_err(|e| DbErr::Custom(format!("could not start the search index builder: {e}")))?;
    let mut after = i64::MIN;
    loop {
        let docs = source::load_text_page(db, after, 1_000).await?;
        let Some(last) = docs.last() else {
            break;
        };
        after = last.paper_id;
        let batch = docs.into_iter().map(|d| (d.paper_id, Some(d))).collect();
        if tx.send(batch).await.is_err() {
            break;
        }
        // The rows read for the batch (freed here once they are copied into it).
        crate::alloc::give_back();
    }
    drop(tx);
    tokio::task::spawn_blocking(move || builder.join())
        .await
        .map_err(|e| DbErr::Custom(format!("the search index builder was lost: {e}")))?
        .map_err(|_| DbErr::Custom("the search index builder panicked".into()))
}

/// The page of hits after `after` (best first: score descending, then id ascending), `limit`
/// rows, and how many papers match in all.
pub async fn hits(
    engine: &SearchEngine,
    q: &SearchQuery,
    criteria: &PaperCriteria,
    after: Option<After>,
    limit: u64,
) -> Result<(Vec<Hit>, u64), DbErr> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let (hits, total) = engine.run(q, criteria, after, limit).await?;
    Ok((hits, total as u64))
}

/// Every paper matching `q` within `criteria`, in no order (facets over a search count them).
pub async fn matching_ids(
    engine: &SearchEngine,
    q: &SearchQuery,
    criteria: &PaperCriteria,
) -> Result<Vec<i64>, DbErr> {
    let allowed = engine.ready(criteria).await?;
    let index = engine.read();
    let filter = allowed.as_ref().map(|set| move |id: i64| set.contains(&id));
    let mut ids = Vec::new();
    index.evaluate(
        q,
        filter.as_ref().map(|f| f as &dyn Fn(i64) -> bool),
        |id, _| ids.push(id),
    );
    Ok(ids)
}

/// How many of the given papers each author wrote, by author id, from the index (which keeps
/// every paper's author ids): the authors facet counts a search's thousands of matches here
/// rather than sending them to the database and reading back their author slots.
pub async fn author_counts(
    engine: &SearchEngine,
    paper_ids: &[i64],
) -> Result<std::collections::HashMap<i64, u32>, DbErr> {
    engine.current().await?;
    Ok(engine.read().author_counts(paper_ids))
}

/// Terms kept in a recommendation query (the heaviest by absolute weight).
const RECOMMEND_TERMS: usize = 40;
/// How much the negative seeds count against the positive ones (Rocchio's gamma).
const NEGATIVE_WEIGHT: f64 = 0.75;

/// Papers most like the `positive` seeds and unlike the `negative` ones (paper ids), seeds
/// excluded, within `criteria`, best `limit` first. Each seed is a unit tf-idf vector of its
/// title (counted twice) and abstract, as `Paper.similar` builds them; the query is the mean
/// of the positive vectors less `NEGATIVE_WEIGHT` times the mean of the negative ones
/// (Rocchio), cut to its heaviest terms, and every paper is scored against it with the keyword
/// index's BM25: papers that no single seed's neighbour list holds are found too.
pub async fn recommend(
    engine: &SearchEngine,
    positive: &[i64],
    negative: &[i64],
    criteria: &PaperCriteria,
    limit: usize,
) -> Result<Vec<Hit>, DbErr> {
    let allowed = engine.ready(criteria).await?;
    let seeds: Vec<i64> = positive.iter().chain(negative).copied().collect();
    let texts = source::load_texts(&engine.db, &seeds).await?;
    let index = engine.read();
    let vector = |id: &i64| -> Option<std::collections::HashMap<u32, f64>> {
        let d = texts.get(id)?;
        let mut counts = index.term_counts(&d.fields[0]);
        for c in counts.values_mut() {
            *c *= 2.0;
        }
        for (t, c) in index.term_counts(&d.fields[1]) {
            *counts.entry(t).or_default() += c;
        }
        let mut v: std::collections::HashMap<u32, f64> = counts
            .into_iter()
            .map(|(t, c)| (t, (1.0 + c.ln()) * index.idf(t)))
            .collect();
        let norm = v.values().map(|w| w * w).sum::<f64>().sqrt();
        if norm > 0.0 {
            v.values_mut().for_each(|w| *w /= norm);
        }
        Some(v)
    };
    let mut query: std::collections::HashMap<u32, f64> = std::collections::HashMap::new();
    for (ids, factor) in [(positive, 1.0), (negative, -NEGATIVE_WEIGHT)] {
        let vectors: Vec<_> = ids.iter().filter_map(vector).collect();
        let n = vectors.len().max(1) as f64;
        for v in vectors {
            for (t, w) in v {
                *query.entry(t).or_default() += factor * w / n;
            }
        }
    }
    let mut weights: Vec<(u32, f64)> = query.into_iter().filter(|(_, w)| *w != 0.0).collect();
    weights.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
    weights.truncate(RECOMMEND_TERMS);
    if !weights.iter().any(|(_, w)| *w > 0.0) {
        return Ok(Vec::new());
    }
    let seeds: HashSet<i64> = seeds.into_iter().collect();
    let filter = |id: i64| !seeds.contains(&id) && allowed.as_ref().is_none_or(|a| a.contains(&id));
    let mut top = TopK::new(None, limit);
    index.score_terms(&weights, Some(&filter), |id, score| top.offer(id, score));
    Ok(top
        .into_sorted()
        .into_iter()
        .map(|(paper_id, score)| Hit { paper_id, score })
        .collect())
}

/// What marks a word in highlights: the query's stems, prefixes and phrases.
struct Marker {
    stems: HashSet<String>,
    prefixes: Vec<String>,
    phrases: Vec<Vec<String>>,
}

impl Marker {
    fn new(q: &SearchQuery) -> Marker {
        let mut m = Marker {
            stems: HashSet::new(),
            prefixes: Vec::new(),
            phrases: Vec::new(),
        };
        for a in q.groups.iter().flatten() {
            match a {
                Atom::Word {
                    word,
                    prefix: false,
                } => {
                    m.stems.insert(stem(&fold(word)));
                }
                Atom::Word { word, prefix: true } => m.prefixes.push(fold(word)),
                Atom::Phrase(ws) => m.phrases.push(ws.iter().map(|w| stem(&fold(w))).collect()),
            }
        }
        m
    }

    /// Whether a folded word is one of the query's stems (stems are the word, or the word with
    /// its end changed, so most words are ruled out before stemming).
    fn is_stem(&self, folded: &str, stems: &HashSet<String>) -> bool {
        stems.iter().any(|s| {
            let keep = s.char_indices().last().map_or(0, |(i, _)| i);
            folded.starts_with(&s[..keep])
        }) && stems.contains(&stem(folded))
    }

    /// Which words of `ws` are marked.
    fn marks(&self, ws: &[index::Word]) -> Vec<bool> {
        let mut marked: Vec<bool> = ws
            .iter()
            .map(|w| {
                self.prefixes
                    .iter()
                    .any(|p| w.folded.starts_with(p.as_str()))
                    || self.is_stem(&w.folded, &self.stems)
            })
            .collect();
        for phrase in &self.phrases {
            let Some(first) = phrase.first() else {
                continue;
            };
            let one: HashSet<String> = std::iter::once(first.clone()).collect();
            for i in 0..ws.len() {
                if i + phrase.len() <= ws.len()
                    && self.is_stem(&ws[i].folded, &one)
                    && phrase
                        .iter()
                        .enumerate()
                        .skip(1)
                        .all(|(k, s)| stem(&ws[i + k].folded) == *s)
                {
                    marked[i..i + phrase.len()].fill(true);
                }
            }
        }
        marked
    }
}

/// `text[from..to]` with the marked words (inside that range) wrapped, escaped and marked up.
fn fragment(text: &str, ws: &[index::Word], marked: &[bool], from: usize, to: usize) -> String {
    let mut out = String::with_capacity(to - from + 16);
    let mut at = from;
    for (w, m) in ws.iter().zip(marked) {
        if *m {
            out.push_str(&text[at..w.start]);
            out.push(START);
            out.push_str(&text[w.start..w.end]);
            out.push(STOP);
            at = w.end;
        }
    }
    out.push_str(&text[at..to]);
    mark(&out)
}

fn highlight_doc(marker: &Marker, fields: [&str; 4]) -> Vec<Highlight> {
    let mut out = Vec::new();
    for (i, text) in fields.into_iter().enumerate() {
        let ws = words(text);
        let marked = marker.marks(&ws);
        if !marked.iter().any(|m| *m) {
            continue;
        }
        let fragment = if FIELDS[i] == "abstract" && ws.len() > SNIPPET_WORDS {
            // The passage of SNIPPET_WORDS words with the most matches (the first of equals).
            let mut best = (0usize, 0usize);
            let mut count = marked[..SNIPPET_WORDS].iter().filter(|m| **m).count();
            best.1 = count;
            for start in 1..=ws.len() - SNIPPET_WORDS {
                count = count + usize::from(marked[start + SNIPPET_WORDS - 1])
                    - usize::from(marked[start - 1]);
                if count > best.1 {
                    best = (start, count);
                }
            }
            let range = best.0..best.0 + SNIPPET_WORDS;
            let (from, to) = (ws[range.start].start, ws[range.end - 1].end);
            let mut f = fragment(text, &ws[range.clone()], &marked[range.clone()], from, to);
            if range.start > 0 {
                f.insert(0, '…');
            }
            if range.end < ws.len() {
                f.push('…');
            }
            f
        } else {
            // The whole field, without surrounding whitespace.
            let from = text.len() - text.trim_start().len();
            fragment(text, &ws, &marked, from, text.trim_end().len())
        };
        out.push(Highlight {
            field: FIELDS[i],
            fragment,
        });
    }
    out
}

/// The highlights of one paper of a page (its row as just read) for `q`. The author names come
/// from the index, so no statement runs.
pub fn highlights(
    engine: &SearchEngine,
    q: &SearchQuery,
    row: &crate::entities::paper::Model,
) -> Vec<Highlight> {
    let authors = engine
        .read()
        .authors_of(row.id)
        .unwrap_or_default()
        .to_string();
    let keywords = match &row.ai_keywords {
        serde_json::Value::Array(ks) => ks
            .iter()
            .map(|k| match k {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    };
    highlight_doc(
        &Marker::new(q),
        [&row.title, &row.r#abstract, &authors, &keywords],
    )
}

/// HTML-escapes a fragment and turns the match markers into `<mark>` elements.
fn mark(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    for c in text.chars() {
        match c {
            START => out.push_str("<mark>"),
            STOP => out.push_str("</mark>"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_are_escaped_and_marked() {
        assert_eq!(
            mark("a <b> & \u{E000}diffusion\u{E001}"),
            "a &lt;b&gt; &amp; <mark>diffusion</mark>"
        );
    }

    fn highlights_of(q: &str, fields: [&str; 4]) -> Vec<(String, String)> {
        let q = SearchQuery::parse(q).unwrap();
        highlight_doc(&Marker::new(&q), fields)
            .into_iter()
            .map(|h| (h.field.to_string(), h.fragment))
            .collect()
    }

    #[test]
    fn highlights_mark_stems_prefixes_and_phrases_only_where_they_match() {
        let hs = highlights_of(
            "transformers \"video diffusion\" tok*",
            [
                " Vision Transformer <b>for</b> Video ",
                "Tokenizers for video and diffusion; video diffusion works.",
                "Ana Gómez",
                "",
            ],
        );
        assert_eq!(
            hs,
            vec![
                (
                    "title".into(),
                    "Vision <mark>Transformer</mark> &lt;b&gt;for&lt;/b&gt; Video".into()
                ),
                (
                    "abstract".into(),
                    "<mark>Tokenizers</mark> for video and diffusion; <mark>video</mark> <mark>diffusion</mark> works.".into()
                ),
            ]
        );
        let long = format!("{} needle {}", "hay ".repeat(50), "hay ".repeat(50));
        let hs = highlights_of("needle", ["t", &long, "", ""]);
        assert_eq!(hs.len(), 1);
        assert!(hs[0].1.starts_with('…') && hs[0].1.ends_with('…'));
        assert!(hs[0].1.contains("<mark>needle</mark>"));
        assert!(
            highlights_of("gomez", ["t", "", "Ana Gómez", ""])[0].1 == "Ana <mark>Gómez</mark>"
        );
    }
}
