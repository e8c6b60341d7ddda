//! Keyset pagination over `(key, id)`, shared by every list: the slice arguments become a
//! seek condition, an order and a limit, and the fetched rows become a page.
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, Order, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select,
};

use super::cursor::Cursor;

/// Which slice of an ordered list to read: forward from `after`, or backward from `before`.
#[derive(Clone, Debug, PartialEq)]
pub enum Slice {
    Forward { first: u64, after: Option<Cursor> },
    Backward { last: u64, before: Option<Cursor> },
}

/// A page of rows in list order.
#[derive(Debug)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

/// Reads one page of `query` ordered by `(key, id)` (`descending` is the list's direction).
pub async fn fetch<E, M, C>(
    db: &C,
    query: Select<E>,
    key: Expr,
    id: Expr,
    descending: bool,
    slice: &Slice,
) -> Result<Page<M>, DbErr>
where
    E: EntityTrait,
    M: FromQueryResult + Send + Sync,
    C: ConnectionTrait,
{
    let (limit, cursor, descending, backward) = match slice {
        Slice::Forward { first, after } => (*first, after.as_ref(), descending, false),
        Slice::Backward { last, before } => (*last, before.as_ref(), !descending, true),
    };
    let mut query = query;
    if let Some(c) = cursor {
        let v = c.key.to_value();
        let (beyond_key, beyond_id) = if descending {
            (key.clone().lt(v.clone()), id.clone().lt(c.id))
        } else {
            (key.clone().gt(v.clone()), id.clone().gt(c.id))
        };
        query = query.filter(
            Condition::any()
                .add(beyond_key)
                .add(Condition::all().add(key.clone().eq(v)).add(beyond_id)),
        );
    }
    let order = if descending { Order::Desc } else { Order::Asc };
    let query = query.order_by(key, order.clone()).order_by(id, order);
    let backend = db.get_database_backend();
    let mut rows = if backend == DbBackend::Sqlite {
        // SQLite plans a bound LIMIT for its value, so it compiles the statement again at every
        // run; written into the SQL, the limit lets the cached statement be reused.
        let mut statement = backend.build(&query.into_query());
        statement.sql.push_str(&format!(" LIMIT {}", limit + 1));
        M::find_by_statement(statement).all(db).await?
    } else {
        query.limit(limit + 1).into_model::<M>().all(db).await?
    };
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let (has_next_page, has_previous_page) = if backward {
        rows.reverse();
        (cursor.is_some(), more)
    } else {
        (more, cursor.is_some())
    };
    Ok(Page {
        rows,
        has_next_page,
        has_previous_page,
    })
}
