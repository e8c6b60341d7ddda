//! The keyword engine side by side: the hand-built index (`search::index`) against tantivy,
//! both fed the same analysis (papergraph's own words, folding and Snowball stems, handed to
//! tantivy pre-tokenised) and the same field weights, over the harness's daily-list files:
//!
//!   cargo run --release --example engines -- hand|tantivy|tantivy1 DIR_OF_DAILY_LIST_JSON [SECONDS]
//!
//! One engine per process, so each one's RSS is its own. Prints the build time, the RSS after
//! the build (tantivy's counts its mmap'd files), the index on disk (tantivy), then for each
//! query kind and 1, 8 and 64 threads the searches per second (a page of 20 and the exact
//! count, as `searchPapers` asks), then the RSS again.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use papergraph::domain::search::{Atom, SearchQuery};
use papergraph::search::index::{DocText, Index, TopK, fold, stem, words};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::{
    BooleanQuery, BoostQuery, Occur, PhrasePrefixQuery, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{PreTokenizedString, Token};
use tantivy::{SegmentReader, TantivyDocument, Term};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const WEIGHTS: [f32; 4] = [10.0, 1.0, 4.0, 5.0];
const PAGE: usize = 20;

fn rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .filter(|l| {
            ["VmHWM", "VmRSS", "RssAnon", "RssFile"]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(" kB, ")
        + " kB"
}

fn docs_of(file: &std::path::Path, next_id: &mut i64) -> anyhow::Result<Vec<DocText>> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(file)?)?;
    let mut out = Vec::new();
    for e in v.as_array().map(Vec::as_slice).unwrap_or_default() {
        let p = &e["paper"];
        let text = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
        let authors = p["authors"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|a| a["name"].as_str())
            .collect::<Vec<_>>()
            .join(", ");
        *next_id += 1;
        out.push(DocText {
            paper_id: *next_id,
            fields: [text("title"), text("summary"), authors, String::new()],
        });
    }
    Ok(out)
}

/// The query kinds: bench/search.sh's four over the harness vocabulary, and OR, prefix and an
/// excluded word.
fn queries() -> Vec<(&'static str, Vec<SearchQuery>)> {
    let words = [
        "neural",
        "learning",
        "data",
        "models",
        "model",
        "features",
        "attention",
        "networks",
        "information",
        "performance",
        "sparse",
        "retrieval",
        "tasks",
        "space",
        "noise",
        "language",
        "representations",
        "methods",
        "search",
        "framework",
        "latent",
        "diffusion",
    ];
    let n = words.len();
    let pick = |i: usize, k: usize| words[(i * 7 + k * 5) % n];
    let kind = |f: &dyn Fn(usize) -> String| {
        (0..n)
            .map(|i| SearchQuery::parse(&f(i)).expect("query"))
            .collect::<Vec<_>>()
    };
    vec![
        ("words1", kind(&|i| words[i].to_string())),
        (
            "words2",
            kind(&|i| format!("{} {}", pick(i, 0), pick(i, 1))),
        ),
        (
            "words3",
            kind(&|i| format!("{} {} {}", pick(i, 0), pick(i, 1), pick(i, 2))),
        ),
        (
            "phrase",
            kind(&|i| format!("\"{} {}\"", pick(i, 0), pick(i, 1))),
        ),
        ("or", kind(&|i| format!("{} OR {}", pick(i, 0), pick(i, 1)))),
        ("prefix", kind(&|i| format!("{}*", &words[i][..4]))),
        (
            "excluded",
            kind(&|i| format!("{} -{}", pick(i, 0), pick(i, 1))),
        ),
    ]
}

trait Engine: Send + Sync {
    /// The best page and the count of all matches.
    fn search(&self, q: &SearchQuery) -> (Vec<(i64, f64)>, usize);
}

impl Engine for Index {
    fn search(&self, q: &SearchQuery) -> (Vec<(i64, f64)>, usize) {
        let mut top = TopK::new(None, PAGE);
        self.evaluate(q, None, |id, score| top.offer(id, score));
        let total = top.total;
        (top.into_sorted(), total)
    }
}

struct Tantivy {
    reader: tantivy::IndexReader,
    /// The four fields with their weights, or one field where each word stands as many times
    /// as its field's weight (`tantivy1`: one posting list per term, as the hand-built index
    /// keeps).
    fields: Vec<(Field, f32)>,
}

