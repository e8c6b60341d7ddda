//! Digest delivery: which digests are due, claiming each (subscription, period) in the database
//! before its mail is sent, retries with backoff, and the scheduler loop `serve` runs.
//!
//! **Guarantee: at most once.** A digest is claimed by inserting its `(subscription, period)` row
//! (the primary key lets exactly one process win, on any number of replicas) before anything is
//! sent. When the SMTP server refuses the mail (an error answer or no connection), nothing was
//! delivered: the row goes to `retry` and is claimed again after a backoff (2, 8, 32, 128 minutes),
//! then `failed` after [`MAX_ATTEMPTS`]. When the process stops between the claim and the SMTP
//! server's answer, whether the mail left is unknown: the row stays `sending`, is marked
//! `interrupted` after [`STALE_AFTER_MINUTES`] and is never resent. A subscriber may miss one
//! digest in that case; no one ever gets the same digest twice.
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc, Weekday};
use sea_orm::ActiveValue::Set;
use sea_orm::{DatabaseConnection, DbErr};

use super::mailer::{self, Mailer};
use super::{Frequency, StoredInterests};
use crate::entities::{digest_delivery as delivery, digest_subscription as sub};
use crate::repo::deliveries;
use crate::repo::subscriptions::new_token;
use crate::search::SearchEngine;

/// Sends of one digest before it is given up.
pub const MAX_ATTEMPTS: i32 = 5;
/// A claim older than this without an answer belongs to a process that stopped.
pub const STALE_AFTER_MINUTES: i64 = 10;

/// When digests go out (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Hour of the day (0–23) daily and weekly digests are sent.
    pub hour: u32,
    /// Day of the week weekly digests are sent.
    pub weekday: Weekday,
}

impl From<&crate::config::DigestScheduleOpts> for Schedule {
    fn from(o: &crate::config::DigestScheduleOpts) -> Self {
        Schedule {
            hour: o.digest_hour,
            weekday: o.digest_weekday,
        }
    }
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            hour: 7,
            weekday: Weekday::Mon,
        }
    }
}

/// One digest due for a frequency: the listing days it covers and its delivery key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub frequency: Frequency,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// `daily:YYYY-MM-DD` or `weekly:YYYY-MM-DD` (the last day covered).
    pub period: String,
}

impl Schedule {
    /// The digest of the latest scheduled send at or before `now`. A daily digest sent on day D
    /// covers the listing day before (D−1, complete by then); a weekly one the seven days
    /// before its send day. A send missed while no server ran goes out when one runs again.
    pub fn due(&self, frequency: Frequency, now: DateTime<Utc>) -> Due {
        let today = now.date_naive();
        let reached = now.hour() >= std::cmp::min(self.hour, 23);
        let send_day = match frequency {
            Frequency::Daily => {
                if reached {
                    today
                } else {
                    today - Duration::days(1)
                }
            }
            Frequency::Weekly => {
                let back = (7 + today.weekday().num_days_from_monday()
                    - self.weekday.num_days_from_monday())
                    % 7;
                let mut d = today - Duration::days(i64::from(back));
                if d == today && !reached {
                    d -= Duration::days(7);
                }
                d
            }
        };
        let to = send_day - Duration::days(1);
        let (from, _) = super::period(frequency, to);
        let period = match frequency {
            Frequency::Daily => format!("daily:{to}"),
            Frequency::Weekly => format!("weekly:{to}"),
        };
        Due {
            frequency,
            from,
            to,
            period,
        }
    }
}

/// Where mail goes and what its links point to. Without a mailer only dry runs are possible.
#[derive(Clone, Copy)]
pub struct Sender<'a> {
    pub mailer: Option<&'a Mailer>,
    /// e.g. `https://papers.example.org` (no trailing slash).
    pub public_url: &'a str,
}

/// A digest that would go out (dry run) or went out.
#[derive(Clone, Debug)]
pub struct Planned {
    pub subscription_id: i64,
    pub period: String,
    pub mail: mailer::Outgoing,
    pub papers: usize,
}

/// What one pass did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub sent: u32,
    /// Nothing matched: recorded, no mail.
    pub empty: u32,
    /// Refused by the SMTP server; tried again later.
    pub retrying: u32,
    /// Given up after [`MAX_ATTEMPTS`].
    pub failed: u32,
    /// Claims of stopped processes marked `interrupted` (not resent).
    pub interrupted: u32,
    /// Periods whose last day the mirror does not hold yet (tried again next pass).
    pub waiting: Vec<String>,
    /// Dry run: what would be sent; otherwise what was sent.
    pub planned: Vec<Planned>,
}

