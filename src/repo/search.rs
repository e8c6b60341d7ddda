//! Ranked keyword search: SQLite FTS5 with bm25, PostgreSQL `tsvector` with `ts_rank`, both with
//! field weights (title above AI keywords and authors, above the abstract) and native highlights.
//! A page is read in two steps: the ranked ids (a keyset over `(score, id)`), then the highlights
//! of those ids only.
use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

use super::papers::PaperCriteria;
use crate::domain::search::{Atom, SearchQuery};
use crate::entities::paper;

/// Marks around matched words in fragments, replaced after HTML escaping (private-use code
/// points, which never occur in paper text).
const START: char = '\u{E000}';
const STOP: char = '\u{E001}';

/// SQLite bm25 weights, in column order: title, abstract, authors, keywords.
const BM25: &str = "-bm25(paper_fts, 10.0, 1.0, 4.0, 5.0)";

/// Ranking a common word scores tens of thousands of rows: run at most one such query per core
/// at a time, so that eight at once do not thrash each other (measured: six req/s at
/// concurrency 8 against ten at concurrency 1) and the rest of the API stays responsive.
async fn ranking_permit() -> Result<tokio::sync::SemaphorePermit<'static>, DbErr> {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS
        .get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            tokio::sync::Semaphore::new(cores)
        })
        .acquire()
        .await
        .map_err(|e| DbErr::Custom(e.to_string()))
}

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

/// The PostgreSQL tsquery of `q` as an SQL expression with its values (`$1`… numbered within
/// the expression, as sea-query's custom expressions expect on PostgreSQL).
fn pg_tsquery(q: &SearchQuery) -> (String, Vec<Value>) {
    let mut values: Vec<Value> = Vec::new();
    let atom = |a: &Atom, values: &mut Vec<Value>| -> String {
        match a {
            Atom::Word { word, prefix } => {
                let lexeme = if *prefix {
                    format!("{word}:*")
                } else {
                    word.clone()
                };
                values.push(lexeme.into());
                let n = values.len();
                // Author names are indexed unstemmed ('simple'); everything else in English.
                format!("(to_tsquery('english', ${n}) || to_tsquery('simple', ${n}))")
            }
            Atom::Phrase(words) => {
                values.push(words.join(" ").into());
                format!("phraseto_tsquery('english', ${})", values.len())
            }
        }
    };
    let groups: Vec<String> = q
        .groups
        .iter()
        .map(|g| {
            let parts: Vec<String> = g.iter().map(|a| atom(a, &mut values)).collect();
            format!("({})", parts.join(" || "))
        })
        .collect();
    let mut sql = groups.join(" && ");
    for a in &q.excluded {
        let part = atom(a, &mut values);
        sql = format!("({sql}) && !!{part}");
    }
    (format!("({sql})"), values)
}

fn filter_subquery(criteria: &PaperCriteria) -> Option<SelectStatement> {
    if *criteria == PaperCriteria::default() {
        return None;
    }
    Some(
        Query::select()
            .column((paper::Entity, paper::Column::Id))
            .from(paper::Entity)
            .cond_where(criteria.condition())
            .to_owned(),
    )
}

/// The matching `(id, score)` rows, unordered.
fn matches(backend: DbBackend, q: &SearchQuery, criteria: &PaperCriteria) -> SelectStatement {
    let mut s = Query::select();
    match backend {
        DbBackend::Postgres => {
            let (tsq, values) = pg_tsquery(q);
            s.expr_as(Expr::cust("paper_search.paper_id"), Alias::new("pid"))
                .expr_as(
                    Expr::cust_with_values(
                        format!("ts_rank(paper_search.document, {tsq})::float8"),
                        values.clone(),
                    ),
                    Alias::new("score"),
                )
                .from(Alias::new("paper_search"))
                .and_where(Expr::cust_with_values(
                    format!("paper_search.document @@ {tsq}"),
                    values,
                ));
            if let Some(sub) = filter_subquery(criteria) {
                s.and_where(Expr::cust("paper_search.paper_id").in_subquery(sub));
            }
        }
        _ => {
            s.expr_as(Expr::cust("paper_fts.rowid"), Alias::new("pid"))
                .expr_as(Expr::cust(BM25), Alias::new("score"))
                .from(Alias::new("paper_fts"))
                .and_where(Expr::cust_with_values("paper_fts MATCH ?", [q.to_fts5()]));
            if let Some(sub) = filter_subquery(criteria) {
                s.and_where(Expr::cust("paper_fts.rowid").in_subquery(sub));
            }
        }
    }
    s
}

