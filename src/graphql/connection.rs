//! Relay cursor connections: arguments, `PageInfo`, and the paper and author connections.
use std::sync::Arc;

use async_graphql::{Context, Object, SimpleObject};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use super::author::Author;
use super::paper::Paper;
use crate::entities::author;
use crate::error::{ApiResult, AppError};
use crate::repo::{
    self,
    cursor::Cursor,
    papers::{Listed, Page, PaperColumns, PaperCriteria, Slice, SlotRead, Sort},
};

/// The connections of leases for a page's statements on PostgreSQL (`repo::direct`), in the
/// schema's data; `None` on SQLite.
#[derive(Clone, Default)]
pub struct Reads(pub Option<Arc<repo::direct::Direct>>);

/// What a page of papers reads: the rows, their author slots when asked, and whether pages
/// follow and precede it.
pub(super) type PageRows = (
    Vec<crate::entities::paper::Model>,
    Option<Vec<Vec<repo::papers::AuthorSlot>>>,
    bool,
    bool,
);

async fn read_page<C: ConnectionTrait>(
    db: &C,
    criteria: &PaperCriteria,
    sort: Sort,
    slice: &Slice,
    reading: Reading,
) -> Result<PageRows, DbErr> {
    let columns = if sort.field.listed() {
        reading.columns
    } else {
        PaperColumns::All
    };
    Ok(if let Some(read) = reading.authors {
        let page =
            repo::papers::page_with_authors(db, criteria, sort, slice, columns, read).await?;
        let (rows, slots) = page.rows.into_iter().unzip();
        (
            rows,
            Some(slots),
            page.has_next_page,
            page.has_previous_page,
        )
    } else {
        let page = repo::papers::page_of(db, criteria, sort, slice, columns).await?;
        (page.rows, None, page.has_next_page, page.has_previous_page)
    })
}

/// Page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE: i32 = 20;
/// The largest `first`/`last` accepted.
pub const MAX_PAGE: i32 = 100;

/// Validates Relay arguments into a slice; `decode` turns a cursor string into a cursor.
pub fn slice(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
    decode: impl Fn(&str) -> Result<Cursor, String>,
) -> Result<Slice, AppError> {
    let check = |name: &str, n: i32| {
        if n < 0 {
            Err(AppError::bad_input(format!(
                "`{name}` must not be negative"
            )))
        } else if n > MAX_PAGE {
            Err(AppError::bad_input(format!(
                "`{name}` is {n}, above the maximum of {MAX_PAGE}; page with `after`/`before` cursors"
            )))
        } else {
            Ok(n as u64)
        }
    };
    if first.is_some() && last.is_some() {
        return Err(AppError::bad_input(
            "pass either `first` (with `after`) or `last` (with `before`), not both",
        ));
    }
    let backward = last.is_some() || (before.is_some() && first.is_none());
    if backward {
        if after.is_some() {
            return Err(AppError::bad_input(
                "`after` goes with `first`; use `before` with `last`",
            ));
        }
        let before = before
            .map(|c| decode(&c).map_err(AppError::BadUserInput))
            .transpose()?;
        Ok(Slice::Backward {
            last: check("last", last.unwrap_or(DEFAULT_PAGE))?,
            before,
        })
    } else {
        if before.is_some() {
            return Err(AppError::bad_input(
                "`before` goes with `last`; use `after` with `first`",
            ));
        }
        let after = after
            .map(|c| decode(&c).map_err(AppError::BadUserInput))
            .transpose()?;
        Ok(Slice::Forward {
            first: check("first", first.unwrap_or(DEFAULT_PAGE))?,
            after,
        })
    }
}

