//! Reading authors: lookup by name, and a name search ordered by paper count.
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
};

use super::cursor::{Cursor, SortKey};
use super::keyset::{self, Page, Slice};
use super::like_escape;
use crate::entities::author;

/// The tag of the only author order (paper count, then id, both descending).
pub const ORDER_TAG: &str = "A:PAPER_COUNT";

pub fn cursor(a: &author::Model) -> Cursor {
    Cursor {
        tag: ORDER_TAG.into(),
        key: SortKey::Int(a.paper_count.into()),
        id: a.id,
    }
}

fn search_condition(folded: Option<&str>) -> Condition {
    let mut c = Condition::all();
    if let Some(q) = folded.filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", like_escape(q));
        c = c.add(Expr::col(author::Column::NameKey).like(LikeExpr::new(pattern).escape('!')));
    }
    c
}

/// Authors whose folded name contains `folded`, most prolific first.
pub async fn search<C: ConnectionTrait>(
    db: &C,
    folded: Option<&str>,
    slice: &Slice,
) -> Result<Page<author::Model>, DbErr> {
    let query = author::Entity::find().filter(search_condition(folded));
    let key = Expr::col((author::Entity, author::Column::PaperCount));
    let id = Expr::col((author::Entity, author::Column::Id));
    keyset::fetch(db, query, key, id, true, slice).await
}

pub async fn count<C: ConnectionTrait>(db: &C, folded: Option<&str>) -> Result<u64, DbErr> {
    author::Entity::find()
        .filter(search_condition(folded))
        .count(db)
        .await
}

pub async fn by_name<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> Result<Option<author::Model>, DbErr> {
    author::Entity::find()
        .filter(author::Column::Name.eq(name))
        .one(db)
        .await
}

pub async fn by_ids<C: ConnectionTrait>(db: &C, ids: &[i64]) -> Result<Vec<author::Model>, DbErr> {
    author::Entity::find()
        .filter(author::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// The co-authors of `author_id` with the number of papers they share, most shared first (then
/// most prolific, then id), at most `limit`.
pub async fn coauthors<C: ConnectionTrait>(
    db: &C,
    author_id: i64,
    limit: u64,
) -> Result<Vec<(author::Model, i64)>, DbErr> {
    let sql = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => COAUTHORS.replace("?1", "$1").replace("?2", "$2"),
        _ => COAUTHORS.to_string(),
    };
    let rows = db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [author_id.into(), (limit as i64).into()],
        ))
        .await?;
    let mut shared: Vec<(i64, i64)> = Vec::with_capacity(rows.len());
    for r in rows {
        shared.push((r.try_get_by_index(0)?, r.try_get_by_index(1)?));
    }
    let ids: Vec<i64> = shared.iter().map(|(id, _)| *id).collect();
    let mut models: std::collections::HashMap<i64, author::Model> = by_ids(db, &ids)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    Ok(shared
        .into_iter()
        .filter_map(|(id, n)| models.remove(&id).map(|a| (a, n)))
        .collect())
}

const COAUTHORS: &str = "SELECT b.author_id, COUNT(DISTINCT b.paper_id) AS shared
    FROM paper_authors a JOIN paper_authors b ON b.paper_id = a.paper_id AND b.author_id <> a.author_id
    JOIN authors x ON x.id = b.author_id
    WHERE a.author_id = ?1
    GROUP BY b.author_id, x.paper_count
    ORDER BY shared DESC, x.paper_count DESC, b.author_id
    LIMIT ?2";
