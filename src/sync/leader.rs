//! One sync leader among replicas: on PostgreSQL, the replica holding a session advisory lock
//! (keyed by the schema, so databases and schemas never collide) runs the sync; the others skip
//! their passes. The lock lives on a connection of its own, outside the pool: when the leader
//! dies, or its connection does, PostgreSQL releases the lock and the next replica to try (every
//! interval) takes over. SQLite serves one process, which always leads.
use sea_orm::sqlx::{Connection, PgConnection};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

/// This replica's claim to the sync.
#[derive(Default)]
pub struct Leadership {
    held: Option<PgConnection>,
    /// Whether the last check found this replica leading (for log lines on changes only).
    leading: Option<bool>,
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leadership")
            .field("leading", &self.leading)
            .finish_non_exhaustive()
    }
}

const TRY_LOCK: &str = "SELECT pg_try_advisory_lock(hashtext($1))";

impl Leadership {
    /// Whether this replica leads now: keeps the lock it holds (checking its connection still
    /// lives) or tries to take it.
    pub async fn check(&mut self, db: &DatabaseConnection) -> bool {
        if db.get_database_backend() != DbBackend::Postgres {
            return true;
        }
        if let Some(conn) = &mut self.held
            && conn.ping().await.is_err()
        {
            tracing::warn!("lost the connection that held the sync lock; trying to take it again");
            self.held = None;
        }
        if self.held.is_none() {
            self.held = try_lock(db).await;
        }
        let leading = self.held.is_some();
        if self.leading != Some(leading) {
            if leading {
                tracing::info!("this replica leads the sync");
            } else {
                tracing::info!("another replica leads the sync; this one serves only");
            }
            self.leading = Some(leading);
        }
        leading
    }

    /// Gives the lock up (at shutdown), so another replica can take over at once.
    pub async fn release(&mut self) {
        if let Some(conn) = self.held.take() {
            let _ = conn.close().await;
        }
    }
}

async fn try_lock(db: &DatabaseConnection) -> Option<PgConnection> {
    // The pool's connections set the search path after connecting; this one does not, so the
    // schema is asked through the pool.
    let schema = match db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_schema()",
        ))
        .await
    {
        Ok(Some(row)) => row.try_get_by_index::<String>(0).unwrap_or_default(),
        Ok(None) => String::new(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot ask for the sync lock");
            return None;
        }
    };
    let options = db.get_postgres_connection_pool().connect_options();
    let mut conn = match PgConnection::connect_with(&options).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "cannot open a connection for the sync lock");
            return None;
        }
    };
    match sea_orm::sqlx::query_scalar::<_, bool>(TRY_LOCK)
        .bind(format!("papergraph-sync:{schema}"))
        .fetch_one(&mut conn)
        .await
    {
        Ok(true) => Some(conn),
        Ok(false) => {
            let _ = conn.close().await;
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot ask for the sync lock");
            None
        }
    }
}
