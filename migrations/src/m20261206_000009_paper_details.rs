//! A paper's neighbourhood on the Hub, from its detail (`/api/papers/{id}?field=comments`): the
//! detail queue's state per paper, the linked models, datasets and Spaces, and the comments.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Papers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum HfUsers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PaperDetails {
    Table,
    PaperId,
    Status,
    CheckedAt,
    SyncedAt,
    RetryAt,
    Attempts,
    CommentsSeen,
    ModelsSeen,
    DatasetsSeen,
    SpacesSeen,
    Error,
}

#[derive(DeriveIden)]
enum PaperLinks {
    Table,
    PaperId,
    Kind,
    Position,
    RepoId,
    Author,
    Downloads,
    Likes,
    PipelineTag,
    Gated,
    LastModified,
    Emoji,
    Running,
}

#[derive(DeriveIden)]
enum PaperComments {
    Table,
    PaperId,
    Position,
    HubId,
    ParentId,
    AuthorId,
    Deleted,
    CreatedAt,
    EditedAt,
    Body,
    Hidden,
    HiddenReason,
    Reactions,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(PaperDetails::Table)
                .col(big_integer(PaperDetails::PaperId).primary_key())
                .col(text(PaperDetails::Status))
                .col(timestamp_with_time_zone(PaperDetails::CheckedAt))
                .col(timestamp_with_time_zone_null(PaperDetails::SyncedAt))
                .col(timestamp_with_time_zone_null(PaperDetails::RetryAt))
                .col(integer(PaperDetails::Attempts).default(0))
                .col(integer_null(PaperDetails::CommentsSeen))
                .col(integer_null(PaperDetails::ModelsSeen))
                .col(integer_null(PaperDetails::DatasetsSeen))
                .col(integer_null(PaperDetails::SpacesSeen))
                .col(text_null(PaperDetails::Error))
                .foreign_key(
                    ForeignKey::create()
                        .from(PaperDetails::Table, PaperDetails::PaperId)
                        .to(Papers::Table, Papers::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PaperLinks::Table)
                .col(big_integer(PaperLinks::PaperId))
                .col(small_integer(PaperLinks::Kind))
                .col(integer(PaperLinks::Position))
                .col(text(PaperLinks::RepoId))
                .col(text_null(PaperLinks::Author))
                .col(big_integer_null(PaperLinks::Downloads))
                .col(big_integer_null(PaperLinks::Likes))
                .col(text_null(PaperLinks::PipelineTag))
                .col(text_null(PaperLinks::Gated))
                .col(timestamp_with_time_zone_null(PaperLinks::LastModified))
                .col(text_null(PaperLinks::Emoji))
                .col(boolean_null(PaperLinks::Running))
                .primary_key(
                    Index::create()
                        .col(PaperLinks::PaperId)
                        .col(PaperLinks::Kind)
                        .col(PaperLinks::Position),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(PaperLinks::Table, PaperLinks::PaperId)
                        .to(Papers::Table, Papers::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // `linkedRepo:` finds the papers a repo cites.
        m.create_index(
            Index::create()
                .name("idx_paper_links_repo")
                .table(PaperLinks::Table)
                .col(PaperLinks::RepoId)
                .col(PaperLinks::PaperId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PaperComments::Table)
                .col(big_integer(PaperComments::PaperId))
                .col(integer(PaperComments::Position))
                .col(text(PaperComments::HubId))
                .col(text_null(PaperComments::ParentId))
                .col(big_integer_null(PaperComments::AuthorId))
                .col(boolean(PaperComments::Deleted))
                .col(timestamp_with_time_zone(PaperComments::CreatedAt))
                .col(timestamp_with_time_zone_null(PaperComments::EditedAt))
                .col(text_null(PaperComments::Body))
                .col(boolean(PaperComments::Hidden))
                .col(text_null(PaperComments::HiddenReason))
                .col(json(PaperComments::Reactions))
                .primary_key(
                    Index::create()
                        .col(PaperComments::PaperId)
                        .col(PaperComments::Position),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(PaperComments::Table, PaperComments::PaperId)
                        .to(Papers::Table, Papers::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(PaperComments::Table, PaperComments::AuthorId)
                        .to(HfUsers::Table, HfUsers::Id),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            PaperComments::Table.into_iden(),
            PaperLinks::Table.into_iden(),
            PaperDetails::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
