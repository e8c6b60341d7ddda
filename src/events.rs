//! Change tracking: a process-wide data generation, bumped after every committed write, so
//! anything derived from stored data (the response cache) knows when it is stale.
//!
//! Writers in this process bump it right after their transaction commits. Writers in other
//! processes (a `papergraph import` next to a running server, another replica) are noticed by
//! [`watch_external_writes`], which polls the daily-list table's write marks.
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::DatabaseConnection;

static GENERATION: AtomicU64 = AtomicU64::new(1);

/// Wakes whoever follows writes (the live event tailers) when the generation moves.
static CHANGES: std::sync::LazyLock<tokio::sync::watch::Sender<u64>> =
    std::sync::LazyLock::new(|| tokio::sync::watch::Sender::new(1));

/// A receiver that sees the generation move after every commit in this process.
pub fn changes() -> tokio::sync::watch::Receiver<u64> {
    CHANGES.subscribe()
}

/// The current data generation.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// Marks stored data as changed; call after a commit, never before.
pub fn data_changed() {
    let g = GENERATION.fetch_add(1, Ordering::AcqRel) + 1;
    CHANGES.send_replace(g);
}

/// How often other processes' writes are looked for.
pub const EXTERNAL_POLL: Duration = Duration::from_millis(500);

/// Polls for writes committed by other processes and bumps the generation when it sees one.
pub async fn watch_external_writes(db: DatabaseConnection) {
    let mut last = None;
    let mut tick = tokio::time::interval(EXTERNAL_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match crate::repo::status::write_mark(&db).await {
            Ok(mark) => {
                if last.is_some() && last.as_ref() != Some(&mark) {
                    tracing::debug!("data changed outside this process; invalidating caches");
                    data_changed();
                }
                last = Some(mark);
            }
            Err(e) => tracing::debug!(error = %e, "could not poll for external writes"),
        }
    }
}
