//! The state of one Daily Papers day in the mirror: when it was fetched, its hash and status.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "daily_lists")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub date: Date,
    pub fetched_at: DateTimeUtc,
    pub paper_count: i32,
    pub content_hash: Option<String>,
    /// `ok` or `failed`.
    pub status: String,
    pub error: Option<String>,
    pub attempts: i32,
    /// Where the list came from: `api`, `html` or `file`.
    pub source: String,
    /// SHA-256 of the API's response bodies for this day when they were stored in full (status
    /// `ok`, no detail pages needed): the same bytes again mean the same list, without parsing.
    pub body_hash: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
