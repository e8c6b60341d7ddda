//! Whether the database can be reached, known within about two seconds of an outage: a probe on a
//! connection of its own (outside the pool, so load never delays it), and every request that
//! meets a connection error. While it is down, requests are answered at once (503, or a cached
//! answer marked stale) instead of waiting out the pool's acquire timeout; when the probe gets
//! through again, the pool's idle connections are checked so none broken in the outage is used.
use std::time::Duration;

use sea_orm::sqlx::{Connection, PgConnection};
use sea_orm::{DatabaseConnection, DbBackend, DbErr, RuntimeErr};
use tokio::sync::watch;

/// How often the probe asks.
pub const PROBE_EVERY: Duration = Duration::from_millis(500);
/// How long one probe (connect, or `SELECT 1`) may take before the database counts as down.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);
/// What a client is told to wait before retrying while the database is down.
pub const RETRY_AFTER_SECS: u64 = 2;

/// The database's reachability, as this process last saw it.
#[derive(Debug)]
pub struct DbHealth {
    up: watch::Sender<bool>,
    /// Wakes the probe before its next tick (a request met a connection error).
    nudge: tokio::sync::Notify,
}

impl Default for DbHealth {
    fn default() -> Self {
        Self {
            up: watch::Sender::new(true),
            nudge: tokio::sync::Notify::new(),
        }
    }
}

impl DbHealth {
    pub fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Follows changes (tests and the in-flight requests that stop when it goes down).
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.up.subscribe()
    }

    /// A request met a connection error: the probe asks now rather than at its next tick, so
    /// the requests after it are answered at once if the database is gone.
    pub fn suspect(&self) {
        self.nudge.notify_one();
    }

    fn set(&self, up: bool) {
        let changed = self.up.send_if_modified(|now| {
            let changed = *now != up;
            *now = up;
            changed
        });
        if changed && up {
            tracing::warn!("the database answers again");
        } else if changed {
            tracing::error!(
                "the database cannot be reached; requests that need it answer DATABASE_UNAVAILABLE until it is back"
            );
        }
    }

    /// Probes the database every [`PROBE_EVERY`] for as long as the process runs (PostgreSQL; a
    /// SQLite file has no connection to lose).
    pub async fn watch(self: std::sync::Arc<Self>, db: DatabaseConnection) {
        if db.get_database_backend() != DbBackend::Postgres {
            return;
        }
        let options = db.get_postgres_connection_pool().connect_options();
        let mut conn: Option<PgConnection> = None;
        let mut tick = tokio::time::interval(PROBE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = self.nudge.notified() => {}
            }
            let ok = match conn.as_mut() {
                Some(c) => matches!(
                    tokio::time::timeout(PROBE_TIMEOUT, c.ping()).await,
                    Ok(Ok(()))
                ),
                None => {
                    match tokio::time::timeout(PROBE_TIMEOUT, PgConnection::connect_with(&options))
                        .await
                    {
                        Ok(Ok(c)) => {
                            conn = Some(c);
                            true
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, "the database probe cannot connect");
                            false
                        }
                        Err(_) => false,
                    }
                }
            };
            if !ok {
                conn = None;
            }
            let was_up = self.is_up();
            if ok && !was_up {
                drop_broken_idle(&db).await;
            }
            self.set(ok);
        }
    }
}

/// Checks the pool's idle connections once, so that none broken during an outage serves the
/// first requests after it (a connection that fails its ping is closed as it is released).
async fn drop_broken_idle(db: &DatabaseConnection) {
    let pool = db.get_postgres_connection_pool();
    let mut held = Vec::new();
    for _ in 0..pool.num_idle() {
        let Some(mut c) = pool.try_acquire() else {
            break;
        };
        if !matches!(
            tokio::time::timeout(PROBE_TIMEOUT, c.ping()).await,
            Ok(Ok(()))
        ) {
            c.close_on_drop();
        }
        held.push(c);
    }
}

/// Whether an error says the database cannot be reached (as opposed to a bad statement, a
/// constraint, or a pool that is only busy).
pub fn is_outage(e: &DbErr) -> bool {
    use sea_orm::sqlx::Error as X;
    let sqlx = match e {
        DbErr::Conn(RuntimeErr::SqlxError(x))
        | DbErr::Exec(RuntimeErr::SqlxError(x))
        | DbErr::Query(RuntimeErr::SqlxError(x)) => x.as_ref(),
        DbErr::Conn(_) | DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::ConnectionClosed) => {
            return true;
        }
        _ => return false,
    };
    match sqlx {
        X::Io(_) | X::Tls(_) | X::Protocol(_) | X::PoolClosed | X::WorkerCrashed => true,
        // PostgreSQL shutting down or starting up, or the connection lost (class 08, 57P0x).
        X::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P0")),
        _ => false,
    }
}
