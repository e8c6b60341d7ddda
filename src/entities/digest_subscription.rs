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
    /// `pending` (waiting for confirmation), `active` or `unsubscribed`.
    pub status: String,
    pub confirm_token_hash: Option<String>,
    pub confirm_expires_at: Option<DateTimeUtc>,
    pub manage_token_hash: Option<String>,
    /// When a mail (confirmation or manage link) was last sent to the address.
    pub last_mail_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub confirmed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
