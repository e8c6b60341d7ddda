//! Syncing days from the upstream: fetch lists concurrently (the client bounds requests), write
//! each day in its own transaction, one writer at a time, and record days that fail for a retry.
use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use indicatif::ProgressBar;
use sea_orm::ActiveValue::{NotSet, Set};
use std::time::{Duration, Instant};

use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr};
use tokio::task::JoinSet;

use super::html::{Card, DailyPage, read_daily_page};
use super::parse::{ParsedList, parse_paper_details, parse_raw_items};
use super::upstream::{FetchError, Upstream};
use crate::config::Source;
use crate::domain::{ArxivId, DailyPaper};
use crate::entities::{daily_list, sync_run};
use crate::repo::import::{
    CardFigures, ImportOutcome, content_hash, import_card_figures, import_hashed_list,
    record_failed_day, stored_arxiv_ids, stored_body_hashes,
};
use crate::repo::status::{record_run, refresh_statistics};

/// What a sync run did.
#[derive(Debug, Default, Clone)]
pub struct SyncReport {
    pub days_ok: usize,
    pub days_unchanged: usize,
    /// Days stored from their page's visible cards only (figures; retried for full data).
    pub days_partial: usize,
    pub days_failed: usize,
    pub papers_added: usize,
    pub papers_updated: usize,
    pub papers_seen: usize,
    /// The failed days with the reason, oldest first.
    pub failures: Vec<(NaiveDate, String)>,
    /// Every failure was "cannot connect": the upstream is unreachable.
    pub unreachable: bool,
    /// The days fetched and stored (changed or not), oldest first.
    pub checked: Vec<NaiveDate>,
}

impl SyncReport {
    /// Days stored in full, unchanged, or from their cards.
    pub fn days_stored(&self) -> usize {
        self.days_ok + self.days_unchanged + self.days_partial
    }
}

/// Syncs `dates` (any order; each at most once) and records the run as `kind`.
pub async fn sync_days(
    db: &DatabaseConnection,
    upstream: Arc<Upstream>,
    dates: impl IntoIterator<Item = NaiveDate>,
    kind: sync_run::Kind,
    progress: &ProgressBar,
) -> anyhow::Result<SyncReport> {
    sync_days_until(db, upstream, dates, kind, progress, &Stop::never()).await
}

/// A stop request, checked between days (each day is its own transaction: a safe point).
#[derive(Clone, Debug)]
pub struct Stop(Option<tokio::sync::watch::Receiver<bool>>);

impl Stop {
    pub fn never() -> Self {
        Self(None)
    }

    pub fn on(rx: tokio::sync::watch::Receiver<bool>) -> Self {
        Self(Some(rx))
    }

    pub fn requested(&self) -> bool {
        self.0.as_ref().is_some_and(|rx| *rx.borrow())
    }

