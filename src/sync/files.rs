//! Importing daily lists from files (`papergraph import`) and the bundled demo lists.
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, bail};
use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    DatabaseConnection,
};

use super::parse::parse_daily_list;
use crate::domain::DailyPaper;
use crate::entities::{daily_list, sync_run};
use crate::repo::import::{ImportOutcome, import_daily_list};
use crate::repo::status::{after_new_papers, record_run};

/// The sample daily lists shipped in the binary for `serve --demo`.
pub const DEMO_LISTS: [(&str, &[u8]); 3] = [
    (
        "2026-01-14",
        include_bytes!("../../fixtures/upstream/api/daily_papers_date-2026-01-14.json"),
    ),
    (
        "2026-01-30",
        include_bytes!("../../fixtures/upstream/api/daily_papers_date-2026-01-30.json"),
    ),
    (
        "2026-04-02",
        include_bytes!("../../fixtures/upstream/api/daily_papers_date-2026-04-02.json"),
    ),
];

/// The `date-YYYY-MM-DD` in a file name such as `daily_papers_date-2026-01-14.json`.
pub fn date_in_name(path: &Path) -> Option<NaiveDate> {
    let name = path.file_name()?.to_str()?;
    let start = name.find("date-")? + 5;
    name.get(start..start + 10)?.parse().ok()
}

/// Splits a list by the UTC day each paper entered Daily Papers.
fn group_by_day(papers: Vec<DailyPaper>) -> anyhow::Result<BTreeMap<NaiveDate, Vec<DailyPaper>>> {
    let mut days: BTreeMap<NaiveDate, Vec<DailyPaper>> = BTreeMap::new();
    for p in papers {
        let Some(at) = p.submitted_at else {
            bail!(
                "paper {} does not say which day it was listed; pass --date YYYY-MM-DD",
                p.arxiv_id
            );
        };
        days.entry(at.date_naive()).or_default().push(p);
    }
    Ok(days)
}

/// Imports one body in the daily-list format; `date` None means "group by listing day".
pub async fn import_body(
    db: &DatabaseConnection,
    body: &[u8],
    date: Option<NaiveDate>,
) -> anyhow::Result<Vec<ImportOutcome>> {
    let list = parse_daily_list(body)?;
    if list.skipped > 0 {
        tracing::warn!(
            skipped = list.skipped,
            "some items were unusable and were skipped"
        );
    }
    let days = match date {
        Some(d) => BTreeMap::from([(d, list.papers)]),
        None => group_by_day(list.papers)?,
    };
    let mut out = Vec::new();
    for (day, papers) in days {
        out.push(import_daily_list(db, day, &papers, daily_list::Source::File, Utc::now()).await?);
    }
    Ok(out)
}

/// Imports files and records the run; returns the outcomes in file order.
pub async fn import_files(
    db: &DatabaseConnection,
    files: &[std::path::PathBuf],
    date: Option<NaiveDate>,
) -> anyhow::Result<Vec<ImportOutcome>> {
    let started_at = Utc::now();
    let mut outcomes = Vec::new();
    let mut failure = None;
    for path in files {
        let result = async {
            let body = tokio::fs::read(path)
                .await
                .with_context(|| format!("cannot read {}", path.display()))?;
            import_body(db, &body, date.or_else(|| date_in_name(path)))
                .await
                .with_context(|| format!("cannot import {}", path.display()))
        }
        .await;
        match result {
            Ok(o) => outcomes.extend(o),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let run = sync_run::ActiveModel {
        id: NotSet,
        kind: Set(sync_run::Kind::Import),
        started_at: Set(started_at),
        finished_at: Set(Some(Utc::now())),
        status: Set(if failure.is_some() {
            sync_run::Status::Failed
        } else {
            sync_run::Status::Ok
        }),
        days_total: Set(outcomes.len() as i32 + i32::from(failure.is_some())),
        days_ok: Set(outcomes.len() as i32),
        days_failed: Set(i32::from(failure.is_some())),
        papers_added: Set(outcomes.iter().map(|o| o.added.len() as i32).sum()),
        papers_updated: Set(outcomes.iter().map(|o| o.updated.len() as i32).sum()),
        error: Set(failure.as_ref().map(|e| format!("{e:#}"))),
    };
    record_run(db, run).await?;
    if !outcomes.is_empty() {
        after_new_papers(db).await?;
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(outcomes),
    }
}

/// Loads the bundled sample lists (idempotent).
pub async fn load_demo(db: &DatabaseConnection) -> anyhow::Result<usize> {
    let mut papers = 0;
    for (day, body) in DEMO_LISTS {
        let date: NaiveDate = day.parse()?;
        for o in import_body(db, body, Some(date)).await? {
            papers += o.papers;
        }
    }
    after_new_papers(db).await?;
    Ok(papers)
}
