//! An email digest subscription. Tokens are never stored, only their SHA-256 hashes.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "digest_subscriptions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The address as given, trimmed, with its domain lower-cased.
    pub email: String,
    /// The whole address lower-cased: one subscription per address.
    pub email_key: String,
    /// `daily` or `weekly`.
    pub frequency: String,
    /// JSON: `{"keywords": [...], "authors": [...], "minUpvotes": n, "maxPapers": n}`.
    pub interests: String,
    pub status: Status,
    pub confirm_token_hash: Option<String>,
    pub confirm_expires_at: Option<DateTimeUtc>,
    pub manage_token_hash: Option<String>,
    /// When a mail (confirmation or manage link) was last sent to the address.
    pub last_mail_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub confirmed_at: Option<DateTimeUtc>,
}

/// Where a subscription stands (stored as its word).
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Status {
    /// Waiting for its confirmation link.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Confirmed: digests go out.
    #[sea_orm(string_value = "active")]
    Active,
    /// Ended; its manage token no longer works.
    #[sea_orm(string_value = "unsubscribed")]
    Unsubscribed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Active => "active",
            Status::Unsubscribed => "unsubscribed",
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
