//! What digest delivery needs beyond the claim: when a failed send is retried, the hash of the
//! one-click unsubscribe token each mail carries (RFC 8058), and how many papers went out.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DigestDeliveries {
    Table,
    NextAttemptAt,
    UnsubscribeTokenHash,
    PaperCount,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        m.alter_table(
            Table::alter()
                .table(DigestDeliveries::Table)
                .add_column(timestamp_with_time_zone_null(
                    DigestDeliveries::NextAttemptAt,
                ))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(DigestDeliveries::Table)
                .add_column(text_null(DigestDeliveries::UnsubscribeTokenHash))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(DigestDeliveries::Table)
                .add_column(integer_null(DigestDeliveries::PaperCount))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("digest_deliveries_unsubscribe_token")
                .table(DigestDeliveries::Table)
                .col(DigestDeliveries::UnsubscribeTokenHash)
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("digest_deliveries_unsubscribe_token")
                .table(DigestDeliveries::Table)
                .to_owned(),
        )
        .await?;
        for col in [
            DigestDeliveries::PaperCount,
            DigestDeliveries::UnsubscribeTokenHash,
            DigestDeliveries::NextAttemptAt,
        ] {
            m.alter_table(
                Table::alter()
                    .table(DigestDeliveries::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
