//! The subscription root: `paperAdded` and `paperUpdated`, fed by the live event bus.
use std::collections::VecDeque;
use std::sync::Arc;

use async_graphql::{Context, SimpleObject, Subscription};
use futures_util::Stream;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::broadcast::error::RecvError;

use super::inputs::PaperFilter;
use super::paper::Paper;
use super::scalars::DateTime;
use crate::error::{ApiResult, AppError};
use crate::live::{Batch, Bus};
use crate::repo::paper_events::{Figures, Kind, PaperEvent};
use crate::repo::papers::PaperCriteria;

/// A paper's upvotes, comments and GitHub stars at one moment.
#[derive(SimpleObject, Clone, Copy, Debug)]
pub struct PaperFigures {
    /// Upvotes on Hugging Face.
    pub upvotes: i32,
    /// Comments in the paper's discussion.
    pub num_comments: i32,
    /// Stars of the paper's GitHub repository, when it has one.
    pub github_stars: Option<i32>,
}

impl From<Figures> for PaperFigures {
    fn from(f: Figures) -> Self {
        PaperFigures {
            upvotes: f.upvotes,
            num_comments: f.comments,
            github_stars: f.stars,
        }
    }
}

/// A stored paper whose upvotes, comments or stars changed.
#[derive(SimpleObject, Clone)]
pub struct PaperUpdate {
    /// The paper as stored now.
    pub paper: Paper,
    /// The figures before the change.
    pub previous: PaperFigures,
    /// The figures the change stored.
    pub current: PaperFigures,
    /// When the change was committed.
    pub changed_at: DateTime,
}

#[derive(Default)]
pub struct Subscription;

/// Live updates over websockets at `/graphql/ws` (graphql-transport-ws): papers the sync stores
/// and figures that change, as they are committed.
#[Subscription]
impl Subscription {
    /// Fires when the sync stores a paper for the first time and it matches `filter`.
    async fn paper_added(
        &self,
        ctx: &Context<'_>,
        filter: Option<PaperFilter>,
    ) -> async_graphql::Result<impl Stream<Item = Paper> + use<>> {
        let (rx, db, criteria) = open(ctx, filter).await?;
        Ok(events(rx, db, criteria, Kind::Added, |p, _| p))
    }

    /// Fires when the upvotes, comments or GitHub stars of a stored paper matching `filter`
    /// change, with the values before and after.
    async fn paper_updated(
        &self,
        ctx: &Context<'_>,
        filter: Option<PaperFilter>,
    ) -> async_graphql::Result<impl Stream<Item = PaperUpdate> + use<>> {
        let (rx, db, criteria) = open(ctx, filter).await?;
        Ok(events(rx, db, criteria, Kind::Updated, |paper, e| {
            PaperUpdate {
                paper,
                previous: e.before.unwrap_or(e.after).into(),
                current: e.after.into(),
                changed_at: DateTime(e.at),
            }
        }))
    }
}

type Receiver = tokio::sync::broadcast::Receiver<Arc<Batch>>;

async fn open(
    ctx: &Context<'_>,
    filter: Option<PaperFilter>,
) -> ApiResult<(Receiver, DatabaseConnection, PaperCriteria)> {
    let criteria = match filter {
        Some(f) => f.criteria()?,
        None => PaperCriteria::default(),
    };
    let bus = ctx.data::<Arc<Bus>>()?;
    let db = ctx.data::<DatabaseConnection>()?.clone();
    let rx = bus.subscribe().await.map_err(AppError::from)?;
    Ok((rx, db, criteria))
}

/// The papers of a batch's `kind` events that match `criteria`, in event order (one query per
/// batch and distinct filter, shared by every subscriber with that filter).
async fn matching(
    db: &DatabaseConnection,
    criteria: &PaperCriteria,
    kind: Kind,
    events: &[PaperEvent],
) -> Result<Vec<(Paper, PaperEvent)>, DbErr> {
    let wanted: Vec<&PaperEvent> = events.iter().filter(|e| e.kind == kind).collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = wanted.iter().map(|e| e.paper_id).collect();
    let rows = crate::repo::papers::matching(db, criteria, &ids).await?;
    let papers: std::collections::HashMap<i64, Paper> = Paper::page(db, rows)
        .into_iter()
        .map(|p| (p.row.id, p))
        .collect();
    Ok(wanted
        .into_iter()
        .filter_map(|e| Some((papers.get(&e.paper_id)?.clone(), e.clone())))
        .collect())
}

fn events<T: Send + 'static>(
    rx: Receiver,
    db: DatabaseConnection,
    criteria: PaperCriteria,
    kind: Kind,
    make: fn(Paper, &PaperEvent) -> T,
) -> impl Stream<Item = T> + use<T> {
    let key = format!("{kind:?}|{criteria:?}");
    let state = (rx, VecDeque::<T>::new());
    futures_util::stream::unfold(state, move |(mut rx, mut pending)| {
        let (db, criteria, key) = (db.clone(), criteria.clone(), key.clone());
        async move {
            loop {
                if let Some(item) = pending.pop_front() {
                    return Some((item, (rx, pending)));
                }
                let batch = match rx.recv().await {
                    Ok(b) => b,
                    Err(RecvError::Lagged(n)) => {
                        tracing::debug!(skipped = n, "a slow subscriber skipped event batches");
                        continue;
                    }
                    Err(RecvError::Closed) => return None,
                };
                match batch
                    .shared(&key, || matching(&db, &criteria, kind, &batch.events))
                    .await
                {
                    Ok(found) => pending.extend(found.iter().map(|(p, e)| make(p.clone(), e))),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not match paper events to a subscription; skipped")
                    }
                }
            }
        }
    })
}
