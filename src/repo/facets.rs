//! Facet counts: how many papers of a set fall under each organization, AI keyword, author,
//! submitter, listing day or code flag (authors are counted by the keyword index, which keeps
//! each paper's author ids; here their names are read). The set is a list's criteria, or the
//! ids a keyword search matched (sent as one JSON array parameter, whatever their number).
use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, EntityTrait, Iden, QueryFilter, QuerySelect};

use super::papers::PaperCriteria;
use crate::entities::{author, hf_user, organization, paper};

/// The papers a facet counts.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    Criteria(&'a PaperCriteria),
    /// The papers of these ids (a search's matches, already filtered).
    Ids(&'a [i64]),
}

/// What a facet groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Facet {
    /// The organization's handle.
    Organizations,
    /// An AI keyword, lowercased (the `aiKeyword` filter ignores case).
    AiKeywords,
    /// The submitter's username.
    Submitters,
}

/// `column IN ids`, the ids sent as one parameter: a PostgreSQL array (an index scan of
/// `= ANY`) or a JSON array read by SQLite's `json_each`.
fn among(column: &str, ids: &[i64], backend: DbBackend) -> Expr {
    match backend {
        DbBackend::Postgres => {
            let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            Expr::cust_with_values(
                format!("{column} = ANY(CAST($1 AS BIGINT[]))"),
                [format!("{{{list}}}")],
            )
        }
        _ => Expr::cust_with_values(
            format!("{column} IN (SELECT value FROM json_each(?))"),
            [serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())],
        ),
    }
}

fn scoped(q: &mut SelectStatement, scope: Scope<'_>, backend: DbBackend) {
    match scope {
        Scope::Criteria(c) => {
            q.cond_where(c.condition());
        }
        Scope::Ids(ids) => {
            let id = format!(
                "{}.{}",
                paper::Entity.to_string(),
                paper::Column::Id.to_string()
            );
            q.and_where(among(&id, ids, backend));
        }
    }
}

/// The ids of the papers in `scope`.
pub async fn ids_of<C: ConnectionTrait>(db: &C, scope: Scope<'_>) -> Result<Vec<i64>, DbErr> {
    match scope {
        Scope::Ids(ids) => Ok(ids.to_vec()),
        Scope::Criteria(c) => {
            paper::Entity::find()
                .select_only()
                .column(paper::Column::Id)
                .filter(c.condition())
                .into_tuple()
                .all(db)
                .await
        }
    }
}

/// The `limit` authors with the most papers, by name with their counts, from the counts by
/// author id (`crate::search::author_counts`): the names of the authors at or above the last
/// place's count are read, so that ties go by name.
pub async fn top_authors<C: ConnectionTrait>(
    db: &C,
    counts: &HashMap<i64, u32>,
    limit: usize,
) -> Result<Vec<(String, i64)>, DbErr> {
    let backend = db.get_database_backend();
    if limit == 0 || counts.is_empty() {
        return Ok(Vec::new());
    }
    let mut sizes: Vec<u32> = counts.values().copied().collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    // The count at the last place: every author at or above it is a candidate.
    let cut = sizes[limit.min(sizes.len()) - 1];
    let candidates: Vec<i64> = counts
        .iter()
        .filter(|(_, n)| **n >= cut)
        .map(|(id, _)| *id)
        .collect();
    let id = format!(
        "{}.{}",
        author::Entity.to_string(),
        author::Column::Id.to_string()
    );
    let q = Query::select()
        .from(author::Entity)
        .columns([author::Column::Id, author::Column::Name])
        .and_where(among(&id, &candidates, backend))
        .to_owned();
    let mut out: Vec<(String, i64)> = Vec::with_capacity(candidates.len());
    for r in db.query_all_raw(backend.build(&q)).await? {
        let (author_id, name): (i64, String) = (r.try_get_by_index(0)?, r.try_get_by_index(1)?);
        out.push((name, counts.get(&author_id).copied().map_or(0, i64::from)));
    }
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out.truncate(limit);
    Ok(out)
}

/// The `limit` most frequent values of `facet` in `scope`, with their counts: most frequent
/// first, ties by value.
pub async fn counts<C: ConnectionTrait>(
    db: &C,
    scope: Scope<'_>,
    facet: Facet,
    limit: u64,
) -> Result<Vec<(String, i64)>, DbErr> {
    let backend = db.get_database_backend();
    let mut q = Query::select();
    q.from(paper::Entity);
    let value = match facet {
        Facet::Organizations => {
            q.inner_join(
                organization::Entity,
                Expr::col((organization::Entity, organization::Column::Id))
                    .equals((paper::Entity, paper::Column::OrganizationId)),
            );
            Expr::col((organization::Entity, organization::Column::Name))
        }
        Facet::Submitters => {
            q.inner_join(
                hf_user::Entity,
                Expr::col((hf_user::Entity, hf_user::Column::Id))
                    .equals((paper::Entity, paper::Column::SubmittedById)),
            );
            Expr::col((hf_user::Entity, hf_user::Column::Username))
        }
        Facet::AiKeywords => {
            let each = match backend {
                DbBackend::Postgres => "json_array_elements_text",
                _ => "json_each",
            };
            q.from_function(
                Func::cust(Alias::new(each))
                    .arg(Expr::col((paper::Entity, paper::Column::AiKeywords))),
                Alias::new("k"),
            );
            Func::lower(Expr::col((Alias::new("k"), Alias::new("value")))).into()
        }
    };
    q.expr_as(value.clone(), Alias::new("v"))
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .add_group_by([value.clone()])
        .order_by_expr(Expr::cust("COUNT(*)"), Order::Desc)
        .order_by_expr(value, Order::Asc)
        .limit(limit);
    scoped(&mut q, scope, backend);
    let rows = db.query_all_raw(backend.build(&q)).await?;
    rows.iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect()
}

/// Papers per listing day in `scope`, days without papers left out.
pub async fn by_day<C: ConnectionTrait>(
    db: &C,
    scope: Scope<'_>,
) -> Result<Vec<(NaiveDate, i64)>, DbErr> {
    let backend = db.get_database_backend();
    let day = Expr::col((paper::Entity, paper::Column::DailyDate));
    let mut q = Query::select();
    q.from(paper::Entity)
        .expr(day.clone())
        .expr(Expr::cust("COUNT(*)"))
        .add_group_by([day]);
    scoped(&mut q, scope, backend);
    let rows = db.query_all_raw(backend.build(&q)).await?;
    rows.iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect()
}

/// Papers in `scope` with a code repository, and without.
pub async fn has_code<C: ConnectionTrait>(db: &C, scope: Scope<'_>) -> Result<(i64, i64), DbErr> {
    let backend = db.get_database_backend();
    let mut q = Query::select();
    q.from(paper::Entity)
        .expr(Expr::cust("COUNT(*)"))
        .expr(Func::count(Expr::col((
            paper::Entity,
            paper::Column::GithubRepo,
        ))));
    scoped(&mut q, scope, backend);
    let row = db.query_one_raw(backend.build(&q)).await?;
    let (all, with): (i64, i64) = match row {
        Some(r) => (r.try_get_by_index(0)?, r.try_get_by_index(1)?),
        None => (0, 0),
    };
    Ok((with, all - with))
}
