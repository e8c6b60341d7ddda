//! `searchPapers`: ranked keyword search with highlights, as a Relay connection over
//! `(score, id)`.
use std::sync::Arc;

use async_graphql::{Context, Object, SimpleObject};
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use super::connection::{DEFAULT_PAGE, MAX_PAGE, PageInfo};
use super::inputs::PaperFilter;
use super::paper::Paper;
use crate::domain::search::SearchQuery;
use crate::entities::paper;
use crate::error::{ApiResult, AppError};
use crate::repo::cursor::{Cursor, SortKey};
use crate::repo::papers::PaperCriteria;
use crate::repo::papers::TrendBy;
use crate::search::{self, After};

#[derive(Default)]
pub struct SearchQueryRoot;

#[Object]
impl SearchQueryRoot {
    /// The papers that gained the most upvotes (or, `by: GITHUB_STARS`, GitHub stars; default
    /// `UPVOTES`) in the
    /// window, most gained first: velocity from the snapshots the sync records. The window ends at the mirror's latest observation
    /// (its newest snapshot), so a mirror that stopped syncing still answers about its last
    /// days. A paper's gain counts from its last observation before the window; without one, a
    /// paper listed inside the window (its `dailyDate`) counts from zero, and any other paper
    /// from its first observation: an older paper first seen in the window (after a backfill,
    /// say) has gained nothing until it is observed again, and is not listed until then.
    /// `first` defaults to 20, at most 100.
    #[graphql(complexity = "super::cost::items(first) * child_complexity + 1")]
    async fn trending_papers(
        &self,
        ctx: &Context<'_>,
        window: TrendingWindow,
        by: Option<TrendingBy>,
        #[graphql(default = 20)] first: i32,
    ) -> ApiResult<Vec<TrendingPaper>> {
        super::connection::checked_first(first)?;
        let span = match window {
            TrendingWindow::Day => chrono::Duration::days(1),
            TrendingWindow::Week => chrono::Duration::days(7),
            TrendingWindow::Month => chrono::Duration::days(30),
        };
        let db = ctx.data::<DatabaseConnection>()?;
        let by = match by.unwrap_or_default() {
            TrendingBy::Upvotes => TrendBy::Upvotes,
            TrendingBy::GithubStars => TrendBy::GithubStars,
        };
        let rows = crate::repo::papers::trending(db, span, by, first as u64)
            .await
            .map_err(AppError::from)?;
        let gained: Vec<(i32, i32)> = rows
            .iter()
            .map(|t| (t.upvotes_gained, t.stars_gained))
            .collect();
        let papers = Paper::page(db, rows.into_iter().map(|t| t.paper).collect());
        Ok(papers
            .into_iter()
            .zip(gained)
            .map(|(paper, (upvotes_gained, stars_gained))| TrendingPaper {
                paper,
                upvotes_gained,
                stars_gained,
            })
            .collect())
    }

    /// Suggestions as you type: organizations, authors, AI keywords and paper titles with a word
    /// that starts with the last word of `prefix` (case- and accent-insensitive; earlier words
    /// must each start a word too), each kind's most popular first (papers, organizations and
    /// authors by upvotes or papers, keywords by papers), the kinds taking turns in that order.
    /// `first` defaults to 8, at most 50; `prefix` at most 100 characters.
    #[graphql(complexity = "super::cost::items(first.unwrap_or(8)) * child_complexity + 1")]
    async fn suggest(
        &self,
        ctx: &Context<'_>,
        prefix: String,
        first: Option<i32>,
    ) -> ApiResult<Vec<Suggestion>> {
        let first = first.unwrap_or(8);
        if !(0..=50).contains(&first) {
            return Err(AppError::bad_input("`first` must be between 0 and 50").into());
        }
        if prefix.chars().count() > search::suggest::MAX_PREFIX {
            return Err(AppError::bad_input(format!(
                "`prefix` is longer than {} characters",
                search::suggest::MAX_PREFIX
            ))
            .into());
        }
        let suggester = ctx.data::<Arc<search::suggest::Suggester>>()?;
        let found = suggester
            .suggest(&prefix, first as usize)
            .await
            .map_err(AppError::from)?;
        Ok(found
            .into_iter()
            .map(|s| {
                use super::ids::GlobalId;
                let (kind, id) = match s.kind {
                    search::suggest::Kind::Paper => {
                        (SuggestionKind::Paper, Some(GlobalId::Paper(s.key).encode()))
                    }
                    search::suggest::Kind::Author => (
                        SuggestionKind::Author,
                        Some(GlobalId::Author(s.key).encode()),
                    ),
                    search::suggest::Kind::Organization => (
                        SuggestionKind::Organization,
                        Some(GlobalId::Organization(s.key).encode()),
                    ),
                    search::suggest::Kind::Keyword => (SuggestionKind::Keyword, None),
                };
                Suggestion {
                    kind,
                    text: s.text,
                    id,
                }
            })
            .collect())
    }

