//! The `Author` type.
use async_graphql::{Context, ID, Object};
use sea_orm::DatabaseConnection;

use super::connection::PaperConnection;
use super::ids::GlobalId;
use super::inputs::PaperOrder;
use crate::entities::author;
use crate::error::{ApiResult, AppError};
use crate::repo::papers::{AuthorSlot, PaperCriteria};

/// A person who wrote papers: one entity per distinct name across all papers.
pub struct Author {
    pub id: i64,
    pub name: String,
    pub paper_count: i32,
}

impl Author {
    pub fn from_model(a: &author::Model) -> Self {
        Self {
            id: a.id,
            name: a.name.clone(),
            paper_count: a.paper_count,
        }
    }

    /// The author of a slot read with its author (`SlotRead::Full`); `None` for a slot read
    /// without.
    pub fn from_slot(s: &AuthorSlot) -> Option<Self> {
        Some(Self {
            id: s.author_id,
            name: s.author_name.clone()?,
            paper_count: s.author_paper_count?,
        })
    }
}

/// A person who wrote papers: one entity per distinct name across all papers.
#[Object]
impl Author {
    /// Opaque global id (use with `node`).
    pub async fn id(&self) -> ID {
        GlobalId::Author(self.name.clone()).encode()
    }

    /// The name, in Unicode NFC.
    async fn name(&self) -> &str {
        &self.name
    }

    /// Number of papers in the mirror with this author.
    async fn paper_count(&self) -> i32 {
        self.paper_count
    }

    /// This author's papers, newest listing first unless `orderBy` says otherwise.
    #[graphql(complexity = "super::cost::page(first, last) * child_complexity + 1")]
    async fn papers(
        &self,
        ctx: &Context<'_>,
        order_by: Option<PaperOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<PaperConnection> {
        let criteria = PaperCriteria {
            author_id: Some(self.id),
            ..Default::default()
        };
        super::connection::papers_of(ctx, criteria, order_by, first, after, last, before).await
    }

    /// The people this author wrote papers with, most shared papers first (`first`: at most
    /// 100, default 10).
    #[graphql(complexity = "super::cost::items(first) * child_complexity + 1")]
    async fn coauthors(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: i32,
    ) -> ApiResult<Vec<Coauthor>> {
        super::connection::checked_first(first)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let rows = crate::repo::authors::coauthors(db, self.id, first as u64)
            .await
            .map_err(AppError::from)?;
        Ok(rows
            .into_iter()
            .map(|(a, n)| Coauthor {
                author: Author::from_model(&a),
                shared_papers: n as i32,
            })
            .collect())
    }
}

/// A co-author and how many papers the two wrote together.
#[derive(async_graphql::SimpleObject)]
pub struct Coauthor {
    /// The co-author.
    pub author: Author,
    /// Papers in the mirror that both are authors of.
    pub shared_papers: i32,
}
