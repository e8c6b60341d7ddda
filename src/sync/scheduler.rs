//! The sync schedule inside `serve`: on an empty database, backfill the last N days in the
//! background while the API already answers; then, at start and every interval, sync today and
//! yesterday, refresh the last few days' figures and retry failed days. Stops between days.
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use indicatif::ProgressBar;
use sea_orm::DatabaseConnection;

use super::upstream::Upstream;
use super::worker::{Stop, sync_days_until};
use crate::repo::status;

/// When and how much to sync.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub interval: Duration,
    /// Days to backfill when the mirror is empty.
    pub backfill_days: u32,
    /// Recent days re-fetched every pass, for upvotes, comments and stars.
    pub refresh_days: u32,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(15 * 60),
            backfill_days: 30,
            refresh_days: 3,
        }
    }
}

/// The days one pass covers, given today and the failed days on record.
pub fn pass_dates(
    today: NaiveDate,
    schedule: &Schedule,
    failed: &[NaiveDate],
    empty: bool,
) -> (Vec<NaiveDate>, &'static str) {
    let span = if empty {
        schedule.backfill_days
    } else {
        schedule.refresh_days.max(2)
    };
    let mut days: BTreeSet<NaiveDate> = (0..i64::from(span.max(1)))
        .map(|back| today - chrono::Duration::days(back))
        .collect();
    days.extend(failed.iter().copied().filter(|d| *d <= today));
    (
        days.into_iter().collect(),
        if empty { "backfill" } else { "sync" },
    )
}

/// Runs passes until `stop` is requested.
pub async fn run(
    db: DatabaseConnection,
    upstream: Arc<Upstream>,
    schedule: Schedule,
    gate: Arc<super::leader::SyncGate>,
    mut stop: Stop,
) {
    let mut leadership = super::leader::Leadership::default();
    loop {
        if stop.requested() {
            break;
        }
        let leading = leadership.check(&db).await;
        gate.set_leading(leading);
        if leading {
            crate::metrics::sync_pass();
            let _turn = gate.pass().await;
            if let Err(e) = pass(&db, &upstream, &schedule, &stop).await {
                tracing::error!(error = %format!("{e:#}"), "sync pass failed; retrying at the next interval");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(schedule.interval) => {}
            () = stop.wait() => break,
        }
    }
    leadership.release().await;
    tracing::info!("sync worker stopped");
}

async fn pass(
    db: &DatabaseConnection,
    upstream: &Arc<Upstream>,
    schedule: &Schedule,
    stop: &Stop,
) -> anyhow::Result<()> {
    let empty = status::recent_days(db, 1).await?.is_empty();
    let failed: Vec<NaiveDate> = status::failed_days(db)
        .await?
        .into_iter()
        .map(|d| d.date)
        .collect();
    let (dates, kind) = pass_dates(Utc::now().date_naive(), schedule, &failed, empty);
    tracing::info!(
        kind,
        days = dates.len(),
        retries = failed.len(),
        "sync pass starting"
    );
    let report = sync_days_until(
        db,
        upstream.clone(),
        dates,
        kind,
        &ProgressBar::hidden(),
        stop,
    )
    .await?;
    if report.unreachable {
        tracing::warn!(
            url = upstream.base_url(),
            "the upstream is unreachable; the next pass retries (check PAPERGRAPH_UPSTREAM_URL and the network)"
        );
    }
    tracing::info!(
        kind,
        ok = report.days_ok,
        partial = report.days_partial,
        unchanged = report.days_unchanged,
        failed = report.days_failed,
        new_papers = report.papers_added,
        updated = report.papers_updated,
        "sync pass finished"
    );
    if report.papers_added > 0 {
        let db = db.clone();
        tokio::spawn(async move {
            if let Err(e) = crate::repo::similar::update(&db).await {
                tracing::warn!(error = %e, "similar papers could not be updated; the next pass retries");
            }
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_cover_backfill_refresh_and_failed_days() {
        let today: NaiveDate = "2026-11-26".parse().unwrap();
        let s = Schedule::default();
        let (days, kind) = pass_dates(today, &s, &[], true);
        assert_eq!((days.len(), kind), (30, "backfill"));
        assert_eq!(days.last(), Some(&today));
        let failed = ["2026-10-01".parse().unwrap(), "2026-11-25".parse().unwrap()];
        let (days, kind) = pass_dates(today, &s, &failed, false);
        assert_eq!(kind, "sync");
        let want: Vec<NaiveDate> = ["2026-10-01", "2026-11-24", "2026-11-25", "2026-11-26"]
            .iter()
            .map(|d| d.parse().unwrap())
            .collect();
        assert_eq!(days, want);
    }
}
