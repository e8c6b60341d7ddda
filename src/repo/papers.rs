//! Reading papers: filters, the orders of the API and keyset pages over `(sort key, id)`.
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::cursor::{Cursor, SortKey};
use super::keyset;
pub use super::keyset::{Page, Slice};
pub use super::rows::{AuthorSlot, LISTED, Listed};
use super::rows::{AuthorSlotRow, PaperRow, PaperWithSlotsRow};
use crate::entities::{author, hf_user, organization, paper, paper_author, paper_link};

/// Which papers a list holds. Every field narrows the set; `None` means no constraint.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PaperCriteria {
    pub daily_from: Option<NaiveDate>,
    pub daily_to: Option<NaiveDate>,
    pub published_from: Option<DateTime<Utc>>,
    pub published_to: Option<DateTime<Utc>>,
    pub min_upvotes: Option<i32>,
    /// Case- and accent-folded author name (see `domain::fold_for_search`).
    pub author_key: Option<String>,
    pub author_id: Option<i64>,
    /// Organization handle or full name, lower-cased.
    pub organization: Option<String>,
    pub has_code: Option<bool>,
    /// The submitter's Hugging Face username, lower-cased.
    pub submitter: Option<String>,
    pub organization_id: Option<i64>,
    /// An AI keyword, lower-cased (matched whole, case-insensitively).
    pub ai_keyword: Option<String>,
    pub min_github_stars: Option<i32>,
    pub has_project_page: Option<bool>,
    /// Papers whose stored fields changed at or after this instant.
    pub updated_since: Option<DateTime<Utc>>,
    /// Papers cited by this Hub repo (`owner/name`).
    pub linked_repo: Option<String>,
    /// Per `RepoKind`: `true` papers with linked repos of that kind, `false` papers without.
    pub has_linked: [Option<bool>; 3],
}

/// The orders of `PaperOrderField`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortField {
    Trending,
    Upvotes,
    Comments,
    GithubStars,
    PublishedAt,
    DailyDate,
    UpdatedAt,
    LinkedModels,
}

impl SortField {
    fn tag(self) -> &'static str {
        match self {
            SortField::Trending => "P:TRENDING",
            SortField::Upvotes => "P:UPVOTES",
            SortField::Comments => "P:COMMENTS",
            SortField::GithubStars => "P:GITHUB_STARS",
            SortField::PublishedAt => "P:PUBLISHED_AT",
            SortField::DailyDate => "P:DAILY_DATE",
            SortField::UpdatedAt => "P:UPDATED_AT",
            SortField::LinkedModels => "P:LINKED_MODELS",
        }
    }

    /// The SQL expression ordered by; nullable columns sort NULL lowest on both backends. The
    /// text matches the expression indexes of the first migration.
    fn expr(self) -> Expr {
        match self {
            SortField::Trending => Expr::col((paper::Entity, paper::Column::TrendingScore)),
            SortField::Upvotes => Expr::col((paper::Entity, paper::Column::Upvotes)),
            SortField::Comments => Expr::col((paper::Entity, paper::Column::NumComments)),
            SortField::GithubStars => Expr::cust("COALESCE(github_stars, -1)"),
            SortField::PublishedAt => Expr::col((paper::Entity, paper::Column::PublishedAt)),
            SortField::DailyDate => Expr::cust("COALESCE(daily_date, '0001-01-01')"),
            SortField::UpdatedAt => Expr::col((paper::Entity, paper::Column::UpdatedAt)),
            SortField::LinkedModels => Expr::cust("COALESCE(num_linked_models, -1)"),
        }
    }

    fn key(self, p: &paper::Model) -> SortKey {
        match self {
            SortField::Trending => SortKey::Float(p.trending_score),
            SortField::Upvotes => SortKey::Int(p.upvotes.into()),
            SortField::Comments => SortKey::Int(p.num_comments.into()),
            SortField::GithubStars => SortKey::Int(p.github_stars.unwrap_or(-1).into()),
            SortField::PublishedAt => SortKey::Time(p.published_at),
            SortField::DailyDate => SortKey::Date(
                p.daily_date
                    .unwrap_or(NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or_default()),
            ),
            SortField::UpdatedAt => SortKey::Time(p.updated_at),
            SortField::LinkedModels => SortKey::Int(p.num_linked_models.unwrap_or(-1).into()),
        }
    }

    /// Whether the listed columns (`PaperColumns::Listed`) hold the sort key.
    pub fn listed(self) -> bool {
        !matches!(self, SortField::LinkedModels)
    }
}