/// The page after no cursor, and the count, from the `id` fast field: what the hand-built
/// index's `TopK` keeps, per segment, then merged.
struct Keyset;

struct KeysetSegment {
    ids: tantivy::columnar::Column<i64>,
    top: TopK,
}

impl Collector for Keyset {
    type Fruit = (Vec<(i64, f64)>, usize);
    type Child = KeysetSegment;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<KeysetSegment> {
        Ok(KeysetSegment {
            ids: segment.fast_fields().i64("id")?,
            top: TopK::new(None, PAGE),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<(Vec<(i64, f64)>, usize)>) -> tantivy::Result<Self::Fruit> {
        let mut top = TopK::new(None, PAGE);
        let mut total = 0;
        for (hits, n) in fruits {
            total += n;
            for (id, score) in hits {
                top.offer(id, score);
            }
        }
        Ok((top.into_sorted(), total))
    }
}

impl SegmentCollector for KeysetSegment {
    type Fruit = (Vec<(i64, f64)>, usize);

    fn collect(&mut self, doc: u32, score: f32) {
        if let Some(id) = self.ids.first(doc) {
            self.top.offer(id, f64::from(score));
        }
    }

    fn harvest(self) -> Self::Fruit {
        let total = self.top.total;
        (self.top.into_sorted(), total)
    }
}

impl Tantivy {
    fn atom(&self, a: &Atom) -> Box<dyn Query> {
        let per_field = self
            .fields
            .iter()
            .map(|&(ref f, w)| {
                let q: Box<dyn Query> = match a {
                    Atom::Word {
                        word,
                        prefix: false,
                    } => Box::new(TermQuery::new(
                        Term::from_field_text(*f, &stem(&fold(word))),
                        IndexRecordOption::WithFreqs,
                    )),
                    Atom::Word { word, prefix: true } => {
                        let mut q =
                            PhrasePrefixQuery::new(vec![Term::from_field_text(*f, &fold(word))]);
                        q.set_max_expansions(u32::MAX);
                        Box::new(q)
                    }
                    Atom::Phrase(ws) if ws.len() == 1 => Box::new(TermQuery::new(
                        Term::from_field_text(*f, &stem(&fold(&ws[0]))),
                        IndexRecordOption::WithFreqs,
                    )),
                    Atom::Phrase(ws) => Box::new(PhraseQuery::new(
                        ws.iter()
                            .map(|w| Term::from_field_text(*f, &stem(&fold(w))))
                            .collect(),
                    )),
                };
                Box::new(BoostQuery::new(q, w)) as Box<dyn Query>
            })
            .collect::<Vec<_>>();
        if per_field.len() == 1 {
            return per_field.into_iter().next().expect("one");
        }
        Box::new(BooleanQuery::union(per_field))
    }

    fn query(&self, q: &SearchQuery) -> BooleanQuery {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = q
            .groups
            .iter()
            .map(|g| {
                let q: Box<dyn Query> = match g.as_slice() {
                    [one] => self.atom(one),
                    many => Box::new(BooleanQuery::union(
                        many.iter().map(|a| self.atom(a)).collect(),
                    )),
                };
                (Occur::Must, q)
            })
            .collect();
        clauses.extend(q.excluded.iter().map(|a| (Occur::MustNot, self.atom(a))));
        BooleanQuery::new(clauses)
    }
}

impl Engine for Tantivy {
    fn search(&self, q: &SearchQuery) -> (Vec<(i64, f64)>, usize) {
        self.reader
            .searcher()
            .search(&self.query(q), &Keyset)
            .expect("search")
    }
}

/// The tokens of `text`, each `times` times at its position, positions from `first` on.
fn tokens(text: &str, times: usize, first: usize, out: &mut Vec<Token>) {
    for (i, w) in words(text).into_iter().enumerate() {
        let text = stem(&w.folded);
        for _ in 0..times {
            out.push(Token {
                offset_from: w.start,
                offset_to: w.end,
                position: first + i,
                text: text.clone(),
                position_length: 1,
            });
        }
    }
}

fn pre_tokenized(tokens: Vec<Token>) -> PreTokenizedString {
    PreTokenizedString {
        text: String::new(),
        tokens,
    }
}

fn build_tantivy(docs: &[DocText], dir: &std::path::Path, one: bool) -> anyhow::Result<Tantivy> {
    let mut schema = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields: Vec<(Field, f32)> = if one {
        vec![(schema.add_text_field("all", text), 1.0)]
    } else {
        ["title", "abstract", "authors", "keywords"]
            .iter()
            .zip(WEIGHTS)
            .map(|(name, w)| (schema.add_text_field(name, text.clone()), w))
            .collect()
    };
    // The author names as written, for highlights (the hand-built index keeps them too).
    let names = schema.add_text_field("names", STORED);
    let id = schema.add_i64_field("id", INDEXED | FAST);
    let index = tantivy::Index::create_in_dir(dir, schema.build())?;
    // One indexing thread and a 40 MB arena: the server's budget (two cores, 150 MB).
    let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 40_000_000)?;
    for d in docs {
        let mut doc = TantivyDocument::new();
        doc.add_i64(id, d.paper_id);
        if one {
            // A field's words start 10,000 positions after the last's, so no phrase spans two.
            let mut all = Vec::new();
            for (k, t) in d.fields.iter().enumerate() {
                tokens(t, WEIGHTS[k] as usize, k * 10_000, &mut all);
            }
            doc.add_pre_tokenized_text(fields[0].0, pre_tokenized(all));
        } else {
            for ((f, _), t) in fields.iter().zip(&d.fields) {
                let mut one_field = Vec::new();
                tokens(t, 1, 0, &mut one_field);
                doc.add_pre_tokenized_text(*f, pre_tokenized(one_field));
            }
        }
        doc.add_text(names, &d.fields[2]);
        writer.add_document(doc)?;
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    let reader = index.reader()?;
    Ok(Tantivy { reader, fields })
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn run(engine: Arc<dyn Engine>, seconds: u64) {
    for (kind, qs) in queries() {
        let (hits, total) = engine.search(&qs[0]);
        println!(
            "  {kind}: first query {} hits of {total}, best {:?}",
            hits.len(),
            hits.first()
        );
        for threads in [1usize, 8, 64] {
            let done = Arc::new(AtomicU64::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let qs = Arc::new(qs.clone());
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (engine, done, stop, qs) =
                        (engine.clone(), done.clone(), stop.clone(), qs.clone());
                    std::thread::spawn(move || {
                        let mut i = t;
                        while !stop.load(Ordering::Relaxed) {
                            std::hint::black_box(engine.search(&qs[i % qs.len()]));
                            i += 1;
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            let started = Instant::now();
            std::thread::sleep(Duration::from_secs(seconds));
            stop.store(true, Ordering::Relaxed);
            let n = done.load(Ordering::Relaxed);
            let secs = started.elapsed().as_secs_f64();
            for h in handles {
                let _ = h.join();
            }
            println!("RESULT kind={kind} c={threads} qps={:.0}", n as f64 / secs);
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(engine), Some(dir)) = (args.get(1), args.get(2)) else {
        anyhow::bail!("usage: engines hand|tantivy|tantivy1 DIR_OF_DAILY_LIST_JSON [SECONDS]");
    };
    let seconds = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut id = 0;
    let mut docs = Vec::new();
    for f in &files {
        docs.extend(docs_of(f, &mut id)?);
    }
    papergraph::alloc::give_back();
    println!("{} papers; before the build: {}", docs.len(), rss());
    let started = Instant::now();
    let scratch = tempfile::tempdir()?;
    let engine: Arc<dyn Engine> = match engine.as_str() {
        "hand" => {
            let papers = docs.len();
            let batches: Vec<Vec<(i64, Option<DocText>)>> = docs
                .chunks(1_000)
                .map(|c| c.iter().map(|d| (d.paper_id, Some(d.clone()))).collect())
                .collect();
            Arc::new(Index::build(batches, papers))
        }
        "tantivy" => Arc::new(build_tantivy(&docs, scratch.path(), false)?),
        "tantivy1" => Arc::new(build_tantivy(&docs, scratch.path(), true)?),
        other => anyhow::bail!("unknown engine {other}"),
    };
    println!(
        "RESULT build_seconds={:.1} disk_mb={:.1}",
        started.elapsed().as_secs_f64(),
        dir_bytes(scratch.path()) as f64 / 1e6
    );
    drop(docs);
    papergraph::alloc::give_back();
    println!("after the build (texts dropped): {}", rss());
    run(engine, seconds);
    println!("after the searches: {}", rss());
    Ok(())
}
