//! The detail queue and what it stores: which papers' Hub details are due, in which order, and
//! writing a batch of fetched details (linked repos, comments, totals) in one transaction.
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::{
    Alias, CaseStatement, Cond, Expr, ExprTrait, Func, OnConflict, Order, Query,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QuerySelect, TransactionTrait,
};

use super::import::{CHUNK, change_stamp, relax_commit, rows_per_insert, upsert_user_refs};
use crate::domain::{HfUserRef, HubRepo, PaperComment, PaperNeighbourhood, RepoKind};
use crate::entities::{hf_user, paper, paper_comment, paper_detail, paper_link};

/// When papers are due again.
#[derive(Clone, Copy, Debug)]
pub struct Refresh {
    /// A fetched paper is refreshed after this long even when nothing moved.
    pub every: Duration,
    /// A paper first stored within this long is "new" and goes first.
    pub new_within: Duration,
}

impl Refresh {
    /// Fetched papers refreshed after `days` days; papers stored in the last two days are new.
    pub fn days(days: u32) -> Self {
        Refresh {
            every: Duration::days(i64::from(days)),
            new_within: Duration::days(2),
        }
    }
}

/// A paper whose detail is due.
#[derive(Clone, Debug, FromQueryResult)]
pub struct DueDetail {
    pub paper_id: i64,
    pub arxiv_id: String,
    /// 0 new, 1 moved, 2 backlog (never fetched, failed, or older than the refresh period).
    pub tier: i32,
}

impl DueDetail {
    pub fn reason(&self) -> &'static str {
        match self.tier {
            0 => "new",
            1 => "moved",
            _ => "backlog",
        }
    }
}

fn d(c: paper_detail::Column) -> Expr {
    Expr::col((paper_detail::Entity, c))
}

fn p(c: paper::Column) -> Expr {
    Expr::col((paper::Entity, c))
}

/// The stored counts moved since the detail was fetched (a list brought new comments).
fn moved() -> Cond {
    use paper::Column as P;
    use paper_detail::Column as D;
    let differs = |seen: D, now: P| {
        Func::coalesce([d(seen), Expr::val(-1)]).ne(Func::coalesce([p(now), Expr::val(-1)]))
    };
    Cond::all().add(d(D::Status).eq("ok")).add(
        Cond::any()
            .add(differs(D::CommentsSeen, P::NumComments))
            .add(differs(D::ModelsSeen, P::NumLinkedModels))
            .add(differs(D::DatasetsSeen, P::NumLinkedDatasets))
            .add(differs(D::SpacesSeen, P::NumLinkedSpaces)),
    )
}

fn due_condition(now: DateTime<Utc>, refresh: Refresh) -> Cond {
    use paper_detail::Column as D;
    Cond::any().add(d(D::PaperId).is_null()).add(
        Cond::all()
            .add(Func::coalesce([d(D::RetryAt), d(D::CheckedAt)]).lte(Expr::val(now)))
            .add(
                Cond::any()
                    .add(d(D::Status).eq("failed"))
                    .add(d(D::CheckedAt).lte(Expr::val(now - refresh.every)))
                    .add(moved()),
            ),
    )
}

fn due_query(
    now: DateTime<Utc>,
    refresh: Refresh,
    days: Option<&[NaiveDate]>,
) -> sea_orm::sea_query::SelectStatement {
    let mut q = Query::select();
    q.from(paper::Entity)
        .left_join(
            paper_detail::Entity,
            d(paper_detail::Column::PaperId).equals((paper::Entity, paper::Column::Id)),
        )
        .cond_where(due_condition(now, refresh));
    if let Some(days) = days {
        q.and_where(p(paper::Column::DailyDate).is_in(days.iter().copied()));
    }
    q
}

