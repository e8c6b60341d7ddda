//! A paper as mirrored from Daily Papers, keyed by its arXiv id without version.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "papers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub arxiv_id: String,
    pub title: String,
    pub r#abstract: String,
    pub daily_date: Option<Date>,
    pub submitted_at: Option<DateTimeUtc>,
    pub published_at: DateTimeUtc,
    pub upvotes: i32,
    pub num_comments: i32,
    pub trending_score: f64,
    pub github_repo: Option<String>,
    pub github_repo_added_by: Option<String>,
    pub github_stars: Option<i32>,
    pub project_page: Option<String>,
    pub ai_summary: Option<String>,
    pub ai_summary_model: Option<String>,
    pub ai_keywords: Json,
    pub thumbnail_url: Option<String>,
    pub media_urls: Json,
    pub discussion_id: Option<String>,
    pub withdrawn_at: Option<DateTimeUtc>,
    pub is_author_participating: bool,
    pub author_count: i32,
    pub num_linked_models: Option<i32>,
    pub num_linked_datasets: Option<i32>,
    pub num_linked_spaces: Option<i32>,
    pub organization_id: Option<i64>,
    pub submitted_by_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