/// The page of hits after `after` (best first: score descending, then id ascending), `limit`
/// rows plus one to tell whether more follow.
pub async fn hits<C: ConnectionTrait>(
    db: &C,
    q: &SearchQuery,
    criteria: &PaperCriteria,
    after: Option<After>,
    limit: u64,
) -> Result<Vec<Hit>, DbErr> {
    let _permit = ranking_permit().await?;
    let backend = db.get_database_backend();
    let mut outer = Query::select();
    outer
        .expr(Expr::cust("m.pid"))
        .expr(Expr::cust("m.score"))
        .from_subquery(matches(backend, q, criteria), Alias::new("m"));
    if let Some(a) = after {
        let seek = match backend {
            DbBackend::Postgres => "(m.score < $1 OR (m.score = $2 AND m.pid > $3))",
            _ => "(m.score < ? OR (m.score = ? AND m.pid > ?))",
        };
        outer.and_where(Expr::cust_with_values(
            seek,
            [
                Value::from(a.score),
                Value::from(a.score),
                Value::from(a.paper_id),
            ],
        ));
    }
    outer
        .order_by_expr(Expr::cust("m.score"), Order::Desc)
        .order_by_expr(Expr::cust("m.pid"), Order::Asc)
        .limit(limit);
    let rows = db.query_all(&outer).await?;
    rows.iter()
        .map(|r| {
            Ok(Hit {
                paper_id: r.try_get_by_index(0)?,
                score: r.try_get_by_index(1)?,
            })
        })
        .collect()
}

/// How many papers match.
pub async fn count<C: ConnectionTrait>(
    db: &C,
    q: &SearchQuery,
    criteria: &PaperCriteria,
) -> Result<u64, DbErr> {
    let _permit = ranking_permit().await?;
    let backend = db.get_database_backend();
    let mut s = Query::select();
    s.expr(Expr::cust("COUNT(*)"))
        .from_subquery(matches(backend, q, criteria), Alias::new("m"));
    let row = db.query_one(&s).await?;
    let n: i64 = match row {
        Some(r) => r.try_get_by_index(0)?,
        None => 0,
    };
    Ok(n as u64)
}

/// The highlights of the given papers for `q`, by paper id.
pub async fn highlights<C: ConnectionTrait>(
    db: &C,
    q: &SearchQuery,
    paper_ids: &[i64],
) -> Result<HashMap<i64, Vec<Highlight>>, DbErr> {
    if paper_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = db.get_database_backend();
    let (start, stop) = (START.to_string(), STOP.to_string());
    let ids = paper_ids
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let stmt = match backend {
        DbBackend::Postgres => {
            let (tsq, values) = pg_tsquery(q);
            let opts = format!("StartSel={START}, StopSel={STOP}");
            let mut all = values;
            all.push(format!("HighlightAll=true, {opts}").into());
            all.push(format!("MaxWords=35, MinWords=15, MaxFragments=2, {opts}").into());
            let (whole, part) = (all.len() - 1, all.len());
            Statement::from_sql_and_values(
                backend,
                format!(
                        "WITH q AS (SELECT {tsq} AS q), o AS (SELECT ${whole}::text AS whole, ${part}::text AS part)
                         SELECT p.id,
                           ts_headline('english', p.title, q.q, o.whole),
                           ts_headline('english', p.abstract, q.q, o.part),
                           ts_headline('simple', COALESCE((SELECT string_agg(pa.name, ', ' ORDER BY pa.position)
                               FROM paper_authors pa WHERE pa.paper_id = p.id), ''), q.q, o.whole),
                           ts_headline('english', COALESCE((SELECT string_agg(k, ', ')
                               FROM json_array_elements_text(p.ai_keywords) AS k), ''), q.q, o.whole)
                         FROM papers p, q, o WHERE p.id IN ({ids})"
                ),
                all,
            )
        }
        _ => Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT rowid,
                   highlight(paper_fts, 0, ?1, ?2),
                   snippet(paper_fts, 1, ?1, ?2, '…', 32),
                   highlight(paper_fts, 2, ?1, ?2),
                   highlight(paper_fts, 3, ?1, ?2)
                 FROM paper_fts WHERE paper_fts MATCH ?3 AND rowid IN ({ids})"
            ),
            [start.into(), stop.into(), q.to_fts5().into()],
        ),
    };
    let rows = db.query_all_raw(stmt).await?;
    let mut out = HashMap::new();
    for r in rows {
        let id: i64 = r.try_get_by_index(0)?;
        let mut hs = Vec::new();
        for (i, field) in ["title", "abstract", "authors", "aiKeywords"]
            .into_iter()
            .enumerate()
        {
            let text: Option<String> = r.try_get_by_index(i + 1)?;
            if let Some(t) = text.filter(|t| t.contains(START)) {
                hs.push(Highlight {
                    field,
                    fragment: mark(&t),
                });
            }
        }
        out.insert(id, hs);
    }
    Ok(out)
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