    /// Papers most like the `positive` seed papers and unlike the `negative` ones, best first,
    /// seeds left out, within `filter` (e.g. only this week): "more like these". Seeds are
    /// arXiv ids in any form `paper` accepts, at most 100 in all; ids not in the mirror are
    /// ignored (no known positive seed: an empty list). Each seed is a tf-idf vector of its
    /// title and abstract, as for `Paper.similar`; their Rocchio mean (negatives subtracted) is
    /// scored against every paper with the keyword index's BM25. `first` defaults to 10, at
    /// most 100.
    #[graphql(complexity = "super::cost::items(first.unwrap_or(10)) * child_complexity + 1")]
    async fn recommend_papers(
        &self,
        ctx: &Context<'_>,
        positive: Vec<String>,
        negative: Option<Vec<String>>,
        filter: Option<PaperFilter>,
        first: Option<i32>,
    ) -> ApiResult<Vec<RecommendedPaper>> {
        let first = first.unwrap_or(10);
        super::connection::checked_first(first)?;
        let negative = negative.unwrap_or_default();
        if positive.is_empty() {
            return Err(AppError::bad_input("give at least one `positive` seed paper").into());
        }
        if positive.len() + negative.len() > MAX_PAGE as usize {
            return Err(AppError::bad_input(format!(
                "at most {MAX_PAGE} seed papers in all (`positive` and `negative`)"
            ))
            .into());
        }
        let parse = |ids: &[String], name: &str| {
            ids.iter()
                .enumerate()
                .map(|(i, s)| {
                    crate::domain::ArxivId::parse(s)
                        .map(|a| a.as_str().to_string())
                        .map_err(|e| AppError::bad_input(format!("`{name}[{i}]`: {e}")))
                })
                .collect::<Result<Vec<String>, AppError>>()
        };
        let (pos, neg) = (parse(&positive, "positive")?, parse(&negative, "negative")?);
        let criteria = filter.unwrap_or_default().criteria()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let engine = ctx.data::<Arc<search::SearchEngine>>()?;
        let known = crate::repo::papers::by_arxiv_ids(db, &[pos.clone(), neg.clone()].concat())
            .await
            .map_err(AppError::from)?;
        let ids_of = |keys: &[String]| -> Vec<i64> {
            known
                .iter()
                .filter(|p| keys.contains(&p.arxiv_id))
                .map(|p| p.id)
                .collect()
        };
        let (pos, neg) = (ids_of(&pos), ids_of(&neg));
        if pos.is_empty() || first == 0 {
            return Ok(Vec::new());
        }
        let hits = search::recommend(engine, &pos, &neg, &criteria, first as usize)
            .await
            .map_err(AppError::from)?;
        let ordered = rows_of(db, hits).await?;
        let scores: Vec<f64> = ordered.iter().map(|(h, _)| h.score).collect();
        let papers = Paper::page(db, ordered.into_iter().map(|(_, p)| p).collect());
        Ok(papers
            .into_iter()
            .zip(scores)
            .map(|(paper, score)| RecommendedPaper { score, paper })
            .collect())
    }

