//! The `paper_events` table: the writer records one row per paper added or changed inside its
//! own transaction (and, on PostgreSQL, the `NOTIFY` its commit delivers), and every server's
//! live tailer (`crate::live`) reads the rows after the last one it saw.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

/// The `NOTIFY` channel.
pub const CHANNEL: &str = "papergraph_events";
/// Events kept in `paper_events` (older ones are pruned by writers).
const KEEP: i64 = 100_000;
/// Rows read per query by a tailer.
pub const READ: i64 = 5_000;

/// A paper's figures that subscribers follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Figures {
    pub upvotes: i32,
    pub comments: i32,
    pub stars: Option<i32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A paper stored for the first time.
    Added,
    /// Upvotes, comments or stars of a stored paper changed.
    Updated,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Added => "added",
            Kind::Updated => "updated",
        }
    }
}

/// One change a writer records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaperChange {
    pub paper_id: i64,
    pub kind: Kind,
    /// `None` for an added paper.
    pub before: Option<Figures>,
    pub after: Figures,
}

/// Records events in the writer's transaction (and, on PostgreSQL, the `NOTIFY` that commit
/// delivers). Rows get increasing sequence numbers in commit order: PostgreSQL writers take the
/// table's lock one after the other (plain reads are not blocked).
pub async fn record<C: ConnectionTrait>(
    txn: &C,
    changes: &[PaperChange],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if changes.is_empty() {
        return Ok(());
    }
    let pg = txn.get_database_backend() == DbBackend::Postgres;
    if pg {
        txn.execute_unprepared("LOCK TABLE paper_events IN SHARE ROW EXCLUSIVE MODE")
            .await?;
    }
    for chunk in changes.chunks(400) {
        let mut ins = Query::insert();
        ins.into_table("paper_events").columns([
            "kind",
            "paper_id",
            "upvotes_before",
            "comments_before",
            "stars_before",
            "upvotes",
            "comments",
            "stars",
            "created_at",
        ]);
        for c in chunk {
            ins.values_panic([
                c.kind.as_str().into(),
                c.paper_id.into(),
                c.before.map(|b| b.upvotes).into(),
                c.before.map(|b| b.comments).into(),
                c.before.and_then(|b| b.stars).into(),
                c.after.upvotes.into(),
                c.after.comments.into(),
                c.after.stars.into(),
                now.into(),
            ]);
        }
        txn.execute(&ins).await?;
    }
    txn.execute_unprepared(&format!(
        "DELETE FROM paper_events WHERE seq <= (SELECT MAX(seq) FROM paper_events) - {KEEP}"
    ))
    .await?;
    if pg {
        txn.execute_unprepared(&format!("SELECT pg_notify('{CHANNEL}', current_schema())"))
            .await?;
    }
    Ok(())
}

/// A committed event, as subscribers receive it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaperEvent {
    pub seq: i64,
    pub kind: Kind,
    pub paper_id: i64,
    pub before: Option<Figures>,
    pub after: Figures,
    pub at: DateTime<Utc>,
}

/// The newest event's sequence number (0 for none).
pub async fn last_seq(db: &DatabaseConnection) -> Result<i64, DbErr> {
    super::scalar(db, "SELECT COALESCE(MAX(seq), 0) FROM paper_events").await
}

/// Up to [`READ`] events after `after`, oldest first.
pub async fn read_after(db: &DatabaseConnection, after: i64) -> Result<Vec<PaperEvent>, DbErr> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT seq, kind, paper_id, upvotes_before, comments_before, stars_before, upvotes, \
         comments, stars, created_at FROM paper_events WHERE seq > {after} ORDER BY seq LIMIT {READ}"
    );
    let rows = db
        .query_all_raw(Statement::from_string(backend, sql))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let kind: String = r.try_get_by_index(1)?;
        let ub: Option<i32> = r.try_get_by_index(3)?;
        let cb: Option<i32> = r.try_get_by_index(4)?;
        let sb: Option<i32> = r.try_get_by_index(5)?;
        out.push(PaperEvent {
            seq: r.try_get_by_index(0)?,
            kind: if kind == "added" {
                Kind::Added
            } else {
                Kind::Updated
            },
            paper_id: r.try_get_by_index(2)?,
            before: match (ub, cb) {
                (Some(upvotes), Some(comments)) => Some(Figures {
                    upvotes,
                    comments,
                    stars: sb,
                }),
                _ => None,
            },
            after: Figures {
                upvotes: r.try_get_by_index(6)?,
                comments: r.try_get_by_index(7)?,
                stars: r.try_get_by_index(8)?,
            },
            at: r.try_get_by_index(9)?,
        });
    }
    Ok(out)
}
