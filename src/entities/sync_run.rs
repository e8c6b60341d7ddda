//! One run of the sync worker (or of `papergraph import`), with its outcome.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: Kind,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub status: Status,
    pub days_total: i32,
    pub days_ok: i32,
    pub days_failed: i32,
    pub papers_added: i32,
    pub papers_updated: i32,
    pub error: Option<String>,
}

/// What started a run (stored as its word).
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Kind {
    /// The scheduler's first pass over an empty database.
    #[sea_orm(string_value = "backfill")]
    Backfill,
    /// A scheduled pass, or `papergraph sync` over a few days.
    #[sea_orm(string_value = "sync")]
    Sync,
    /// A pass asked for by the `requestSync` mutation.
    #[sea_orm(string_value = "requested")]
    Requested,
    /// `papergraph import`.
    #[sea_orm(string_value = "import")]
    Import,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Backfill => "backfill",
            Kind::Sync => "sync",
            Kind::Requested => "requested",
            Kind::Import => "import",
        }
    }
}

/// How a run went (stored as its word).
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Status {
    /// Not finished.
    #[sea_orm(string_value = "running")]
    Running,
    /// Every day stored.
    #[sea_orm(string_value = "ok")]
    Ok,
    /// Some days stored, some failed or stored from their cards only.
    #[sea_orm(string_value = "partial")]
    Partial,
    /// No day stored.
    #[sea_orm(string_value = "failed")]
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Ok => "ok",
            Status::Partial => "partial",
            Status::Failed => "failed",
        }
    }
}

impl PartialEq<&str> for Status {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
