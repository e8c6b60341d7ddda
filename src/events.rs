//! Change tracking: a process-wide data generation, bumped after every committed write, so
//! anything derived from stored data (the response cache, the keyword index) knows when it is
//! stale.
//!
//! Writers in this process bump it right after their transaction commits. Writes by other
//! processes are noticed by `repo::changes::watch_external_writes`:
//! - on PostgreSQL, by `LISTEN`: every server sends `NOTIFY papergraph_changes` right after its
//!   own commits, and every importer's transaction sends `NOTIFY papergraph_events` (delivered
//!   on commit), so another replica's write reaches this process's caches within milliseconds;
//! - on SQLite, by `PRAGMA data_version` on a connection of its own, every [`EXTERNAL_POLL`]:
//!   it moves on any commit to the file by another connection, whichever tables it wrote;
//! - on PostgreSQL only while the `LISTEN` connection is down (and on SQLite when the watching
//!   connection cannot be opened), by polling the daily-list table's write marks every
//!   [`EXTERNAL_POLL`].
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

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

/// Wakes the task that tells other processes about this one's commits (PostgreSQL).
pub static LOCAL_WRITES: std::sync::LazyLock<tokio::sync::Notify> =
    std::sync::LazyLock::new(tokio::sync::Notify::new);

/// Marks stored data as changed; call after a commit, never before.
pub fn data_changed() {
    bump();
    LOCAL_WRITES.notify_one();
}

/// Marks stored data as changed by another process (nothing to pass on).
pub fn bump() {
    let g = GENERATION.fetch_add(1, Ordering::AcqRel) + 1;
    CHANGES.send_replace(g);
}

/// The `NOTIFY` channel of committed writes (payload: the schema written to).
pub const CHANNEL: &str = "papergraph_changes";

/// How often other processes' writes are looked for.
pub const EXTERNAL_POLL: Duration = Duration::from_millis(500);
