//! The write path shared by `papergraph import` and the sync worker: one daily list, one
//! transaction. Importing the same content twice writes nothing (content hash); a newer copy
//! updates the papers and appends an upvote snapshot for every paper whose figures moved.
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, TransactionTrait,
    TryIntoModel,
};
use sha2::{Digest, Sha256};

use crate::domain::{DailyPaper, HfUserRef, fold_for_search, trending_score};
use crate::entities::{
    author, daily_list, hf_user, organization, paper, paper_author, upvote_snapshot,
};

/// Keys per `IN (…)` lookup; SQLite's limit on bound parameters is 32,766.
pub(super) const CHUNK: usize = 500;

/// Rows per multi-row INSERT, about 400 parameters a statement.
///
/// Statements are also kept under ~6 KB: sqlx (0.9) does not set TCP_NODELAY, so a message that
/// leaves in several writes waits for PostgreSQL's delayed ACK (~40 ms a statement, measured:
/// 250 author slots or 12 papers with abstracts took 35-42 ms, a 6 KB statement under 1 ms).
pub(super) const fn rows_per_insert(columns: usize) -> usize {
    let rows = 400 / columns;
    if rows == 0 { 1 } else { rows }
}

/// What importing one daily list did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    pub date: Option<NaiveDate>,
    /// The content was identical to what is stored: nothing was written.
    pub unchanged: bool,
    /// Only figures from a page's visible cards were stored; the day is due a full fetch.
    pub partial: bool,
    pub papers: usize,
    /// Papers that did not exist before.
    pub added: Vec<String>,
    /// Existing papers whose upvotes, comments or stars changed.
    pub updated: Vec<String>,
}

/// The SHA-256 of the list's domain values: the same papers with the same figures hash the same,
/// whichever path (API or HTML) they came by.
pub fn content_hash(papers: &[DailyPaper]) -> String {
    let bytes = serde_json::to_vec(papers).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The body hashes of the days in `from..=to` stored in full (see `daily_list::Model::body_hash`).
pub async fn stored_body_hashes<C: ConnectionTrait>(
    db: &C,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashMap<NaiveDate, String>, DbErr> {
    use daily_list::Column as D;
    let rows: Vec<(NaiveDate, Option<String>)> = daily_list::Entity::find()
        .select_only()
        .column(D::Date)
        .column(D::BodyHash)
        .filter(D::Date.between(from, to))
        .filter(D::Status.eq(daily_list::Status::Ok))
        .filter(D::BodyHash.is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(d, h)| Some((d, h?)))
        .collect())
}

/// Writes the daily list of `date` in one transaction.
pub async fn import_daily_list<C>(
    db: &C,
    date: NaiveDate,
    papers: &[DailyPaper],
    source: daily_list::Source,
    fetched_at: DateTime<Utc>,
) -> Result<ImportOutcome, DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let hash = content_hash(papers);
    import_hashed_list(db, date, papers, hash, None, source, fetched_at).await
}

/// [`import_daily_list`] with the list's [`content_hash`] computed already (the sync worker
/// hashes in its fetch tasks, in parallel, rather than in the one writer), and the hash of the
/// response bodies the list was read from, stored with it when given.
pub async fn import_hashed_list<C>(
    db: &C,
    date: NaiveDate,
    papers: &[DailyPaper],
    hash: String,
    body_hash: Option<String>,
    source: daily_list::Source,
    fetched_at: DateTime<Utc>,
) -> Result<ImportOutcome, DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = crate::repo::begin_write(db).await?;
    let previous = daily_list::Entity::find_by_id(date).one(&*txn).await?;
    if let Some(prev) = &previous
        && prev.status == daily_list::Status::Ok
        && prev.content_hash.as_deref() == Some(hash.as_str())
    {
        txn.rollback().await?;
        return Ok(ImportOutcome {
            date: Some(date),
            unchanged: true,
            papers: papers.len(),
            ..Default::default()
        });
    }

    relax_commit(&*txn).await?;
    let stamp = change_stamp(&*txn, fetched_at).await?;
    let outcome = write_papers(&*txn, date, papers, fetched_at, stamp).await?;

    let list = daily_list::ActiveModel {
        date: Set(date),
        fetched_at: Set(fetched_at),
        paper_count: Set(papers.len() as i32),
        content_hash: Set(Some(hash)),
        status: Set(daily_list::Status::Ok),
        error: Set(None),
        attempts: Set(previous.map(|p| p.attempts).unwrap_or(0) + 1),
        source: Set(source),
        body_hash: Set(body_hash),
    };
    upsert_daily_list(&*txn, list).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// What a list page's visible card shows of a paper: the last resort when the page has no data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardFigures {
    pub arxiv_id: String,
    pub upvotes: Option<i32>,
}

