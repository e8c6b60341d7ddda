//! The Query root: thin resolvers that parse their arguments and call `repo`.
use async_graphql::{Context, ID, Interface, MergedObject, Object, SimpleObject};
use chrono::Utc;
use sea_orm::DatabaseConnection;

use super::author::Author;
use super::connection::{AuthorConnection, MAX_PAGE, PaperConnection, paper_page, slice};
use super::ids::GlobalId;
use super::inputs::{PaperFilter, PaperOrder};
use super::paper::Paper;
use super::scalars::{Date, DateTime};
use crate::domain::{ArxivId, fold_for_search};
use crate::entities::daily_list;
use crate::error::{ApiResult, AppError};
use crate::repo;

/// An object with a global id, fetchable with `node(id:)`.
#[derive(Interface)]
#[allow(clippy::large_enum_variant)] // built once per node lookup; boxing buys nothing here
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global id."))]
pub enum Node {
    Paper(Paper),
    Author(Author),
    Organization(super::paper::Organization),
}

/// The root of all queries.
#[derive(MergedObject, Default)]
pub struct Query(
    NodeQuery,
    PaperQuery,
    super::search::SearchQueryRoot,
    AuthorQuery,
    super::organizations::OrganizationQuery,
    StatusQuery,
    super::digest::DigestQuery,
    super::digest::DigestSubscriptionQuery,
    super::cost::RateLimitQuery,
);

#[derive(Default)]
pub struct NodeQuery;

fn db<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
}

async fn load_node(db: &DatabaseConnection, id: GlobalId) -> Result<Option<Node>, AppError> {
    Ok(match id {
        GlobalId::Paper(k) => repo::papers::by_arxiv_id(db, &k)
            .await?
            .map(|p| Node::Paper(Paper::single(db, p))),
        GlobalId::Author(k) => repo::authors::by_name(db, &k)
            .await?
            .map(|a| Node::Author(Author::from_model(&a))),
        GlobalId::Organization(k) => repo::organizations::by_name(db, &k)
            .await?
            .map(|o| Node::Organization(super::paper::Organization::new(o))),
    })
}

/// The papers of `keys` (arXiv ids) that exist, by arXiv id: one page, so their relations are
/// read once for all of them.
async fn papers_by_arxiv_id(
    db: &DatabaseConnection,
    keys: &[String],
) -> Result<std::collections::HashMap<String, Paper>, AppError> {
    let rows = repo::papers::by_arxiv_ids(db, keys).await?;
    Ok(Paper::page(db, rows)
        .into_iter()
        .map(|p| (p.row.arxiv_id.clone(), p))
        .collect())
}

#[Object]
impl NodeQuery {
    /// Fetches any object by its global id; null when it does not exist.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Node>> {
        Ok(load_node(db(ctx)?, GlobalId::decode(&id)?).await?)
    }

    /// Fetches up to 100 objects by global id, in the order given; null for each that does not exist.
    #[graphql(complexity = "ids.len().max(1) * child_complexity + 1")]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> ApiResult<Vec<Option<Node>>> {
        if ids.len() > MAX_PAGE as usize {
            return Err(AppError::bad_input(format!("at most {MAX_PAGE} ids per call")).into());
        }
        let parsed = ids
            .iter()
            .map(|id| GlobalId::decode(id))
            .collect::<Result<Vec<_>, _>>()?;
        let db = db(ctx)?;
        let paper_keys: Vec<String> = parsed
            .iter()
            .filter_map(|g| match g {
                GlobalId::Paper(k) => Some(k.clone()),
                _ => None,
            })
            .collect();
        let papers = papers_by_arxiv_id(db, &paper_keys).await?;
        let mut out = Vec::with_capacity(parsed.len());
        for g in parsed {
            out.push(match g {
                GlobalId::Paper(k) => papers.get(&k).cloned().map(Node::Paper),
                other => load_node(db, other).await?,
            });
        }
        Ok(out)
    }
}

#[derive(Default)]
pub struct PaperQuery;

#[Object]
impl PaperQuery {
    /// A paper by arXiv id. Accepts `2401.12345`, `2401.12345v2`, `arXiv:2401.12345`,
    /// `https://arxiv.org/abs/2401.12345` and `https://huggingface.co/papers/2401.12345`.
    async fn paper(&self, ctx: &Context<'_>, arxiv_id: String) -> ApiResult<Option<Paper>> {
        let id = ArxivId::parse(&arxiv_id).map_err(AppError::BadUserInput)?;
        let db = db(ctx)?;
        Ok(repo::papers::by_arxiv_id(db, id.as_str())
            .await
            .map_err(AppError::from)?
            .map(|p| Paper::single(db, p)))
    }