    /// Papers matching a keyword query, best match first, with a relevance `score` and the
    /// matched fragments per edge. The query searches titles, abstracts, author names and AI
    /// keywords (a title match ranks above an abstract match), with stemming ("transformers"
    /// finds "transformer"). Syntax: words (all must match), `"a phrase"`, `-excluded`,
    /// `this OR that`, `prefix*`; anything else is read as plain words. At most 256 characters
    /// and 16 words or phrases. Any `filter` narrows the results. `first` defaults to 20, at
    /// most 100; continue with `after` an edge's cursor.
    #[graphql(complexity = "super::cost::page(first, None) * child_complexity + 1")]
    async fn search_papers(
        &self,
        ctx: &Context<'_>,
        query: String,
        filter: Option<PaperFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<PaperSearchConnection> {
        let q = SearchQuery::parse(&query).map_err(|e| AppError::bad_input(e.to_string()))?;
        let criteria = filter.unwrap_or_default().criteria()?;
        let first = first.unwrap_or(DEFAULT_PAGE);
        if !(0..=MAX_PAGE).contains(&first) {
            return Err(AppError::bad_input(format!(
                "`first` must be between 0 and {MAX_PAGE}; page with `after` cursors"
            ))
            .into());
        }
        let tag = tag(&q, &criteria);
        let after = after
            .map(|c| {
                let c = Cursor::decode(&c, &tag).map_err(|_| {
                    AppError::bad_input(format!(
                        "`{c}` is not a cursor of this search (same query and filter); use a cursor from its edges"
                    ))
                })?;
                match c.key {
                    SortKey::Float(score) => Ok(After {
                        score,
                        paper_id: c.id,
                    }),
                    _ => Err(AppError::bad_input("not a search cursor")),
                }
            })
            .transpose()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let engine = ctx.data::<Arc<search::SearchEngine>>()?;
        let (mut hits, total) = search::hits(engine, &q, &criteria, after, first as u64 + 1)
            .await
            .map_err(AppError::from)?;
        let has_next_page = hits.len() > first as usize;
        hits.truncate(first as usize);
        let ordered = rows_of(db, hits).await?;
        let cursors: Vec<String> = ordered
            .iter()
            .map(|(h, _)| {
                Cursor {
                    tag: tag.clone(),
                    key: SortKey::Float(h.score),
                    id: h.paper_id,
                }
                .encode()
            })
            .collect();
        let scores: Vec<f64> = ordered.iter().map(|(h, _)| h.score).collect();
        let papers = Paper::page(db, ordered.into_iter().map(|(_, p)| p).collect());
        let info = PageInfo {
            has_next_page,
            has_previous_page: after.is_some(),
            start_cursor: cursors.first().cloned(),
            end_cursor: cursors.last().cloned(),
        };
        Ok(PaperSearchConnection {
            shared: Arc::new(Shared {
                query: q,
                criteria,
                total,
            }),
            papers,
            cursors,
            scores,
            info,
        })
    }
}

/// How far back `trendingPapers` looks.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum TrendingWindow {
    /// The last 24 hours.
    Day,
    /// The last 7 days.
    Week,
    /// The last 30 days.
    Month,
}

/// A recommended paper and how strongly it matches the seeds (comparable within one call).
#[derive(SimpleObject)]
pub struct RecommendedPaper {
    /// Higher is more like the positive seeds.
    pub score: f64,
    /// The paper.
    pub paper: Paper,
}

/// What a suggestion names.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum SuggestionKind {
    /// A paper (by its title).
    Paper,
    /// An author.
    Author,
    /// An organization (display name and handle).
    Organization,
    /// An AI keyword (lowercase), for the `aiKeyword` filter.
    Keyword,
}

/// A completion of what the user typed.
#[derive(SimpleObject)]
pub struct Suggestion {
    /// What it names.
    pub kind: SuggestionKind,
    /// The text to show.
    pub text: String,
    /// The node id of the paper, author or organization (for `node(id:)`); null for a keyword.
    pub id: Option<async_graphql::ID>,
}

/// What `trendingPapers` ranks by.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum TrendingBy {
    /// Upvotes gained in the window.
    #[default]
    Upvotes,
    /// GitHub stars gained in the window (only papers with a repository).
    GithubStars,
}

/// A paper with the upvotes and stars it gained in the window.
#[derive(SimpleObject)]
pub struct TrendingPaper {
    /// The paper.
    pub paper: Paper,
    /// Upvotes gained in the window: since its last observation before the window; for a paper
    /// listed inside the window, all its upvotes; for an older paper first seen inside it, since
    /// that first observation.
    pub upvotes_gained: i32,
    /// GitHub stars gained in the window, counted as `upvotesGained` is (0 without a
    /// repository).
    pub stars_gained: i32,
}

