//! The `Paper` type and the small types hanging off it.
use std::sync::Arc;

use async_graphql::{ID, Object, SimpleObject};
use sea_orm::DatabaseConnection;

use super::author::Author;
use super::batch::PaperBatch;
use super::ids::GlobalId;
use super::scalars::{Date, DateTime};
use crate::domain::RepoKind;
use crate::entities::{hf_user, organization, paper};
use crate::error::{ApiResult, AppError};
use crate::repo::papers::AuthorSlot;

/// A paper, with the batch of the page it belongs to (for its relations).
#[derive(Clone)]
pub struct Paper {
    pub row: paper::Model,
    batch: Arc<PaperBatch>,
}

impl Paper {
    /// The papers of one page, sharing one batch.
    pub fn page(db: &DatabaseConnection, rows: Vec<paper::Model>) -> Vec<Paper> {
        Self::page_with_slots(db, rows, None)
    }

    /// The papers of one page, sharing one batch, with their author slots when they were read
    /// with the page (`slots[i]` are `rows[i]`'s).
    pub fn page_with_slots(
        db: &DatabaseConnection,
        rows: Vec<paper::Model>,
        slots: Option<Vec<Vec<AuthorSlot>>>,
    ) -> Vec<Paper> {
        let authors = slots.map(|s| rows.iter().map(|p| p.id).zip(s).collect());
        let batch = PaperBatch::with_authors(db.clone(), &rows, authors);
        rows.into_iter()
            .map(|row| Paper {
                row,
                batch: batch.clone(),
            })
            .collect()
    }

    /// The first `first` (default 10) of the paper's linked repos of `kind`.
    async fn linked(
        &self,
        kind: RepoKind,
        first: Option<i32>,
    ) -> Result<impl Iterator<Item = crate::entities::paper_link::Model> + '_, AppError> {
        let n = super::hub::linked_first(first)?;
        let rows = self.batch.links(self.row.id, kind).await?;
        Ok(rows.iter().take(n).cloned())
    }

    /// A paper on its own.
    pub fn single(db: &DatabaseConnection, row: paper::Model) -> Paper {
        let batch = PaperBatch::new(db.clone(), std::slice::from_ref(&row));
        Paper { row, batch }
    }
}

/// A paper listed on Hugging Face Daily Papers.
#[Object]
impl Paper {
    /// Opaque global id (use with `node`).
    pub async fn id(&self) -> ID {
        GlobalId::Paper(self.row.arxiv_id.clone()).encode()
    }

