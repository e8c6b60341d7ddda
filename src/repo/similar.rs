//! Similar papers: tf-idf cosine over title + abstract (title words count twice), as
//! arxiv-sanity does, precomputed into `paper_similar` so that `Paper.similar` is one indexed
//! read.
//!
//! A pass streams the corpus once to count document frequencies, keeps each paper's
//! [`TERMS_PER_PAPER`] heaviest terms (L2-normalised), and walks an inverted index of those
//! terms. Only papers not yet processed, and papers that gain one of them as a neighbour, get
//! their neighbour lists rewritten: the pass is incremental in what it writes, and its memory is
//! released when it ends (about 60 MB for 100,000 papers).
use std::collections::{BTreeSet, HashMap, HashSet};

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, TransactionTrait};

/// Neighbours kept per paper.
pub const NEIGHBOURS: usize = 10;
/// Terms kept per paper for matching.
const TERMS_PER_PAPER: usize = 24;
/// Postings walked per term (the heaviest first): bounds the cost of very common terms.
const POSTINGS_WALKED: usize = 2_000;
/// Similarity below which a paper is not a neighbour.
const MIN_SCORE: f32 = 0.05;

const STOPWORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "with",
    "that",
    "this",
    "from",
    "are",
    "our",
    "which",
    "into",
    "can",
    "has",
    "have",
    "been",
    "its",
    "their",
    "these",
    "those",
    "such",
    "also",
    "than",
    "more",
    "most",
    "other",
    "not",
    "but",
    "all",
    "any",
    "each",
    "both",
    "was",
    "were",
    "via",
    "using",
    "use",
    "used",
    "based",
    "while",
    "when",
    "where",
    "how",
    "what",
    "over",
    "under",
    "between",
    "across",
    "about",
    "through",
    "show",
    "shows",
    "propose",
    "proposed",
    "present",
    "paper",
    "approach",
    "method",
    "methods",
    "results",
    "new",
    "two",
    "one",
    "however",
    "further",
    "without",
    "within",
    "only",
    "well",
    "may",
    "will",
    "them",
    "they",
    "there",
    "then",
    "here",
    "some",
    "many",
    "much",
    "very",
    "existing",
    "introduce",
    "work",
    "achieve",
    "achieves",
];

/// The terms of a text: lower-case words of at least three letters or digits, stop words left
/// out, a plural `s` removed.
pub fn terms(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(|w| {
            let mut w = w.to_lowercase();
            if w.len() > 4 && w.ends_with('s') && !w.ends_with("ss") {
                w.pop();
            }
            w
        })
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
}

struct Corpus {
    ids: Vec<i64>,
    /// Per paper: (term, weight), L2-normalised, heaviest first.
    vectors: Vec<Vec<(u32, f32)>>,
    /// Per term: (paper index, weight), heaviest first.
    postings: Vec<Vec<(u32, f32)>>,
}

async fn load<C: ConnectionTrait>(db: &C) -> Result<Corpus, DbErr> {
    let mut dict: HashMap<String, u32> = HashMap::new();
    let mut df: Vec<u32> = Vec::new();
    let mut ids = Vec::new();
    let mut tfs: Vec<Vec<(u32, f32)>> = Vec::new();
    let mut last = i64::MIN;
    let backend = db.get_database_backend();
    loop {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    DbBackend::Postgres => {
                        "SELECT id, title, abstract FROM papers WHERE id > $1 ORDER BY id LIMIT 2000"
                    }
                    _ => "SELECT id, title, abstract FROM papers WHERE id > ? ORDER BY id LIMIT 2000",
                },
                [last.into()],
            ))
            .await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let id: i64 = r.try_get_by_index(0)?;
            let title: String = r.try_get_by_index(1)?;
            let abs: String = r.try_get_by_index(2)?;
            last = id;
            let mut tf: HashMap<u32, f32> = HashMap::new();
            for (text, weight) in [(title.as_str(), 2.0f32), (abs.as_str(), 1.0)] {
                for t in terms(text) {
                    let next = dict.len() as u32;
                    let tid = *dict.entry(t).or_insert(next);
                    if tid as usize == df.len() {
                        df.push(0);
                    }
                    *tf.entry(tid).or_default() += weight;
                }
            }
            for tid in tf.keys() {
                df[*tid as usize] += 1;
            }
            ids.push(id);
            tfs.push(tf.into_iter().collect());
        }
    }
    let n = ids.len().max(1) as f32;
    let mut postings: Vec<Vec<(u32, f32)>> = vec![Vec::new(); df.len()];
    let mut vectors = Vec::with_capacity(tfs.len());
    for (i, tf) in tfs.into_iter().enumerate() {
        let mut v: Vec<(u32, f32)> = tf
            .into_iter()
            .map(|(t, f)| (t, (1.0 + f.ln()) * (n / df[t as usize] as f32).ln()))
            .filter(|(_, w)| *w > 0.0)
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(TERMS_PER_PAPER);
        let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (t, w) in &mut v {
                *w /= norm;
                postings[*t as usize].push((i as u32, *w));
            }
        }
        vectors.push(v);
    }
    for p in &mut postings {
        p.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    }
    Ok(Corpus {
        ids,
        vectors,
        postings,
    })
}

