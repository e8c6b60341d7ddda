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