/// The stored rows of ranked hits, in hit order; a paper gone since ranking is left out with
/// its hit.
async fn rows_of(
    db: &DatabaseConnection,
    hits: Vec<search::Hit>,
) -> Result<Vec<(search::Hit, paper::Model)>, AppError> {
    let ids: Vec<i64> = hits.iter().map(|h| h.paper_id).collect();
    let mut rows = crate::repo::papers::by_ids(db, &ids)
        .await?
        .into_iter()
        .peekable();
    Ok(hits
        .into_iter()
        .filter_map(|h| rows.next_if(|p| p.id == h.paper_id).map(|p| (h, p)))
        .collect())
}

/// A cursor belongs to one query and filter.
fn tag(q: &SearchQuery, criteria: &PaperCriteria) -> String {
    let digest = Sha256::digest(format!("{}|{criteria:?}", q.canonical()).as_bytes());
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("S:{hex}")
}

struct Shared {
    query: SearchQuery,
    criteria: PaperCriteria,
    /// How many match in all (counted while ranking the page).
    total: u64,
}

/// A page of search results (a Relay connection).
pub struct PaperSearchConnection {
    shared: Arc<Shared>,
    papers: Vec<Paper>,
    cursors: Vec<String>,
    scores: Vec<f64>,
    info: PageInfo,
}

/// A page of search results (a Relay connection).
#[Object]
impl PaperSearchConnection {
    /// The matches of this page, best first.
    async fn edges(&self) -> Vec<PaperSearchEdge<'_>> {
        self.papers
            .iter()
            .zip(&self.cursors)
            .zip(&self.scores)
            .map(|((node, cursor), score)| PaperSearchEdge {
                cursor,
                node,
                score: *score,
                shared: &self.shared,
            })
            .collect()
    }

    /// The papers of this page, best first.
    async fn nodes(&self) -> &[Paper] {
        &self.papers
    }

    /// Pagination state.
    async fn page_info(&self) -> &PageInfo {
        &self.info
    }

    /// How many papers match the query and filter in all pages (exact).
    async fn total_count(&self) -> ApiResult<i32> {
        Ok(i32::try_from(self.shared.total).unwrap_or(i32::MAX))
    }

    /// Counts over every paper matching the query and filter (all pages, not this one).
    async fn facets(&self) -> super::facets::PaperFacets {
        super::facets::PaperFacets::of_search(
            self.shared.criteria.clone(),
            self.shared.query.clone(),
        )
    }
}

/// One match.
pub struct PaperSearchEdge<'a> {
    cursor: &'a str,
    node: &'a Paper,
    score: f64,
    shared: &'a Arc<Shared>,
}

/// A matched part of a paper.
#[derive(SimpleObject)]
pub struct SearchHighlight {
    /// The field: `title`, `abstract`, `authors` (names, comma-separated) or `aiKeywords`.
    pub field: String,
    /// The field's text (for `abstract`, the best passage) with each match wrapped in
    /// `<mark>…</mark>`; the rest is HTML-escaped, so the fragment is safe to insert as HTML.
    pub fragment: String,
}

/// One match: the paper, its relevance and the matched fragments.
#[Object]
impl PaperSearchEdge<'_> {
    /// Pass as `after` to continue after this match.
    async fn cursor(&self) -> &str {
        self.cursor
    }

    /// The paper.
    async fn node(&self) -> &Paper {
        self.node
    }

    /// Relevance: higher is better; comparable within one search only (BM25 over the
    /// weighted fields, the same on SQLite and PostgreSQL).
    async fn score(&self) -> f64 {
        self.score
    }

    /// The fields that matched, with the matched words marked.
    async fn highlights(&self, ctx: &Context<'_>) -> ApiResult<Vec<SearchHighlight>> {
        let engine = ctx.data::<Arc<search::SearchEngine>>()?;
        Ok(
            search::highlights(engine, &self.shared.query, &self.node.row)
                .into_iter()
                .map(|h| SearchHighlight {
                    field: h.field.to_string(),
                    fragment: h.fragment,
                })
                .collect(),
        )
    }
}
