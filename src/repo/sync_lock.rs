//! The sync leader's lock on PostgreSQL: a session advisory lock keyed by the schema, held on a
//! connection of its own outside the pool (PostgreSQL frees it when that connection closes).
use sea_orm::sqlx::{Connection, PgConnection};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

const TRY_LOCK: &str = "SELECT pg_try_advisory_lock(hashtext($1))";

/// The lock on a connection of its own, or `None` while another session holds it (or the
/// database cannot be reached).
pub async fn try_take(db: &DatabaseConnection) -> Option<PgConnection> {
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