/// An order: a field and a direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Sort {
    pub fn cursor(&self, p: &paper::Model) -> Cursor {
        Cursor {
            tag: self.field.tag().to_string(),
            key: self.field.key(p),
            id: p.id,
        }
    }

    pub fn decode_cursor(&self, s: &str) -> Result<Cursor, String> {
        Cursor::decode(s, self.field.tag())
    }
}

impl PaperCriteria {
    pub fn condition(&self) -> Condition {
        use paper::Column as P;
        let mut c = Condition::all();
        match (self.daily_from, self.daily_to) {
            // One day is an equality, so both planners walk (daily_date, key, id) in order.
            (Some(f), Some(t)) if f == t => c = c.add(P::DailyDate.eq(f)),
            (from, to) => {
                if let Some(d) = from {
                    c = c.add(P::DailyDate.gte(d));
                }
                if let Some(d) = to {
                    c = c.add(P::DailyDate.lte(d));
                }
            }
        }
        if let Some(t) = self.published_from {
            c = c.add(P::PublishedAt.gte(t));
        }
        if let Some(t) = self.published_to {
            c = c.add(P::PublishedAt.lte(t));
        }
        if let Some(t) = self.updated_since {
            c = c.add(P::UpdatedAt.gte(t));
        }
        if let Some(n) = self.min_upvotes {
            c = c.add(P::Upvotes.gte(n));
        }
        if let Some(has) = self.has_code {
            c = c.add(if has {
                P::GithubRepo.is_not_null()
            } else {
                P::GithubRepo.is_null()
            });
        }
        if let Some(key) = &self.author_key {
            let sub = Query::select()
                .column((paper_author::Entity, paper_author::Column::PaperId))
                .from(paper_author::Entity)
                .inner_join(
                    author::Entity,
                    Expr::col((author::Entity, author::Column::Id))
                        .equals((paper_author::Entity, paper_author::Column::AuthorId)),
                )
                .and_where(Expr::col((author::Entity, author::Column::NameKey)).eq(key.as_str()))
                .to_owned();
            c = c.add(P::Id.in_subquery(sub));
        }
        if let Some(author_id) = self.author_id {
            let sub = Query::select()
                .column(paper_author::Column::PaperId)
                .from(paper_author::Entity)
                .and_where(Expr::col(paper_author::Column::AuthorId).eq(author_id))
                .to_owned();
            c = c.add(P::Id.in_subquery(sub));
        }
        if let Some(org) = &self.organization {
            let sub = Query::select()
                .column(organization::Column::Id)
                .from(organization::Entity)
                .cond_where(
                    Condition::any()
                        .add(Func::lower(Expr::col(organization::Column::Name)).eq(org.as_str()))
                        .add(
                            Func::lower(Expr::col(organization::Column::Fullname)).eq(org.as_str()),
                        ),
                )
                .to_owned();
            c = c.add(P::OrganizationId.in_subquery(sub));
        }
        if let Some(user) = &self.submitter {
            let sub = Query::select()
                .column(hf_user::Column::Id)
                .from(hf_user::Entity)
                .and_where(Func::lower(Expr::col(hf_user::Column::Username)).eq(user.as_str()))
                .to_owned();
            c = c.add(P::SubmittedById.in_subquery(sub));
        }
        if let Some(id) = self.organization_id {
            c = c.add(P::OrganizationId.eq(id));
        }
        if let Some(n) = self.min_github_stars {
            c = c.add(P::GithubStars.gte(n));
        }
        if let Some(has) = self.has_project_page {
            c = c.add(if has {
                Condition::all()
                    .add(P::ProjectPage.is_not_null())
                    .add(P::ProjectPage.ne(""))
            } else {
                Condition::any()
                    .add(P::ProjectPage.is_null())
                    .add(P::ProjectPage.eq(""))
            });
        }
        if let Some(repo) = &self.linked_repo {
            let sub = Query::select()
                .column(paper_link::Column::PaperId)
                .from(paper_link::Entity)
                .and_where(Expr::col(paper_link::Column::RepoId).eq(repo.as_str()))
                .to_owned();
            c = c.add(P::Id.in_subquery(sub));
        }
        let totals = [P::NumLinkedModels, P::NumLinkedDatasets, P::NumLinkedSpaces];
        for (has, col) in self.has_linked.iter().zip(totals) {
            if let Some(has) = has {
                c = c.add(if *has {
                    Condition::all().add(col.gt(0))
                } else {
                    Condition::any().add(col.is_null()).add(col.eq(0))
                });
            }
        }
        if let Some(k) = &self.ai_keyword {
            // The keywords are a JSON array of strings: the keyword as a JSON string, quotes
            // included, is in its text exactly when it is one of them (both backends print
            // strings as written). ASCII letters fold on both; PostgreSQL folds the rest too.
            let quoted = serde_json::Value::from(k.as_str()).to_string();
            let pattern = format!("%{}%", super::like_escape(&quoted));
            let text = Func::cast_as(Expr::col((paper::Entity, P::AiKeywords)), "TEXT");
            c = c.add(Func::lower(text).like(LikeExpr::new(pattern).escape('!')));
        }
        c
    }
}

