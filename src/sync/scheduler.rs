//! The sync schedule inside `serve`: on an empty database, backfill the last N days in the
//! background while the API already answers; then, at start and every interval, sync today and
//! yesterday, refresh the last few days' figures, retry failed days, and re-check recent days
//! that came back empty or grew later (published late). Stops between days.
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use indicatif::ProgressBar;
use sea_orm::DatabaseConnection;

use super::upstream::Upstream;
use super::worker::{Stop, sync_days_until};
use crate::entities::sync_run::Kind;
use crate::repo::status;

/// When and how much to sync.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub interval: Duration,
    /// Days to backfill when the mirror is empty.
    pub backfill_days: u32,
    /// Recent days re-fetched every pass, for upvotes, comments and stars.
    pub refresh_days: u32,
    /// Work the detail queue between passes, with this refresh period.
    pub details: Option<crate::repo::details::Refresh>,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(15 * 60),
            backfill_days: 30,
            refresh_days: 3,
            details: None,
        }
    }
}

/// Days at most this old are re-checked when they come back empty or grow later.
pub const RECHECK_DAYS: i64 = 14;

/// What a fetch says about re-checking a day later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recheck {
    /// Look again, with this many re-checks behind it.
    Again(i32),
    /// The day is settled (or too old to wait for).
    Settled,
    /// The fetch failed: the failed-day retry covers it; keep whatever was planned.
    Unchanged,
}

/// Decides after a fetch of `date` whether to re-check it: a weekday whose list is empty, or a
/// list that grew since the last fetch (the upstream publishes late), is looked at again;
/// anything else settles. `before` and `after`: the stored list (fetched without failing, paper
/// count) around the fetch; `attempts`: the re-checks so far.
pub fn recheck_after(
    today: NaiveDate,
    date: NaiveDate,
    before: Option<(bool, i32)>,
    after: Option<(bool, i32)>,
    attempts: i32,
) -> Recheck {
    if date < today - chrono::Duration::days(RECHECK_DAYS) {
        return Recheck::Settled;
    }
    let weekday = date.weekday().number_from_monday() <= 5;
    match (before, after) {
        (_, None | Some((false, _))) => Recheck::Unchanged,
        (_, Some((true, 0))) if weekday => Recheck::Again(attempts + 1),
        (Some((true, was)), Some((true, now))) if now > was => Recheck::Again(attempts + 1),
        _ => Recheck::Settled,
    }
}

/// When to look again after `attempts` re-checks: at the next pass for the first three, then
/// every 2, 4, 8 … passes (at most 64), counted in `interval`s from `now`.
pub fn recheck_at(attempts: i32, now: DateTime<Utc>, interval: Duration) -> DateTime<Utc> {
    let passes = if attempts <= 3 {
        1
    } else {
        1u32 << (attempts - 3).min(6)
    };
    // Half an interval of slack: the pass due then starts a little after `now + interval`.
    let wait = interval * (passes - 1) + interval / 2;
    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)
}

