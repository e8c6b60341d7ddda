//! Noticing other processes' commits (see `crate::events`): `LISTEN`/`NOTIFY` on PostgreSQL, the
//! file's `PRAGMA data_version` on SQLite, and a poll of the daily lists' write marks while
//! neither works.
use std::sync::atomic::Ordering;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};

use crate::events::{CHANNEL, EXTERNAL_POLL, LOCAL_WRITES, bump};

/// Polls for writes committed by other processes and bumps the generation when it sees one.
pub async fn watch_external_writes(db: DatabaseConnection) {
    // Whether `hear_changes` holds a working `LISTEN` (the write-mark poll then has nothing to add).
    let listening = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    if db.get_database_backend() == DbBackend::Postgres {
        tokio::spawn(share_changes(db.clone()));
        tokio::spawn(hear_changes(db.clone(), listening.clone()));
    }
    let mut last = None;
    let mut sqlite = SqliteVersion::open(&db).await;
    let mut tick = tokio::time::interval(EXTERNAL_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // On SQLite the file's version covers every commit, so the write marks add nothing.
        if let Some(v) = &mut sqlite {
            if v.moved().await {
                tracing::debug!("the SQLite file changed; invalidating caches");
                bump();
            }
            continue;
        }
        if listening.load(Ordering::Acquire) {
            // Start from a fresh mark when the poll takes over again (the listener marks the
            // data changed when it loses its connection).
            last = None;
            continue;
        }
        match super::status::write_mark(&db).await {
            Ok(mark) => {
                if last.is_some() && last.as_ref() != Some(&mark) {
                    tracing::debug!("data changed outside this process; invalidating caches");
                    bump();
                }
                last = Some(mark);
            }
            Err(e) => tracing::debug!(error = %e, "could not poll for external writes"),
        }
    }
}

/// SQLite's `PRAGMA data_version` on a connection of its own: it moves whenever any other
/// connection (another process, or this one's pool) commits to the file, whatever the tables.
struct SqliteVersion {
    conn: sea_orm::sqlx::SqliteConnection,
    last: Option<i64>,
}

impl SqliteVersion {
    async fn open(db: &DatabaseConnection) -> Option<SqliteVersion> {
        use sea_orm::sqlx::Connection;
        if db.get_database_backend() != DbBackend::Sqlite {
            return None;
        }
        let opts = db.get_sqlite_connection_pool().connect_options();
        match sea_orm::sqlx::SqliteConnection::connect_with(&opts).await {
            Ok(conn) => Some(SqliteVersion { conn, last: None }),
            Err(e) => {
                tracing::debug!(error = %e, "cannot open a connection to watch the SQLite file");
                None
            }
        }
    }

    /// Whether the file changed since the last call (never on the first).
    async fn moved(&mut self) -> bool {
        let now: Result<i64, _> = sea_orm::sqlx::query_scalar("PRAGMA data_version")
            .fetch_one(&mut self.conn)
            .await;
        match now {
            Ok(v) => {
                let moved = self.last.is_some_and(|l| l != v);
                self.last = Some(v);
                moved
            }
            Err(e) => {
                tracing::debug!(error = %e, "could not read PRAGMA data_version");
                false
            }
        }
    }
}

/// Sends `NOTIFY papergraph_changes` after this process's commits. One notice covers every
/// commit made before it is sent, so a burst of writes costs a few notices, not one each.
async fn share_changes(db: DatabaseConnection) {
    loop {
        LOCAL_WRITES.notified().await;
        let sql = format!("SELECT pg_notify('{CHANNEL}', current_schema())");
        if let Err(e) = db.execute_unprepared(&sql).await {
            tracing::debug!(error = %e, "could not tell other servers about a write");
        }
    }
}

/// Listens for other processes' commits on this schema and marks the data changed on each.
/// After a lost connection it reconnects and marks the data changed once listening again (a
/// notice may have been missed); the poll in [`watch_external_writes`] covers the time between.
async fn hear_changes(
    db: DatabaseConnection,
    listening: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use sea_orm::sqlx::postgres::PgListener;
    let pool = db.get_postgres_connection_pool().clone();
    let schema = loop {
        match db
            .query_one_raw(sea_orm::Statement::from_string(
                DbBackend::Postgres,
                "SELECT current_schema()",
            ))
            .await
        {
            Ok(Some(row)) => match row.try_get_by_index::<String>(0) {
                Ok(s) => break s,
                Err(e) => tracing::debug!(error = %e, "unreadable current_schema()"),
            },
            Ok(None) => {}
            Err(e) => tracing::debug!(error = %e, "cannot read current_schema()"),
        }
        tokio::time::sleep(EXTERNAL_POLL).await;
    };
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener
                .listen_all([CHANNEL, super::paper_events::CHANNEL])
                .await
            {
                Ok(()) => {
                    bump();
                    listening.store(true, Ordering::Release);
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(n)) if n.payload() == schema => bump(),
                            Ok(Some(_)) => {}
                            // The connection dropped. Reconnect from the top: the bump after
                            // the new `LISTEN` covers whatever was committed in between (the
                            // write-mark poll runs meanwhile).
                            Ok(None) => break,
                            Err(e) => {
                                tracing::warn!(error = %e, "the LISTEN connection for changes failed; reconnecting");
                                break;
                            }
                        }
                    }
                    listening.store(false, Ordering::Release);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot LISTEN for other servers' writes; polling")
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "cannot connect to LISTEN for other servers' writes; polling")
            }
        }
        tokio::time::sleep(EXTERNAL_POLL).await;
    }
}
