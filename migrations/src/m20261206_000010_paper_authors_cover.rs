//! `paper_authors (paper_id, author_id)`: the authors facet reads the author ids of a set of
//! papers from this index alone, instead of the primary key's index and then each row.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PaperAuthors {
    Table,
    PaperId,
    AuthorId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("idx_paper_authors_paper_author")
                .table(PaperAuthors::Table)
                .col(PaperAuthors::PaperId)
                .col(PaperAuthors::AuthorId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_paper_authors_paper_author")
                .table(PaperAuthors::Table)
                .to_owned(),
        )
        .await
    }
}