/// The days one pass covers, given today and the days on record to fetch again (failed, or
/// due for a re-check).
pub fn pass_dates(
    today: NaiveDate,
    schedule: &Schedule,
    failed: &[NaiveDate],
    empty: bool,
) -> (Vec<NaiveDate>, Kind) {
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
        if empty { Kind::Backfill } else { Kind::Sync },
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
        let started = std::time::Instant::now();
        if leading {
            crate::metrics::sync_pass();
            let turn = gate.pass().await;
            if let Err(e) = pass(&db, &upstream, &schedule, &stop).await {
                tracing::error!(error = %format!("{e:#}"), "sync pass failed; retrying at the next interval");
            }
            drop(turn);
            if let Some(refresh) = schedule.details {
                let until = started + schedule.interval;
                let busy = || gate.busy();
                if let Err(e) = details(&db, &upstream, refresh, until, &stop, &busy).await {
                    tracing::warn!(error = %format!("{e:#}"), "detail pass failed; the next one resumes the queue");
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(schedule.interval.saturating_sub(started.elapsed())) => {}
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
    let today = Utc::now().date_naive();
    let mut again: Vec<NaiveDate> = status::failed_days(db)
        .await?
        .into_iter()
        .map(|d| d.date)
        .collect();
    let retries = again.len();
    let (rechecks, expired): (Vec<_>, Vec<_>) = status::rechecking_days(db)
        .await?
        .into_iter()
        .partition(|r| r.date >= today - chrono::Duration::days(RECHECK_DAYS));
    let expired: Vec<NaiveDate> = expired.into_iter().map(|r| r.date).collect();
    status::save_rechecks(db, &[], &expired).await?;
    let started = Utc::now();
    let due: Vec<NaiveDate> = rechecks
        .iter()
        .filter(|r| r.next_at <= started)
        .map(|r| r.date)
        .collect();
    again.extend(&due);
    let (dates, kind) = pass_dates(today, schedule, &again, empty);
    tracing::info!(
        kind = kind.as_str(),
        days = dates.len(),
        retries,
        rechecks = due.len(),
        "sync pass starting"
    );
    let before = status::day_counts(db, &dates).await?;
    let report = sync_days_until(
        db,
        upstream.clone(),
        dates,
        kind,
        &ProgressBar::hidden(),
        stop,
    )
    .await?;
    plan_rechecks(db, schedule, today, &report.checked, &before, &rechecks).await?;
    if report.unreachable {
        tracing::warn!(
            url = upstream.base_url(),
            "the upstream is unreachable; the next pass retries (check PAPERGRAPH_UPSTREAM_URL and the network)"
        );
    }
    tracing::info!(
        kind = kind.as_str(),
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

/// Works the detail queue until the next pass is due, keeping a tenth of each budget window
/// (at least 10 requests) for the daily lists.
async fn details(
    db: &DatabaseConnection,
    upstream: &Arc<Upstream>,
    refresh: crate::repo::details::Refresh,
    until: std::time::Instant,
    stop: &Stop,
    busy: &(dyn Fn() -> bool + Send + Sync),
) -> anyhow::Result<()> {
    let pass = super::details::DetailPass {
        refresh,
        days: None,
        keep: (upstream.budget() / 10)
            .max(10)
            .min(upstream.budget() / 2)
            .max(1),
        until: Some(until),
    };
    super::details::run(db, upstream, &pass, stop, busy, &ProgressBar::hidden()).await?;
    Ok(())
}

/// Records, for each day the pass fetched, whether and when to re-check it.
async fn plan_rechecks(
    db: &DatabaseConnection,
    schedule: &Schedule,
    today: NaiveDate,
    checked: &[NaiveDate],
    before: &std::collections::HashMap<NaiveDate, (bool, i32)>,
    rechecks: &[crate::entities::day_recheck::Model],
) -> anyhow::Result<()> {
    let after = status::day_counts(db, checked).await?;
    let attempts: std::collections::HashMap<NaiveDate, i32> =
        rechecks.iter().map(|r| (r.date, r.attempts)).collect();
    let now = Utc::now();
    let mut settled = Vec::new();
    let mut planned = Vec::new();
    for &date in checked {
        let so_far = attempts.get(&date).copied().unwrap_or(0);
        let b = before.get(&date).copied();
        match recheck_after(today, date, b, after.get(&date).copied(), so_far) {
            Recheck::Again(n) => {
                let next = recheck_at(n, now, schedule.interval);
                tracing::info!(%date, attempts = n, next_at = %next, "the day is empty or grew; it will be checked again");
                planned.push((date, n, next));
            }
            Recheck::Settled if attempts.contains_key(&date) => settled.push(date),
            Recheck::Settled | Recheck::Unchanged => {}
        }
    }
    status::save_rechecks(db, &planned, &settled).await?;
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
        assert_eq!((days.len(), kind), (30, Kind::Backfill));
        assert_eq!(days.last(), Some(&today));
        let failed = ["2026-10-01".parse().unwrap(), "2026-11-25".parse().unwrap()];
        let (days, kind) = pass_dates(today, &s, &failed, false);
        assert_eq!(kind, Kind::Sync);
        let want: Vec<NaiveDate> = ["2026-10-01", "2026-11-24", "2026-11-25", "2026-11-26"]
            .iter()
            .map(|d| d.parse().unwrap())
            .collect();
        assert_eq!(days, want);
    }

    #[test]
    fn empty_weekdays_and_grown_lists_are_checked_again_with_a_backoff() {
        let today: NaiveDate = "2026-11-26".parse().unwrap(); // a Thursday
        let tuesday: NaiveDate = "2026-11-24".parse().unwrap();
        let sunday: NaiveDate = "2026-11-22".parse().unwrap();
        let old: NaiveDate = "2026-11-01".parse().unwrap();
        assert_eq!(
            recheck_after(today, tuesday, None, Some((true, 0)), 0),
            Recheck::Again(1)
        );
        assert_eq!(
            recheck_after(today, sunday, None, Some((true, 0)), 0),
            Recheck::Settled,
            "an empty weekend day is normal"
        );
        assert_eq!(
            recheck_after(today, tuesday, Some((true, 0)), Some((true, 12)), 4),
            Recheck::Again(5),
            "it filled up: one more look for late additions"
        );
        assert_eq!(
            recheck_after(today, tuesday, Some((true, 12)), Some((true, 12)), 5),
            Recheck::Settled
        );
        assert_eq!(
            recheck_after(today, tuesday, Some((true, 0)), Some((false, 0)), 2),
            Recheck::Unchanged
        );
        assert_eq!(
            recheck_after(today, old, None, Some((true, 0)), 3),
            Recheck::Settled,
            "too old to wait for"
        );
        let now = Utc::now();
        let i = Duration::from_secs(60);
        let at = |n| (recheck_at(n, now, i) - now).num_seconds();
        assert_eq!([at(1), at(3), at(4), at(5), at(6)], [30, 30, 90, 210, 450]);
        assert_eq!(at(40), 63 * 60 + 30, "at most 64 passes apart");
    }
}