/// Up to `limit` due papers, most urgent first: new papers never fetched, then papers whose
/// counts moved, then the rest by popularity. `days`: only the papers listed on those days.
pub async fn due<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    refresh: Refresh,
    days: Option<&[NaiveDate]>,
    limit: u64,
) -> Result<Vec<DueDetail>, DbErr> {
    let tier = CaseStatement::new()
        .case(
            Cond::all()
                .add(d(paper_detail::Column::PaperId).is_null())
                .add(p(paper::Column::CreatedAt).gte(Expr::val(now - refresh.new_within))),
            Expr::val(0),
        )
        .case(moved(), Expr::val(1))
        .finally(Expr::val(2));
    let mut q = due_query(now, refresh, days);
    q.expr_as(p(paper::Column::Id), Alias::new("paper_id"))
        .expr_as(p(paper::Column::ArxivId), Alias::new("arxiv_id"))
        .expr_as(tier, Alias::new("tier"))
        .order_by(Alias::new("tier"), Order::Asc)
        .order_by((paper::Entity, paper::Column::Upvotes), Order::Desc)
        .order_by((paper::Entity, paper::Column::Id), Order::Desc)
        .limit(limit);
    let backend = db.get_database_backend();
    DueDetail::find_by_statement(backend.build(&q))
        .all(db)
        .await
}

/// How many papers are due now.
pub async fn due_count<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    refresh: Refresh,
    days: Option<&[NaiveDate]>,
) -> Result<i64, DbErr> {
    let mut q = due_query(now, refresh, days);
    q.expr_as(Expr::cust("COUNT(*)"), Alias::new("n"));
    let row = db.query_one(&q).await?;
    row.map(|r| r.try_get::<i64>("", "n"))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// The queue's figures for `syncStatus`.
#[derive(Clone, Debug, Default)]
pub struct QueueStatus {
    pub pending: i64,
    pub done_last_24h: i64,
    pub not_indexed: i64,
    pub failing: i64,
    pub next: Option<DueDetail>,
}

pub async fn queue_status<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    refresh: Refresh,
) -> Result<QueueStatus, DbErr> {
    use paper_detail::{Column as D, Entity as Details, Status};
    use sea_orm::PaginatorTrait;
    let count = |c: Cond| Details::find().filter(c).count(db);
    Ok(QueueStatus {
        pending: due_count(db, now, refresh, None).await?,
        done_last_24h: count(
            Cond::all()
                .add(D::CheckedAt.gte(now - Duration::hours(24)))
                .add(D::Status.ne(Status::Failed)),
        )
        .await? as i64,
        not_indexed: count(Cond::all().add(D::Status.eq(Status::NotIndexed))).await? as i64,
        failing: count(Cond::all().add(D::Status.eq(Status::Failed))).await? as i64,
        next: due(db, now, refresh, None, 1).await?.into_iter().next(),
    })
}

/// A paper's id, comment count and linked totals.
type Counts = (i64, i32, Option<i32>, Option<i32>, Option<i32>);

/// What fetching one paper's detail gave.
#[derive(Clone, Debug)]
pub enum DetailOutcome {
    Fetched(PaperNeighbourhood),
    /// 404: the Hub does not index the paper.
    NotIndexed,
    /// The fetch failed or the answer was unusable (the reason); nothing is changed.
    Failed(String),
}

/// A failed paper waits 15 minutes, doubling per failure in a row, at most a day.
fn retry_wait(attempts: i32) -> Duration {
    Duration::minutes(15 << attempts.clamp(0, 7)).min(Duration::days(1))
}

