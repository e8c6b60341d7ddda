//! A comment under a paper (top level or a reply), in thread order.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "paper_comments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub paper_id: i64,
    /// Thread order: each top-level comment, then its replies.
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    /// The Hub's id of the comment.
    pub hub_id: String,
    /// The Hub id of the comment this one replies to.
    pub parent_id: Option<String>,
    pub author_id: Option<i64>,
    /// The author's account was deleted.
    pub deleted: bool,
    pub created_at: DateTimeUtc,
    pub edited_at: Option<DateTimeUtc>,
    /// The Markdown as written; `None` when hidden.
    pub body: Option<String>,
    pub hidden: bool,
    pub hidden_reason: Option<String>,
    /// `[{"emoji": "👍", "count": 2}, …]`
    pub reactions: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
