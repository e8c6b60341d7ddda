//! What the keyword index reads and records in the database: the searchable text of papers, the
//! changes writers record in `search_changes` (in their own transaction), and the ids a filter
//! allows. The index itself is `crate::search`.
use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QuerySelect, Statement};

use super::papers::PaperCriteria;
use crate::entities::paper;

/// A paper's searchable text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocText {
    pub paper_id: i64,
    /// Title, abstract, author names (", "-separated), AI keywords (", "-separated).
    pub fields: [String; 4],
    /// The authors' ids, in the order of their names.
    pub author_ids: Vec<i64>,
}

/// The number of the last recorded change (0 before any).
pub async fn last_change(db: &DatabaseConnection) -> Result<i64, DbErr> {
    super::scalar(db, "SELECT COALESCE(MAX(seq), 0) FROM search_changes").await
}

/// Papers stored.
pub async fn paper_count(db: &DatabaseConnection) -> Result<i64, DbErr> {
    super::scalar(db, "SELECT COUNT(*) FROM papers").await
}

/// The papers whose text changed after change `after`, and the last change's number.
pub async fn changes_after(db: &DatabaseConnection, after: i64) -> Result<(Vec<i64>, i64), DbErr> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            match backend {
                DbBackend::Postgres => {
                    "SELECT paper_id, seq FROM search_changes WHERE seq > $1 ORDER BY seq"
                }
                _ => "SELECT paper_id, seq FROM search_changes WHERE seq > ? ORDER BY seq",
            },
            [after.into()],
        ))
        .await?;
    let mut changed = Vec::with_capacity(rows.len());
    let mut last = after;
    for r in rows {
        changed.push(r.try_get_by_index::<i64>(0)?);
        last = last.max(r.try_get_by_index::<i64>(1)?);
    }
    Ok((changed, last))
}

/// The ids a filter allows, or `None` when there is no filter.
pub async fn allowed_ids(
    db: &DatabaseConnection,
    criteria: &PaperCriteria,
) -> Result<Option<HashSet<i64>>, DbErr> {
    use sea_orm::{EntityTrait, QueryFilter};
    if *criteria == PaperCriteria::default() {
        return Ok(None);
    }
    let ids: Vec<i64> = paper::Entity::find()
        .select_only()
        .column(paper::Column::Id)
        .filter(criteria.condition())
        .into_tuple()
        .all(db)
        .await?;
    Ok(Some(ids.into_iter().collect()))
}

/// On SQLite, a pool of one connection of its own for the first build to read the papers' texts
/// through, to close after it (`None`: read through the pool): sqlx runs each SQLite connection
/// on a thread of its own, which allocates every row it reads, and a pooled connection's thread
/// would keep the memory of the 100,000 texts it read (freed by other threads) while it idles.
pub async fn sqlite_reader(db: &DatabaseConnection) -> Option<DatabaseConnection> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    let opts = db.get_sqlite_connection_pool().connect_options();
    let pool = sea_orm::sqlx::pool::PoolOptions::<sea_orm::sqlx::Sqlite>::new()
        .max_connections(1)
        .connect_with((*opts).clone())
        .await
        .map_err(|e| tracing::debug!(error = %e, "reading the first build through the pool"))
        .ok()?;
    Some(sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
}

/// The searchable text of the given papers, by id (papers that do not exist are left out).
pub async fn load_texts<C: ConnectionTrait>(
    db: &C,
    paper_ids: &[i64],
) -> Result<HashMap<i64, DocText>, DbErr> {
    if paper_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let ids = paper_ids
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let docs = read_texts(db, &format!("p.id IN ({ids})")).await?;
    Ok(docs.into_iter().map(|d| (d.paper_id, d)).collect())
}

/// The searchable text of at most `limit` papers with ids above `after`, in id order.
pub async fn load_text_page<C: ConnectionTrait>(
    db: &C,
    after: i64,
    limit: usize,
) -> Result<Vec<DocText>, DbErr> {
    read_texts(db, &format!("p.id > {after} ORDER BY p.id LIMIT {limit}")).await
}

/// The searchable text of the papers `rest` (a condition on `p`, and any order and limit) picks.
async fn read_texts<C: ConnectionTrait>(db: &C, rest: &str) -> Result<Vec<DocText>, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => format!(
            "SELECT p.id, p.title, COALESCE(p.abstract, ''),
               COALESCE((SELECT string_agg(pa.name, ', ' ORDER BY pa.position)
                   FROM paper_authors pa WHERE pa.paper_id = p.id), ''),
               CASE WHEN json_typeof(p.ai_keywords) = 'array' THEN COALESCE((SELECT string_agg(k, ', ')
                   FROM json_array_elements_text(p.ai_keywords) AS k), '') ELSE '' END,
               COALESCE((SELECT string_agg(pa.author_id::text, ',' ORDER BY pa.position)
                   FROM paper_authors pa WHERE pa.paper_id = p.id), '')
             FROM papers p WHERE {rest}"
        ),
        _ => format!(
            "SELECT p.id, p.title, COALESCE(p.abstract, ''),
               COALESCE((SELECT group_concat(name, ', ') FROM (SELECT pa.name FROM paper_authors pa
                   WHERE pa.paper_id = p.id ORDER BY pa.position)), ''),
               CASE WHEN json_type(p.ai_keywords) = 'array' THEN COALESCE((SELECT group_concat(value, ', ')
                   FROM json_each(p.ai_keywords)), '') ELSE '' END,
               COALESCE((SELECT group_concat(author_id, ',') FROM (SELECT pa.author_id
                   FROM paper_authors pa WHERE pa.paper_id = p.id ORDER BY pa.position)), '')
             FROM papers p WHERE {rest}"
        ),
    };
    let rows = db
        .query_all_raw(Statement::from_string(backend, sql))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.try_get_by_index(0)?;
        out.push(DocText {
            paper_id: id,
            fields: [
                r.try_get_by_index(1)?,
                r.try_get_by_index(2)?,
                r.try_get_by_index(3)?,
                r.try_get_by_index(4)?,
            ],
            author_ids: r
                .try_get_by_index::<String>(5)?
                .split(',')
                .filter_map(|a| a.parse().ok())
                .collect(),
        });
    }
    Ok(out)
}

/// Records, in the writer's transaction, that these papers' searchable text changed.
pub async fn record_changes<C: ConnectionTrait>(db: &C, paper_ids: &[i64]) -> Result<(), DbErr> {
    if paper_ids.is_empty() {
        return Ok(());
    }
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres {
        // Writers take numbers one after the other and keep them until they commit, so a
        // reader never sees a number while a smaller one is still uncommitted (plain reads
        // are not blocked).
        db.execute_unprepared("LOCK TABLE search_changes IN SHARE ROW EXCLUSIVE MODE")
            .await?;
    }
    for chunk in paper_ids.chunks(500) {
        let ids = chunk
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        db.execute_unprepared(&format!(
            "INSERT INTO search_changes (paper_id, seq)
             SELECT id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM search_changes)
             FROM papers WHERE id IN ({ids})
             ON CONFLICT (paper_id) DO UPDATE SET seq = excluded.seq"
        ))
        .await?;
    }
    Ok(())
}