    /// Resolves when a stop is requested (never, for `Stop::never()`).
    pub async fn wait(&mut self) {
        match &mut self.0 {
            Some(rx) => {
                while !*rx.borrow_and_update() {
                    if rx.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            }
            None => std::future::pending::<()>().await,
        }
    }
}

/// Consecutive "cannot connect" failures, with nothing fetched yet, that end a run early.
const UNREACHABLE_GIVE_UP: usize = 3;

/// [`sync_days`] that stops starting new days once `stop` is requested, and gives up early when
/// the upstream cannot be reached at all.
pub async fn sync_days_until(
    db: &DatabaseConnection,
    upstream: Arc<Upstream>,
    dates: impl IntoIterator<Item = NaiveDate>,
    kind: sync_run::Kind,
    progress: &ProgressBar,
    stop: &Stop,
) -> anyhow::Result<SyncReport> {
    let dates: BTreeSet<NaiveDate> = dates.into_iter().collect();
    let started_at = Utc::now();
    let known_bodies = Arc::new(match (dates.first(), dates.last()) {
        (Some(from), Some(to)) => stored_body_hashes(db, *from, *to).await?,
        _ => Default::default(),
    });
    progress.set_length(dates.len() as u64);
    let mut report = SyncReport::default();
    let mut unreachable_failures = 0usize;
    let mut pending = dates.into_iter();
    let mut fetches: JoinSet<(NaiveDate, Fetched, Option<String>)> = JoinSet::new();
    // Keep a few lists in flight ahead of the writer, no more: twice the request concurrency, so
    // that lists are parsed and hashed (on every core) while others are on the network. The
    // upstream client's own limit keeps requests in flight at the configured concurrency.
    let ahead = (upstream.concurrency() * 2).clamp(4, 32);
    let mut group = Group::default();
    loop {
        let give_up = unreachable_failures >= UNREACHABLE_GIVE_UP && report.days_stored() == 0;
        while fetches.len() < ahead && !stop.requested() && !give_up {
            let Some(date) = pending.next() else { break };
            let up = upstream.clone();
            let known = known_bodies.clone();
            fetches.spawn(async move {
                let fetched = fetch_day(&up, date, known.get(&date).map(String::as_str)).await;
                // Hash here, in parallel, unless the list is completed from details first.
                let hash = match &fetched {
                    Ok(DayList::Papers(p, _, _)) if !needs_details(&p.papers) => {
                        Some(content_hash(&p.papers))
                    }
                    _ => None,
                };
                (date, fetched, hash)
            });
        }
        // Nothing ready to write: commit what the group holds before waiting on the network.
        let joined = match fetches.try_join_next() {
            Some(j) => j,
            None => {
                group.commit().await?;
                let Some(j) = fetches.join_next().await else {
                    break;
                };
                j
            }
        };
        let (date, fetched, hash) = match joined {
            Ok(r) => r,
            Err(e) => anyhow::bail!("a fetch task failed: {e}"),
        };
        let result = match fetched {
            Ok(DayList::Cards(cards)) => {
                report.papers_seen += cards.len();
                group.commit().await?;
                store_cards(db, &upstream, date, &cards).await
            }
            Ok(DayList::Unchanged(n)) => {
                report.papers_seen += n;
                Ok(ImportOutcome {
                    date: Some(date),
                    unchanged: true,
                    papers: n,
                    ..Default::default()
                })
            }
            Ok(DayList::Papers(mut parsed, source, mut body_hash)) => {
                if needs_details(&parsed.papers) {
                    group.commit().await?;
                    complete_from_details(&upstream, &mut parsed.papers).await;
                    // Details can change without the list's bytes changing: always parse.
                    body_hash = None;
                }
                if parsed.skipped > 0 {
                    tracing::warn!(%date, skipped = parsed.skipped, "unusable items skipped");
                }
                report.papers_seen += parsed.papers.len();
                let hash = hash.unwrap_or_else(|| content_hash(&parsed.papers));
                import_hashed_list(
                    group.txn(db).await?,
                    date,
                    &parsed.papers,
                    hash,
                    body_hash,
                    source,
                    Utc::now(),
                )
                .await
                .map_err(|e| format!("could not store the list: {e}"))
            }
            Err(e) => {
                if e.is_unreachable() {
                    unreachable_failures += 1;
                }
                Err(e.to_string())
            }
        };
        if result.is_ok() {
            report.checked.push(date);
        }
        match result {
            Ok(outcome) if outcome.unchanged => report.days_unchanged += 1,
            Ok(outcome) if outcome.partial => {
                report.days_partial += 1;
                report.papers_added += outcome.added.len();
                report.papers_updated += outcome.updated.len();
            }
            Ok(outcome) => {
                report.days_ok += 1;
                report.papers_added += outcome.added.len();
                report.papers_updated += outcome.updated.len();
            }
            Err(reason) => {
                tracing::warn!(%date, %reason, "day failed; it will be retried");
                record_failed_day(
                    group.txn(db).await?,
                    date,
                    &reason,
                    daily_list::Source::Api,
                    Utc::now(),
                )
                .await?;
                report.days_failed += 1;
                report.failures.push((date, reason));
            }
        }
        progress.set_message(format!(
            "{} papers, {} new · {} rate-limit waits",
            report.papers_seen,
            report.papers_added,
            upstream
                .stats
                .rate_limit_waits
                .load(std::sync::atomic::Ordering::Relaxed)
        ));
        progress.inc(1);
        if group.due() {
            group.commit().await?;
        }
    }
    group.commit().await?;
    report.failures.sort();
    report.checked.sort();
    report.unreachable = report.days_failed > 0
        && unreachable_failures == report.days_failed
        && report.days_stored() == 0;
    let status = match (report.days_failed, report.days_stored()) {
        (0, _) if report.days_partial == 0 => sync_run::Status::Ok,
        (_, 0) => sync_run::Status::Failed,
        _ => sync_run::Status::Partial,
    };
    record_run(
        db,
        sync_run::ActiveModel {
            id: NotSet,
            kind: Set(kind),
            started_at: Set(started_at),
            finished_at: Set(Some(Utc::now())),
            status: Set(status),
            days_total: Set((report.days_stored() + report.days_failed) as i32),
            days_ok: Set(report.days_stored() as i32),
            days_failed: Set(report.days_failed as i32),
            papers_added: Set(report.papers_added as i32),
            papers_updated: Set(report.papers_updated as i32),
            error: Set(report.failures.first().map(|(d, r)| format!("{d}: {r}"))),
        },
    )
    .await?;
    if report.papers_added > 0 {
        // The similar-papers pass (it reads the whole corpus) is not on the sync's path: `serve`
        // runs it in the background after each pass and at start for pending papers.
        refresh_statistics(db).await?;
    }
    progress.finish_and_clear();
    Ok(report)
}

/// Days written back to back share one transaction, each day in its own savepoint: a day that
/// fails rolls back alone, and consecutive days touch the same index pages once instead of once
/// each (a backfill writes ~2× faster on SQLite). The group commits when no fetched day is
/// waiting, before any network wait, and at least every [`GROUP_DAYS`] days or [`GROUP_TIME`].
/// A process killed mid-group loses only uncommitted days, which are fetched again on restart.
#[derive(Default)]
struct Group {
    txn: Option<(crate::repo::Write<DatabaseTransaction>, Instant)>,
    days: usize,
}

const GROUP_DAYS: usize = 25;
const GROUP_TIME: Duration = Duration::from_millis(500);

impl Group {
    async fn txn(&mut self, db: &DatabaseConnection) -> Result<&DatabaseTransaction, DbErr> {
        if self.txn.is_none() {
            self.txn = Some((crate::repo::begin_write(db).await?, Instant::now()));
        }
        self.days += 1;
        match &self.txn {
            Some((txn, _)) => Ok(&**txn),
            None => Err(DbErr::Custom("no transaction".into())),
        }
    }

