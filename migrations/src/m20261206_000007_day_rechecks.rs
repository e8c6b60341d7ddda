//! Days the sync re-checks after their list came back empty or grew later (late publication):
//! how often it looked, and when it looks next.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DayRechecks {
    Table,
    Date,
    Attempts,
    NextAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(DayRechecks::Table)
                .col(date(DayRechecks::Date).primary_key())
                .col(integer(DayRechecks::Attempts))
                .col(timestamp_with_time_zone(DayRechecks::NextAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(DayRechecks::Table).to_owned())
            .await
    }
}
