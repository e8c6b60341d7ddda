//! Reading authors: lookup by name, and a name search ordered by paper count.
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use super::cursor::{Cursor, SortKey};
use super::like_escape;
use super::papers::{Page, Slice};
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
    let (limit, cursor, descending, backward) = match slice {
        Slice::Forward { first, after } => (*first, after.as_ref(), true, false),
        Slice::Backward { last, before } => (*last, before.as_ref(), false, true),
    };
    let mut query = author::Entity::find().filter(search_condition(folded));
    if let Some(c) = cursor {
        let key = Expr::col(author::Column::PaperCount);
        let v = c.key.to_value();
        let id = Expr::col(author::Column::Id);
        query = query.filter(if descending {
            Condition::any()
                .add(key.clone().lt(v.clone()))
                .add(Condition::all().add(key.eq(v)).add(id.lt(c.id)))
        } else {
            Condition::any()
                .add(key.clone().gt(v.clone()))
                .add(Condition::all().add(key.eq(v)).add(id.gt(c.id)))
        });
    }
    let order = if descending { Order::Desc } else { Order::Asc };
    let mut rows = query
        .order_by(author::Column::PaperCount, order.clone())
        .order_by(author::Column::Id, order)
        .limit(limit + 1)
        .all(db)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    if backward {
        rows.reverse();
        Ok(Page {
            rows,
            has_next_page: cursor.is_some(),
            has_previous_page: more,
        })
    } else {
        Ok(Page {
            rows,
            has_next_page: more,
            has_previous_page: cursor.is_some(),
        })
    }
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