    /// Up to 100 papers by arXiv id, in the order given (an id given twice answers twice), in
    /// any form `paper(arxivId:)` accepts; null for each id not in the mirror. One read for the
    /// papers, and one for each relation asked of them.
    #[graphql(complexity = "ids.len().max(1) * child_complexity + 1")]
    async fn papers_by_arxiv_id(
        &self,
        ctx: &Context<'_>,
        ids: Vec<String>,
    ) -> ApiResult<Vec<Option<Paper>>> {
        if ids.len() > MAX_PAGE as usize {
            return Err(AppError::bad_input(format!("at most {MAX_PAGE} ids per call")).into());
        }
        let parsed = ids
            .iter()
            .enumerate()
            .map(|(i, id)| ArxivId::parse(id).map_err(|e| format!("ids[{i}]: {e}")))
            .collect::<Result<Vec<_>, _>>()
            .map_err(AppError::BadUserInput)?;
        let mut keys: Vec<String> = parsed.iter().map(|a| a.as_str().to_owned()).collect();
        keys.sort_unstable();
        keys.dedup();
        let papers = papers_by_arxiv_id(db(ctx)?, &keys).await?;
        Ok(parsed
            .iter()
            .map(|a| papers.get(a.as_str()).cloned())
            .collect())
    }