/// Stores a batch of outcomes in one transaction: a fetched paper's linked lists (per kind the
/// answer had a usable list for), comments (when the answer had them) and totals replace the
/// stored ones; a 404 or a failure only updates the queue's record of the paper.
pub async fn store<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    batch: &[(i64, DetailOutcome)],
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    if batch.is_empty() {
        return Ok(());
    }
    let txn = super::begin_write(db).await?;
    relax_commit(&*txn).await?;
    let ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();
    // The counts the queue compares with later; the rest of the paper is not touched.
    let mut papers: HashMap<i64, Counts> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        use paper::Column as P;
        let rows: Vec<Counts> = paper::Entity::find()
            .select_only()
            .columns([
                P::Id,
                P::NumComments,
                P::NumLinkedModels,
                P::NumLinkedDatasets,
                P::NumLinkedSpaces,
            ])
            .filter(P::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(&*txn)
            .await?;
        papers.extend(rows.into_iter().map(|r| (r.0, r)));
    }
    let previous = records(&*txn, &ids).await?;
    let fetched: Vec<i64> = batch
        .iter()
        .filter(|(_, o)| matches!(o, DetailOutcome::Fetched(_)))
        .map(|(id, _)| *id)
        .collect();
    let stored_links = link_rows(&*txn, &fetched, None).await?;
    let stored_comments = comment_rows(&*txn, &fetched).await?;
    // Comment authors are Hub accounts like submitters: one row per username.
    let mut users: BTreeMap<&str, &HfUserRef> = BTreeMap::new();
    for (_, o) in batch {
        if let DetailOutcome::Fetched(n) = o {
            for c in n.comments.iter().flatten() {
                if let Some(u) = &c.author {
                    users.insert(u.username.as_str(), u);
                }
            }
        }
    }
    let user_ids = upsert_user_refs(&*txn, users).await?;
    let mut stamp = None;
    let mut links = Vec::new();
    // The papers whose stored rows are replaced, deleted per kind in one statement each.
    let mut stale_links: [Vec<i64>; 3] = Default::default();
    let mut stale_comments: Vec<i64> = Vec::new();
    let mut comments = Vec::new();
    let mut records = Vec::new();
    for (paper_id, outcome) in batch {
        // A paper deleted since it was picked has nothing to update.
        let Some(&(_, num_comments, models, datasets, spaces)) = papers.get(paper_id) else {
            continue;
        };
        let before = previous.get(paper_id);
        let mut record = paper_detail::ActiveModel {
            paper_id: Set(*paper_id),
            checked_at: Set(at),
            synced_at: Set(before.and_then(|b| b.synced_at)),
            retry_at: Set(None),
            attempts: Set(0),
            comments_seen: Set(before.and_then(|b| b.comments_seen)),
            models_seen: Set(before.and_then(|b| b.models_seen)),
            datasets_seen: Set(before.and_then(|b| b.datasets_seen)),
            spaces_seen: Set(before.and_then(|b| b.spaces_seen)),
            error: Set(None),
            status: Set(paper_detail::Status::Ok),
        };
        match outcome {
            DetailOutcome::NotIndexed => record.status = Set(paper_detail::Status::NotIndexed),
            DetailOutcome::Failed(reason) => {
                let attempts = before
                    .filter(|b| b.status == paper_detail::Status::Failed)
                    .map_or(0, |b| b.attempts);
                record.status = Set(paper_detail::Status::Failed);
                record.attempts = Set(attempts + 1);
                record.retry_at = Set(Some(at + retry_wait(attempts)));
                record.error = Set(Some(reason.chars().take(500).collect()));
            }
            DetailOutcome::Fetched(n) => {
                let old = [models, datasets, spaces];
                let totals: Vec<Option<i32>> = n
                    .linked
                    .iter()
                    .zip(old)
                    .map(|(l, o)| l.total.or(o))
                    .collect();
                let mut changed = totals != old;
                for (kind, list) in RepoKind::ALL.into_iter().zip(&n.linked) {
                    let Some(repos) = &list.repos else { continue };
                    let fresh = fresh_links(*paper_id, kind, repos);
                    let stored = stored_links.get(&(*paper_id, kind as i16));
                    if stored.map_or(fresh.is_empty(), |s| *s == fresh) {
                        continue;
                    }
                    changed = true;
                    if stored.is_some() {
                        stale_links[kind as usize].push(*paper_id);
                    }
                    links.extend(fresh.into_iter().map(paper_link::ActiveModel::from));
                }
                if let Some(thread) = &n.comments {
                    let fresh = fresh_comments(*paper_id, thread, &user_ids);
                    let stored = stored_comments.get(paper_id);
                    if !stored.map_or(fresh.is_empty(), |s| *s == fresh) {
                        changed = true;
                        if stored.is_some() {
                            stale_comments.push(*paper_id);
                        }
                        comments.extend(fresh.into_iter().map(paper_comment::ActiveModel::from));
                    }
                }
                // Pollers of `updatedSince` see a paper whose neighbourhood changed; a refresh
                // that changes nothing moves nothing.
                if changed {
                    let stamp = match stamp {
                        Some(s) => s,
                        None => *stamp.insert(change_stamp(&*txn, at).await?),
                    };
                    paper::Entity::update_many()
                        .col_expr(paper::Column::NumLinkedModels, Expr::val(totals[0]))
                        .col_expr(paper::Column::NumLinkedDatasets, Expr::val(totals[1]))
                        .col_expr(paper::Column::NumLinkedSpaces, Expr::val(totals[2]))
                        .col_expr(paper::Column::UpdatedAt, Expr::val(stamp))
                        .filter(paper::Column::Id.eq(*paper_id))
                        .exec(&*txn)
                        .await?;
                }
                record.synced_at = Set(Some(at));
                // What the queue compares with later: the counts as of this fetch (an answer
                // without comments does not keep the paper "moved" forever).
                record.comments_seen = Set(Some(num_comments));
                record.models_seen = Set(totals[0]);
                record.datasets_seen = Set(totals[1]);
                record.spaces_seen = Set(totals[2]);
            }
        }
        records.push(record);
    }
    for (kind, ids) in RepoKind::ALL.into_iter().zip(&stale_links) {
        for chunk in ids.chunks(CHUNK) {
            paper_link::Entity::delete_many()
                .filter(paper_link::Column::PaperId.is_in(chunk.iter().copied()))
                .filter(paper_link::Column::Kind.eq(kind as i16))
                .exec(&*txn)
                .await?;
        }
    }
    for chunk in stale_comments.chunks(CHUNK) {
        paper_comment::Entity::delete_many()
            .filter(paper_comment::Column::PaperId.is_in(chunk.iter().copied()))
            .exec(&*txn)
            .await?;
    }
    for chunk in links.chunks(rows_per_insert(12)) {
        paper_link::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&*txn)
            .await?;
    }
    for chunk in comments.chunks(rows_per_insert(13)) {
        paper_comment::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&*txn)
            .await?;
    }
    use paper_detail::Column as D;
    for chunk in records.chunks(rows_per_insert(11)) {
        paper_detail::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(D::PaperId)
                    .update_columns([
                        D::Status,
                        D::CheckedAt,
                        D::SyncedAt,
                        D::RetryAt,
                        D::Attempts,
                        D::CommentsSeen,
                        D::ModelsSeen,
                        D::DatasetsSeen,
                        D::SpacesSeen,
                        D::Error,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&*txn)
            .await?;
    }
    txn.commit().await
}