    fn due(&self) -> bool {
        self.days >= GROUP_DAYS
            || self
                .txn
                .as_ref()
                .is_some_and(|(_, t)| t.elapsed() >= GROUP_TIME)
    }

    /// Commits the group, which tells readers (the day imports told them already, but before
    /// this commit made their writes visible: a response cached in between is now invalid).
    async fn commit(&mut self) -> Result<(), DbErr> {
        self.days = 0;
        if let Some((txn, _)) = self.txn.take() {
            txn.commit().await?;
        }
        Ok(())
    }
}

fn needs_details(papers: &[DailyPaper]) -> bool {
    papers
        .iter()
        .any(|p| p.abstract_text.is_empty() || p.authors.is_empty())
}

/// A day as fetched: its full list, or only the visible cards of its page.
pub enum DayList {
    /// The list, where it came from, and the hash of the API bodies it was read from.
    Papers(ParsedList, daily_list::Source, Option<String>),
    /// The API answered the very bytes stored last time: nothing to parse or write (the count
    /// of items).
    Unchanged(usize),
    Cards(Vec<Card>),
}

type Fetched = Result<DayList, FetchError>;

/// One day's list from the configured source; `auto` reads the HTML page when the API answers
/// with something that is not a list of papers, or 404.
pub async fn fetch_day(up: &Upstream, date: NaiveDate, known_body: Option<&str>) -> Fetched {
    let from_api = |raw: crate::sync::upstream::RawList| {
        if known_body == Some(raw.body_hash.as_str()) {
            return DayList::Unchanged(raw.items.len());
        }
        DayList::Papers(
            parse_raw_items(&raw.items),
            daily_list::Source::Api,
            Some(raw.body_hash),
        )
    };
    match up.source() {
        Source::Api => Ok(from_api(up.daily_list(date).await?)),
        Source::Html => fetch_page(up, date).await,
        Source::Auto => match up.daily_list(date).await {
            Ok(raw) => Ok(from_api(raw)),
            Err(api @ (FetchError::Body { .. } | FetchError::Status { status: 404, .. })) => {
                tracing::warn!(%date, error = %api, "the API did not answer with a list; reading the HTML page");
                fetch_page(up, date).await.map_err(|html| FetchError::Body {
                    url: up.base_url().to_string(),
                    reason: format!("{api}; then the HTML page: {html}"),
                })
            }
            Err(e) => Err(e),
        },
    }
}

async fn fetch_page(up: &Upstream, date: NaiveDate) -> Fetched {
    let page = up.daily_page(date).await?;
    match read_daily_page(&page) {
        Ok(DailyPage::Island(list)) => Ok(DayList::Papers(list, daily_list::Source::Html, None)),
        Ok(DailyPage::Cards(cards)) => {
            tracing::warn!(%date, cards = cards.len(), "the page has no data island; taking the figures of its visible cards");
            Ok(DayList::Cards(cards))
        }
        Err(e) => Err(FetchError::Body {
            url: format!("{}/papers/date/{date}", up.base_url()),
            reason: e.to_string(),
        }),
    }
}

/// The last resort for a page without its data island: stored papers get the cards' upvotes;
/// papers not stored yet are completed from their detail pages (a card alone has no authors or
/// abstract) and stored in full. The day stays marked for a full fetch later.
async fn store_cards(
    db: &DatabaseConnection,
    up: &Upstream,
    date: NaiveDate,
    cards: &[Card],
) -> Result<ImportOutcome, String> {
    let mut figures: Vec<CardFigures> = Vec::with_capacity(cards.len());
    let mut titles: Vec<&str> = Vec::with_capacity(cards.len());
    for card in cards {
        match ArxivId::parse(&card.arxiv_id) {
            Ok(id) if !figures.iter().any(|f| f.arxiv_id == id.as_str()) => {
                figures.push(CardFigures {
                    arxiv_id: id.to_string(),
                    upvotes: card.upvotes,
                });
                titles.push(&card.title);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(%date, id = %card.arxiv_id, error = %e, "card skipped"),
        }
    }
    let ids: Vec<String> = figures.iter().map(|f| f.arxiv_id.clone()).collect();
    let stored = stored_arxiv_ids(db, &ids)
        .await
        .map_err(|e| format!("could not read the stored papers: {e}"))?;
    let mut new_papers: Vec<DailyPaper> = Vec::new();
    for (f, title) in figures.iter().zip(titles) {
        if stored.contains(&f.arxiv_id) {
            continue;
        }
        let details = match up.paper_details(&f.arxiv_id, false).await {
            Ok(Some(body)) => parse_paper_details(body),
            Ok(None) => Err("not indexed (404)".to_string()),
            Err(e) => Err(e.to_string()),
        };
        match details {
            Ok(mut p) => {
                if let Some(u) = f.upvotes {
                    p.upvotes = u;
                }
                if p.title.trim().is_empty() {
                    p.title = title.to_string();
                }
                new_papers.push(p);
            }
            Err(e) => {
                tracing::warn!(%date, arxiv_id = %f.arxiv_id, error = %e, "a card's paper could not be completed; left for the next full fetch")
            }
        }
    }
    import_card_figures(db, date, &figures, &new_papers, Utc::now())
        .await
        .map_err(|e| format!("could not store the cards' figures: {e}"))
}

/// Papers looked up per day at most when their list item lacks an abstract or authors.
const DETAILS_PER_DAY: usize = 20;

/// Fills what a list item lacks (abstract, authors, dates, AI fields, linked-repo counts) from
/// `/api/papers/{id}`. A 404 (not indexed) or a failed lookup leaves the paper as listed.
async fn complete_from_details(up: &Upstream, papers: &mut [crate::domain::DailyPaper]) {
    let lacking = papers
        .iter_mut()
        .filter(|p| p.abstract_text.is_empty() || p.authors.is_empty())
        .take(DETAILS_PER_DAY);
    for p in lacking {
        let details = match up.paper_details(p.arxiv_id.as_str(), false).await {
            Ok(Some(body)) => super::parse::parse_paper_details(body),
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(arxiv_id = %p.arxiv_id, error = %e, "paper details unavailable; keeping the list item");
                continue;
            }
        };
        let Ok(d) = details else { continue };
        if p.abstract_text.is_empty() {
            p.abstract_text = d.abstract_text;
        }
        if p.authors.is_empty() {
            p.authors = d.authors;
        }
        p.published_at = p.published_at.or(d.published_at);
        p.ai_summary = p.ai_summary.take().or(d.ai_summary);
        p.ai_summary_model = p.ai_summary_model.take().or(d.ai_summary_model);
        if p.ai_keywords.is_empty() {
            p.ai_keywords = d.ai_keywords;
        }
        p.project_page = p.project_page.take().or(d.project_page);
        p.num_linked_models = p.num_linked_models.or(d.num_linked_models);
        p.num_linked_datasets = p.num_linked_datasets.or(d.num_linked_datasets);
        p.num_linked_spaces = p.num_linked_spaces.or(d.num_linked_spaces);
    }
}
