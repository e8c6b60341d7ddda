//! `papers.updated_at` becomes the commit-ordered time a paper's stored fields last changed,
//! which pollers page by (`updatedSince`, `orderBy: UPDATED_AT`).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Papers {
    Table,
    UpdatedAt,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("idx_papers_updated_at")
                .table(Papers::Table)
                .col(Papers::UpdatedAt)
                .col(Papers::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_papers_updated_at")
                .table(Papers::Table)
                .to_owned(),
        )
        .await
    }
}
