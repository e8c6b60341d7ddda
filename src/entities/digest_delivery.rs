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
    /// `sending` (claimed), `sent`, `empty` (nothing matched: no mail), `retry` (the SMTP server
    /// refused; tried again at `next_attempt_at`), `failed` (gave up) or `interrupted` (the
    /// process stopped between claim and answer: never resent).
    pub status: String,
    pub attempts: i32,
    pub claimed_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    pub error: Option<String>,
    pub next_attempt_at: Option<DateTimeUtc>,
    /// SHA-256 of the one-click unsubscribe token in the mail.
    pub unsubscribe_token_hash: Option<String>,
    pub paper_count: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