    /// Papers matching `filter`, in `orderBy` order (default: newest listing day first), as a
    /// Relay connection. `first`/`last` default to 20 and may not exceed 100.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::cost::page(first, last) * child_complexity + 1")]
    async fn papers(
        &self,
        ctx: &Context<'_>,
        filter: Option<PaperFilter>,
        order_by: Option<PaperOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<PaperConnection> {
        let criteria = filter.unwrap_or_default().criteria()?;
        let (sort, slice) = paper_page(order_by, first, after, last, before)?;
        let reading = super::connection::reading(ctx);
        let reads = ctx.data::<super::connection::Reads>()?;
        Ok(PaperConnection::load(db(ctx)?, reads, criteria, sort, slice, reading).await?)
    }

    /// Paper counts per Daily Papers day in `[from, to]` (at most 3,660 days); days without
    /// papers are left out.
    async fn daily_calendar(
        &self,
        ctx: &Context<'_>,
        from: Date,
        to: Date,
    ) -> ApiResult<Vec<DailyCount>> {
        if from > to {
            return Err(AppError::bad_input("`from` must not be after `to`").into());
        }
        if (to.0 - from.0).num_days() > 3660 {
            return Err(AppError::bad_input("the range may span at most 3,660 days").into());
        }
        let rows = repo::papers::daily_counts(db(ctx)?, from.0, to.0)
            .await
            .map_err(AppError::from)?;
        Ok(rows
            .into_iter()
            .map(|(date, count)| DailyCount {
                date: Date(date),
                count: count as i32,
            })
            .collect())
    }
}

/// The number of papers listed on one day.
#[derive(SimpleObject)]
pub struct DailyCount {
    /// The Daily Papers day.
    pub date: Date,
    /// Papers listed that day.
    pub count: i32,
}

#[derive(Default)]
pub struct AuthorQuery;

#[Object]
impl AuthorQuery {
    /// Authors, most prolific first; `search` keeps those whose name contains it (case- and
    /// accent-insensitive).
    #[graphql(complexity = "super::cost::page(first, last) * child_complexity + 1")]
    async fn authors(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<AuthorConnection> {
        let folded = search
            .map(|s| fold_for_search(s.trim()))
            .filter(|s| !s.is_empty());
        if folded.as_ref().is_some_and(|s| s.chars().count() > 200) {
            return Err(AppError::bad_input("`search` may be at most 200 characters").into());
        }
        let slice = slice(first, after, last, before, |c| {
            repo::cursor::Cursor::decode(c, repo::authors::ORDER_TAG)
        })?;
        Ok(AuthorConnection::load(db(ctx)?, folded, slice).await?)
    }
}

#[derive(Default)]
pub struct StatusQuery;

#[Object]
impl StatusQuery {
    /// The state of the mirror: freshness, errors and per-day state.
    async fn sync_status(&self) -> SyncStatus {
        SyncStatus
    }
}

/// The state of the mirror of Daily Papers.
pub struct SyncStatus;

/// The state of the mirror of Daily Papers.
#[Object]
impl SyncStatus {
    /// When a daily list was last fetched and stored successfully.
    async fn last_success_at(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime>> {
        let day = repo::status::last_ok_day(db(ctx)?)
            .await
            .map_err(AppError::from)?;
        Ok(day.map(|d| DateTime(d.fetched_at)))
    }

    /// Seconds since `lastSuccessAt`; null before the first success.
    async fn lag_seconds(&self, ctx: &Context<'_>) -> ApiResult<Option<i64>> {
        let day = repo::status::last_ok_day(db(ctx)?)
            .await
            .map_err(AppError::from)?;
        Ok(day.map(|d| (Utc::now() - d.fetched_at).num_seconds().max(0)))
    }

    /// The error of the most recent failed run, if any.
    async fn last_error(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let run = repo::status::last_failed_run(db(ctx)?)
            .await
            .map_err(AppError::from)?;
        Ok(run.and_then(|r| r.error))
    }

    /// When the most recent failed run started.
    async fn last_error_at(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime>> {
        let run = repo::status::last_failed_run(db(ctx)?)
            .await
            .map_err(AppError::from)?;
        Ok(run.map(|r| DateTime(r.started_at)))
    }

    /// The most recent run (sync or import).
    async fn last_run(&self, ctx: &Context<'_>) -> ApiResult<Option<SyncRun>> {
        let run = repo::status::last_run(db(ctx)?)
            .await
            .map_err(AppError::from)?;
        Ok(run.map(SyncRun::from))
    }

    /// The newest Daily Papers day in the mirror that has papers (days fetched empty, e.g.
    /// not published yet, do not count).
    async fn latest_daily_date(&self, ctx: &Context<'_>) -> ApiResult<Option<Date>> {
        let day = repo::status::latest_day_with_papers(db(ctx)?, None)
            .await
            .map_err(AppError::from)?;
        Ok(day.map(Date))
    }

    /// Recent days the sync fetches again because they came back empty on a weekday or grew
    /// after they were first fetched (the upstream published late): every pass at first, then
    /// less often, for days at most 14 days old. Oldest first.
    async fn rechecking_days(&self, ctx: &Context<'_>) -> ApiResult<Vec<RecheckingDay>> {
        let days = repo::status::rechecking_days(db(ctx)?)
            .await
            .map_err(AppError::from)?;
        Ok(days
            .into_iter()
            .map(|d| RecheckingDay {
                date: Date(d.date),
                attempts: d.attempts,
                next_at: DateTime(d.next_at),
            })
            .collect())
    }

    /// The detail queue: papers whose Hub details (linked repos, comments) are due, what the
    /// detail pass did in the last 24 hours, and the paper it fetches next.
    async fn detail_queue(&self, ctx: &Context<'_>) -> ApiResult<DetailQueue> {
        let refresh = ctx
            .data_opt::<repo::details::Refresh>()
            .copied()
            .unwrap_or_else(|| repo::details::Refresh::days(7));
        let q = repo::details::queue_status(db(ctx)?, Utc::now(), refresh)
            .await
            .map_err(AppError::from)?;
        let n = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
        Ok(DetailQueue {
            pending: n(q.pending),
            done_last_24h: n(q.done_last_24h),
            not_indexed: n(q.not_indexed),
            failing: n(q.failing),
            next: q.next.map(|d| DetailDue {
                reason: d.reason().to_string(),
                arxiv_id: d.arxiv_id,
            }),
        })
    }

    /// Papers in the mirror.
    async fn paper_count(&self, ctx: &Context<'_>) -> ApiResult<i32> {
        let n = repo::status::paper_total(db(ctx)?)
            .await
            .map_err(AppError::from)?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }

    /// Authors in the mirror.
    async fn author_count(&self, ctx: &Context<'_>) -> ApiResult<i32> {
        let n = repo::status::author_total(db(ctx)?)
            .await
            .map_err(AppError::from)?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }

    /// The state of the most recent days, newest first (`last` at most 100).
    async fn days(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 14)] last: i32,
    ) -> ApiResult<Vec<DailyListState>> {
        if !(0..=MAX_PAGE).contains(&last) {
            return Err(
                AppError::bad_input(format!("`last` must be between 0 and {MAX_PAGE}")).into(),
            );
        }
        let rows = repo::status::recent_days(db(ctx)?, last as u64)
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(DailyListState::from).collect())
    }