/// Which columns of `papers` a page reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaperColumns {
    /// Every column.
    All,
    /// The columns a list shows ([`LISTED`]: ids, texts, dates, counts, code, and the keys of
    /// the relations); the rest of the model holds empty values (`None`, `[]`, `false`, the
    /// epoch), which the reader must not show. Half the columns: the daily list's statements
    /// 1.05-1.15x in pgbench.
    Listed,
}

/// `SELECT` of the papers matching `criteria`, with `columns`.
fn select(criteria: &PaperCriteria, columns: PaperColumns) -> sea_orm::Select<paper::Entity> {
    let q = paper::Entity::find().filter(criteria.condition());
    match columns {
        PaperColumns::All => q,
        PaperColumns::Listed => q.select_only().columns(LISTED.iter().copied()),
    }
}

/// The papers among `ids` that match `criteria` (any order).
pub async fn matching<C: ConnectionTrait>(
    db: &C,
    criteria: &PaperCriteria,
    ids: &[i64],
) -> Result<Vec<paper::Model>, DbErr> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(500) {
        rows.extend(
            paper::Entity::find()
                .filter(criteria.condition())
                .filter(paper::Column::Id.is_in(chunk.iter().copied()))
                .all(db)
                .await?,
        );
    }
    Ok(rows)
}

/// One page of papers matching `criteria` in `sort` order.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    criteria: &PaperCriteria,
    sort: Sort,
    slice: &Slice,
) -> Result<Page<paper::Model>, DbErr> {
    page_of(db, criteria, sort, slice, PaperColumns::All).await
}

/// [`page`] reading `columns`.
pub async fn page_of<C: ConnectionTrait>(
    db: &C,
    criteria: &PaperCriteria,
    sort: Sort,
    slice: &Slice,
    columns: PaperColumns,
) -> Result<Page<paper::Model>, DbErr> {
    let query = select(criteria, columns);
    let id = Expr::col((paper::Entity, paper::Column::Id));
    let page: Page<PaperRow> =
        keyset::fetch(db, query, sort.field.expr(), id, sort.descending, slice).await?;
    Ok(Page {
        rows: page.rows.into_iter().map(|r| r.0).collect(),
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
    })
}