/// The order and slice a paper list's arguments ask for (`orderBy`, `first`/`after`,
/// `last`/`before`); cursors are decoded for that order.
pub fn paper_page(
    order_by: Option<super::inputs::PaperOrder>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<(Sort, Slice), AppError> {
    let sort = order_by.unwrap_or_default().sort();
    let slice = slice(first, after, last, before, |c| sort.decode_cursor(c))?;
    Ok((sort, slice))
}

/// Where a page sits in its list (Relay).
#[derive(SimpleObject, Clone)]
pub struct PageInfo {
    /// Whether more items follow the last one of this page.
    pub has_next_page: bool,
    /// Whether items precede the first one of this page.
    pub has_previous_page: bool,
    /// Cursor of the first item of this page.
    pub start_cursor: Option<String>,
    /// Cursor of the last item of this page.
    pub end_cursor: Option<String>,
}

/// A list's `first`, checked: 0..=[`MAX_PAGE`].
pub fn checked_first(first: i32) -> Result<usize, AppError> {
    if !(0..=MAX_PAGE).contains(&first) {
        return Err(AppError::bad_input(format!(
            "`first` must be between 0 and {MAX_PAGE}"
        )));
    }
    Ok(first as usize)
}

/// The cursor of a list held in memory and sorted by `(number, text)`: `TAG:number:text`.
pub fn keyed_cursor(tag: &str, number: i64, text: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{tag}:{number}:{text}"))
}

/// Reads a [`keyed_cursor`] of `tag`; `list` names the field for the error.
pub fn parse_keyed_cursor(s: &str, tag: &str, list: &str) -> Result<(i64, String), AppError> {
    let bad = || {
        AppError::bad_input(format!(
            "`{}` is not a cursor of `{list}`; use an `endCursor` it gave, or restart without `after`",
            s.chars().take(80).collect::<String>()
        ))
    };
    let raw =
        String::from_utf8(URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?).map_err(|_| bad())?;
    let (number, text) = raw
        .strip_prefix(tag)
        .and_then(|r| r.strip_prefix(':'))
        .and_then(|r| r.split_once(':'))
        .ok_or_else(bad)?;
    Ok((number.parse().map_err(|_| bad())?, text.to_string()))
}

/// The `first` items of a sorted list from `start`, each with its cursor, and where the page sits.
pub fn page_of_list<T>(
    items: Vec<T>,
    start: usize,
    first: usize,
    cursor: impl Fn(&T) -> String,
) -> (Vec<(T, String)>, PageInfo) {
    let has_next_page = items.len() > start.saturating_add(first);
    let page: Vec<(T, String)> = items
        .into_iter()
        .skip(start)
        .take(first)
        .map(|t| {
            let c = cursor(&t);
            (t, c)
        })
        .collect();
    let info = PageInfo {
        has_next_page,
        has_previous_page: start > 0,
        start_cursor: page.first().map(|(_, c)| c.clone()),
        end_cursor: page.last().map(|(_, c)| c.clone()),
    };
    (page, info)
}

fn page_info<T>(page: &Page<T>, cursors: &[String]) -> PageInfo {
    PageInfo {
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
        start_cursor: cursors.first().cloned(),
        end_cursor: cursors.last().cloned(),
    }
}

/// A page of papers.
pub struct PaperConnection {
    papers: Vec<Paper>,
    cursors: Vec<String>,
    info: PageInfo,
    criteria: PaperCriteria,
}

impl PaperConnection {
    /// One page, reading what `reading` (see [`reading`]) says: the papers' columns, and their
    /// author slots with it when the selection shows them.
    pub async fn load(
        db: &DatabaseConnection,
        reads: &Reads,
        criteria: PaperCriteria,
        sort: Sort,
        slice: Slice,
        reading: Reading,
    ) -> Result<Self, AppError> {
        let (rows, slots, has_next_page, has_previous_page) =
            Self::read(db, reads, &criteria, sort, &slice, reading).await?;
        let page = Page {
            rows,
            has_next_page,
            has_previous_page,
        };
        let cursors: Vec<String> = page.rows.iter().map(|p| sort.cursor(p).encode()).collect();
        let info = page_info(&page, &cursors);
        let papers = Paper::page_with_slots(db, page.rows, slots);
        Ok(Self {
            papers,
            cursors,
            info,
            criteria,
        })
    }

    /// Reads one page: through a leased connection of `reads` when there is one, else the pool.
    pub(super) async fn read(
        db: &DatabaseConnection,
        reads: &Reads,
        criteria: &PaperCriteria,
        sort: Sort,
        slice: &Slice,
        reading: Reading,
    ) -> Result<PageRows, AppError> {
        let mut read = None;
        if let Some(direct) = &reads.0
            && let Ok(Some(lease)) = direct.lease().await
        {
            match read_page(&lease, criteria, sort, slice, reading).await {
                // A connection that waited idle was closed meanwhile (a database restart):
                // the pool reads instead.
                Err(e) if lease.lost_idle_connection() => {
                    tracing::info!(error = %e, "a waiting database connection was lost; reading through the pool");
                }
                done => read = Some(done?),
            }
        }
        Ok(match read {
            Some(r) => r,
            None => read_page(db, criteria, sort, slice, reading).await?,
        })
    }
}

/// The papers of `criteria` as a connection field of another object (an author's papers, an
/// organization's, a user's submissions): newest listing first unless `orderBy` says otherwise.
pub async fn papers_of(
    ctx: &Context<'_>,
    criteria: PaperCriteria,
    order_by: Option<super::inputs::PaperOrder>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> ApiResult<PaperConnection> {
    let db = ctx.data::<DatabaseConnection>()?;
    let (sort, slice) = paper_page(order_by, first, after, last, before)?;
    let reading = reading(ctx);
    let reads = ctx.data::<Reads>()?;
    Ok(PaperConnection::load(db, reads, criteria, sort, slice, reading).await?)
}

/// What a page of papers reads for the selection of its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    pub columns: PaperColumns,
    pub authors: Option<SlotRead>,
}

/// The fields of `Paper` that each listed column answers (relations read their own rows by the
/// keys among them). A column added to [`Listed`] does not compile until it is named here.
const fn answers(column: Listed) -> &'static [&'static str] {
    match column {
        Listed::Id => &[
            "authors",
            "similar",
            "upvoteHistory",
            "linkedModels",
            "linkedDatasets",
            "linkedSpaces",
            "comments",
            "detailsSyncedAt",
        ],
        Listed::ArxivId => &["id", "arxivId", "hfUrl", "arxivUrl", "pdfUrl"],
        Listed::Title => &["title"],
        Listed::Abstract => &["abstract"],
        Listed::DailyDate => &["dailyDate"],
        Listed::SubmittedAt => &["submittedAt"],
        Listed::PublishedAt => &["publishedAt"],
        Listed::Upvotes => &["upvotes"],
        Listed::NumComments => &["numComments"],
        Listed::TrendingScore => &["trendingScore"],
        Listed::GithubRepo => &["githubRepo"],
        Listed::GithubStars => &["githubStars"],
        Listed::AuthorCount => &["authorCount"],
        Listed::OrganizationId => &["organization"],
        Listed::SubmittedById => &["submittedBy"],
        Listed::UpdatedAt => &["updatedAt"],
    }
}