/// Rewrites the search documents of the given papers from their stored title, abstract, author
/// names and AI keywords (called by the importer in its transaction).
pub async fn refresh<C: ConnectionTrait>(db: &C, paper_ids: &[i64]) -> Result<(), DbErr> {
    for chunk in paper_ids.chunks(500) {
        let ids = chunk
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        refresh_where(db, &format!("p.id IN ({ids})")).await?;
    }
    Ok(())
}

async fn refresh_where<C: ConnectionTrait>(db: &C, condition: &str) -> Result<(), DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            db.execute_unprepared(&format!(
                "INSERT INTO paper_search (paper_id, document)
                 SELECT p.id,
                   setweight(to_tsvector('english', p.title), 'A')
                   || setweight(to_tsvector('english', COALESCE((SELECT string_agg(k, ' ')
                        FROM json_array_elements_text(p.ai_keywords) AS k), '')), 'B')
                   || setweight(to_tsvector('simple', COALESCE((SELECT string_agg(pa.name, ' ')
                        FROM paper_authors pa WHERE pa.paper_id = p.id), '')), 'B')
                   || setweight(to_tsvector('english', p.abstract), 'C')
                 FROM papers p WHERE {condition}
                 ON CONFLICT (paper_id) DO UPDATE SET document = excluded.document"
            ))
            .await?;
        }
        _ => {
            let rowids = condition.replace("p.id", "rowid");
            db.execute_unprepared(&format!("DELETE FROM paper_fts WHERE {rowids}"))
                .await?;
            db.execute_unprepared(&format!(
                "INSERT INTO paper_fts (rowid, title, abstract, authors, keywords)
                 SELECT p.id, p.title, p.abstract,
                   COALESCE((SELECT group_concat(name, ', ') FROM (SELECT pa.name FROM paper_authors pa
                        WHERE pa.paper_id = p.id ORDER BY pa.position)), ''),
                   COALESCE((SELECT group_concat(value, ', ') FROM json_each(p.ai_keywords)), '')
                 FROM papers p WHERE {condition}"
            ))
            .await?;
        }
    }
    Ok(())
}

/// Fills the index when it is empty but papers exist (a database from before the index).
pub async fn ensure_index<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let table = match db.get_database_backend() {
        DbBackend::Postgres => "paper_search",
        _ => "paper_fts",
    };
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM papers LIMIT 1) a),
                        (SELECT COUNT(*) FROM (SELECT 1 FROM {table} LIMIT 1) b)"
            ),
        ))
        .await?;
    let (papers, indexed): (i64, i64) = match row {
        Some(r) => (r.try_get_by_index(0)?, r.try_get_by_index(1)?),
        None => (0, 0),
    };
    if papers > 0 && indexed == 0 {
        tracing::info!("building the keyword search index over the stored papers");
        refresh_where(db, "1 = 1").await?;
    }
    Ok(())
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
}
