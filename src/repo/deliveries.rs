//! Digest deliveries in the database: claims (a row per subscription and period, inserted
//! before anything is sent), their outcomes, and the subscriptions a pass reads.
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter,
};

use super::subscriptions::hash_token;
use crate::entities::{daily_list, digest_delivery as delivery, digest_subscription as sub};

/// Active subscriptions of one stored frequency.
pub async fn active_subscriptions(
    db: &DatabaseConnection,
    frequency: &str,
) -> Result<Vec<sub::Model>, DbErr> {
    sub::Entity::find()
        .filter(sub::Column::Status.eq(sub::Status::Active))
        .filter(sub::Column::Frequency.eq(frequency))
        .all(db)
        .await
}

/// Active subscriptions whose stored frequency is none of `known`.
pub async fn active_subscriptions_not_of(
    db: &DatabaseConnection,
    known: &[&str],
) -> Result<Vec<sub::Model>, DbErr> {
    sub::Entity::find()
        .filter(sub::Column::Status.eq(sub::Status::Active))
        .filter(sub::Column::Frequency.is_not_in(known.iter().copied()))
        .all(db)
        .await
}

/// The deliveries of one period, by subscription.
pub async fn of_period(
    db: &DatabaseConnection,
    period: &str,
) -> Result<HashMap<i64, delivery::Model>, DbErr> {
    Ok(delivery::Entity::find()
        .filter(delivery::Column::Period.eq(period))
        .all(db)
        .await?
        .into_iter()
        .map(|d| (d.subscription_id, d))
        .collect())
}

/// Whether the mirror holds the listing day (a sync or import looked at it and did not fail).
pub async fn day_synced(db: &DatabaseConnection, day: NaiveDate) -> Result<bool, DbErr> {
    Ok(daily_list::Entity::find_by_id(day)
        .one(db)
        .await?
        .is_some_and(|d| d.status != daily_list::Status::Failed))
}

/// Claims made before `stale` and still `sending` become `interrupted`; how many.
pub async fn mark_interrupted(db: &DatabaseConnection, stale: DateTime<Utc>) -> Result<u32, DbErr> {
    let r = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Status,
            Expr::value(delivery::Status::Interrupted.as_str()),
        )
        .col_expr(
            delivery::Column::Error,
            Expr::value("the process stopped between claim and send; not resent (at most once)"),
        )
        .filter(delivery::Column::Status.eq(delivery::Status::Sending))
        .filter(delivery::Column::ClaimedAt.lt(stale))
        .exec(db)
        .await?;
    Ok(u32::try_from(r.rows_affected).unwrap_or(u32::MAX))
}

/// Records a digest that needs no mail (`empty`, `failed`); another process's row wins.
pub async fn record(
    db: &DatabaseConnection,
    subscription_id: i64,
    period: &str,
    status: delivery::Status,
    now: DateTime<Utc>,
    error: Option<String>,
) -> Result<(), DbErr> {
    let mut row = new_row(subscription_id, period, status, now);
    row.error = Set(error);
    row.paper_count = Set(Some(0));
    insert_if_absent(db, row).await.map(|_| ())
}

/// A delivery row as first written (nothing sent, no attempt yet).
fn new_row(
    subscription_id: i64,
    period: &str,
    status: delivery::Status,
    now: DateTime<Utc>,
) -> delivery::ActiveModel {
    delivery::ActiveModel {
        subscription_id: Set(subscription_id),
        period: Set(period.to_string()),
        status: Set(status),
        attempts: Set(0),
        claimed_at: Set(now),
        sent_at: Set(None),
        error: Set(None),
        next_attempt_at: Set(None),
        unsubscribe_token_hash: Set(None),
        paper_count: Set(None),
    }
}

/// Inserts the row unless its (subscription, period) exists; whether it did.
async fn insert_if_absent(
    db: &DatabaseConnection,
    row: delivery::ActiveModel,
) -> Result<bool, DbErr> {
    let r = delivery::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([delivery::Column::SubscriptionId, delivery::Column::Period])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await;
    match r {
        Ok(n) => Ok(n == 1),
        Err(DbErr::RecordNotInserted) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Claims a digest for sending: a new row, or a `retry` row whose time has come. `Some(attempt)`
/// when this process won the claim.
pub async fn claim(
    db: &DatabaseConnection,
    subscription_id: i64,
    period: &str,
    now: DateTime<Utc>,
    token_hash: &str,
    retry: bool,
) -> Result<Option<i32>, DbErr> {
    if !retry {
        let mut row = new_row(subscription_id, period, delivery::Status::Sending, now);
        row.attempts = Set(1);
        row.unsubscribe_token_hash = Set(Some(token_hash.to_string()));
        return Ok(insert_if_absent(db, row).await?.then_some(1));
    }
    let r = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Status,
            Expr::value(delivery::Status::Sending.as_str()),
        )
        .col_expr(delivery::Column::ClaimedAt, Expr::value(now))
        .col_expr(
            delivery::Column::Attempts,
            Expr::col(delivery::Column::Attempts).add(1),
        )
        .col_expr(
            delivery::Column::UnsubscribeTokenHash,
            Expr::value(token_hash.to_string()),
        )
        .filter(delivery::Column::SubscriptionId.eq(subscription_id))
        .filter(delivery::Column::Period.eq(period))
        .filter(delivery::Column::Status.eq(delivery::Status::Retry))
        .filter(delivery::Column::NextAttemptAt.lte(now))
        .exec(db)
        .await?;
    if r.rows_affected != 1 {
        return Ok(None);
    }
    let row = delivery::Entity::find_by_id((subscription_id, period.to_string()))
        .one(db)
        .await?;
    Ok(row.map(|d| d.attempts))
}

/// Changes the delivery row of `key` (subscription, period), when it exists.
pub async fn update(
    db: &DatabaseConnection,
    key: &(i64, String),
    change: impl FnOnce(&mut delivery::ActiveModel),
) -> Result<(), DbErr> {
    let Some(row) = delivery::Entity::find_by_id(key.clone()).one(db).await? else {
        return Ok(());
    };
    let mut a = row.into_active_model();
    change(&mut a);
    a.update(db).await?;
    Ok(())
}

/// The subscription a one-click unsubscribe token (from a digest mail) belongs to.
pub async fn subscription_of_unsubscribe_token(
    db: &DatabaseConnection,
    token: &str,
) -> Result<Option<i64>, DbErr> {
    if token.is_empty() {
        return Ok(None);
    }
    Ok(delivery::Entity::find()
        .filter(delivery::Column::UnsubscribeTokenHash.eq(hash_token(token)))
        .one(db)
        .await?
        .map(|d| d.subscription_id))
}