    /// Days whose last fetch failed and that will be retried, oldest first.
    async fn failed_days(&self, ctx: &Context<'_>) -> ApiResult<Vec<DailyListState>> {
        let rows = repo::status::failed_days(db(ctx)?)
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(DailyListState::from).collect())
    }
}

/// The state of one Daily Papers day in the mirror.
#[derive(SimpleObject)]
pub struct DailyListState {
    /// The day.
    pub date: Date,
    /// `ok`, `failed`, or `partial` (the page had no data; only the upvotes of its visible
    /// cards were taken, and the day will be fetched again).
    pub status: String,
    /// When it was last fetched.
    pub fetched_at: DateTime,
    /// Papers in the list at that fetch.
    pub paper_count: i32,
    /// Fetches so far.
    pub attempts: i32,
    /// Why the last fetch failed.
    pub error: Option<String>,
    /// Where the list came from: `api`, `html`, `cards` (a page's visible cards) or `file`.
    pub source: String,
}

impl From<daily_list::Model> for DailyListState {
    fn from(d: daily_list::Model) -> Self {
        Self {
            date: Date(d.date),
            status: d.status.as_str().to_string(),
            fetched_at: DateTime(d.fetched_at),
            paper_count: d.paper_count,
            attempts: d.attempts,
            error: d.error,
            source: d.source.as_str().to_string(),
        }
    }
}

/// Where the detail queue stands.
#[derive(SimpleObject)]
pub struct DetailQueue {
    /// Papers whose details are due now.
    pub pending: i32,
    /// Papers whose details were fetched (or found not indexed) in the last 24 hours.
    #[graphql(name = "doneLast24h")]
    pub done_last_24h: i32,
    /// Papers the Hub does not index (404); asked again after the refresh period.
    pub not_indexed: i32,
    /// Papers whose last detail fetch failed; retried with a backoff.
    pub failing: i32,
    /// The paper the detail pass fetches next.
    pub next: Option<DetailDue>,
}

/// A paper due in the detail queue.
#[derive(SimpleObject)]
pub struct DetailDue {
    /// Its arXiv id.
    pub arxiv_id: String,
    /// `new` (never fetched, stored in the last 2 days), `moved` (its comment or linked counts
    /// changed since), or `backlog` (never fetched, failed, or due a refresh).
    pub reason: String,
}

/// A day the sync is re-checking.
#[derive(SimpleObject)]
pub struct RecheckingDay {
    /// The Daily Papers day.
    pub date: Date,
    /// Re-checks so far that found it empty or grown.
    pub attempts: i32,
    /// The first sync pass after this instant fetches it again.
    pub next_at: DateTime,
}

/// One run of the sync worker or of an import.
#[derive(SimpleObject)]
pub struct SyncRun {
    /// `import`, `sync`, `backfill` …
    pub kind: String,
    /// `queued` (a requested sync waiting for this server's running pass), `running`, `ok`,
    /// `partial` or `failed`.
    pub status: String,
    /// When it started.
    pub started_at: DateTime,
    /// When it finished.
    pub finished_at: Option<DateTime>,
    /// Days it covered.
    pub days_total: i32,
    /// Days stored successfully.
    pub days_ok: i32,
    /// Days that failed.
    pub days_failed: i32,
    /// Papers that were new.
    pub papers_added: i32,
    /// Papers whose figures changed.
    pub papers_updated: i32,
    /// The error, when it failed.
    pub error: Option<String>,
}

impl From<crate::entities::sync_run::Model> for SyncRun {
    fn from(r: crate::entities::sync_run::Model) -> Self {
        Self {
            kind: r.kind.as_str().to_string(),
            status: r.status.as_str().to_string(),
            started_at: DateTime(r.started_at),
            finished_at: r.finished_at.map(DateTime),
            days_total: r.days_total,
            days_ok: r.days_ok,
            days_failed: r.days_failed,
            papers_added: r.papers_added,
            papers_updated: r.papers_updated,
            error: r.error,
        }
    }
}
