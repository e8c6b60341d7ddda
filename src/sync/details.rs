//! The detail pass: works the detail queue (`repo::details`) inside the upstream's request
//! budget. Each due paper costs one request (`?field=comments` answers the linked repos and the
//! comments together) and a second only when a total exceeds the capped list. A batch is stored
//! in one transaction, so a killed pass loses at most the batch in flight, which stays due.
use std::sync::Arc;
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use futures_util::StreamExt;
use indicatif::ProgressBar;
use sea_orm::DatabaseConnection;

use super::hub::{merge_full_lists, parse_neighbourhood};
use super::upstream::Upstream;
use super::worker::Stop;
use crate::repo::details::{DetailOutcome, DueDetail, Refresh};

/// What one detail pass may do.
#[derive(Clone, Debug)]
pub struct DetailPass {
    pub refresh: Refresh,
    /// Only the papers listed on these days (`sync --details`); all papers when `None`.
    pub days: Option<Vec<NaiveDate>>,
    /// Requests of each budget window left to the daily lists: the pass ends rather than spend
    /// them (0: wait for the next window instead, as `sync --details` does).
    pub keep: u64,
    /// The pass ends at this time (the next daily pass), if set.
    pub until: Option<Instant>,
}

/// What a detail pass did.
#[derive(Clone, Debug, Default)]
pub struct DetailReport {
    pub fetched: usize,
    pub not_indexed: usize,
    pub failed: usize,
    /// Ended because the rest of the window's budget is kept for the daily lists.
    pub budget_kept: bool,
    /// Ended because the upstream could not be reached at all.
    pub unreachable: bool,
}

impl DetailReport {
    pub fn papers(&self) -> usize {
        self.fetched + self.not_indexed + self.failed
    }
}

/// A batch being stored: its papers and the task storing them.
type Storing = (
    Vec<i64>,
    tokio::task::JoinHandle<Result<(), sea_orm::DbErr>>,
);

/// The papers due per batch: a few rounds of the upstream's concurrency.
fn batch_size(up: &Upstream) -> u64 {
    (up.concurrency() as u64 * 16).clamp(16, 256)
}

/// The papers due now (of `pass.days` when set).
pub async fn due_count(db: &DatabaseConnection, pass: &DetailPass) -> anyhow::Result<i64> {
    Ok(crate::repo::details::due_count(db, Utc::now(), pass.refresh, pass.days.as_deref()).await?)
}

/// Works the queue until it is empty, `stop` is requested, the time is up, or the budget left
/// is what `pass.keep` keeps for the daily lists. `yield_to` ends the pass early when it says
/// so (a daily sync asked for meanwhile goes first).
pub async fn run(
    db: &DatabaseConnection,
    up: &Arc<Upstream>,
    pass: &DetailPass,
    stop: &Stop,
    yield_to: &(dyn Fn() -> bool + Send + Sync),
    progress: &ProgressBar,
) -> anyhow::Result<DetailReport> {
    let mut report = DetailReport::default();
    // Due as of the pass's start: a paper fetched in this pass is not due again in it.
    let started = Utc::now();
    // One batch is stored while the next is fetched (one writer at a time); its papers are
    // left out of the next batch until it commits.
    let mut storing: Option<Storing> = None;
    loop {
        if stop.requested() || yield_to() || pass.until.is_some_and(|t| Instant::now() >= t) {
            break;
        }
        let mut limit = batch_size(up);
        if pass.keep > 0 {
            let spendable = up.budget_left().saturating_sub(pass.keep);
            if spendable == 0 {
                report.budget_kept = true;
                break;
            }
            limit = limit.min(spendable);
        }
        let in_store: &[i64] = storing.as_ref().map_or(&[], |(ids, _)| ids);
        let due = crate::repo::details::due(
            db,
            started,
            pass.refresh,
            pass.days.as_deref(),
            limit + in_store.len() as u64,
        )
        .await?;
        let due: Vec<DueDetail> = due
            .into_iter()
            .filter(|d| !in_store.contains(&d.paper_id))
            .take(limit as usize)
            .collect();
        if due.is_empty() {
            break;
        }
        let results: Vec<(i64, DetailOutcome, bool)> = futures_util::stream::iter(due)
            .map(|d| fetch_one(up, d, pass.keep))
            .buffer_unordered(up.concurrency())
            .collect()
            .await;
        if results.iter().all(|(_, _, unreachable)| *unreachable) {
            // Nothing answered: record nothing (the papers stay due) and end the pass.
            report.unreachable = true;
            break;
        }
        for (_, o, _) in &results {
            match o {
                DetailOutcome::Fetched(_) => report.fetched += 1,
                DetailOutcome::NotIndexed => report.not_indexed += 1,
                DetailOutcome::Failed(_) => report.failed += 1,
            }
        }
        let batch: Vec<(i64, DetailOutcome)> =
            results.into_iter().map(|(id, o, _)| (id, o)).collect();
        if let Some((_, previous)) = storing.take() {
            previous.await??;
        }
        let ids = batch.iter().map(|(id, _)| *id).collect();
        let (db2, n) = (db.clone(), batch.len() as u64);
        storing = Some((
            ids,
            tokio::spawn(
                async move { crate::repo::details::store(&db2, &batch, Utc::now()).await },
            ),
        ));
        progress.inc(n);
        progress.set_message(format!(
            "{} stored, {} not indexed, {} failed",
            report.fetched, report.not_indexed, report.failed
        ));
    }
    if let Some((_, last)) = storing.take() {
        last.await??;
    }
    if report.papers() > 0 {
        tracing::info!(
            fetched = report.fetched,
            not_indexed = report.not_indexed,
            failed = report.failed,
            budget_kept = report.budget_kept,
            "detail pass finished"
        );
    }
    Ok(report)
}

/// One paper's detail, completed from the full repo list when a total exceeds the capped list
/// (and the budget allows). The flag: the upstream could not be reached.
async fn fetch_one(up: &Upstream, due: DueDetail, keep: u64) -> (i64, DetailOutcome, bool) {
    let id = due.arxiv_id.as_str();
    let body = match up.paper_details(id, true).await {
        Ok(Some(body)) => body,
        Ok(None) => return (due.paper_id, DetailOutcome::NotIndexed, false),
        Err(e) => {
            tracing::warn!(arxiv_id = id, error = %e, "paper detail unavailable; it will be retried");
            let unreachable = e.is_unreachable();
            return (
                due.paper_id,
                DetailOutcome::Failed(e.to_string()),
                unreachable,
            );
        }
    };
    let mut n = match parse_neighbourhood(&body) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(arxiv_id = id, error = %e, "unusable paper detail; it will be retried");
            return (due.paper_id, DetailOutcome::Failed(e), false);
        }
    };
    if n.skipped > 0 {
        tracing::warn!(
            arxiv_id = id,
            skipped = n.skipped,
            "unusable items in a paper detail skipped"
        );
    }
    if n.linked.iter().any(|l| l.is_capped()) && (keep == 0 || up.budget_left() > keep) {
        match up
            .linked_repos(id)
            .await
            .map_err(|e| e.to_string())
            .and_then(|full| merge_full_lists(&mut n, &full))
        {
            Ok(()) => {}
            // The capped lists and the totals are still right; the full lists come next time.
            Err(e) => {
                tracing::warn!(arxiv_id = id, error = %e, "full repo lists unavailable; keeping the capped ones")
            }
        }
    }
    (due.paper_id, DetailOutcome::Fetched(n), false)
}