fn fresh_links(paper_id: i64, kind: RepoKind, repos: &[HubRepo]) -> Vec<paper_link::Model> {
    repos
        .iter()
        .enumerate()
        .map(|(i, r)| paper_link::Model {
            paper_id,
            kind: kind as i16,
            position: i as i32,
            repo_id: r.id.clone(),
            author: r.author.clone(),
            downloads: r.downloads,
            likes: r.likes,
            pipeline_tag: r.pipeline_tag.clone(),
            gated: r.gated.clone(),
            last_modified: r.last_modified,
            emoji: r.emoji.clone(),
            running: r.running,
        })
        .collect()
}

fn fresh_comments(
    paper_id: i64,
    thread: &[PaperComment],
    user_ids: &HashMap<String, i64>,
) -> Vec<paper_comment::Model> {
    thread
        .iter()
        .enumerate()
        .map(|(i, c)| paper_comment::Model {
            paper_id,
            position: i as i32,
            hub_id: c.hub_id.clone(),
            parent_id: c.parent_id.clone(),
            author_id: c
                .author
                .as_ref()
                .and_then(|u| user_ids.get(&u.username).copied()),
            deleted: c.author.is_none(),
            created_at: c.created_at,
            edited_at: c.edited_at,
            body: c.body.clone(),
            hidden: c.hidden,
            hidden_reason: c.hidden_reason.clone(),
            reactions: serde_json::Value::Array(
                c.reactions
                    .iter()
                    .map(|(e, n)| serde_json::json!({ "emoji": e, "count": n }))
                    .collect(),
            ),
        })
        .collect()
}

