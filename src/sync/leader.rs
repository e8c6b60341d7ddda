//! One sync leader among replicas: on PostgreSQL, the replica holding a session advisory lock
//! (keyed by the schema, so databases and schemas never collide) runs the sync; the others skip
//! their passes. The lock lives on a connection of its own, outside the pool: when the leader
//! dies, or its connection does, PostgreSQL releases the lock and the next replica to try (every
//! interval) takes over. SQLite serves one process, which always leads.
use sea_orm::sqlx::{Connection, PgConnection};
use sea_orm::{DatabaseConnection, DbBackend};

use crate::entities::sync_run;

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
            self.held = crate::repo::sync_lock::try_take(db).await;
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

/// One sync at a time. In this process, a scheduled pass and a requested sync each hold `runs`
/// while they run (a request made during a pass waits for it). Across replicas, the advisory
/// lock: the leader's scheduler holds it while it leads, and a sync requested on a replica that
/// does not lead takes it for its run, or is refused while another replica holds it.
#[derive(Debug, Default)]
pub struct SyncGate {
    runs: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Whether this process's scheduler holds the advisory lock.
    leading: std::sync::atomic::AtomicBool,
}

/// A claim to run a sync outside the schedule; [`SyncGate::run`] turns it into a turn.
#[derive(Debug)]
pub struct Claim {
    _lock: Option<PgConnection>,
}

/// A turn to sync: held for the run, released on drop (a panicking run releases it too).
#[derive(Debug)]
pub struct Turn {
    _runs: tokio::sync::OwnedMutexGuard<()>,
    _lock: Claim,
}

impl SyncGate {
    /// Records what the scheduler's last leadership check found.
    pub fn set_leading(&self, leading: bool) {
        self.leading
            .store(leading, std::sync::atomic::Ordering::Release);
    }

    /// The scheduler's turn for one pass (waits for a requested sync that is running).
    pub async fn pass(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.runs.clone().lock_owned().await
    }

    /// Whether a sync is running in this process now.
    pub fn busy(&self) -> bool {
        self.runs.try_lock().is_err()
    }

    /// Claims a sync outside the schedule: on PostgreSQL, unless this replica leads, takes the
    /// advisory lock; `None` while another replica holds it.
    pub async fn claim(&self, db: &DatabaseConnection) -> Option<Claim> {
        if db.get_database_backend() != DbBackend::Postgres
            || self.leading.load(std::sync::atomic::Ordering::Acquire)
        {
            return Some(Claim { _lock: None });
        }
        crate::repo::sync_lock::try_take(db)
            .await
            .map(|conn| Claim { _lock: Some(conn) })
    }

    /// Waits for this process's running sync, if any, then holds the turn.
    pub async fn run(&self, claim: Claim) -> Turn {
        Turn {
            _runs: self.runs.clone().lock_owned().await,
            _lock: claim,
        }
    }

    /// Resolves once no sync runs in this process (shutdown waits for it).
    pub async fn idle(&self) {
        drop(self.runs.lock().await);
    }
}

/// Syncs asked for outside the schedule (the admin's `requestSync`): at most one per server at a
/// time, run in the background under the [`SyncGate`], stopping between days at shutdown.
pub struct Requests {
    upstream: std::sync::Arc<super::upstream::Upstream>,
    gate: std::sync::Arc<SyncGate>,
    stop: super::worker::Stop,
    /// A requested sync is queued or running.
    running: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for Requests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Requests")
            .field("running", &self.running)
            .finish_non_exhaustive()
    }
}

/// How a request for a sync was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Running now.
    Running,
    /// Waiting for this server's running pass.
    Queued,
}

/// Why a request for a sync was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// A requested sync is queued or running on this server already.
    InProgress,
    /// Another replica leads the sync and holds its lock.
    Busy,
}

/// Clears the "requested sync running" flag when the run ends, however it ends.
struct Running(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::Release);
    }
}

impl Requests {
    pub fn new(
        upstream: std::sync::Arc<super::upstream::Upstream>,
        gate: std::sync::Arc<SyncGate>,
        stop: super::worker::Stop,
    ) -> Requests {
        Requests {
            upstream,
            gate,
            stop,
            running: Default::default(),
        }
    }

    /// Starts syncing `dates` in the background, recorded as a `requested` run.
    pub async fn request(
        &self,
        db: &DatabaseConnection,
        dates: Vec<chrono::NaiveDate>,
    ) -> Result<Accepted, Refused> {
        use std::sync::atomic::Ordering;
        if self.running.swap(true, Ordering::AcqRel) {
            return Err(Refused::InProgress);
        }
        let running = Running(self.running.clone());
        let claim = self.gate.claim(db).await.ok_or(Refused::Busy)?;
        let accepted = if self.gate.busy() {
            Accepted::Queued
        } else {
            Accepted::Running
        };
        let (db, upstream, gate, stop) = (
            db.clone(),
            self.upstream.clone(),
            self.gate.clone(),
            self.stop.clone(),
        );
        tokio::spawn(async move {
            let _running = running;
            let _turn = gate.run(claim).await;
            if stop.requested() {
                return;
            }
            let progress = indicatif::ProgressBar::hidden();
            let result = super::worker::sync_days_until(
                &db,
                upstream,
                dates,
                sync_run::Kind::Requested,
                &progress,
                &stop,
            )
            .await;
            if let Err(e) = result {
                tracing::error!(error = %format!("{e:#}"), "a requested sync failed");
            }
        });
        Ok(accepted)
    }
}
