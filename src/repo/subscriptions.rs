//! Digest subscriptions in the database: double opt-in with single-use confirmation tokens that
//! expire, manage tokens that rotate, at most one mail per address per hour, and answers that
//! never tell whether an address is known. Tokens are 256 random bits, shown once (in a mail)
//! and stored only as SHA-256 hashes. Every write moves the data generation after it commits
//! (as every writer does), so no cached answer outlives it.
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    TransactionTrait,
};
use sha2::{Digest, Sha256};

use crate::domain::Email;
use crate::entities::digest_subscription::{self as sub, Model};

/// How long a confirmation link works.
pub const CONFIRM_TTL_HOURS: i64 = 48;
/// At most one mail per address in this many minutes.
pub const MAIL_INTERVAL_MINUTES: i64 = 60;

/// Why a token was not accepted (never whether an address exists).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error(
        "this link is not valid (it may have been used already); subscribe again to get a new one"
    )]
    Invalid,
    #[error("this confirmation link has expired; subscribe again to get a new one")]
    Expired,
}

/// What to mail after a subscribe request; the API answers the same in every case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mail {
    /// A new or pending subscription: the confirmation link's token.
    Confirm { email: String, token: String },
    /// The address is subscribed already: a fresh link to manage it.
    Manage { email: String, token: String },
    /// A mail went to the address less than an hour ago: send nothing.
    None,
}

/// A new random token and its hash.
pub fn new_token() -> Result<(String, String), DbErr> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| DbErr::Custom(format!("no randomness: {e}")))?;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&token);
    Ok((token, hash))
}

pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.trim().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Records a subscribe request for `email` with `frequency` and `interests` (JSON) and says what
/// to mail. A new, pending or ended subscription takes the new interests and gets a new
/// confirmation token; an active one keeps its interests and gets a fresh manage link.
pub async fn subscribe<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    raw_email: &str,
    frequency: &str,
    interests: &str,
    now: DateTime<Utc>,
) -> Result<Result<Mail, String>, DbErr> {
    let email = match Email::parse(raw_email) {
        Ok(e) => e,
        Err(message) => return Ok(Err(message)),
    };
    let key = email.key().to_string();
    let txn = crate::repo::begin_write(db).await?;
    let existing = sub::Entity::find()
        .filter(sub::Column::EmailKey.eq(&key))
        .one(&*txn)
        .await?;
    let recently = |m: &Model| {
        m.last_mail_at
            .is_some_and(|t| now - t < Duration::minutes(MAIL_INTERVAL_MINUTES))
    };
    let mail = match existing {
        Some(m) if recently(&m) => Mail::None,
        Some(m) if m.status == sub::Status::Active => {
            let (token, hash) = new_token()?;
            let mut a: sub::ActiveModel = m.into();
            a.manage_token_hash = Set(Some(hash));
            a.last_mail_at = Set(Some(now));
            a.updated_at = Set(now);
            a.update(&*txn).await?;
            Mail::Manage {
                email: email.to_string(),
                token,
            }
        }
        existing => {
            let (token, hash) = new_token()?;
            let mut a: sub::ActiveModel = match existing {
                Some(m) => m.into(),
                None => sub::ActiveModel {
                    id: NotSet,
                    email_key: Set(key.clone()),
                    created_at: Set(now),
                    confirmed_at: Set(None),
                    manage_token_hash: Set(None),
                    ..Default::default()
                },
            };
            a.email = Set(email.to_string());
            a.frequency = Set(frequency.to_string());
            a.interests = Set(interests.to_string());
            a.status = Set(sub::Status::Pending);
            a.confirm_token_hash = Set(Some(hash));
            a.confirm_expires_at = Set(Some(now + Duration::hours(CONFIRM_TTL_HOURS)));
            a.last_mail_at = Set(Some(now));
            a.updated_at = Set(now);
            a.save(&*txn).await?;
            Mail::Confirm {
                email: email.to_string(),
                token,
            }
        }
    };
    txn.commit().await?;
    Ok(Ok(mail))
}