    /// When any stored field of the paper (figures, text, authors, links) last changed, in the
    /// order changes were committed: a poller that pages `orderBy: {field: UPDATED_AT,
    /// direction: ASC}` and resumes after its last cursor sees every change.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.row.updated_at)
    }

    /// The arXiv identifier without version, e.g. `2401.12345`.
    async fn arxiv_id(&self) -> &str {
        &self.row.arxiv_id
    }

    /// Title, whitespace normalised.
    async fn title(&self) -> &str {
        &self.row.title
    }

    /// The arXiv abstract, with its hard line wraps joined into single spaces. Empty if unknown.
    async fn r#abstract(&self) -> &str {
        &self.row.r#abstract
    }

    /// Authors in paper order.
    #[graphql(complexity = "super::cost::AUTHORS_WEIGHT * child_complexity + 1")]
    async fn authors(&self) -> ApiResult<Vec<PaperAuthor>> {
        let slots = self.batch.authors(self.row.id).await?;
        Ok(slots
            .iter()
            .map(|s| PaperAuthor {
                slot: s.clone(),
                batch: self.batch.clone(),
            })
            .collect())
    }

    /// Number of authors.
    async fn author_count(&self) -> i32 {
        self.row.author_count
    }

    /// The UTC day the paper was listed on Daily Papers (the list it was fetched from).
    async fn daily_date(&self) -> Option<Date> {
        self.row.daily_date.map(Date)
    }

    /// When the paper was submitted to Daily Papers.
    async fn submitted_at(&self) -> Option<DateTime> {
        self.row.submitted_at.map(DateTime)
    }

    /// When the paper was published on arXiv (when unknown upstream: its submission to Daily
    /// Papers, else the start of its listing day).
    async fn published_at(&self) -> DateTime {
        DateTime(self.row.published_at)
    }

    /// Upvotes on Hugging Face at the last sync.
    async fn upvotes(&self) -> i32 {
        self.row.upvotes
    }

    /// Discussion comments on Hugging Face at the last sync.
    async fn num_comments(&self) -> i32 {
        self.row.num_comments
    }

    /// Upvote velocity decayed by age: `log10(1 + gained) + daysSince(2023-05-04, at) / 3`.
    /// When first stored, `gained` is all its upvotes and `at` its listing time (`submittedAt`,
    /// else the start of `dailyDate`); each time a sync sees its upvotes move, `gained` is the
    /// upvotes gained in the previous 24 hours (from the upvote snapshots) and `at` that sync's
    /// time. Ranking by it equals ranking by `gained × 10^(−ageInDays / 3)`: a paper that keeps
    /// gaining rises, one that stops sinks as others are seen later; the order of two papers
    /// changes only when a sync records new upvotes, never with the passage of time alone.
    async fn trending_score(&self) -> f64 {
        self.row.trending_score
    }

    /// Code repository URL (usually GitHub).
    async fn github_repo(&self) -> Option<&str> {
        self.row.github_repo.as_deref()
    }

    /// Who linked the repository: `user` or `auto`.
    async fn github_repo_added_by(&self) -> Option<&str> {
        self.row.github_repo_added_by.as_deref()
    }

    /// Stars of the code repository at the last sync.
    async fn github_stars(&self) -> Option<i32> {
        self.row.github_stars
    }

    /// Project page URL.
    async fn project_page(&self) -> Option<&str> {
        self.row.project_page.as_deref()
    }

    /// One-sentence summary generated by Hugging Face.
    async fn ai_summary(&self) -> Option<&str> {
        self.row.ai_summary.as_deref()
    }

    /// The model that generated `aiSummary`.
    async fn ai_summary_model(&self) -> Option<&str> {
        self.row.ai_summary_model.as_deref()
    }

    /// Keywords generated by Hugging Face.
    async fn ai_keywords(&self) -> Vec<String> {
        string_list(&self.row.ai_keywords)
    }

    /// Social thumbnail image URL.
    async fn thumbnail_url(&self) -> Option<&str> {
        self.row.thumbnail_url.as_deref()
    }

    /// Media uploaded with the submission (images, videos).
    async fn media_urls(&self) -> Vec<String> {
        string_list(&self.row.media_urls)
    }

    /// When the paper was withdrawn, if it was.
    async fn withdrawn_at(&self) -> Option<DateTime> {
        self.row.withdrawn_at.map(DateTime)
    }

    /// Whether an author takes part in the discussion on Hugging Face.
    async fn is_author_participating(&self) -> bool {
        self.row.is_author_participating
    }

    /// Models on the Hugging Face Hub citing this paper (null until the paper's details were fetched).
    async fn num_linked_models(&self) -> Option<i32> {
        self.row.num_linked_models
    }

    /// Datasets on the Hugging Face Hub citing this paper (null until fetched).
    async fn num_linked_datasets(&self) -> Option<i32> {
        self.row.num_linked_datasets
    }

    /// Spaces on the Hugging Face Hub citing this paper (null until fetched).
    async fn num_linked_spaces(&self) -> Option<i32> {
        self.row.num_linked_spaces
    }

    /// Models on the Hub citing this paper, most liked first (`first` default 10, at most
    /// 100); empty until the paper's details were fetched (`detailsSyncedAt`).
    #[graphql(complexity = "super::cost::items(first.unwrap_or(10)) * child_complexity + 1")]
    async fn linked_models(
        &self,
        #[graphql(default = 10)] first: Option<i32>,
    ) -> ApiResult<Vec<super::hub::HubModel>> {
        Ok(self
            .linked(RepoKind::Model, first)
            .await?
            .map(super::hub::HubModel)
            .collect())
    }

    /// Datasets on the Hub citing this paper, most liked first (`first` default 10, at most
    /// 100).
    #[graphql(complexity = "super::cost::items(first.unwrap_or(10)) * child_complexity + 1")]
    async fn linked_datasets(
        &self,
        #[graphql(default = 10)] first: Option<i32>,
    ) -> ApiResult<Vec<super::hub::HubDataset>> {
        Ok(self
            .linked(RepoKind::Dataset, first)
            .await?
            .map(super::hub::HubDataset)
            .collect())
    }

    /// Spaces on the Hub citing this paper, most liked first (`first` default 10, at most 100).
    #[graphql(complexity = "super::cost::items(first.unwrap_or(10)) * child_complexity + 1")]
    async fn linked_spaces(
        &self,
        #[graphql(default = 10)] first: Option<i32>,
    ) -> ApiResult<Vec<super::hub::HubSpace>> {
        Ok(self
            .linked(RepoKind::Space, first)
            .await?
            .map(super::hub::HubSpace)
            .collect())
    }

    /// The discussion under the paper on Hugging Face: top-level comments oldest first, each
    /// with its replies (Relay; `first` default 20, at most 100). Empty until the paper's
    /// details were fetched.
    #[graphql(complexity = "super::cost::page(first, None) * child_complexity + 1")]
    async fn comments(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<super::hub::CommentConnection> {
        let (rows, users) = self.batch.comments(self.row.id).await?;
        Ok(super::hub::page(
            super::hub::threads(rows, users),
            first,
            after.as_deref(),
        )?)
    }

    /// When the paper's details on the Hub (linked repos, comments) were last fetched; null
    /// until then.
    async fn details_synced_at(&self) -> ApiResult<Option<DateTime>> {
        Ok(self
            .batch
            .detail(self.row.id)
            .await?
            .and_then(|d| d.synced_at)
            .map(DateTime))
    }

    /// The Hugging Face organization that claimed the paper.
    async fn organization(&self) -> ApiResult<Option<Organization>> {
        let Some(id) = self.row.organization_id else {
            return Ok(None);
        };
        Ok(self
            .batch
            .organization(id)
            .await?
            .cloned()
            .map(|row| Organization {
                row,
                paper_count: PaperCount::OfPage(self.batch.clone()),
            }))
    }

    /// The Hugging Face user who submitted the paper to Daily Papers.
    async fn submitted_by(&self) -> ApiResult<Option<HfUser>> {
        let Some(id) = self.row.submitted_by_id else {
            return Ok(None);
        };
        Ok(self.batch.submitter(id).await?.cloned().map(HfUser))
    }

    /// The paper page on Hugging Face.
    async fn hf_url(&self) -> String {
        hf_url(&self.row.arxiv_id)
    }

    /// The abstract page on arXiv.
    async fn arxiv_url(&self) -> String {
        arxiv_url(&self.row.arxiv_id)
    }

    /// The PDF on arXiv.
    async fn pdf_url(&self) -> String {
        pdf_url(&self.row.arxiv_id)
    }

    /// The papers most similar to this one by their text (tf-idf cosine over title and abstract,
    /// precomputed when papers arrive), most similar first; `first` at most 10, default 5.
    #[graphql(complexity = "super::cost::items(first) * child_complexity + 1")]
    async fn similar(
        &self,
        ctx: &async_graphql::Context<'_>,
        #[graphql(default = 5)] first: i32,
    ) -> ApiResult<Vec<SimilarPaper>> {
        let max = crate::repo::similar::NEIGHBOURS as i32;
        if !(0..=max).contains(&first) {
            return Err(crate::error::AppError::bad_input(format!(
                "`first` must be between 0 and {max}"
            ))
            .into());
        }
        let db = ctx.data::<DatabaseConnection>()?;
        let mut ordered = self.batch.similar(self.row.id).await?;
        ordered.truncate(first as usize);
        let scores: Vec<f64> = ordered.iter().map(|(_, s)| *s).collect();
        let papers = Paper::page(db, ordered.into_iter().map(|(p, _)| p).collect());
        Ok(papers
            .into_iter()
            .zip(scores)
            .map(|(paper, score)| SimilarPaper { paper, score })
            .collect())
    }

    /// Upvotes, comments and stars over time, oldest first: one point per sync that saw them change.
    #[graphql(complexity = "30 * child_complexity + 1")]
    async fn upvote_history(&self) -> ApiResult<Vec<MetricPoint>> {
        let rows = self.batch.history(self.row.id).await?;
        Ok(rows
            .iter()
            .map(|r| MetricPoint {
                at: DateTime(r.taken_at),
                upvotes: r.upvotes,
                num_comments: r.num_comments,
                github_stars: r.github_stars,
            })
            .collect())
    }
}

