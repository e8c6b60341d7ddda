//! A Hub repo that cites a paper, as the paper's detail (or the full repo list) shows it.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "paper_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub paper_id: i64,
    /// 0 model, 1 dataset, 2 Space (`domain::RepoKind`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: i16,
    /// The upstream's order within the kind.
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub repo_id: String,
    pub author: Option<String>,
    pub downloads: Option<i64>,
    pub likes: Option<i64>,
    pub pipeline_tag: Option<String>,
    pub gated: Option<String>,
    pub last_modified: Option<DateTimeUtc>,
    pub emoji: Option<String>,
    pub running: Option<bool>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
