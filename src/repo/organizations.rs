//! Organizations and how many papers each claimed.
use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::entities::{organization, paper};

/// An organization by its handle, case-insensitively.
pub async fn by_name<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> Result<Option<organization::Model>, DbErr> {
    organization::Entity::find()
        .filter(Func::lower(Expr::col(organization::Column::Name)).eq(name.to_lowercase()))
        .order_by_asc(organization::Column::Id)
        .one(db)
        .await
}

/// Every organization with its paper count. The table holds one row per organization that
/// claimed a paper (thousands at most), and the counts come from the index on
/// `papers.organization_id`.
pub async fn all_with_counts<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<(organization::Model, i64)>, DbErr> {
    let orgs = organization::Entity::find().all(db).await?;
    let counts = paper_counts(db, None).await?;
    Ok(orgs
        .into_iter()
        .map(|o| {
            let n = counts.get(&o.id).copied().unwrap_or(0);
            (o, n)
        })
        .collect())
}

/// Papers per organization, of `ids` (or all).
pub async fn paper_counts<C: ConnectionTrait>(
    db: &C,
    ids: Option<&[i64]>,
) -> Result<HashMap<i64, i64>, DbErr> {
    let mut q = paper::Entity::find()
        .select_only()
        .column(paper::Column::OrganizationId)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(paper::Column::OrganizationId.is_not_null())
        .group_by(paper::Column::OrganizationId);
    if let Some(ids) = ids {
        q = q.filter(paper::Column::OrganizationId.is_in(ids.iter().copied()));
    }
    let rows: Vec<(Option<i64>, i64)> = q.into_tuple().all(db).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, n)| id.map(|id| (id, n)))
        .collect())
}
