//! Where a paper stands in the detail queue: when its Hub detail was last asked for and fetched,
//! what it answered, and the counts it was fetched at (a moved count puts it back in the queue).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "paper_details")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub paper_id: i64,
    pub status: Status,
    /// The last attempt, whatever it gave.
    pub checked_at: DateTimeUtc,
    /// The last detail stored (`Paper.detailsSyncedAt`).
    pub synced_at: Option<DateTimeUtc>,
    /// A failed paper is not asked for again before this.
    pub retry_at: Option<DateTimeUtc>,
    /// Failures in a row.
    pub attempts: i32,
    /// The paper's `num_comments` and linked totals when its detail was stored.
    pub comments_seen: Option<i32>,
    pub models_seen: Option<i32>,
    pub datasets_seen: Option<i32>,
    pub spaces_seen: Option<i32>,
    pub error: Option<String>,
}

/// What the last attempt gave (stored as its word).
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Status {
    /// The detail was stored.
    #[sea_orm(string_value = "ok")]
    Ok,
    /// The Hub does not index the paper (404): recorded, asked again after the refresh period.
    #[sea_orm(string_value = "not_indexed")]
    NotIndexed,
    /// The fetch failed or the answer was unusable; the stored data was kept.
    #[sea_orm(string_value = "failed")]
    Failed,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
