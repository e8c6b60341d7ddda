//! One author slot of one paper: order, visibility and the Hub account linked to it on that paper.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "paper_authors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub paper_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub author_id: i64,
    pub name: String,
    pub hidden: bool,
    pub hf_author_id: Option<String>,
    pub hf_user_id: Option<i64>,
    pub claim_status: Option<String>,
    pub status_changed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
