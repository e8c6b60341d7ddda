//! Discovery: the index that `trendingPapers` reads snapshots by time through, and the keyword
//! search index: an FTS5 table on SQLite (porter stemming, Unicode, accents folded),
//! a `tsvector` table with a GIN index on PostgreSQL. The importer keeps it in step with the
//! papers; the server fills it at start when it is empty and papers exist (an upgraded database).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared(
            "CREATE INDEX idx_upvote_snapshots_taken ON upvote_snapshots (taken_at, paper_id)",
        )
        .await?;
        // Precomputed similar papers (`Paper.similar`), best first per paper, and which papers
        // have been through the similarity pass.
        db.execute_unprepared(
            "CREATE TABLE paper_similar (
                paper_id BIGINT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
                similar_id BIGINT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
                score DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (paper_id, similar_id)
            )",
        )
        .await?;
        db.execute_unprepared(
            "CREATE TABLE paper_similar_state (
                paper_id BIGINT PRIMARY KEY REFERENCES papers (id) ON DELETE CASCADE
            )",
        )
        .await?;
        match m.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE TABLE paper_search (
                        paper_id BIGINT PRIMARY KEY REFERENCES papers (id) ON DELETE CASCADE,
                        document tsvector NOT NULL
                    )",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE INDEX idx_paper_search_document ON paper_search USING GIN (document)",
                )
                .await?;
            }
            _ => {
                // Columns in weight order: title, abstract, authors, AI keywords. The rowid is
                // the paper's id.
                db.execute_unprepared(
                    "CREATE VIRTUAL TABLE paper_fts USING fts5(
                        title, abstract, authors, keywords,
                        tokenize = 'porter unicode61 remove_diacritics 2'
                    )",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                db.execute_unprepared("DROP TABLE paper_search").await?
            }
            _ => db.execute_unprepared("DROP TABLE paper_fts").await?,
        };
        db.execute_unprepared("DROP INDEX idx_upvote_snapshots_taken")
            .await?;
        db.execute_unprepared("DROP TABLE paper_similar_state")
            .await?;
        db.execute_unprepared("DROP TABLE paper_similar").await?;
        Ok(())
    }
}