/// Stores what the visible cards of `date`'s page show, in one transaction, without erasing
/// anything: `new_papers` (cards of papers not yet stored, completed from their detail pages) are
/// written in full; a stored paper only gets the card's upvote count (and a snapshot when it
/// moved). The day is marked `partial`, so it is fetched again for its full data.
pub async fn import_card_figures<C>(
    db: &C,
    date: NaiveDate,
    cards: &[CardFigures],
    new_papers: &[DailyPaper],
    fetched_at: DateTime<Utc>,
) -> Result<ImportOutcome, DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = crate::repo::begin_write(db).await?;
    relax_commit(&*txn).await?;
    let stamp = change_stamp(&*txn, fetched_at).await?;
    let previous = daily_list::Entity::find_by_id(date).one(&*txn).await?;
    let mut outcome = if new_papers.is_empty() {
        ImportOutcome::default()
    } else {
        write_papers(&*txn, date, new_papers, fetched_at, stamp).await?
    };
    let fresh: BTreeSet<&str> = new_papers.iter().map(|p| p.arxiv_id.as_str()).collect();
    let known: Vec<String> = cards
        .iter()
        .filter(|c| !fresh.contains(c.arxiv_id.as_str()))
        .map(|c| c.arxiv_id.clone())
        .collect();
    let mut stored: HashMap<String, paper::Model> = HashMap::new();
    for chunk in known.chunks(CHUNK) {
        for row in paper::Entity::find()
            .filter(paper::Column::ArxivId.is_in(chunk.iter().cloned()))
            .all(&*txn)
            .await?
        {
            stored.insert(row.arxiv_id.clone(), row);
        }
    }
    let moved: Vec<(i64, i32, DateTime<Utc>)> = cards
        .iter()
        .filter_map(|card| {
            let (old, upvotes) = (stored.get(&card.arxiv_id)?, card.upvotes?);
            let listed_on = old.daily_date.unwrap_or(date);
            let listed_at = old
                .submitted_at
                .unwrap_or_else(|| listed_on.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
            (old.upvotes != upvotes).then_some((old.id, upvotes, listed_at))
        })
        .collect();
    let velocity = velocity_scores(&*txn, &moved, fetched_at).await?;
    let mut snapshots = Vec::new();
    let mut card_changes = Vec::new();
    for card in cards {
        let (Some(old), Some(upvotes)) = (stored.get(&card.arxiv_id), card.upvotes) else {
            continue;
        };
        if old.upvotes == upvotes {
            continue;
        }
        let stmt = Query::update()
            .table(paper::Entity)
            .value(paper::Column::Upvotes, upvotes)
            .value(
                paper::Column::TrendingScore,
                velocity.get(&old.id).copied().unwrap_or(old.trending_score),
            )
            .value(paper::Column::UpdatedAt, stamp)
            .and_where(paper::Column::Id.eq(old.id))
            .to_owned();
        txn.execute(&stmt).await?;
        outcome.updated.push(card.arxiv_id.clone());
        let before = crate::repo::paper_events::Figures {
            upvotes: old.upvotes,
            comments: old.num_comments,
            stars: old.github_stars,
        };
        card_changes.push(crate::repo::paper_events::PaperChange {
            paper_id: old.id,
            kind: crate::repo::paper_events::Kind::Updated,
            before: Some(before),
            after: crate::repo::paper_events::Figures { upvotes, ..before },
        });
        snapshots.push(upvote_snapshot::ActiveModel {
            id: NotSet,
            paper_id: Set(old.id),
            taken_at: Set(fetched_at),
            upvotes: Set(upvotes),
            num_comments: Set(old.num_comments),
            github_stars: Set(old.github_stars),
        });
    }
    insert_snapshots(&*txn, snapshots).await?;
    crate::repo::paper_events::record(&*txn, &card_changes, Utc::now()).await?;
    let missing = cards.len().saturating_sub(stored.len() + fresh.len());
    let list = daily_list::ActiveModel {
        date: Set(date),
        fetched_at: Set(fetched_at),
        paper_count: Set(std::cmp::max(
            previous.as_ref().map_or(0, |p| p.paper_count),
            cards.len() as i32,
        )),
        // No hash: the next full list is written whatever it holds.
        content_hash: Set(None),
        status: Set(daily_list::Status::Partial),
        error: Set(Some(format!(
            "the page had no data island; upvotes taken from its {} visible cards, {} new papers \
             completed from their detail pages, {missing} not available; the day will be fetched \
             again for its full data",
            cards.len(),
            fresh.len()
        ))),
        attempts: Set(previous.as_ref().map_or(0, |p| p.attempts) + 1),
        source: Set(daily_list::Source::Cards),
        body_hash: Set(None),
    };
    upsert_daily_list(&*txn, list).await?;
    txn.commit().await?;
    outcome.date = Some(date);
    outcome.papers = cards.len();
    outcome.partial = true;
    Ok(outcome)
}