/// [`page_of`] with each paper's author slots (`read` says which of their columns). On SQLite they come in the page's statement (one
/// more column holds a paper's slots as JSON, from a correlated subquery): every statement there
/// is a hand-off to the connection's thread and back (1.07-1.29x the daily list). On PostgreSQL
/// that statement is dearer for the database than a second one (pgbench at c=8: 5,086 tps
/// against 7,682 for the page and [`author_slots`]), and the database's CPU is what replicas
/// share, so it runs the two.
pub async fn page_with_authors<C: ConnectionTrait>(
    db: &C,
    criteria: &PaperCriteria,
    sort: Sort,
    slice: &Slice,
    columns: PaperColumns,
    read: SlotRead,
) -> Result<Page<(paper::Model, Vec<AuthorSlot>)>, DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        let page = page_of(db, criteria, sort, slice, columns).await?;
        let ids: Vec<i64> = page.rows.iter().map(|p| p.id).collect();
        let mut slots = author_slots(db, &ids, read).await?;
        return Ok(Page {
            rows: page
                .rows
                .into_iter()
                .map(|p| {
                    let s = slots.remove(&p.id).unwrap_or_default();
                    (p, s)
                })
                .collect(),
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
        });
    }
    let slots = format!(
        "(SELECT {} WHERE pa.paper_id = \"papers\".\"id\")",
        sqlite_slots_from(read)
    );
    let query = select(criteria, columns).expr_as(Expr::cust(slots), "author_slots");
    let id = Expr::col((paper::Entity, paper::Column::Id));
    let page: Page<PaperWithSlotsRow> =
        keyset::fetch(db, query, sort.field.expr(), id, sort.descending, slice).await?;
    let mut rows = Vec::with_capacity(page.rows.len());
    for PaperWithSlotsRow(p, json) in page.rows {
        let slots = match json.as_deref() {
            None => Vec::new(),
            Some(json) => parse_slots(p.id, json, read).ok_or_else(|| {
                DbErr::Custom(format!("unreadable author list of paper {}", p.id))
            })?,
        };
        rows.push((p, slots));
    }
    Ok(Page {
        rows,
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
    })
}

/// How many papers match `criteria`.
pub async fn count<C: ConnectionTrait>(db: &C, criteria: &PaperCriteria) -> Result<u64, DbErr> {
    paper::Entity::find()
        .filter(criteria.condition())
        .count(db)
        .await
}

pub async fn by_arxiv_id<C: ConnectionTrait>(
    db: &C,
    arxiv_id: &str,
) -> Result<Option<paper::Model>, DbErr> {
    paper::Entity::find()
        .filter(paper::Column::ArxivId.eq(arxiv_id))
        .one(db)
        .await
}

/// The papers among `arxiv_ids` (any order; ids that do not exist are left out).
pub async fn by_arxiv_ids<C: ConnectionTrait>(
    db: &C,
    arxiv_ids: &[String],
) -> Result<Vec<paper::Model>, DbErr> {
    if arxiv_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(paper::Entity::find()
        .filter(paper::Column::ArxivId.is_in(arxiv_ids.iter().cloned()))
        .into_model::<PaperRow>()
        .all(db)
        .await?
        .into_iter()
        .map(|PaperRow(p)| p)
        .collect())
}

/// The papers of `ids`, in the order of `ids` (ids that do not exist are left out).
pub async fn by_ids<C: ConnectionTrait>(db: &C, ids: &[i64]) -> Result<Vec<paper::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut found: HashMap<i64, paper::Model> = paper::Entity::find()
        .filter(paper::Column::Id.is_in(ids.iter().copied()))
        .into_model::<PaperRow>()
        .all(db)
        .await?
        .into_iter()
        .map(|PaperRow(p)| (p.id, p))
        .collect();
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// Which columns a read of author slots fills in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotRead {
    /// The slot's own columns and its author entity's name and paper count (a join with
    /// `authors`).
    Full,
    /// The slot's own columns (`paper_authors` alone): what a list showing the names printed on
    /// the papers needs. The join looks up every slot's author by key: on PostgreSQL it was half
    /// of the daily list's database time (pgbench, the page and its slots, c=8: 4,094-4,125 tps
    /// with the join, 7,544-8,273 without).
    Own,
}