/// The fields of `Paper` that the columns of `PaperColumns::Listed` answer.
pub fn listed_fields() -> impl Iterator<Item = &'static str> {
    std::iter::once("__typename")
        .chain(Listed::ALL.iter().flat_map(|c| answers(*c).iter().copied()))
}

/// Whether the columns of `PaperColumns::Listed` answer the field `name` of `Paper`.
pub fn is_listed_field(name: &str) -> bool {
    listed_fields().any(|f| f == name)
}

/// What a paper connection's selection (`nodes { … }` and `edges { node { … } }`, through
/// fragments) needs read: `PaperColumns::Listed` when every field it asks of its papers is in
/// [`listed_fields`] (any other field, or one added later, reads every column); the papers'
/// authors when it shows them, with the author entities when it asks for `authors { author }`,
/// the slots' own columns otherwise (a slot read without its author still answers `author`,
/// through one more statement for the page).
pub fn reading(ctx: &async_graphql::Context<'_>) -> Reading {
    let la = ctx.look_ahead();
    let papers = [la.field("nodes"), la.field("edges").field("node")];
    let listed = papers.iter().all(|p| {
        p.selection_fields()
            .iter()
            .all(|f| f.selection_set().all(|x| is_listed_field(x.name())))
    });
    let authors: Vec<_> = papers.iter().map(|p| p.field("authors")).collect();
    let authors = if !authors.iter().any(|a| a.exists()) {
        None
    } else if authors.iter().any(|a| a.field("author").exists()) {
        Some(SlotRead::Full)
    } else {
        Some(SlotRead::Own)
    };
    Reading {
        columns: if listed {
            PaperColumns::Listed
        } else {
            PaperColumns::All
        },
        authors,
    }
}