/// A paper similar to another, with how similar.
#[derive(SimpleObject)]
pub struct SimilarPaper {
    /// The similar paper.
    pub paper: Paper,
    /// Cosine similarity of the two texts' tf-idf vectors, from 0 (nothing shared) to 1.
    pub score: f64,
}

/// `Paper.hfUrl` of a paper.
pub(super) fn hf_url(arxiv_id: &str) -> String {
    format!("https://huggingface.co/papers/{arxiv_id}")
}

/// `Paper.arxivUrl` of a paper.
pub(super) fn arxiv_url(arxiv_id: &str) -> String {
    format!("https://arxiv.org/abs/{arxiv_id}")
}

/// `Paper.pdfUrl` of a paper.
pub(super) fn pdf_url(arxiv_id: &str) -> String {
    format!("https://arxiv.org/pdf/{arxiv_id}")
}

fn string_list(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// An author slot of a paper in a page.
pub struct PaperAuthor {
    slot: AuthorSlot,
    batch: Arc<PaperBatch>,
}

/// One author of one paper: the author entity plus what is specific to this paper.
#[Object]
impl PaperAuthor {
    /// The author entity (the same name on every paper is the same author).
    async fn author(&self) -> ApiResult<Author> {
        if let Some(a) = Author::from_slot(&self.slot) {
            return Ok(a);
        }
        // The page's slots were read without their authors: all of the page's, in one statement.
        match self.batch.author(self.slot.author_id).await? {
            Some(a) => Ok(Author::from_model(a)),
            // Authors are never deleted.
            None => Err(AppError::Internal(anyhow::anyhow!(
                "author {} of paper {} not found",
                self.slot.author_id,
                self.slot.paper_id
            ))
            .into()),
        }
    }

    /// Position in the author list, starting at 0.
    async fn position(&self) -> i32 {
        self.slot.position
    }

    /// The name as printed on this paper.
    async fn name(&self) -> &str {
        &self.slot.name
    }

    /// Whether Hugging Face hides this author on the paper page.
    async fn hidden(&self) -> bool {
        self.slot.hidden
    }

    /// The Hugging Face account linked to this author on this paper.
    async fn hf_user(&self) -> ApiResult<Option<HfUser>> {
        let Some(id) = self.slot.hf_user_id else {
            return Ok(None);
        };
        Ok(self.batch.author_user(id).await?.cloned().map(HfUser))
    }

    /// How the account link was made, e.g. `claimed_verified`, `admin_assigned`,
    /// `extracted_pending`, `extracted_confirmed`.
    async fn claim_status(&self) -> Option<&str> {
        self.slot.claim_status.as_deref()
    }
}

/// A Hugging Face organization, and where its paper count comes from.
#[derive(Clone)]
pub struct Organization {
    pub row: organization::Model,
    pub paper_count: PaperCount,
}

/// Where `Organization.paperCount` comes from.
#[derive(Clone)]
pub enum PaperCount {
    /// Read with the list the organization came from.
    Known(i64),
    /// Read for every organization of a page of papers at once, when asked.
    OfPage(Arc<PaperBatch>),
    /// Read for this organization alone, when asked.
    Alone,
}

impl Organization {
    pub fn new(row: organization::Model) -> Organization {
        Organization {
            row,
            paper_count: PaperCount::Alone,
        }
    }
}

/// A Hugging Face organization.
#[Object]
impl Organization {
    /// Opaque global id, for `node(id:)`.
    pub async fn id(&self) -> async_graphql::ID {
        super::ids::GlobalId::Organization(self.row.name.clone()).encode()
    }

    /// The handle, e.g. `google`.
    async fn name(&self) -> &str {
        &self.row.name
    }

    /// The display name.
    async fn fullname(&self) -> Option<&str> {
        self.row.fullname.as_deref()
    }

    /// Avatar image URL.
    async fn avatar_url(&self) -> Option<&str> {
        self.row.avatar_url.as_deref()
    }

    /// The organization page on Hugging Face.
    async fn hf_url(&self) -> String {
        format!("https://huggingface.co/{}", self.row.name)
    }

    /// How many papers in the mirror this organization claimed.
    async fn paper_count(&self, ctx: &async_graphql::Context<'_>) -> ApiResult<i32> {
        let n = match &self.paper_count {
            PaperCount::Known(n) => *n,
            PaperCount::OfPage(batch) => batch.organization_paper_count(self.row.id).await?,
            PaperCount::Alone => {
                let db = ctx.data::<sea_orm::DatabaseConnection>()?;
                crate::repo::organizations::paper_counts(db, Some(&[self.row.id]))
                    .await
                    .map_err(crate::error::AppError::from)?
                    .get(&self.row.id)
                    .copied()
                    .unwrap_or(0)
            }
        };
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }

    /// The papers this organization claimed, newest listing first unless `orderBy` says
    /// otherwise.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::cost::page(first, last) * child_complexity + 1")]
    async fn papers(
        &self,
        ctx: &async_graphql::Context<'_>,
        order_by: Option<super::inputs::PaperOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<super::connection::PaperConnection> {
        let criteria = crate::repo::papers::PaperCriteria {
            organization_id: Some(self.row.id),
            ..Default::default()
        };
        super::connection::papers_of(ctx, criteria, order_by, first, after, last, before).await
    }
}

/// A Hugging Face user account.
pub struct HfUser(pub hf_user::Model);

/// A Hugging Face user account.
#[Object]
impl HfUser {
    /// The username.
    async fn username(&self) -> &str {
        &self.0.username
    }

    /// The display name.
    async fn fullname(&self) -> Option<&str> {
        self.0.fullname.as_deref()
    }

    /// Avatar image URL (may be relative to huggingface.co).
    async fn avatar_url(&self) -> Option<&str> {
        self.0.avatar_url.as_deref()
    }

    /// Whether the account is a Pro subscriber.
    async fn is_pro(&self) -> bool {
        self.0.is_pro
    }

    /// The profile page on Hugging Face.
    async fn hf_url(&self) -> String {
        format!("https://huggingface.co/{}", self.0.username)
    }

    /// The papers this user submitted to Daily Papers, newest listing first unless `orderBy`
    /// says otherwise.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::cost::page(first, last) * child_complexity + 1")]
    async fn submitted_papers(
        &self,
        ctx: &async_graphql::Context<'_>,
        order_by: Option<super::inputs::PaperOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<super::connection::PaperConnection> {
        let criteria = crate::repo::papers::PaperCriteria {
            submitter: Some(self.0.username.to_lowercase()),
            ..Default::default()
        };
        super::connection::papers_of(ctx, criteria, order_by, first, after, last, before).await
    }
}

/// A point of a paper's popularity time series.
#[derive(SimpleObject)]
pub struct MetricPoint {
    /// When the figures were observed.
    pub at: DateTime,
    /// Upvotes at that time.
    pub upvotes: i32,
    /// Comments at that time.
    pub num_comments: i32,
    /// GitHub stars at that time.
    pub github_stars: Option<i32>,
}