/// One pass: marks stale claims, then builds, claims and sends every due digest (or, with
/// `dry_run`, only builds and reports them, claiming and recording nothing).
pub async fn run_due(
    db: &DatabaseConnection,
    engine: &SearchEngine,
    sender: Sender<'_>,
    schedule: &Schedule,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<Report, DbErr> {
    let now = now.with_nanosecond(0).unwrap_or(now);
    let mut report = Report::default();
    if !dry_run {
        report.interrupted =
            deliveries::mark_interrupted(db, now - Duration::minutes(STALE_AFTER_MINUTES)).await?;
        if report.interrupted > 0 {
            tracing::warn!(
                deliveries = report.interrupted,
                "digest sends were interrupted by a stopped process; they are not resent, so those subscribers miss one digest"
            );
        }
    }
    // A subscription whose stored frequency is unknown is due at no time: say so every pass
    // rather than leave it silent.
    let known = [Frequency::Daily.as_str(), Frequency::Weekly.as_str()];
    let unknown = deliveries::active_subscriptions_not_of(db, &known).await?;
    for s in &unknown {
        let error = Frequency::parse(&s.frequency).err().unwrap_or_default();
        tracing::error!(subscription = s.id, %error, "an active digest subscription has an unknown frequency; it gets no digest until it is updated");
    }
    for frequency in [Frequency::Daily, Frequency::Weekly] {
        let due = schedule.due(frequency, now);
        let subs = deliveries::active_subscriptions(db, frequency.as_str()).await?;
        if subs.is_empty() {
            continue;
        }
        if !deliveries::day_synced(db, due.to).await? {
            tracing::debug!(period = %due.period, "digest waits for the sync to store its last day");
            report.waiting.push(due.period.clone());
            continue;
        }
        let done = deliveries::of_period(db, &due.period).await?;
        for s in subs {
            let retry = match done.get(&s.id) {
                None => false,
                Some(d)
                    if d.status == delivery::Status::Retry
                        && d.next_attempt_at.is_some_and(|t| t <= now) =>
                {
                    true
                }
                Some(_) => continue,
            };
            deliver(
                db,
                engine,
                sender,
                &s,
                &due,
                now,
                retry,
                dry_run,
                &mut report,
            )
            .await?;
        }
    }
    crate::metrics::digest("sent", u64::from(report.sent));
    crate::metrics::digest("empty", u64::from(report.empty));
    crate::metrics::digest("retry", u64::from(report.retrying));
    crate::metrics::digest("failed", u64::from(report.failed));
    crate::metrics::digest("interrupted", u64::from(report.interrupted));
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn deliver(
    db: &DatabaseConnection,
    engine: &SearchEngine,
    sender: Sender<'_>,
    s: &sub::Model,
    due: &Due,
    now: DateTime<Utc>,
    retry: bool,
    dry_run: bool,
    report: &mut Report,
) -> Result<(), DbErr> {
    let stored = StoredInterests::read(&s.interests);
    let checked = match &stored {
        Ok(i) => i.checked(&s.frequency),
        Err(e) => Err(e.clone()),
    };
    let interests = match checked {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(subscription = s.id, error = %e, "a stored subscription has unusable interests; its digest is skipped");
            if !dry_run {
                deliveries::record(
                    db,
                    s.id,
                    &due.period,
                    delivery::Status::Failed,
                    now,
                    Some(e),
                )
                .await?;
            }
            report.failed += 1;
            return Ok(());
        }
    };
    let papers = super::build(db, engine, &interests, due.from, due.to).await?;
    if papers.is_empty() {
        if !dry_run {
            deliveries::record(db, s.id, &due.period, delivery::Status::Empty, now, None).await?;
        }
        report.empty += 1;
        return Ok(());
    }
    let ids: Vec<i64> = papers.iter().map(|p| p.id).collect();
    let authors =
        crate::repo::papers::author_slots(db, &ids, crate::repo::papers::SlotRead::Own).await?;
    let authors: HashMap<i64, Vec<String>> = authors
        .into_iter()
        .map(|(id, slots)| (id, slots.into_iter().map(|a| a.name).collect()))
        .collect();
    let content = mailer::DigestContent {
        to: &s.email,
        frequency: interests.frequency,
        from: due.from,
        to_day: due.to,
        papers: &papers,
        authors: &authors,
        follows: &stored.map(|i| i.follows()).unwrap_or_default(),
        public_url: sender.public_url,
    };
    if dry_run {
        let mail = mailer::digest(&content, "<one-click unsubscribe link>");
        report.planned.push(Planned {
            subscription_id: s.id,
            period: due.period.clone(),
            mail,
            papers: papers.len(),
        });
        return Ok(());
    }
    let Some(mailer) = sender.mailer else {
        return Err(DbErr::Custom(
            "digests cannot be sent without PAPERGRAPH_SMTP_URL".into(),
        ));
    };
    let (token, token_hash) = new_token()?;
    let Some(attempt) = deliveries::claim(db, s.id, &due.period, now, &token_hash, retry).await?
    else {
        // Another process claimed it first.
        return Ok(());
    };
    let link = format!("{}/digest/unsubscribe?token={token}", sender.public_url);
    let mail = mailer::digest(&content, &link);
    let key = (s.id, due.period.clone());
    match mailer.send(&mail).await {
        Ok(()) => {
            let n = i32::try_from(papers.len()).unwrap_or(i32::MAX);
            deliveries::update(db, &key, |a| {
                a.status = Set(delivery::Status::Sent);
                a.sent_at = Set(Some(now));
                a.error = Set(None);
                a.next_attempt_at = Set(None);
                a.paper_count = Set(Some(n));
            })
            .await?;
            tracing::info!(subscription = s.id, period = %due.period, papers = papers.len(), "digest sent");
            report.sent += 1;
            report.planned.push(Planned {
                subscription_id: s.id,
                period: due.period.clone(),
                mail,
                papers: papers.len(),
            });
        }
        Err(e) if attempt >= MAX_ATTEMPTS => {
            tracing::error!(subscription = s.id, period = %due.period, attempts = attempt, error = %e,
                "digest not delivered after every retry; giving up (check PAPERGRAPH_SMTP_URL and the relay's logs)");
            deliveries::update(db, &key, |a| {
                a.status = Set(delivery::Status::Failed);
                a.error = Set(Some(e.clone()));
                a.next_attempt_at = Set(None);
            })
            .await?;
            report.failed += 1;
        }
        Err(e) => {
            let next = now + backoff(attempt);
            tracing::warn!(subscription = s.id, period = %due.period, attempt, next_attempt = %next, error = %e,
                "digest not delivered; it will be retried");
            deliveries::update(db, &key, |a| {
                a.status = Set(delivery::Status::Retry);
                a.error = Set(Some(e.clone()));
                a.next_attempt_at = Set(Some(next));
            })
            .await?;
            report.retrying += 1;
        }
    }
    Ok(())
}

/// The wait before the next attempt after `attempt` failed ones: 2, 8, 32, 128 minutes.
pub fn backoff(attempt: i32) -> Duration {
    Duration::minutes(2 * 4_i64.pow(u32::try_from(attempt.clamp(1, 6) - 1).unwrap_or(0)))
}

/// Runs [`run_due`] every `every` until `stop` turns true (the scheduler inside `serve`).
pub async fn run(
    db: DatabaseConnection,
    engine: Arc<SearchEngine>,
    service: Arc<super::service::DigestService>,
    schedule: Schedule,
    every: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    tracing::info!(
        hour = schedule.hour,
        weekday = %schedule.weekday,
        "digest scheduler started (times in UTC)"
    );
    loop {
        let sender = Sender {
            mailer: Some(&service.mailer),
            public_url: &service.public_url,
        };
        match run_due(&db, &engine, sender, &schedule, Utc::now(), false).await {
            Ok(r) if r.sent + r.failed + r.retrying > 0 => tracing::info!(
                sent = r.sent,
                empty = r.empty,
                retrying = r.retrying,
                failed = r.failed,
                "digest pass"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "digest pass failed; the next pass tries again")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 30, 0).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_daily_digest_covers_the_day_before_its_send_day() {
        let s = Schedule {
            hour: 7,
            weekday: Weekday::Mon,
        };
        // 2026-11-26 is a Thursday.
        let after = s.due(Frequency::Daily, at(2026, 11, 26, 7));
        assert_eq!(after.period, "daily:2026-11-25");
        assert_eq!(
            (after.from, after.to),
            (day("2026-11-25"), day("2026-11-25"))
        );
        let before = s.due(Frequency::Daily, at(2026, 11, 26, 6));
        assert_eq!(before.period, "daily:2026-11-24");
    }

    #[test]
    fn a_weekly_digest_covers_the_seven_days_before_its_send_day() {
        let s = Schedule {
            hour: 7,
            weekday: Weekday::Mon,
        };
        // Thursday: the Monday three days before (2026-11-23) was the last send.
        let w = s.due(Frequency::Weekly, at(2026, 11, 26, 3));
        assert_eq!(w.period, "weekly:2026-11-22");
        assert_eq!((w.from, w.to), (day("2026-11-16"), day("2026-11-22")));
        // Monday before the hour: the Monday before.
        let early = s.due(Frequency::Weekly, at(2026, 11, 23, 6));
        assert_eq!(early.period, "weekly:2026-11-15");
        let on = s.due(Frequency::Weekly, at(2026, 11, 23, 7));
        assert_eq!(on.period, "weekly:2026-11-22");
    }

    #[test]
    fn retries_back_off() {
        assert_eq!(backoff(1), Duration::minutes(2));
        assert_eq!(backoff(2), Duration::minutes(8));
        assert_eq!(backoff(4), Duration::minutes(128));
    }
}