/// On PostgreSQL, lets the transaction's commit skip the WAL flush: a mirror can re-fetch what a
/// power cut loses. (Atomicity is unchanged, and a killed process loses nothing committed.)
pub(super) async fn relax_commit<C: ConnectionTrait>(txn: &C) -> Result<(), DbErr> {
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        txn.execute_unprepared("SET LOCAL synchronous_commit TO OFF")
            .await?;
    }
    Ok(())
}

/// The time this transaction's changes are stamped with (`papers.updated_at`): its fetch time,
/// or just after the latest stamp stored when that is later, so stamps grow in commit order
/// and a poller that resumes after the last stamp it saw misses no change. On PostgreSQL the
/// writers of papers take turns (a transaction-scoped advisory lock) from here to their commit;
/// SQLite's writers already do (`BEGIN IMMEDIATE`). Called before the transaction's first write.
pub(super) async fn change_stamp<C: ConnectionTrait>(
    txn: &C,
    fetched_at: DateTime<Utc>,
) -> Result<DateTime<Utc>, DbErr> {
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        txn.execute_unprepared("SELECT pg_advisory_xact_lock(726173)")
            .await?;
    }
    let latest: Option<DateTime<Utc>> = paper::Entity::find()
        .select_only()
        .column_as(paper::Column::UpdatedAt.max(), "latest")
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(txn)
        .await?
        .flatten();
    Ok(match latest {
        Some(l) if l >= fetched_at => l + chrono::Duration::microseconds(1),
        _ => fetched_at,
    })
}

