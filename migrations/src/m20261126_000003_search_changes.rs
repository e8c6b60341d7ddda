//! Keyword search moves into the server process (an inverted index in memory, `repo::search`):
//! the SQL-side indexes of `000002` (FTS5 on SQLite, `tsvector` + GIN on PostgreSQL) are dropped,
//! and `search_changes` records which papers' searchable text changed, with a sequence number
//! that only grows, so every server (replicas included) brings its index up to date by reading
//! the rows after the last number it applied. Every existing paper is recorded once here.
//! `daily_lists.body_hash` lets the sync recognise an unchanged day from its bytes.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared(
            "CREATE TABLE search_changes (
                paper_id BIGINT PRIMARY KEY,
                seq BIGINT NOT NULL
            )",
        )
        .await?;
        db.execute_unprepared("CREATE INDEX idx_search_changes_seq ON search_changes (seq)")
            .await?;
        db.execute_unprepared(
            "INSERT INTO search_changes (paper_id, seq) SELECT id, 1 FROM papers",
        )
        .await?;
        // The sync's shortcut for unchanged days (see `daily_list::Model::body_hash`).
        db.execute_unprepared("ALTER TABLE daily_lists ADD COLUMN body_hash TEXT")
            .await?;
        match m.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                db.execute_unprepared("DROP TABLE IF EXISTS paper_search")
                    .await?
            }
            _ => {
                db.execute_unprepared("DROP TABLE IF EXISTS paper_fts")
                    .await?
            }
        };
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP TABLE search_changes").await?;
        db.execute_unprepared("ALTER TABLE daily_lists DROP COLUMN body_hash")
            .await?;
        // The SQL-side search tables of 000002 come back empty; nothing fills them any more.
        match m.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE TABLE paper_search (
                        paper_id BIGINT PRIMARY KEY REFERENCES papers (id) ON DELETE CASCADE,
                        document tsvector NOT NULL
                    )",
                )
                .await?;
            }
            _ => {
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
}
