//! Admin mutations, for the operator only: `requestSync(from, to)` starts a sync of those days
//! now. They need `Authorization: Bearer <PAPERGRAPH_ADMIN_TOKEN>`; without a configured token
//! they answer `ADMIN_DISABLED`, without the header `UNAUTHENTICATED`, with a wrong one
//! `FORBIDDEN` (compared as SHA-256 digests, so timing says nothing about the token).
use std::sync::Arc;

use async_graphql::{Context, ErrorExtensions as _, Object};
use chrono::Utc;
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use super::query::SyncRun;
use super::scalars::{Date, DateTime};
use crate::error::{ApiResult, Code, coded};
use crate::sync::leader::{Accepted, Refused, Requests};

/// Days one requested sync may cover.
pub const MAX_REQUESTED_DAYS: i64 = 366;

/// What admin mutations need (schema data; `None` inside when no admin token is configured).
#[derive(Clone, Default)]
pub struct Admin(pub Option<Arc<AdminContext>>);

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("enabled", &self.0.is_some())
            .finish()
    }
}

pub struct AdminContext {
    token_digest: [u8; 32],
    /// The sync worker's handle for syncs outside the schedule.
    syncs: Requests,
}

impl AdminContext {
    pub fn new(token: &str, syncs: Requests) -> Self {
        AdminContext {
            token_digest: Sha256::digest(token.as_bytes()).into(),
            syncs,
        }
    }
}

/// The bearer token a request carried (request data, set by the HTTP layer).
#[derive(Clone, Debug)]
pub struct Bearer(pub String);

fn authorise<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Arc<AdminContext>> {
    let admin = ctx.data::<Admin>()?.0.as_ref().ok_or_else(|| {
        coded(
            "admin mutations are off: set PAPERGRAPH_ADMIN_TOKEN to use them",
            Code::AdminDisabled,
        )
    })?;
    let Some(Bearer(token)) = ctx.data_opt::<Bearer>() else {
        return Err(coded(
            "this mutation needs `Authorization: Bearer <admin token>`",
            Code::Unauthenticated,
        ));
    };
    let given: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    // Every byte is compared, whatever the first difference.
    let same = given
        .iter()
        .zip(admin.token_digest.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0;
    if !same {
        return Err(coded("the admin token is not valid", Code::Forbidden));
    }
    Ok(admin)
}

#[derive(Default)]
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    /// Admin: syncs `from`..`to` (default `from`; at most 366 days) from Hugging Face now, in
    /// the background, and answers the run as it starts (`syncStatus.lastRun` shows it when it
    /// ends). Runs under the sync leader's lock: `queued` behind this server's running pass,
    /// `SYNC_BUSY` while another replica leads. Needs `Authorization: Bearer <admin token>`.
    async fn request_sync(
        &self,
        ctx: &Context<'_>,
        from: Date,
        to: Option<Date>,
    ) -> ApiResult<SyncRun> {
        let admin = authorise(ctx)?.clone();
        let to = to.unwrap_or(from);
        let today = Utc::now().date_naive();
        if from.0 > to.0 {
            return Err(coded(
                format!("`from` {} is after `to` {}", from.0, to.0),
                Code::BadUserInput,
            ));
        }
        if to.0 > today {
            return Err(coded(
                format!("`to` {} is in the future", to.0),
                Code::BadUserInput,
            ));
        }
        let days = (to.0 - from.0).num_days() + 1;
        if days > MAX_REQUESTED_DAYS {
            return Err(coded(
                format!("{days} days asked; at most {MAX_REQUESTED_DAYS} per request"),
                Code::BadUserInput,
            ));
        }
        let db = ctx.data::<DatabaseConnection>()?;
        let dates: Vec<chrono::NaiveDate> = from.0.iter_days().take(days as usize).collect();
        let started = Utc::now();
        let accepted = admin.syncs.request(db, dates).await.map_err(|r| match r {
            Refused::InProgress => coded(
                "a requested sync is already running on this server; wait for syncStatus.lastRun",
                Code::SyncInProgress,
            ),
            Refused::Busy => coded(
                "another replica leads the sync and holds its lock; send requestSync to that replica, or retry after its pass",
                Code::SyncBusy,
            )
            .extend_with(|_, e| e.set("retryAfter", 60)),
        })?;
        Ok(SyncRun {
            kind: "requested".into(),
            status: match accepted {
                Accepted::Running => "running",
                Accepted::Queued => "queued",
            }
            .into(),
            started_at: DateTime(started),
            finished_at: None,
            days_total: days as i32,
            days_ok: 0,
            days_failed: 0,
            papers_added: 0,
            papers_updated: 0,
            error: None,
        })
    }
}