/// Upserts `papers` (listed on `date`) with their organizations, users and author slots, and
/// appends a snapshot for every paper that is new or whose figures moved.
async fn write_papers<C: ConnectionTrait>(
    txn: &C,
    date: NaiveDate,
    papers: &[DailyPaper],
    fetched_at: DateTime<Utc>,
    stamp: DateTime<Utc>,
) -> Result<ImportOutcome, DbErr> {
    let org_ids = upsert_organizations(txn, papers).await?;
    let user_ids = upsert_users(txn, papers).await?;
    let arxiv_ids: Vec<String> = papers.iter().map(|p| p.arxiv_id.to_string()).collect();
    let mut existing: HashMap<String, paper::Model> = HashMap::new();
    for chunk in arxiv_ids.chunks(CHUNK) {
        for row in paper::Entity::find()
            .filter(paper::Column::ArxivId.is_in(chunk.iter().cloned()))
            .all(txn)
            .await?
        {
            existing.insert(row.arxiv_id.clone(), row);
        }
    }

    let listed_midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let mut outcome = ImportOutcome {
        date: Some(date),
        papers: papers.len(),
        ..Default::default()
    };
    // Stored papers whose upvotes moved get a trending score from their recent velocity.
    let moved: Vec<(i64, i32, DateTime<Utc>)> = papers
        .iter()
        .filter_map(|p| {
            let o = existing.get(p.arxiv_id.as_str())?;
            let listed_at = p.submitted_at.or(o.submitted_at).unwrap_or(listed_midnight);
            (o.upvotes != p.upvotes).then_some((o.id, p.upvotes, listed_at))
        })
        .collect();
    let velocity = velocity_scores(txn, &moved, fetched_at).await?;
    let mut rows = Vec::with_capacity(papers.len());
    // Papers whose searchable text (title, abstract, AI keywords) is new or changed.
    let mut text_changed: BTreeSet<&str> = BTreeSet::new();
    // Papers the insert below writes, and so stamps (new, or with a stored field changed), and
    // roughly how many bytes each adds to a statement.
    let mut written: BTreeSet<&str> = BTreeSet::new();
    let mut sizes = Vec::with_capacity(papers.len());
    for p in papers {
        let id = p.arxiv_id.to_string();
        let old = existing.get(&id);
        if old.is_none_or(|o| {
            o.title != p.title
                || o.r#abstract != p.abstract_text
                || o.ai_keywords != serde_json::json!(p.ai_keywords)
        }) {
            text_changed.insert(p.arxiv_id.as_str());
        }
        let daily_date = match old.and_then(|o| o.daily_date) {
            Some(d) if d < date => d,
            _ => date,
        };
        let submitted_at = p.submitted_at.or(old.and_then(|o| o.submitted_at));
        let listed_at = submitted_at.unwrap_or(listed_midnight);
        match old {
            None => outcome.added.push(id.clone()),
            Some(o)
                if (o.upvotes, o.num_comments, o.github_stars)
                    != (p.upvotes, p.num_comments, p.github_stars) =>
            {
                outcome.updated.push(id.clone())
            }
            Some(_) => {}
        }
        let row = paper::ActiveModel {
            id: NotSet,
            arxiv_id: Set(id),
            title: Set(p.title.clone()),
            r#abstract: Set(p.abstract_text.clone()),
            daily_date: Set(Some(daily_date)),
            submitted_at: Set(submitted_at),
            published_at: Set(p.published_at.unwrap_or(listed_at)),
            upvotes: Set(p.upvotes),
            num_comments: Set(p.num_comments),
            trending_score: Set(match old {
                None => trending_score(p.upvotes, listed_at),
                Some(o) => velocity.get(&o.id).copied().unwrap_or(o.trending_score),
            }),
            github_repo: Set(p.github_repo.clone()),
            github_repo_added_by: Set(p.github_repo_added_by.clone()),
            github_stars: Set(p.github_stars),
            project_page: Set(p.project_page.clone()),
            ai_summary: Set(p.ai_summary.clone()),
            // Only the HTML page names the summary's model; an API refresh keeps it.
            ai_summary_model: Set(p
                .ai_summary_model
                .clone()
                .or(old.and_then(|o| o.ai_summary_model.clone()))),
            ai_keywords: Set(serde_json::json!(p.ai_keywords)),
            thumbnail_url: Set(p.thumbnail_url.clone()),
            media_urls: Set(serde_json::json!(p.media_urls)),
            discussion_id: Set(p.discussion_id.clone()),
            withdrawn_at: Set(p.withdrawn_at),
            is_author_participating: Set(p.is_author_participating),
            author_count: Set(p.authors.len() as i32),
            // Daily lists do not carry these; keep what a detail fetch stored.
            num_linked_models: Set(p
                .num_linked_models
                .or(old.and_then(|o| o.num_linked_models))),
            num_linked_datasets: Set(p
                .num_linked_datasets
                .or(old.and_then(|o| o.num_linked_datasets))),
            num_linked_spaces: Set(p
                .num_linked_spaces
                .or(old.and_then(|o| o.num_linked_spaces))),
            organization_id: Set(p
                .organization
                .as_ref()
                .and_then(|o| org_ids.get(&o.name).copied())),
            submitted_by_id: Set(p
                .submitted_by
                .as_ref()
                .and_then(|u| user_ids.get(&u.username).copied())),
            created_at: Set(old.map(|o| o.created_at).unwrap_or(fetched_at)),
            updated_at: Set(stamp),
        };
        // A paper whose stored fields are all as they were keeps its stamp.
        if let Some(o) = old {
            let mut probe = row.clone();
            probe.id = Set(o.id);
            probe.updated_at = Set(o.updated_at);
            if probe.try_into_model().is_ok_and(|m| m == *o) {
                // Stored exactly so: not written again (on PostgreSQL every rewrite leaves a dead
                // row version, and a day's list is fetched again and again).
                continue;
            }
        }
        written.insert(p.arxiv_id.as_str());
        sizes.push(insert_bytes(p));
        rows.push(row);
    }
    use paper::Column as P;
    // The byte cap is for PostgreSQL's TCP path (see `rows_per_insert`); SQLite is in-process.
    let max_bytes = match txn.get_database_backend() {
        sea_orm::DbBackend::Postgres => 6_000,
        _ => usize::MAX,
    };
    for chunk in chunks_by_size(&rows, &sizes, rows_per_insert(31), max_bytes) {
        paper::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(P::ArxivId)
                    .update_columns([
                        P::Title,
                        P::Abstract,
                        P::DailyDate,
                        P::SubmittedAt,
                        P::PublishedAt,
                        P::Upvotes,
                        P::NumComments,
                        P::TrendingScore,
                        P::GithubRepo,
                        P::GithubRepoAddedBy,
                        P::GithubStars,
                        P::ProjectPage,
                        P::AiSummary,
                        P::AiSummaryModel,
                        P::AiKeywords,
                        P::ThumbnailUrl,
                        P::MediaUrls,
                        P::DiscussionId,
                        P::WithdrawnAt,
                        P::IsAuthorParticipating,
                        P::AuthorCount,
                        P::NumLinkedModels,
                        P::NumLinkedDatasets,
                        P::NumLinkedSpaces,
                        P::OrganizationId,
                        P::SubmittedById,
                        P::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    let paper_ids = select_ids(txn, &arxiv_ids).await?;
    let figures = |p: &DailyPaper| crate::repo::paper_events::Figures {
        upvotes: p.upvotes,
        comments: p.num_comments,
        stars: p.github_stars,
    };
    let changes: Vec<crate::repo::paper_events::PaperChange> = papers
        .iter()
        .filter_map(|p| {
            let paper_id = *paper_ids.get(p.arxiv_id.as_str())?;
            match existing.get(p.arxiv_id.as_str()) {
                None => Some(crate::repo::paper_events::PaperChange {
                    paper_id,
                    kind: crate::repo::paper_events::Kind::Added,
                    before: None,
                    after: figures(p),
                }),
                Some(o) => {
                    let before = crate::repo::paper_events::Figures {
                        upvotes: o.upvotes,
                        comments: o.num_comments,
                        stars: o.github_stars,
                    };
                    (before != figures(p)).then(|| crate::repo::paper_events::PaperChange {
                        paper_id,
                        kind: crate::repo::paper_events::Kind::Updated,
                        before: Some(before),
                        after: figures(p),
                    })
                }
            }
        })
        .collect();
    crate::repo::paper_events::record(txn, &changes, Utc::now()).await?;

    let mut reindex = replace_authors(txn, papers, &paper_ids, &user_ids).await?;
    // A changed author list is a change of the paper. Papers the insert wrote already carry the
    // stamp, and writing it again would leave a dead row version each on PostgreSQL.
    let already: BTreeSet<i64> = written
        .iter()
        .filter_map(|a| paper_ids.get(*a).copied())
        .collect();
    let authors_changed: Vec<i64> = reindex
        .iter()
        .copied()
        .filter(|id| !already.contains(id))
        .collect();
    for chunk in authors_changed.chunks(CHUNK) {
        paper::Entity::update_many()
            .col_expr(paper::Column::UpdatedAt, Expr::value(stamp))
            .filter(paper::Column::Id.is_in(chunk.iter().copied()))
            .exec(txn)
            .await?;
    }
    reindex.extend(
        text_changed
            .iter()
            .filter_map(|a| paper_ids.get(*a).copied()),
    );
    let reindex: Vec<i64> = reindex.into_iter().collect();
    super::search_source::record_changes(txn, &reindex).await?;

    let snapshots: Vec<upvote_snapshot::ActiveModel> = papers
        .iter()
        .filter(|p| {
            let id = p.arxiv_id.as_str();
            outcome.added.iter().any(|a| a == id) || outcome.updated.iter().any(|u| u == id)
        })
        .filter_map(|p| {
            Some(upvote_snapshot::ActiveModel {
                id: NotSet,
                paper_id: Set(*paper_ids.get(p.arxiv_id.as_str())?),
                taken_at: Set(fetched_at),
                upvotes: Set(p.upvotes),
                num_comments: Set(p.num_comments),
                github_stars: Set(p.github_stars),
            })
        })
        .collect();
    insert_snapshots(txn, snapshots).await?;

    Ok(outcome)
}

/// Splits `rows` (`sizes` gives each one's bytes) into runs of at most `max_rows` rows and about
/// `max_bytes` of text.
fn chunks_by_size<'a, T>(
    rows: &'a [T],
    sizes: &[usize],
    max_rows: usize,
    max_bytes: usize,
) -> Vec<&'a [T]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, size) in sizes.iter().enumerate().take(rows.len()) {
        if i > start && (i - start >= max_rows || bytes + size > max_bytes) {
            out.push(&rows[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < rows.len() {
        out.push(&rows[start..]);
    }
    out
}

/// About how many bytes a paper's row adds to an insert statement.
fn insert_bytes(p: &DailyPaper) -> usize {
    400 + p.title.len() + p.abstract_text.len() + p.ai_summary.as_ref().map_or(0, String::len)
}

/// Inserts or replaces the state row of one day (both the stored and the failed outcome).
async fn upsert_daily_list<C: ConnectionTrait>(
    db: &C,
    row: daily_list::ActiveModel,
) -> Result<(), DbErr> {
    use daily_list::Column as D;
    daily_list::Entity::insert(row)
        .on_conflict(
            OnConflict::column(D::Date)
                .update_columns([
                    D::FetchedAt,
                    D::PaperCount,
                    D::ContentHash,
                    D::Status,
                    D::Error,
                    D::Attempts,
                    D::Source,
                    D::BodyHash,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// How long a window of upvotes counts as "recent" for the trending score.
const VELOCITY_WINDOW_HOURS: i64 = 24;

/// Trending scores of stored papers whose upvotes moved, observed at `at`: the upvotes gained in
/// the last 24 hours (against the last snapshot at or before then; all upvotes for a paper listed
/// within the window; against the first snapshot when none is that old), decayed from `at` as
/// [`trending_score`] decays from the listing time. A paper that keeps gaining keeps rising; one
/// that stops sinks as others are observed later, and no score needs recomputing as time passes.
async fn velocity_scores<C: ConnectionTrait>(
    db: &C,
    moved: &[(i64, i32, DateTime<Utc>)],
    at: DateTime<Utc>,
) -> Result<HashMap<i64, f64>, DbErr> {
    use sea_orm::QueryOrder;
    let mut out = HashMap::new();
    if moved.is_empty() {
        return Ok(out);
    }
    let since = at - chrono::Duration::hours(VELOCITY_WINDOW_HOURS);
    let ids: Vec<i64> = moved.iter().map(|(id, _, _)| *id).collect();
    let mut history: HashMap<i64, Vec<(DateTime<Utc>, i32)>> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(i64, DateTime<Utc>, i32)> = upvote_snapshot::Entity::find()
            .select_only()
            .column(upvote_snapshot::Column::PaperId)
            .column(upvote_snapshot::Column::TakenAt)
            .column(upvote_snapshot::Column::Upvotes)
            .filter(upvote_snapshot::Column::PaperId.is_in(chunk.iter().copied()))
            .order_by_asc(upvote_snapshot::Column::TakenAt)
            .into_tuple()
            .all(db)
            .await?;
        for (id, t, u) in rows {
            history.entry(id).or_default().push((t, u));
        }
    }
    for (id, upvotes, listed_at) in moved {
        let baseline = if *listed_at > since {
            0
        } else {
            let snaps = history.get(id).map(Vec::as_slice).unwrap_or_default();
            snaps
                .iter()
                .rev()
                .find(|(t, _)| *t <= since)
                .or(snaps.first())
                .map_or(0, |(_, u)| *u)
        };
        out.insert(
            *id,
            trending_score(std::cmp::max(upvotes - baseline, 0), at),
        );
    }
    Ok(out)
}

/// Appends upvote snapshots; one already taken at the same time for a paper is kept.
async fn insert_snapshots<C: ConnectionTrait>(
    db: &C,
    snapshots: Vec<upvote_snapshot::ActiveModel>,
) -> Result<(), DbErr> {
    for chunk in snapshots.chunks(rows_per_insert(5)) {
        ignore_conflict(
            upvote_snapshot::Entity::insert_many(chunk.to_vec())
                .on_conflict(
                    OnConflict::columns([
                        upvote_snapshot::Column::PaperId,
                        upvote_snapshot::Column::TakenAt,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(db)
                .await,
        )?;
    }
    Ok(())
}

fn ignore_conflict(r: Result<u64, DbErr>) -> Result<u64, DbErr> {
    match r {
        Err(DbErr::RecordNotInserted) => Ok(0),
        other => other,
    }
}

/// Which of `arxiv_ids` are stored.
pub async fn stored_arxiv_ids<C: ConnectionTrait>(
    db: &C,
    arxiv_ids: &[String],
) -> Result<BTreeSet<String>, DbErr> {
    Ok(select_ids(db, arxiv_ids).await?.into_keys().collect())
}

async fn select_ids<C: ConnectionTrait>(
    db: &C,
    arxiv_ids: &[String],
) -> Result<HashMap<String, i64>, DbErr> {
    let mut out = HashMap::new();
    for chunk in arxiv_ids.chunks(CHUNK) {
        let rows: Vec<(i64, String)> = paper::Entity::find()
            .select_only()
            .column(paper::Column::Id)
            .column(paper::Column::ArxivId)
            .filter(paper::Column::ArxivId.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows.into_iter().map(|(id, a)| (a, id)));
    }
    Ok(out)
}

async fn upsert_organizations<C: ConnectionTrait>(
    db: &C,
    papers: &[DailyPaper],
) -> Result<HashMap<String, i64>, DbErr> {
    let orgs: BTreeMap<&str, _> = papers
        .iter()
        .filter_map(|p| p.organization.as_ref())
        .map(|o| (o.name.as_str(), o))
        .collect();
    if orgs.is_empty() {
        return Ok(HashMap::new());
    }
    let models = orgs.values().map(|o| organization::ActiveModel {
        id: NotSet,
        name: Set(o.name.clone()),
        hf_id: Set(o.hf_id.clone()),
        fullname: Set(o.fullname.clone()),
        avatar_url: Set(o.avatar_url.clone()),
    });
    use organization::Column as O;
    organization::Entity::insert_many(models)
        .on_conflict(
            OnConflict::column(O::Name)
                .update_columns([O::HfId, O::Fullname, O::AvatarUrl])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let rows: Vec<(i64, String)> = organization::Entity::find()
        .select_only()
        .column(O::Id)
        .column(O::Name)
        .filter(O::Name.is_in(orgs.keys().map(|k| k.to_string())))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(id, n)| (n, id)).collect())
}

async fn upsert_users<C: ConnectionTrait>(
    db: &C,
    papers: &[DailyPaper],
) -> Result<HashMap<String, i64>, DbErr> {
    // A submitter reference carries more fields than an author's `user`; let it win.
    let mut users: BTreeMap<&str, &HfUserRef> = BTreeMap::new();
    for p in papers {
        for a in &p.authors {
            if let Some(u) = &a.user {
                users.entry(u.username.as_str()).or_insert(u);
            }
        }
    }
    for p in papers {
        if let Some(u) = &p.submitted_by {
            users.insert(u.username.as_str(), u);
        }
    }
    upsert_user_refs(db, users).await
}

/// Upserts Hub accounts by username (the newer fields win); their ids by username.
pub(super) async fn upsert_user_refs<C: ConnectionTrait>(
    db: &C,
    users: BTreeMap<&str, &HfUserRef>,
) -> Result<HashMap<String, i64>, DbErr> {
    if users.is_empty() {
        return Ok(HashMap::new());
    }
    use hf_user::Column as U;
    let names: Vec<String> = users.keys().map(|k| k.to_string()).collect();
    let models: Vec<_> = users
        .values()
        .map(|u| hf_user::ActiveModel {
            id: NotSet,
            username: Set(u.username.clone()),
            hf_id: Set(u.hf_id.clone()),
            fullname: Set(u.fullname.clone()),
            avatar_url: Set(u.avatar_url.clone()),
            is_pro: Set(u.is_pro),
            kind: Set(u.kind.clone()),
        })
        .collect();
    for chunk in models.chunks(rows_per_insert(6)) {
        hf_user::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(U::Username)
                    .update_columns([U::HfId, U::Fullname, U::AvatarUrl, U::IsPro, U::Kind])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    let mut out = HashMap::new();
    for chunk in names.chunks(CHUNK) {
        let rows: Vec<(i64, String)> = hf_user::Entity::find()
            .select_only()
            .column(U::Id)
            .column(U::Username)
            .filter(U::Username.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows.into_iter().map(|(id, n)| (n, id)));
    }
    Ok(out)
}

/// Rewrites the author slots of the listed papers whose author list changed, and moves the paper
/// counts of every author who gained or lost a paper — in the same statement that inserts the
/// authors not seen before. Returns the papers whose slots were rewritten.
async fn replace_authors<C: ConnectionTrait>(
    db: &C,
    papers: &[DailyPaper],
    paper_ids: &HashMap<String, i64>,
    user_ids: &HashMap<String, i64>,
) -> Result<BTreeSet<i64>, DbErr> {
    let pids: Vec<i64> = paper_ids.values().copied().collect();
    // The stored slots of these papers, by paper, in position order.
    let mut stored: HashMap<i64, Vec<(String, paper_author::Model)>> = HashMap::new();
    for chunk in pids.chunks(CHUNK) {
        let rows = paper_author::Entity::find()
            .filter(paper_author::Column::PaperId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        for row in rows {
            stored
                .entry(row.paper_id)
                .or_default()
                .push((row.name.clone(), row));
        }
    }
    for slots in stored.values_mut() {
        slots.sort_by_key(|(_, s)| s.position);
    }
    // Papers whose slots must be rewritten: new ones and those whose list differs.
    let mut rewrite: Vec<(&DailyPaper, i64)> = Vec::new();
    for p in papers {
        let Some(&paper_id) = paper_ids.get(p.arxiv_id.as_str()) else {
            continue;
        };
        let old = stored.get(&paper_id).map(Vec::as_slice).unwrap_or(&[]);
        let same = old.len() == p.authors.len()
            && old.iter().zip(&p.authors).all(|((_, s), a)| {
                s.name == a.name.as_str()
                    && s.hidden == a.hidden
                    && s.hf_author_id == a.hf_author_id
                    && s.hf_user_id
                        == a.user
                            .as_ref()
                            .and_then(|u| user_ids.get(&u.username).copied())
                    && s.claim_status == a.claim_status
                    && s.status_changed_at == a.status_changed_at
            });
        if !same {
            rewrite.push((p, paper_id));
        }
    }
    if rewrite.is_empty() {
        return Ok(BTreeSet::new());
    }
    // (paper, name) pairs before and after: each author's paper count moves by the difference.
    let mut before: BTreeSet<(i64, &str)> = BTreeSet::new();
    let mut after: BTreeSet<(i64, &str)> = BTreeSet::new();
    for (p, paper_id) in &rewrite {
        if let Some(old) = stored.get(paper_id) {
            before.extend(old.iter().map(|(n, _)| (*paper_id, n.as_str())));
        }
        after.extend(p.authors.iter().map(|a| (*paper_id, a.name.as_str())));
    }
    let mut delta: BTreeMap<&str, i32> = BTreeMap::new();
    for (_, name) in after.difference(&before) {
        *delta.entry(name).or_default() += 1;
    }
    for (_, name) in before.difference(&after) {
        *delta.entry(name).or_default() -= 1;
    }
    // Authors whose count moves: one upsert adds the change (or inserts with it) and returns ids.
    let mut author_ids: HashMap<String, i64> = HashMap::new();
    let moving: Vec<(&str, i32)> = delta
        .iter()
        .filter(|(_, d)| **d != 0)
        .map(|(n, d)| (*n, *d))
        .collect();
    for chunk in moving.chunks(rows_per_insert(3)) {
        let mut stmt = Query::insert();
        stmt.into_table(author::Entity).columns([
            author::Column::Name,
            author::Column::NameKey,
            author::Column::PaperCount,
        ]);
        for (name, d) in chunk {
            stmt.values_panic([(*name).into(), fold_for_search(name).into(), (*d).into()]);
        }
        stmt.on_conflict(
            OnConflict::column(author::Column::Name)
                .value(
                    author::Column::PaperCount,
                    Expr::col((author::Entity, author::Column::PaperCount))
                        .add(Expr::cust("excluded.paper_count")),
                )
                .to_owned(),
        )
        .returning(Query::returning().columns([author::Column::Id, author::Column::Name]));
        for row in db.query_all(&stmt).await? {
            let id: i64 = row.try_get("", "id")?;
            let name: String = row.try_get("", "name")?;
            author_ids.insert(name, id);
        }
    }
    // Authors of rewritten slots whose count stays: look them up.
    let still: Vec<String> = after
        .iter()
        .map(|(_, n)| *n)
        .filter(|n| !author_ids.contains_key(*n))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(str::to_string)
        .collect();
    for chunk in still.chunks(CHUNK) {
        let rows: Vec<(i64, String)> = author::Entity::find()
            .select_only()
            .column(author::Column::Id)
            .column(author::Column::Name)
            .filter(author::Column::Name.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        author_ids.extend(rows.into_iter().map(|(id, n)| (n, id)));
    }

    let replaced: Vec<i64> = rewrite
        .iter()
        .map(|(_, id)| *id)
        .filter(|id| stored.contains_key(id))
        .collect();
    for chunk in replaced.chunks(CHUNK) {
        paper_author::Entity::delete_many()
            .filter(paper_author::Column::PaperId.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
    }
    let mut slots = Vec::new();
    for (p, paper_id) in &rewrite {
        for (position, a) in p.authors.iter().enumerate() {
            let Some(&author_id) = author_ids.get(a.name.as_str()) else {
                continue;
            };
            slots.push(paper_author::ActiveModel {
                paper_id: Set(*paper_id),
                position: Set(position as i32),
                author_id: Set(author_id),
                name: Set(a.name.as_str().to_string()),
                hidden: Set(a.hidden),
                hf_author_id: Set(a.hf_author_id.clone()),
                hf_user_id: Set(a
                    .user
                    .as_ref()
                    .and_then(|u| user_ids.get(&u.username).copied())),
                claim_status: Set(a.claim_status.clone()),
                status_changed_at: Set(a.status_changed_at),
            });
        }
    }
    for chunk in slots.chunks(rows_per_insert(9)) {
        paper_author::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(rewrite.iter().map(|(_, id)| *id).collect())
}

/// Records that the list of `date` could not be fetched or parsed, so that it is retried later;
/// papers already stored for that day are left as they are.
pub async fn record_failed_day<C: ConnectionTrait>(
    db: &C,
    date: NaiveDate,
    error: &str,
    source: daily_list::Source,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let previous = daily_list::Entity::find_by_id(date).one(db).await?;
    let row = daily_list::ActiveModel {
        date: Set(date),
        fetched_at: Set(at),
        paper_count: Set(previous.as_ref().map(|p| p.paper_count).unwrap_or(0)),
        content_hash: Set(previous.as_ref().and_then(|p| p.content_hash.clone())),
        status: Set(daily_list::Status::Failed),
        error: Set(Some(error.chars().take(2000).collect())),
        attempts: Set(previous.as_ref().map(|p| p.attempts).unwrap_or(0) + 1),
        source: Set(source),
        body_hash: Set(None),
    };
    upsert_daily_list(db, row).await?;
    Ok(())
}
