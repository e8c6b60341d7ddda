//! Email digest subscriptions (double opt-in; tokens stored only as SHA-256 hashes) and the
//! deliveries claimed per subscription and period, so that no digest is sent twice.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DigestSubscriptions {
    Table,
    Id,
    Email,
    EmailKey,
    Frequency,
    Interests,
    Status,
    ConfirmTokenHash,
    ConfirmExpiresAt,
    ManageTokenHash,
    LastMailAt,
    CreatedAt,
    UpdatedAt,
    ConfirmedAt,
}

#[derive(DeriveIden)]
enum DigestDeliveries {
    Table,
    SubscriptionId,
    Period,
    Status,
    Attempts,
    ClaimedAt,
    SentAt,
    Error,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(DigestSubscriptions::Table)
                .col(big_pk_auto(DigestSubscriptions::Id))
                .col(text(DigestSubscriptions::Email))
                .col(text(DigestSubscriptions::EmailKey).unique_key())
                .col(text(DigestSubscriptions::Frequency))
                .col(text(DigestSubscriptions::Interests))
                .col(text(DigestSubscriptions::Status))
                .col(text_null(DigestSubscriptions::ConfirmTokenHash).unique_key())
                .col(timestamp_with_time_zone_null(
                    DigestSubscriptions::ConfirmExpiresAt,
                ))
                .col(text_null(DigestSubscriptions::ManageTokenHash).unique_key())
                .col(timestamp_with_time_zone_null(
                    DigestSubscriptions::LastMailAt,
                ))
                .col(timestamp_with_time_zone(DigestSubscriptions::CreatedAt))
                .col(timestamp_with_time_zone(DigestSubscriptions::UpdatedAt))
                .col(timestamp_with_time_zone_null(
                    DigestSubscriptions::ConfirmedAt,
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(DigestDeliveries::Table)
                .col(big_integer(DigestDeliveries::SubscriptionId))
                .col(text(DigestDeliveries::Period))
                .col(text(DigestDeliveries::Status))
                .col(integer(DigestDeliveries::Attempts).default(0))
                .col(timestamp_with_time_zone(DigestDeliveries::ClaimedAt))
                .col(timestamp_with_time_zone_null(DigestDeliveries::SentAt))
                .col(text_null(DigestDeliveries::Error))
                .primary_key(
                    Index::create()
                        .col(DigestDeliveries::SubscriptionId)
                        .col(DigestDeliveries::Period),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(DigestDeliveries::Table, DigestDeliveries::SubscriptionId)
                        .to(DigestSubscriptions::Table, DigestSubscriptions::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(DigestDeliveries::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(DigestSubscriptions::Table).to_owned())
            .await?;
        Ok(())
    }
}
