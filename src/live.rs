//! Live paper events for GraphQL subscriptions (`paperAdded`, `paperUpdated`).
//!
//! The writer records one row per event in `paper_events`, inside its own transaction, so only
//! committed data ever produces an event, and on PostgreSQL it sends `NOTIFY papergraph_events`,
//! which PostgreSQL delivers on commit. Every server (every replica) runs one tailer while it has
//! subscribers: woken whenever the data generation moves (`events`: this process's commits, and
//! other processes' through the server's one `LISTEN` connection on PostgreSQL or the file's
//! version on SQLite), or at worst by a one-second poll, it reads the rows after the last one it
//! saw and broadcasts them, as one batch, to its local subscribers. A lost `LISTEN` connection (a
//! database restart) loses no event: the tailer reads on from its last sequence number, and the
//! subscribers' sockets never notice.
//!
//! Each subscriber's filter is evaluated once per batch and distinct filter (one query, shared by
//! every subscriber with the same filter), and a slow subscriber only skips batches: the channel
//! holds [`BACKLOG`] batches and never grows.
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::{OnceCell, broadcast};

use crate::repo::paper_events::{PaperEvent, READ, last_seq, read_after};

/// Batches a subscriber may fall behind before it skips.
pub const BACKLOG: usize = 256;
/// The tailer's poll when nothing woke it.
const POLL: Duration = Duration::from_secs(1);

type Shared = Arc<dyn Any + Send + Sync>;

/// The events of one read, with what subscribers derive from them computed once per key.
pub struct Batch {
    pub events: Vec<PaperEvent>,
    views: Mutex<HashMap<String, Arc<OnceCell<Shared>>>>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl Batch {
    pub fn new(events: Vec<PaperEvent>) -> Batch {
        Batch {
            events,
            views: Mutex::new(HashMap::new()),
        }
    }

    /// `init()`'s value for `key`, computed by the first subscriber that asks and shared with
    /// every other one (e.g. the papers matching one filter).
    pub async fn shared<T, E, F, Fut>(&self, key: &str, init: F) -> Result<Arc<T>, E>
    where
        T: Send + Sync + 'static,
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let key = format!("{}|{key}", std::any::type_name::<T>());
        let cell = self
            .views
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default()
            .clone();
        let value = cell
            .get_or_try_init(|| async { init().await.map(|t| Arc::new(t) as Shared) })
            .await?
            .clone();
        match value.downcast::<T>() {
            Ok(t) => Ok(t),
            // Unreachable (the key holds the type), but never worth a panic.
            Err(_) => init().await.map(Arc::new),
        }
    }
}

/// The events of one database for this server's subscribers.
pub struct Bus {
    db: DatabaseConnection,
    tx: broadcast::Sender<Arc<Batch>>,
    started: tokio::sync::OnceCell<()>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("subscribers", &self.tx.receiver_count())
            .finish_non_exhaustive()
    }
}

impl Bus {
    pub fn new(db: DatabaseConnection) -> Arc<Bus> {
        Arc::new(Bus {
            db,
            tx: broadcast::channel(BACKLOG).0,
            started: tokio::sync::OnceCell::new(),
        })
    }

    /// Live subscribers on this server: none until the tailer has started. (The first
    /// subscriber's receiver exists a moment before the tailer has read where the events stand;
    /// counting it then let a test commit in that moment and wait for an event the tailer, started
    /// after the commit, rightly took for an old one.)
    pub fn subscribers(&self) -> usize {
        if self.started.initialized() {
            self.tx.receiver_count()
        } else {
            0
        }
    }

    /// A receiver of every batch committed from now on. The first call starts the tailer
    /// (after reading where the events stand, so nothing committed after this returns is missed).
    pub async fn subscribe(&self) -> Result<broadcast::Receiver<Arc<Batch>>, DbErr> {
        let rx = self.tx.subscribe();
        self.started
            .get_or_try_init(|| async {
                let last = last_seq(&self.db).await?;
                tokio::spawn(tail(self.db.clone(), self.tx.clone(), last));
                Ok::<(), DbErr>(())
            })
            .await?;
        Ok(rx)
    }
}

/// Follows `paper_events` from `last` and broadcasts what it reads.
async fn tail(db: DatabaseConnection, tx: broadcast::Sender<Arc<Batch>>, mut last: i64) {
    // Every commit moves the data generation: this process's own, and (through
    // `repo::changes::watch_external_writes`: `LISTEN` on PostgreSQL, the file's version on SQLite)
    // other processes'.
    let mut changes = crate::events::changes();
    loop {
        tokio::select! {
            _ = changes.changed() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
        loop {
            match read_after(&db, last).await {
                Ok(events) if events.is_empty() => break,
                Ok(events) => {
                    let full = events.len() as i64 >= READ;
                    last = events.last().map_or(last, |e| e.seq);
                    // No receivers is fine: nobody is listening right now.
                    let _ = tx.send(Arc::new(Batch::new(events)));
                    if !full {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read paper events; retrying");
                    break;
                }
            }
        }
    }
}