/// The `NEIGHBOURS` most similar papers of paper `i` (index), best first.
fn neighbours(c: &Corpus, i: usize, acc: &mut [f32], touched: &mut Vec<u32>) -> Vec<(u32, f32)> {
    for (t, w) in &c.vectors[i] {
        for (j, wj) in c.postings[*t as usize].iter().take(POSTINGS_WALKED) {
            if *j as usize == i {
                continue;
            }
            if acc[*j as usize] == 0.0 {
                touched.push(*j);
            }
            acc[*j as usize] += w * wj;
        }
    }
    let mut out: Vec<(u32, f32)> = touched
        .iter()
        .map(|j| (*j, acc[*j as usize]))
        .filter(|(_, s)| *s >= MIN_SCORE)
        .collect();
    for j in touched.drain(..) {
        acc[j as usize] = 0.0;
    }
    let by_score = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if out.len() > NEIGHBOURS {
        out.select_nth_unstable_by(NEIGHBOURS, by_score);
        out.truncate(NEIGHBOURS);
    }
    out.sort_by(by_score);
    // A fresh vector: `out` has the capacity of every candidate, kept for every paper otherwise.
    out.to_vec()
}

/// Computes the neighbours of every paper not processed yet, and refreshes the lists of the
/// papers they become neighbours of. Returns how many lists were written.
pub async fn update<C>(db: &C) -> Result<usize, DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    // One pass at a time in this process (the sync and the start-up pass may meet).
    static RUNNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = RUNNING.lock().await;
    let pending = super::scalar(
        db,
        "SELECT COUNT(*) FROM papers WHERE id NOT IN (SELECT paper_id FROM paper_similar_state)",
    )
    .await?;
    if pending == 0 {
        return Ok(0);
    }
    let done: HashSet<i64> = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT paper_id FROM paper_similar_state",
        ))
        .await?
        .iter()
        .map(|r| r.try_get_by_index::<i64>(0))
        .collect::<Result<_, _>>()?;
    let corpus = load(db).await?;
    let pending: Vec<usize> = (0..corpus.ids.len())
        .filter(|i| !done.contains(&corpus.ids[*i]))
        .collect();
    if pending.is_empty() {
        return Ok(0);
    }
    let mut acc = vec![0.0f32; corpus.ids.len()];
    let mut touched = Vec::new();
    let mut lists: HashMap<usize, Vec<(u32, f32)>> = HashMap::new();
    let mut affected: BTreeSet<usize> = BTreeSet::new();
    for &i in &pending {
        let list = neighbours(&corpus, i, &mut acc, &mut touched);
        affected.extend(
            list.iter()
                .map(|(j, _)| *j as usize)
                .filter(|j| done.contains(&corpus.ids[*j])),
        );
        lists.insert(i, list);
    }
    for j in affected {
        let list = neighbours(&corpus, j, &mut acc, &mut touched);
        lists.insert(j, list);
    }
    drop(acc);

    let txn = crate::repo::begin_write(db).await?;
    let mut written: Vec<usize> = lists.keys().copied().collect();
    written.sort_unstable();
    for chunk in written.chunks(400) {
        let ids: Vec<i64> = chunk.iter().map(|i| corpus.ids[*i]).collect();
        let del = Query::delete()
            .from_table("paper_similar")
            .and_where(Expr::col("paper_id").is_in(ids.iter().copied()))
            .to_owned();
        txn.execute(&del).await?;
        let rows: Vec<(i64, i64, f64)> = chunk
            .iter()
            .flat_map(|i| {
                lists[i]
                    .iter()
                    .map(|(j, s)| (corpus.ids[*i], corpus.ids[*j as usize], f64::from(*s)))
            })
            .collect();
        for part in rows.chunks(300) {
            let mut ins = Query::insert();
            ins.into_table("paper_similar")
                .columns(["paper_id", "similar_id", "score"]);
            for (a, b, s) in part {
                ins.values_panic([(*a).into(), (*b).into(), (*s).into()]);
            }
            // Another replica's pass may have written the same pair meanwhile.
            ins.on_conflict(
                OnConflict::columns(["paper_id", "similar_id"])
                    .update_column("score")
                    .to_owned(),
            );
            txn.execute(&ins).await?;
        }
    }
    for chunk in pending.chunks(400) {
        let mut ins = Query::insert();
        ins.into_table("paper_similar_state").columns(["paper_id"]);
        for i in chunk {
            ins.values_panic([corpus.ids[*i].into()]);
        }
        ins.on_conflict(OnConflict::column("paper_id").do_nothing().to_owned());
        txn.execute(&ins).await?;
    }
    txn.commit().await?;
    Ok(written.len())
}

/// The stored neighbours of the given papers: (paper, similar paper, score), best first.
pub async fn of<C: ConnectionTrait>(
    db: &C,
    paper_ids: &[i64],
) -> Result<HashMap<i64, Vec<(i64, f64)>>, DbErr> {
    let mut out: HashMap<i64, Vec<(i64, f64)>> = HashMap::new();
    if paper_ids.is_empty() {
        return Ok(out);
    }
    let q = Query::select()
        .columns(["paper_id", "similar_id", "score"])
        .from("paper_similar")
        .and_where(Expr::col("paper_id").is_in(paper_ids.iter().copied()))
        .order_by("paper_id", sea_orm::Order::Asc)
        .order_by("score", sea_orm::Order::Desc)
        .order_by("similar_id", sea_orm::Order::Asc)
        .to_owned();
    for r in db.query_all(&q).await? {
        let (a, b, s): (i64, i64, f64) = (
            r.try_get_by_index(0)?,
            r.try_get_by_index(1)?,
            r.try_get_by_index(2)?,
        );
        out.entry(a).or_default().push((b, s));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_drop_stopwords_short_words_and_plurals() {
        let t: Vec<String> =
            terms("The Transformers of 3D scenes, with attention & GPUs").collect();
        assert_eq!(t, ["transformer", "scene", "attention", "gpus"]);
    }
}