/// Activates the subscription of a confirmation token (single use) and returns it with its
/// manage token (shown once).
pub async fn confirm<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Result<(Model, String), TokenError>, DbErr> {
    let txn = crate::repo::begin_write(db).await?;
    let Some(m) = sub::Entity::find()
        .filter(sub::Column::ConfirmTokenHash.eq(hash_token(token)))
        .one(&*txn)
        .await?
    else {
        return Ok(Err(TokenError::Invalid));
    };
    if m.confirm_expires_at.is_none_or(|t| t < now) {
        return Ok(Err(TokenError::Expired));
    }
    let (manage, hash) = new_token()?;
    let mut a: sub::ActiveModel = m.into();
    a.status = Set(sub::Status::Active);
    a.confirm_token_hash = Set(None);
    a.confirm_expires_at = Set(None);
    a.manage_token_hash = Set(Some(hash));
    a.confirmed_at = Set(Some(now));
    a.updated_at = Set(now);
    let m = a.update(&*txn).await?;
    txn.commit().await?;
    Ok(Ok((m, manage)))
}

/// The active subscription of a manage token.
pub async fn by_manage_token<C: ConnectionTrait>(
    db: &C,
    token: &str,
) -> Result<Result<Model, TokenError>, DbErr> {
    Ok(sub::Entity::find()
        .filter(sub::Column::ManageTokenHash.eq(hash_token(token)))
        .filter(sub::Column::Status.eq(sub::Status::Active))
        .one(db)
        .await?
        .ok_or(TokenError::Invalid))
}

/// Changes the frequency and interests of the subscription of a manage token.
pub async fn update<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    token: &str,
    frequency: &str,
    interests: &str,
    now: DateTime<Utc>,
) -> Result<Result<Model, TokenError>, DbErr> {
    let txn = crate::repo::begin_write(db).await?;
    let m = match by_manage_token(&*txn, token).await? {
        Ok(m) => m,
        Err(e) => return Ok(Err(e)),
    };
    let mut a: sub::ActiveModel = m.into();
    a.frequency = Set(frequency.to_string());
    a.interests = Set(interests.to_string());
    a.updated_at = Set(now);
    let m = a.update(&*txn).await?;
    txn.commit().await?;
    Ok(Ok(m))
}

/// Ends the subscription of a manage token; the token stops working.
pub async fn unsubscribe<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), TokenError>, DbErr> {
    let txn = crate::repo::begin_write(db).await?;
    let m = match by_manage_token(&*txn, token).await? {
        Ok(m) => m,
        Err(e) => return Ok(Err(e)),
    };
    let mut a: sub::ActiveModel = m.into();
    a.status = Set(sub::Status::Unsubscribed);
    a.manage_token_hash = Set(None);
    a.updated_at = Set(now);
    a.update(&*txn).await?;
    txn.commit().await?;
    Ok(Ok(()))
}

/// Ends the subscription of a one-click unsubscribe link (from a digest mail). Ending an ended
/// subscription succeeds too, so repeated clicks and mail-client retries all see success.
pub async fn unsubscribe_by_link<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    subscription_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<Model>, DbErr> {
    let txn = crate::repo::begin_write(db).await?;
    let Some(m) = sub::Entity::find_by_id(subscription_id).one(&*txn).await? else {
        return Ok(None);
    };
    if m.status != sub::Status::Active {
        return Ok(Some(m));
    }
    let mut a: sub::ActiveModel = m.into();
    a.status = Set(sub::Status::Unsubscribed);
    a.manage_token_hash = Set(None);
    a.updated_at = Set(now);
    let m = a.update(&*txn).await?;
    txn.commit().await?;
    Ok(Some(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_256_bit_and_stored_as_hashes() {
        let (a, ha) = new_token().unwrap();
        let (b, hb) = new_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(ha, hash_token(&a));
        assert_ne!(ha, hb);
        assert_eq!(ha.len(), 64);
        assert!(!ha.contains(&a));
    }
}
