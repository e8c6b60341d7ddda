//! The only place that builds SQL: plain async functions over `&impl ConnectionTrait`, shared by the
//! GraphQL resolvers, the CLI and the sync worker.
pub mod authors;
pub mod changes;
pub mod cursor;
pub mod deliveries;
pub mod details;
pub mod direct;
pub mod facets;
pub mod health;
pub mod import;
pub mod keyset;
pub mod organizations;
pub mod paper_events;
pub mod papers;
pub mod rows;
pub mod search_source;
pub mod similar;
pub mod status;
pub mod subscriptions;
pub mod suggest_source;
pub mod sync_lock;

/// Starts a transaction that writes. On SQLite it takes the write lock at `BEGIN IMMEDIATE`,
/// waiting out the busy timeout behind another writer: a deferred transaction that reads first
/// fails with `database is locked` at its first write when another connection wrote meanwhile,
/// without waiting. (PostgreSQL ignores the mode.) Its commit announces the change.
pub async fn begin_write<C: sea_orm::TransactionTrait>(
    db: &C,
) -> Result<Write<C::Transaction>, sea_orm::DbErr> {
    db.begin_with_options(sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
    .map(Write)
}

/// A write transaction whose commit moves the data generation (`crate::events`) right after it
/// commits, so the response cache, the keyword index and the live tailer follow every write by
/// construction. Dropped without a commit, it rolls back.
#[derive(Debug)]
pub struct Write<T>(T);

impl<T: sea_orm::TransactionSession> Write<T> {
    pub async fn commit(self) -> Result<(), sea_orm::DbErr> {
        self.0.commit().await?;
        crate::events::data_changed();
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), sea_orm::DbErr> {
        self.0.rollback().await
    }
}

impl<T> std::ops::Deref for Write<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// On SQLite, copies the write-ahead log into the database file and truncates it, so a bulk
/// write (a backfill, an import) does not leave its log for the next process to fold in.
/// Best effort: a reader holding an old snapshot makes it partial, which is harmless.
pub async fn checkpoint(db: &sea_orm::DatabaseConnection) {
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return;
    }
    let started = std::time::Instant::now();
    use sea_orm::ConnectionTrait;
    match db
        .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
        .await
    {
        Ok(_) => tracing::debug!(
            millis = started.elapsed().as_millis() as u64,
            "write-ahead log checkpointed"
        ),
        Err(e) => tracing::warn!(error = %e, "could not checkpoint the write-ahead log"),
    }
}

/// Creates a PostgreSQL schema unless it exists (`schema`: letters, digits, underscores).
pub async fn create_schema<C: sea_orm::ConnectionTrait>(
    db: &C,
    schema: &str,
) -> Result<(), sea_orm::DbErr> {
    db.execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
        .await
        .map(|_| ())
}

/// One number from a statement without parameters (0 when it returns no row).
pub(crate) async fn scalar<C: sea_orm::ConnectionTrait>(
    db: &C,
    sql: &str,
) -> Result<i64, sea_orm::DbErr> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get_by_index::<i64>(0)?,
        None => 0,
    })
}

/// Escapes `%`, `_` and `!` for a `LIKE … ESCAPE '!'` pattern. (`!`, not a backslash, because
/// the two backends treat backslashes in string literals differently.)
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_committed_write_moves_the_data_generation() {
        use sea_orm::ConnectionTrait;
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        let before = crate::events::generation();
        let txn = super::begin_write(&db).await.unwrap();
        txn.execute_unprepared("CREATE TABLE t (x INTEGER)")
            .await
            .unwrap();
        txn.commit().await.unwrap();
        assert!(crate::events::generation() > before);
    }
}