/// SQLite: what follows `SELECT` for the slots of `paper_authors pa` (joined with `authors a`
/// for [`SlotRead::Full`]) as one JSON array in author order, each slot as [`parse_slots`]
/// reads it; a `WHERE` on `pa` completes it.
///
/// The slots are read through the primary key's index (`paper_id, position`): in author order,
/// each slot's row beside the last. Given the choice, the planner takes the facet's `(paper_id,
/// author_id)` index (migration 10), whose order jumps between them, and the uncached daily
/// list is slower for it (`docs/performance.md`, "The author slots' index on SQLite").
fn sqlite_slots_from(read: SlotRead) -> String {
    let (author, join) = match read {
        SlotRead::Full => (
            ", a.name, a.paper_count",
            " JOIN authors a ON a.id = pa.author_id",
        ),
        SlotRead::Own => ("", ""),
    };
    format!(
        "json_group_array(json_array(pa.position, pa.author_id, pa.name, pa.hidden, \
         pa.hf_user_id, pa.claim_status{author}) ORDER BY pa.position) \
         FROM paper_authors pa INDEXED BY sqlite_autoindex_paper_authors_1{join}"
    )
}

/// The author slots of many papers in one statement, grouped by paper in author order.
///
/// On SQLite the database groups them: one row per paper carrying its slots as a JSON array, so
/// a page of 20 papers is 20 rows rather than one per author (every row crosses from sqlx's
/// worker thread to the runtime, and that hand-off was the largest cost of a list: 1.6x the
/// daily list at concurrency 8). PostgreSQL sends rows cheaply and builds JSON slower than it
/// sends them (0.75x measured), so it gets one row per slot.
pub async fn author_slots<C: ConnectionTrait>(
    db: &C,
    paper_ids: &[i64],
    read: SlotRead,
) -> Result<HashMap<i64, Vec<AuthorSlot>>, DbErr> {
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres {
        return author_slot_rows(db, paper_ids, read).await;
    }
    let mut out: HashMap<i64, Vec<AuthorSlot>> = HashMap::new();
    if paper_ids.is_empty() {
        return Ok(out);
    }
    let placeholders = vec!["?"; paper_ids.len()].join(", ");
    let sql = format!(
        "SELECT pa.paper_id, {} WHERE pa.paper_id IN ({placeholders}) GROUP BY pa.paper_id",
        sqlite_slots_from(read)
    );
    let rows = db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            sql,
            paper_ids.iter().map(|id| (*id).into()),
        ))
        .await?;
    for row in rows {
        let paper_id: i64 = row.try_get_by_index(0)?;
        let json: String = row.try_get_by_index(1)?;
        let slots = parse_slots(paper_id, &json, read)
            .ok_or_else(|| DbErr::Custom(format!("unreadable author list of paper {paper_id}")))?;
        out.insert(paper_id, slots);
    }
    Ok(out)
}

/// The statement of [`author_slots`] on PostgreSQL: one row per slot of `paper_ids`, by paper
/// then position, in the column order `rows::AuthorSlotRow` decodes.
pub fn author_slot_select(
    paper_ids: &[i64],
    read: SlotRead,
) -> sea_orm::sea_query::SelectStatement {
    use paper_author::Column as PA;
    let mut q = Query::select();
    q.columns([
        (paper_author::Entity, PA::PaperId),
        (paper_author::Entity, PA::Position),
        (paper_author::Entity, PA::AuthorId),
        (paper_author::Entity, PA::Name),
        (paper_author::Entity, PA::Hidden),
        (paper_author::Entity, PA::HfUserId),
        (paper_author::Entity, PA::ClaimStatus),
    ])
    .from(paper_author::Entity);
    if read == SlotRead::Full {
        q.expr_as(
            Expr::col((author::Entity, author::Column::Name)),
            "author_name",
        )
        .expr_as(
            Expr::col((author::Entity, author::Column::PaperCount)),
            "author_paper_count",
        )
        .inner_join(
            author::Entity,
            Expr::col((author::Entity, author::Column::Id))
                .equals((paper_author::Entity, PA::AuthorId)),
        );
    }
    q.and_where(Expr::col((paper_author::Entity, PA::PaperId)).is_in(paper_ids.iter().copied()))
        .order_by((paper_author::Entity, PA::PaperId), Order::Asc)
        .order_by((paper_author::Entity, PA::Position), Order::Asc)
        .to_owned()
}

