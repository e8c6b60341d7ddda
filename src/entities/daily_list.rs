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
    pub status: Status,
    pub error: Option<String>,
    pub attempts: i32,
    /// Where the list came from.
    pub source: Source,
    /// SHA-256 of the API's response bodies for this day when they were stored in full (status
    /// `ok`, no detail pages needed): the same bytes again mean the same list, without parsing.
    pub body_hash: Option<String>,
}

/// Where a daily list came from (stored as its word).
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Source {
    /// The upstream's JSON API.
    #[sea_orm(string_value = "api")]
    Api,
    /// The data island of the upstream's HTML page.
    #[sea_orm(string_value = "html")]
    Html,
    /// The visible cards of an HTML page without a data island.
    #[sea_orm(string_value = "cards")]
    Cards,
    /// A file given to `papergraph import`.
    #[sea_orm(string_value = "file")]
    File,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Html => "html",
            Source::Cards => "cards",
            Source::File => "file",
        }
    }
}

/// How a day's last fetch went (stored as its word).
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Status {
    /// Stored in full.
    #[sea_orm(string_value = "ok")]
    Ok,
    /// The fetch or its parse failed; retried by later passes.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Only the figures of its page's visible cards; fetched again for its full data.
    #[sea_orm(string_value = "partial")]
    Partial,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Partial => "partial",
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