/// The queue's record of each of `paper_ids` that has one.
pub async fn records<C: ConnectionTrait>(
    db: &C,
    paper_ids: &[i64],
) -> Result<HashMap<i64, paper_detail::Model>, DbErr> {
    let mut out = HashMap::new();
    for chunk in paper_ids.chunks(CHUNK) {
        for row in paper_detail::Entity::find()
            .filter(paper_detail::Column::PaperId.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            out.insert(row.paper_id, row);
        }
    }
    Ok(out)
}

/// The stored linked repos of `paper_ids` (of `kind`, or all), per paper and kind, in the
/// upstream's order.
async fn link_rows<C: ConnectionTrait>(
    db: &C,
    paper_ids: &[i64],
    kind: Option<RepoKind>,
) -> Result<HashMap<(i64, i16), Vec<paper_link::Model>>, DbErr> {
    use sea_orm::QueryOrder;
    let mut out: HashMap<(i64, i16), Vec<paper_link::Model>> = HashMap::new();
    for chunk in paper_ids.chunks(CHUNK) {
        let mut q = paper_link::Entity::find()
            .filter(paper_link::Column::PaperId.is_in(chunk.iter().copied()));
        if let Some(kind) = kind {
            q = q.filter(paper_link::Column::Kind.eq(kind as i16));
        }
        for row in q.order_by_asc(paper_link::Column::Position).all(db).await? {
            out.entry((row.paper_id, row.kind)).or_default().push(row);
        }
    }
    Ok(out)
}

/// The stored comments of `paper_ids`, per paper, in thread order.
async fn comment_rows<C: ConnectionTrait>(
    db: &C,
    paper_ids: &[i64],
) -> Result<HashMap<i64, Vec<paper_comment::Model>>, DbErr> {
    use sea_orm::QueryOrder;
    let mut out: HashMap<i64, Vec<paper_comment::Model>> = HashMap::new();
    for chunk in paper_ids.chunks(CHUNK) {
        for row in paper_comment::Entity::find()
            .filter(paper_comment::Column::PaperId.is_in(chunk.iter().copied()))
            .order_by_asc(paper_comment::Column::Position)
            .all(db)
            .await?
        {
            out.entry(row.paper_id).or_default().push(row);
        }
    }
    Ok(out)
}

/// The linked repos of `kind` of each of `paper_ids`, most liked first (then the upstream's
/// order).
pub async fn links<C: ConnectionTrait>(
    db: &C,
    paper_ids: &[i64],
    kind: RepoKind,
) -> Result<HashMap<i64, Vec<paper_link::Model>>, DbErr> {
    let mut out: HashMap<i64, Vec<paper_link::Model>> = link_rows(db, paper_ids, Some(kind))
        .await?
        .into_iter()
        .map(|((paper_id, _), list)| (paper_id, list))
        .collect();
    for list in out.values_mut() {
        list.sort_by_key(|l| (std::cmp::Reverse(l.likes.unwrap_or(-1)), l.position));
    }
    Ok(out)
}

/// The comments of each of `paper_ids` in thread order, with their authors' accounts.
pub async fn comments<C: ConnectionTrait>(
    db: &C,
    paper_ids: &[i64],
) -> Result<
    (
        HashMap<i64, Vec<paper_comment::Model>>,
        HashMap<i64, hf_user::Model>,
    ),
    DbErr,
> {
    let out = comment_rows(db, paper_ids).await?;
    let mut user_ids: Vec<i64> = out.values().flatten().filter_map(|c| c.author_id).collect();
    user_ids.sort_unstable();
    user_ids.dedup();
    let users = super::papers::hf_users(db, &user_ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok((out, users))
}