/// One row per slot (PostgreSQL).
async fn author_slot_rows<C: ConnectionTrait>(
    db: &C,
    paper_ids: &[i64],
    read: SlotRead,
) -> Result<HashMap<i64, Vec<AuthorSlot>>, DbErr> {
    let q = author_slot_select(paper_ids, read);
    let rows = AuthorSlotRow::find_by_statement(db.get_database_backend().build(&q))
        .all(db)
        .await?;
    let mut out: HashMap<i64, Vec<AuthorSlot>> = HashMap::new();
    for AuthorSlotRow(r) in rows {
        out.entry(r.paper_id).or_default().push(r);
    }
    Ok(out)
}

/// The slots of one paper from its JSON array of `[position, author_id, name, hidden,
/// hf_user_id, claim_status]`, followed by `author_name, author_paper_count` for
/// [`SlotRead::Full`] (SQLite writes booleans as 0/1).
fn parse_slots(paper_id: i64, json: &str, read: SlotRead) -> Option<Vec<AuthorSlot>> {
    use serde_json::Value;
    let own = |[position, author_id, name, hidden, hf_user_id, claim_status]: [Value; 6]| {
        Some(AuthorSlot {
            paper_id,
            position: i32::try_from(position.as_i64()?).ok()?,
            author_id: author_id.as_i64()?,
            name: name.as_str()?.to_owned(),
            hidden: hidden
                .as_bool()
                .or_else(|| hidden.as_i64().map(|v| v != 0))?,
            hf_user_id: match hf_user_id {
                Value::Null => None,
                v => Some(v.as_i64()?),
            },
            claim_status: match claim_status {
                Value::Null => None,
                Value::String(s) => Some(s),
                _ => return None,
            },
            author_name: None,
            author_paper_count: None,
        })
    };
    match read {
        SlotRead::Own => {
            let items: Vec<[Value; 6]> = serde_json::from_str(json).ok()?;
            items.into_iter().map(own).collect()
        }
        SlotRead::Full => {
            let items: Vec<[Value; 8]> = serde_json::from_str(json).ok()?;
            items
                .into_iter()
                .map(|[a, b, c, d, e, f, author_name, count]| {
                    let mut slot = own([a, b, c, d, e, f])?;
                    slot.author_name = Some(author_name.as_str()?.to_owned());
                    slot.author_paper_count = Some(i32::try_from(count.as_i64()?).ok()?);
                    Some(slot)
                })
                .collect()
        }
    }
}

