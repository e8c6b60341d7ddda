//! One digest for one subscription and period, claimed before it is sent: the primary key makes
//! a second claim of the same (subscription, period) fail, on every replica.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "digest_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub subscription_id: i64,
    /// `daily:YYYY-MM-DD` (the listing day covered) or `weekly:YYYY-MM-DD` (its last day).
    #[sea_orm(primary_key, auto_increment = false)]
    pub period: String,
    pub status: Status,
    pub attempts: i32,
    pub claimed_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    pub error: Option<String>,
    pub next_attempt_at: Option<DateTimeUtc>,
    /// SHA-256 of the one-click unsubscribe token in the mail.
    pub unsubscribe_token_hash: Option<String>,
    pub paper_count: Option<i32>,
}

/// Where a digest stands (stored as its word).
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Status {
    /// Claimed; the mail is on its way.
    #[sea_orm(string_value = "sending")]
    Sending,
    /// The SMTP server took it.
    #[sea_orm(string_value = "sent")]
    Sent,
    /// Nothing matched: no mail.
    #[sea_orm(string_value = "empty")]
    Empty,
    /// The SMTP server refused; tried again at `next_attempt_at`.
    #[sea_orm(string_value = "retry")]
    Retry,
    /// Given up.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// The process stopped between claim and answer: never resent.
    #[sea_orm(string_value = "interrupted")]
    Interrupted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Empty => "empty",
            Status::Retry => "retry",
            Status::Failed => "failed",
            Status::Interrupted => "interrupted",
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
