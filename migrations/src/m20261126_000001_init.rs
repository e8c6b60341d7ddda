//! The first schema: papers, authors and their links, organizations, Hub users, upvote snapshots,
//! daily lists and sync runs, with the indexes that serve every filter and order of the API.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Name,
    HfId,
    Fullname,
    AvatarUrl,
}

#[derive(DeriveIden)]
enum HfUsers {
    Table,
    Id,
    Username,
    HfId,
    Fullname,
    AvatarUrl,
    IsPro,
    Kind,
}

#[derive(DeriveIden)]
enum Papers {
    Table,
    Id,
    ArxivId,
    Title,
    Abstract,
    DailyDate,
    SubmittedAt,
    PublishedAt,
    Upvotes,
    NumComments,
    TrendingScore,
    GithubRepo,
    GithubRepoAddedBy,
    GithubStars,
    ProjectPage,
    AiSummary,
    AiSummaryModel,
    AiKeywords,
    ThumbnailUrl,
    MediaUrls,
    DiscussionId,
    WithdrawnAt,
    IsAuthorParticipating,
    AuthorCount,
    NumLinkedModels,
    NumLinkedDatasets,
    NumLinkedSpaces,
    OrganizationId,
    SubmittedById,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Authors {
    Table,
    Id,
    Name,
    NameKey,
    PaperCount,
}

#[derive(DeriveIden)]
enum PaperAuthors {
    Table,
    PaperId,
    Position,
    AuthorId,
    Name,
    Hidden,
    HfAuthorId,
    HfUserId,
    ClaimStatus,
    StatusChangedAt,
}

#[derive(DeriveIden)]
enum UpvoteSnapshots {
    Table,
    Id,
    PaperId,
    TakenAt,
    Upvotes,
    NumComments,
    GithubStars,
}

#[derive(DeriveIden)]
enum DailyLists {
    Table,
    Date,
    FetchedAt,
    PaperCount,
    ContentHash,
    Status,
    Error,
    Attempts,
    Source,
}

#[derive(DeriveIden)]
enum SyncRuns {
    Table,
    Id,
    Kind,
    StartedAt,
    FinishedAt,
    Status,
    DaysTotal,
    DaysOk,
    DaysFailed,
    PapersAdded,
    PapersUpdated,
    Error,
}

fn index(name: &str, table: impl IntoIden) -> IndexCreateStatement {
    Index::create().name(name).table(table).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Organizations::Table)
                .col(big_pk_auto(Organizations::Id))
                .col(text_uniq(Organizations::Name))
                .col(text_null(Organizations::HfId))
                .col(text_null(Organizations::Fullname))
                .col(text_null(Organizations::AvatarUrl))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(HfUsers::Table)
                .col(big_pk_auto(HfUsers::Id))
                .col(text_uniq(HfUsers::Username))
                .col(text_null(HfUsers::HfId))
                .col(text_null(HfUsers::Fullname))
                .col(text_null(HfUsers::AvatarUrl))
                .col(boolean(HfUsers::IsPro).default(false))
                .col(text_null(HfUsers::Kind))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Papers::Table)
                .col(big_pk_auto(Papers::Id))
                .col(text_uniq(Papers::ArxivId))
                .col(text(Papers::Title))
                .col(text(Papers::Abstract).default(""))
                .col(date_null(Papers::DailyDate))
                .col(timestamp_with_time_zone_null(Papers::SubmittedAt))
                .col(timestamp_with_time_zone(Papers::PublishedAt))
                .col(integer(Papers::Upvotes).default(0))
                .col(integer(Papers::NumComments).default(0))
                .col(double(Papers::TrendingScore).default(0.0))
                .col(text_null(Papers::GithubRepo))
                .col(text_null(Papers::GithubRepoAddedBy))
                .col(integer_null(Papers::GithubStars))
                .col(text_null(Papers::ProjectPage))
                .col(text_null(Papers::AiSummary))
                .col(text_null(Papers::AiSummaryModel))
                .col(json(Papers::AiKeywords))
                .col(text_null(Papers::ThumbnailUrl))
                .col(json(Papers::MediaUrls))
                .col(text_null(Papers::DiscussionId))
                .col(timestamp_with_time_zone_null(Papers::WithdrawnAt))
                .col(boolean(Papers::IsAuthorParticipating).default(false))
                .col(integer(Papers::AuthorCount).default(0))
                .col(integer_null(Papers::NumLinkedModels))
                .col(integer_null(Papers::NumLinkedDatasets))
                .col(integer_null(Papers::NumLinkedSpaces))
                .col(big_integer_null(Papers::OrganizationId))
                .col(big_integer_null(Papers::SubmittedById))
                .col(timestamp_with_time_zone(Papers::CreatedAt))
                .col(timestamp_with_time_zone(Papers::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Papers::Table, Papers::OrganizationId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Papers::Table, Papers::SubmittedById)
                        .to(HfUsers::Table, HfUsers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Authors::Table)
                .col(big_pk_auto(Authors::Id))
                .col(text_uniq(Authors::Name))
                .col(text(Authors::NameKey))
                .col(integer(Authors::PaperCount).default(0))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PaperAuthors::Table)
                .col(big_integer(PaperAuthors::PaperId))
                .col(integer(PaperAuthors::Position))
                .col(big_integer(PaperAuthors::AuthorId))
                .col(text(PaperAuthors::Name))
                .col(boolean(PaperAuthors::Hidden).default(false))
                .col(text_null(PaperAuthors::HfAuthorId))
                .col(big_integer_null(PaperAuthors::HfUserId))
                .col(text_null(PaperAuthors::ClaimStatus))
                .col(timestamp_with_time_zone_null(PaperAuthors::StatusChangedAt))
                .primary_key(
                    Index::create()
                        .col(PaperAuthors::PaperId)
                        .col(PaperAuthors::Position),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(PaperAuthors::Table, PaperAuthors::PaperId)
                        .to(Papers::Table, Papers::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(PaperAuthors::Table, PaperAuthors::AuthorId)
                        .to(Authors::Table, Authors::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(PaperAuthors::Table, PaperAuthors::HfUserId)
                        .to(HfUsers::Table, HfUsers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(UpvoteSnapshots::Table)
                .col(big_pk_auto(UpvoteSnapshots::Id))
                .col(big_integer(UpvoteSnapshots::PaperId))
                .col(timestamp_with_time_zone(UpvoteSnapshots::TakenAt))
                .col(integer(UpvoteSnapshots::Upvotes))
                .col(integer(UpvoteSnapshots::NumComments))
                .col(integer_null(UpvoteSnapshots::GithubStars))
                .foreign_key(
                    ForeignKey::create()
                        .from(UpvoteSnapshots::Table, UpvoteSnapshots::PaperId)
                        .to(Papers::Table, Papers::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(DailyLists::Table)
                .col(date(DailyLists::Date).primary_key())
                .col(timestamp_with_time_zone(DailyLists::FetchedAt))
                .col(integer(DailyLists::PaperCount).default(0))
                .col(text_null(DailyLists::ContentHash))
                .col(text(DailyLists::Status))
                .col(text_null(DailyLists::Error))
                .col(integer(DailyLists::Attempts).default(0))
                .col(text(DailyLists::Source))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SyncRuns::Table)
                .col(big_pk_auto(SyncRuns::Id))
                .col(text(SyncRuns::Kind))
                .col(timestamp_with_time_zone(SyncRuns::StartedAt))
                .col(timestamp_with_time_zone_null(SyncRuns::FinishedAt))
                .col(text(SyncRuns::Status))
                .col(integer(SyncRuns::DaysTotal).default(0))
                .col(integer(SyncRuns::DaysOk).default(0))
                .col(integer(SyncRuns::DaysFailed).default(0))
                .col(integer(SyncRuns::PapersAdded).default(0))
                .col(integer(SyncRuns::PapersUpdated).default(0))
                .col(text_null(SyncRuns::Error))
                .to_owned(),
        )
        .await?;

        // Every order of the API is (key, id) so that keyset pagination is an index range scan;
        // the daily list (one date, ordered by popularity) is the hottest path.
        let p = || Papers::Table;
        for stmt in [
            index("idx_papers_daily_upvotes", p())
                .col(Papers::DailyDate)
                .col(Papers::Upvotes)
                .col(Papers::Id)
                .to_owned(),
            index("idx_papers_daily_trending", p())
                .col(Papers::DailyDate)
                .col(Papers::TrendingScore)
                .col(Papers::Id)
                .to_owned(),
            index("idx_papers_upvotes", p())
                .col(Papers::Upvotes)
                .col(Papers::Id)
                .to_owned(),
            index("idx_papers_trending", p())
                .col(Papers::TrendingScore)
                .col(Papers::Id)
                .to_owned(),
            index("idx_papers_comments", p())
                .col(Papers::NumComments)
                .col(Papers::Id)
                .to_owned(),
            index("idx_papers_published", p())
                .col(Papers::PublishedAt)
                .col(Papers::Id)
                .to_owned(),
            index("idx_papers_organization", p())
                .col(Papers::OrganizationId)
                .to_owned(),
            index("idx_papers_submitted_by", p())
                .col(Papers::SubmittedById)
                .to_owned(),
            index("idx_authors_name_key", Authors::Table)
                .col(Authors::NameKey)
                .to_owned(),
            index("idx_authors_paper_count", Authors::Table)
                .col(Authors::PaperCount)
                .col(Authors::Id)
                .to_owned(),
            index("idx_paper_authors_author", PaperAuthors::Table)
                .col(PaperAuthors::AuthorId)
                .col(PaperAuthors::PaperId)
                .to_owned(),
            index("idx_upvote_snapshots_paper_time", UpvoteSnapshots::Table)
                .col(UpvoteSnapshots::PaperId)
                .col(UpvoteSnapshots::TakenAt)
                .unique()
                .to_owned(),
            index("idx_sync_runs_started", SyncRuns::Table)
                .col(SyncRuns::StartedAt)
                .to_owned(),
        ] {
            m.create_index(stmt).await?;
        }
        // Orders over nullable columns sort NULL as the lowest value on both backends, through the
        // same COALESCE expressions that `repo::papers` orders by.
        let db = m.get_connection();
        db.execute_unprepared(
            "CREATE INDEX idx_papers_stars ON papers ((COALESCE(github_stars, -1)), id)",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX idx_papers_daily_date ON papers ((COALESCE(daily_date, '0001-01-01')), id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            SyncRuns::Table.into_iden(),
            DailyLists::Table.into_iden(),
            UpvoteSnapshots::Table.into_iden(),
            PaperAuthors::Table.into_iden(),
            Authors::Table.into_iden(),
            Papers::Table.into_iden(),
            HfUsers::Table.into_iden(),
            Organizations::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
