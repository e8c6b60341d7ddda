//! Paper events (a paper was added, or its upvotes, comments or stars changed), written by the
//! writer in its own transaction, so that every server on the database (replicas too) fans out
//! exactly what was committed, in commit order, and can catch up after a lost connection.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PaperEvents {
    Table,
    Seq,
    Kind,
    PaperId,
    UpvotesBefore,
    CommentsBefore,
    StarsBefore,
    Upvotes,
    Comments,
    Stars,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(PaperEvents::Table)
                .col(big_pk_auto(PaperEvents::Seq))
                .col(text(PaperEvents::Kind))
                .col(big_integer(PaperEvents::PaperId))
                .col(integer_null(PaperEvents::UpvotesBefore))
                .col(integer_null(PaperEvents::CommentsBefore))
                .col(integer_null(PaperEvents::StarsBefore))
                .col(integer(PaperEvents::Upvotes))
                .col(integer(PaperEvents::Comments))
                .col(integer_null(PaperEvents::Stars))
                .col(timestamp_with_time_zone(PaperEvents::CreatedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(PaperEvents::Table).to_owned())
            .await
    }
}