pub struct PaperEdge<'a> {
    cursor: &'a str,
    node: &'a Paper,
}

/// A paper with its cursor.
#[Object]
impl PaperEdge<'_> {
    /// Pass as `after` (or `before`) to continue from this paper.
    async fn cursor(&self) -> &str {
        self.cursor
    }

    /// The paper.
    async fn node(&self) -> &Paper {
        self.node
    }
}

/// A page of papers (a Relay connection).
#[Object]
impl PaperConnection {
    /// The papers of this page with their cursors.
    async fn edges(&self) -> Vec<PaperEdge<'_>> {
        self.papers
            .iter()
            .zip(&self.cursors)
            .map(|(node, cursor)| PaperEdge { cursor, node })
            .collect()
    }

    /// The papers of this page.
    async fn nodes(&self) -> &[Paper] {
        &self.papers
    }

    /// Pagination state.
    async fn page_info(&self) -> &PageInfo {
        &self.info
    }

    /// How many papers match the filter in all pages (computed only when asked for).
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<i32> {
        let db = ctx.data::<DatabaseConnection>()?;
        let n = repo::papers::count(db, &self.criteria)
            .await
            .map_err(AppError::from)?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }

    /// Counts over every paper matching the filter (all pages, not this one): organizations,
    /// AI keywords, authors, submitters, listing dates and code.
    async fn facets(&self) -> super::facets::PaperFacets {
        super::facets::PaperFacets::of_list(self.criteria.clone())
    }
}

/// A page of authors.
pub struct AuthorConnection {
    rows: Vec<author::Model>,
    cursors: Vec<String>,
    info: PageInfo,
    search: Option<String>,
}

impl AuthorConnection {
    pub async fn load(
        db: &DatabaseConnection,
        search: Option<String>,
        slice: Slice,
    ) -> Result<Self, AppError> {
        let page = repo::authors::search(db, search.as_deref(), &slice).await?;
        let cursors: Vec<String> = page
            .rows
            .iter()
            .map(|a| repo::authors::cursor(a).encode())
            .collect();
        let info = page_info(&page, &cursors);
        Ok(Self {
            rows: page.rows,
            cursors,
            info,
            search,
        })
    }
}

/// An author with its cursor.
#[derive(SimpleObject)]
pub struct AuthorEdge {
    /// Pass as `after` (or `before`) to continue from this author.
    pub cursor: String,
    /// The author.
    pub node: Author,
}

/// A page of authors (a Relay connection).
#[Object]
impl AuthorConnection {
    /// The authors of this page with their cursors.
    async fn edges(&self) -> Vec<AuthorEdge> {
        self.rows
            .iter()
            .zip(&self.cursors)
            .map(|(a, c)| AuthorEdge {
                cursor: c.clone(),
                node: Author::from_model(a),
            })
            .collect()
    }

    /// The authors of this page.
    async fn nodes(&self) -> Vec<Author> {
        self.rows.iter().map(Author::from_model).collect()
    }

    /// Pagination state.
    async fn page_info(&self) -> &PageInfo {
        &self.info
    }

    /// How many authors match in all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<i32> {
        let db = ctx.data::<DatabaseConnection>()?;
        let n = repo::authors::count(db, self.search.as_deref())
            .await
            .map_err(AppError::from)?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}