pub async fn organizations<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
) -> Result<Vec<organization::Model>, DbErr> {
    organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

pub async fn hf_users<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
) -> Result<Vec<hf_user::Model>, DbErr> {
    hf_user::Entity::find()
        .filter(hf_user::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// Paper counts per listing day in `[from, to]`, days without papers left out.
pub async fn daily_counts<C: ConnectionTrait>(
    db: &C,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(NaiveDate, i64)>, DbErr> {
    paper::Entity::find()
        .select_only()
        .column(paper::Column::DailyDate)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(paper::Column::DailyDate.between(from, to))
        .group_by(paper::Column::DailyDate)
        .order_by_asc(paper::Column::DailyDate)
        .into_tuple()
        .all(db)
        .await
}

/// The upvote time series of a paper, oldest first.
pub async fn upvote_history<C: ConnectionTrait>(
    db: &C,
    paper_ids: &[i64],
) -> Result<HashMap<i64, Vec<crate::entities::upvote_snapshot::Model>>, DbErr> {
    use crate::entities::upvote_snapshot as s;
    let rows = s::Entity::find()
        .filter(s::Column::PaperId.is_in(paper_ids.iter().copied()))
        .order_by_asc(s::Column::PaperId)
        .order_by_asc(s::Column::TakenAt)
        .all(db)
        .await?;
    let mut out: HashMap<i64, Vec<_>> = HashMap::new();
    for r in rows {
        out.entry(r.paper_id).or_default().push(r);
    }
    Ok(out)
}

/// What `trending` ranks by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrendBy {
    Upvotes,
    GithubStars,
}

/// A trending paper and what it gained in the window.
#[derive(Clone, Debug)]
pub struct Trend {
    pub paper: paper::Model,
    pub upvotes_gained: i32,
    pub stars_gained: i32,
}

/// Papers by upvotes (or GitHub stars) gained in the `window` that ends at the mirror's latest
/// observation (its newest snapshot): the current count minus the count at the last snapshot
/// taken at or before the window's start. Without one, a paper listed inside the window counts
/// from zero; any other paper counts from its first snapshot, so an old paper first seen inside
/// the window (a backfill) has gained nothing until a second observation. Only papers observed
/// in the window that are new in it or observed twice are ranked (by stars: only papers with a
/// repository). Most gained first, then the highest count, then id.
pub async fn trending<C: ConnectionTrait>(
    db: &C,
    window: chrono::Duration,
    by: TrendBy,
    limit: u64,
) -> Result<Vec<Trend>, DbErr> {
    use crate::entities::upvote_snapshot as s;
    let latest: Option<DateTime<Utc>> = s::Entity::find()
        .select_only()
        .column_as(Expr::col(s::Column::TakenAt).max(), "latest")
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(db)
        .await?
        .flatten();
    let Some(latest) = latest else {
        return Ok(Vec::new());
    };
    let since = latest - window;
    let up = gained("p.upvotes", "s.upvotes");
    let stars = gained("COALESCE(p.github_stars, 0)", "COALESCE(s.github_stars, 0)");
    let (only, order) = match by {
        TrendBy::Upvotes => ("", "up DESC, p.upvotes DESC"),
        TrendBy::GithubStars => (
            "AND p.github_stars IS NOT NULL",
            "stars DESC, p.github_stars DESC",
        ),
    };
    let sql = format!(
        "SELECT p.id, {up} AS up, {stars} AS stars
    FROM papers p
    WHERE p.id IN (SELECT paper_id FROM upvote_snapshots WHERE taken_at > ?1)
      AND (p.daily_date >= ?3
           OR (SELECT COUNT(*) FROM upvote_snapshots s WHERE s.paper_id = p.id) >= 2)
      {only}
    ORDER BY {order}, p.id
    LIMIT ?2"
    );
    let sql = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => sql
            .replace("?1", "$1")
            .replace("?2", "$2")
            .replace("?3", "$3"),
        _ => sql,
    };
    let rows = db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [
                since.into(),
                (limit as i64).into(),
                since.date_naive().into(),
            ],
        ))
        .await?;
    let mut gains: Vec<(i64, i32, i32)> = Vec::with_capacity(rows.len());
    for r in rows {
        gains.push((
            r.try_get_by_index(0)?,
            r.try_get_by_index(1)?,
            r.try_get_by_index(2)?,
        ));
    }
    let ids: Vec<i64> = gains.iter().map(|g| g.0).collect();
    let gains: HashMap<i64, (i32, i32)> =
        gains.into_iter().map(|(id, u, s)| (id, (u, s))).collect();
    Ok(by_ids(db, &ids)
        .await?
        .into_iter()
        .map(|paper| {
            let (upvotes_gained, stars_gained) = gains.get(&paper.id).copied().unwrap_or((0, 0));
            Trend {
                paper,
                upvotes_gained,
                stars_gained,
            }
        })
        .collect())
}

/// The gain of a count in the window: `now` (of the paper `p`) minus `then` (of the snapshot
/// `s`) at the last snapshot before the window, else zero for a paper listed in it, else its
/// first snapshot.
fn gained(now: &str, then: &str) -> String {
    format!(
        "CAST({now} - COALESCE(
        (SELECT {then} FROM upvote_snapshots s
            WHERE s.paper_id = p.id AND s.taken_at <= ?1 ORDER BY s.taken_at DESC LIMIT 1),
        CASE WHEN p.daily_date >= ?3 THEN 0 ELSE
            (SELECT {then} FROM upvote_snapshots s
                WHERE s.paper_id = p.id ORDER BY s.taken_at LIMIT 1) END,
        0) AS INTEGER)"
    )
}
