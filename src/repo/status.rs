//! The mirror's state for `syncStatus`: daily lists, sync runs and table sizes.
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::entities::{author, daily_list, day_recheck, paper, sync_run};

/// The most recent daily lists, newest first.
pub async fn recent_days<C: ConnectionTrait>(
    db: &C,
    limit: u64,
) -> Result<Vec<daily_list::Model>, DbErr> {
    daily_list::Entity::find()
        .order_by_desc(daily_list::Column::Date)
        .limit(limit)
        .all(db)
        .await
}

/// The newest day whose list has papers, on or before `until` when given.
pub async fn latest_day_with_papers<C: ConnectionTrait>(
    db: &C,
    until: Option<NaiveDate>,
) -> Result<Option<NaiveDate>, DbErr> {
    let mut q = daily_list::Entity::find().filter(daily_list::Column::PaperCount.gt(0));
    if let Some(until) = until {
        q = q.filter(daily_list::Column::Date.lte(until));
    }
    Ok(q.order_by_desc(daily_list::Column::Date)
        .one(db)
        .await?
        .map(|d| d.date))
}

/// The stored lists of `dates`: whether each was fetched without failing, and its paper count.
pub async fn day_counts<C: ConnectionTrait>(
    db: &C,
    dates: &[NaiveDate],
) -> Result<HashMap<NaiveDate, (bool, i32)>, DbErr> {
    let mut out = HashMap::new();
    for chunk in dates.chunks(500) {
        for d in daily_list::Entity::find()
            .filter(daily_list::Column::Date.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            out.insert(
                d.date,
                (d.status != daily_list::Status::Failed, d.paper_count),
            );
        }
    }
    Ok(out)
}

/// Days being re-checked, oldest first.
pub async fn rechecking_days<C: ConnectionTrait>(db: &C) -> Result<Vec<day_recheck::Model>, DbErr> {
    day_recheck::Entity::find()
        .order_by_asc(day_recheck::Column::Date)
        .all(db)
        .await
}

/// Records re-checks, in one write: `set` are days re-checked (`attempts` so far, the next at
/// `next_at`), `end` days no longer re-checked.
pub async fn save_rechecks(
    db: &sea_orm::DatabaseConnection,
    set: &[(NaiveDate, i32, DateTime<Utc>)],
    end: &[NaiveDate],
) -> Result<(), DbErr> {
    use sea_orm::ActiveValue::Set;
    use sea_orm::sea_query::OnConflict;
    if set.is_empty() && end.is_empty() {
        return Ok(());
    }
    let txn = super::begin_write(db).await?;
    for &(date, attempts, next_at) in set {
        day_recheck::Entity::insert(day_recheck::ActiveModel {
            date: Set(date),
            attempts: Set(attempts),
            next_at: Set(next_at),
        })
        .on_conflict(
            OnConflict::column(day_recheck::Column::Date)
                .update_columns([day_recheck::Column::Attempts, day_recheck::Column::NextAt])
                .to_owned(),
        )
        .exec_without_returning(&*txn)
        .await?;
    }
    for chunk in end.chunks(500) {
        day_recheck::Entity::delete_many()
            .filter(day_recheck::Column::Date.is_in(chunk.iter().copied()))
            .exec(&*txn)
            .await?;
    }
    txn.commit().await
}

/// Days whose last fetch failed, oldest first.
pub async fn failed_days<C: ConnectionTrait>(db: &C) -> Result<Vec<daily_list::Model>, DbErr> {
    daily_list::Entity::find()
        .filter(daily_list::Column::Status.ne(daily_list::Status::Ok))
        .order_by_asc(daily_list::Column::Date)
        .limit(1000)
        .all(db)
        .await
}

/// The latest successful daily list.
pub async fn last_ok_day<C: ConnectionTrait>(db: &C) -> Result<Option<daily_list::Model>, DbErr> {
    daily_list::Entity::find()
        .filter(daily_list::Column::Status.eq(daily_list::Status::Ok))
        .order_by_desc(daily_list::Column::FetchedAt)
        .one(db)
        .await
}

pub async fn last_run<C: ConnectionTrait>(db: &C) -> Result<Option<sync_run::Model>, DbErr> {
    sync_run::Entity::find()
        .order_by_desc(sync_run::Column::StartedAt)
        .one(db)
        .await
}

/// When the last sync (or import) run finished (`None` before any, or when it cannot be read).
pub async fn last_finished_at<C: ConnectionTrait>(db: &C) -> Option<DateTime<Utc>> {
    sync_run::Entity::find()
        .filter(sync_run::Column::FinishedAt.is_not_null())
        .order_by_desc(sync_run::Column::FinishedAt)
        .limit(1)
        .one(db)
        .await
        .ok()
        .flatten()
        .and_then(|r| r.finished_at)
}

pub async fn last_failed_run<C: ConnectionTrait>(db: &C) -> Result<Option<sync_run::Model>, DbErr> {
    sync_run::Entity::find()
        .filter(sync_run::Column::Status.eq(sync_run::Status::Failed))
        .order_by_desc(sync_run::Column::StartedAt)
        .one(db)
        .await
}

pub async fn paper_total<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    paper::Entity::find().count(db).await
}

pub async fn author_total<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    author::Entity::find().count(db).await
}

/// Refreshes the planner's statistics after bulk writes (PostgreSQL's autovacuum may be off or
/// late; SQLite's `PRAGMA optimize` analyses what needs it).
pub async fn refresh_statistics<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let sql = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "ANALYZE papers, authors, paper_authors, upvote_snapshots",
        _ => "PRAGMA optimize",
    };
    db.execute_unprepared(sql).await?;
    Ok(())
}

/// Records a finished run of `kind` (e.g. `import`).
pub async fn record_run(
    db: &sea_orm::DatabaseConnection,
    run: sync_run::ActiveModel,
) -> Result<(), DbErr> {
    let txn = super::begin_write(db).await?;
    sync_run::Entity::insert(run)
        .exec_without_returning(&*txn)
        .await?;
    txn.commit().await
}

/// A value that changes whenever any process imports a list that changed something: the
/// number of daily lists and the latest fetch time among them.
pub async fn write_mark<C: ConnectionTrait>(db: &C) -> Result<(i64, Option<String>), DbErr> {
    use sea_orm::sea_query::Expr;
    let row: Option<(i64, Option<String>)> = daily_list::Entity::find()
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(Expr::cust("CAST(MAX(fetched_at) AS TEXT)"), "latest")
        .into_tuple()
        .one(db)
        .await?;
    Ok(row.unwrap_or((0, None)))
}

/// What follows a write that added papers: fresh planner statistics, then the similar-papers
/// pass for the new papers (its failure is logged, never fails the write that came before).
pub async fn after_new_papers(db: &sea_orm::DatabaseConnection) -> Result<(), DbErr> {
    refresh_statistics(db).await?;
    let started = std::time::Instant::now();
    match super::similar::update(db).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            lists = n,
            ms = started.elapsed().as_millis() as u64,
            "similar papers updated"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "similar papers could not be updated; the next sync retries")
        }
    }
    Ok(())
}
