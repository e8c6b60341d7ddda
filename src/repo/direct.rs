//! PostgreSQL connections of their own for the hottest read (a page of papers with their
//! authors), held apart from sqlx's pool.
//!
//! sqlx's pool tests every connection it takes back with a round trip to the database (a `Sync`
//! message, on a task spawned for it), and sea-orm takes a connection from the pool for every
//! statement: the daily list's two statements made four round trips to PostgreSQL, two of them
//! for nothing. A [`Lease`] runs its statements on one connection and puts it back without a
//! test. What that test guards against is a connection left in the middle of a statement; here
//! a connection is out of its lease while a statement runs on it and goes back only when the
//! statement ran to its end: a request dropped mid-statement (a client gone, a timeout) or an
//! error closes it instead.
//!
//! At most `--db-max-connections` leases at a time, beside the pool's own connections (so a
//! server may hold twice that many); when all are out a request uses the pool. A lease is new
//! connections taken from the pool (with its settings: schema search path, statement timeout,
//! TLS) and detached from it.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::sqlx::{self, PgConnection, PgPool};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr,
    Statement,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Statements slower than this are logged at WARN.
const SLOW_STATEMENT: Duration = Duration::from_millis(250);

/// Counters about the database connection: statements run through the pool (its metric
/// callback, set by `app::connect`) and past it (leases).
#[derive(Debug, Default)]
pub struct DbStats {
    statements: AtomicU64,
}

impl DbStats {
    /// SQL statements executed so far.
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Counts a statement and logs it (at WARN when slow).
    pub fn observe(&self, sql: &str, elapsed: Duration, failed: bool) {
        self.statements.fetch_add(1, Ordering::Relaxed);
        let micros = elapsed.as_micros() as u64;
        if elapsed >= SLOW_STATEMENT {
            tracing::warn!(target: "papergraph::db", micros, failed, sql, "slow statement");
        } else {
            tracing::trace!(target: "papergraph::db", micros, failed, sql, "statement");
        }
    }
}

/// A connection idle longer than this is closed rather than reused (a server or a proxy on the
/// way may have dropped it meanwhile).
const IDLE_FOR: Duration = Duration::from_secs(300);

/// The connections of leases, idle ones last used first.
pub struct Direct {
    pool: PgPool,
    idle: Mutex<Vec<(PgConnection, Instant)>>,
    permits: Arc<Semaphore>,
    stats: Option<Arc<DbStats>>,
}

impl Direct {
    /// On PostgreSQL, as many leases as the pool has connections; `None` on SQLite.
    pub fn new(db: &DatabaseConnection, stats: Option<Arc<DbStats>>) -> Option<Arc<Direct>> {
        if db.get_database_backend() != DbBackend::Postgres {
            return None;
        }
        let pool = db.get_postgres_connection_pool().clone();
        let max = pool.options().get_max_connections().max(1) as usize;
        Some(Arc::new(Direct {
            pool,
            idle: Mutex::default(),
            permits: Arc::new(Semaphore::new(max)),
            stats,
        }))
    }

    /// A connection for a few statements, or `None` when every lease is out (use the pool).
    pub async fn lease(self: &Arc<Self>) -> Result<Option<Lease>, DbErr> {
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            return Ok(None);
        };
        let reused = loop {
            let Some((conn, since)) = self.idle().pop() else {
                break None;
            };
            if since.elapsed() < IDLE_FOR {
                break Some(conn);
            }
        };
        let was_idle = reused.is_some();
        let conn = match reused {
            Some(conn) => conn,
            None => self
                .pool
                .acquire()
                .await
                .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))))?
                .detach(),
        };
        Ok(Some(Lease {
            owner: self.clone(),
            conn: tokio::sync::Mutex::new(Some(conn)),
            was_idle,
            lost: AtomicBool::new(false),
            _permit: permit,
        }))
    }

    /// Connections waiting for a lease.
    pub fn idle_connections(&self) -> usize {
        self.idle().len()
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<(PgConnection, Instant)>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One connection for the statements of one read; it goes back to [`Direct`] when dropped, if
/// every statement on it ran to its end.
pub struct Lease {
    owner: Arc<Direct>,
    conn: tokio::sync::Mutex<Option<PgConnection>>,
    was_idle: bool,
    lost: AtomicBool,
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    /// Whether a statement failed because the connection was lost (closed by the server, a
    /// network error) on a connection that had been waiting idle: the read may be tried again
    /// elsewhere.
    pub fn lost_idle_connection(&self) -> bool {
        self.was_idle && self.lost.load(Ordering::Relaxed)
    }

    /// Runs `run` on the connection, which is out of the lease meanwhile: it comes back only if
    /// `run` finished without an error.
    async fn with<T>(
        &self,
        sql: &str,
        run: impl AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, DbErr> {
        let mut slot = self.conn.lock().await;
        let Some(mut conn) = slot.take() else {
            return Err(DbErr::Conn(RuntimeErr::Internal(
                "the connection of this read was closed after an earlier error".into(),
            )));
        };
        let started = Instant::now();
        let result = run(&mut conn).await;
        if let Some(stats) = &self.owner.stats {
            stats.observe(sql, started.elapsed(), result.is_err());
        }
        match result {
            Ok(v) => {
                *slot = Some(conn);
                Ok(v)
            }
            Err(e) => {
                if is_lost(&e) {
                    self.lost.store(true, Ordering::Relaxed);
                }
                Err(DbErr::Query(RuntimeErr::SqlxError(Arc::new(e))))
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.get_mut().take() {
            self.owner.idle().push((conn, Instant::now()));
        }
    }
}

/// Whether `e` says the connection is gone: a network or protocol error, or PostgreSQL ending
/// the session (SQLSTATE class 08, or 57P: an administrator's command, a crash, a restart).
fn is_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

/// `sql` with its values bound (taken from the statement, not copied).
fn query(
    sql: &str,
    values: Option<sea_orm::sea_query::Values>,
) -> sqlx::query::Query<'_, sqlx::Postgres, SqlxValues> {
    let values = values.unwrap_or(sea_orm::sea_query::Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(sql), SqlxValues(values))
}

#[async_trait::async_trait]
impl ConnectionTrait for Lease {
    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Postgres
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let Statement { sql, values, .. } = stmt;
        self.with(&sql, async |c| query(&sql, values).execute(c).await)
            .await
            .map(Into::into)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        use sqlx::Executor as _;
        self.with(sql, async |c| c.execute(sqlx::AssertSqlSafe(sql)).await)
            .await
            .map(Into::into)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        Ok(self.query_all_raw(stmt).await?.into_iter().next())
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let Statement { sql, values, .. } = stmt;
        let rows = self
            .with(&sql, async |c| query(&sql, values).fetch_all(c).await)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
