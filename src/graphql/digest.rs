//! Digest queries: `previewDigest` shows what a digest with given interests would contain now,
//! so a frontend can show it before anyone subscribes.
use std::sync::Arc;

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use sea_orm::DatabaseConnection;

use super::paper::Paper;
use super::scalars::Date;
use crate::digest::{self, Frequency, Interests};
use crate::error::{ApiResult, AppError};
use crate::repo::search::SearchEngine;

/// How often a digest is sent.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum DigestFrequency {
    /// Each Daily Papers day's list.
    #[default]
    Daily,
    /// The seven listing days ending with the latest.
    Weekly,
}

/// What a digest follows. Papers match when they match any keyword (search syntax, as in
/// `searchPapers`) or have any of the authors; with neither, every paper of the period.
#[derive(InputObject, Clone, Debug)]
pub struct DigestInterestsInput {
    /// DAILY or WEEKLY.
    #[graphql(default)]
    pub frequency: DigestFrequency,
    /// Up to 10 search queries, e.g. `"diffusion"`, `"\"reinforcement learning\" -survey"`.
    #[graphql(default)]
    pub keywords: Vec<String>,
    /// Up to 10 author names (whole names, case- and accent-insensitive).
    #[graphql(default)]
    pub authors: Vec<String>,
    /// Only papers with at least this many upvotes.
    #[graphql(default)]
    pub min_upvotes: i32,
    /// At most this many papers (1–50), most upvoted first.
    #[graphql(default = 10)]
    pub max_papers: i32,
}

impl DigestInterestsInput {
    pub fn interests(&self) -> Result<Interests, AppError> {
        let frequency = match self.frequency {
            DigestFrequency::Daily => Frequency::Daily,
            DigestFrequency::Weekly => Frequency::Weekly,
        };
        let max_papers = u32::try_from(self.max_papers).unwrap_or(0);
        Interests::parse(
            frequency,
            &self.keywords,
            &self.authors,
            self.min_upvotes,
            max_papers,
        )
        .map_err(AppError::BadUserInput)
    }
}

/// The papers a digest would contain, and the listing days it covers.
#[derive(SimpleObject)]
pub struct DigestPreview {
    /// First listing day covered.
    pub from: Date,
    /// Last listing day covered (the newest stored day).
    pub to: Date,
    /// The papers, most upvoted first.
    pub papers: Vec<Paper>,
}

#[derive(Default)]
pub struct DigestQuery;

#[Object]
impl DigestQuery {
    /// The papers a digest with these interests would contain if it were sent now: from the
    /// newest stored Daily Papers day (DAILY) or the seven days ending with it (WEEKLY).
    async fn preview_digest(
        &self,
        ctx: &Context<'_>,
        input: DigestInterestsInput,
    ) -> ApiResult<DigestPreview> {
        let interests = input.interests()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let engine = ctx.data::<Arc<SearchEngine>>()?;
        let today = chrono::Utc::now().date_naive();
        let day = digest::latest_day(db, today)
            .await
            .map_err(AppError::from)?
            .unwrap_or(today);
        let (from, to) = digest::period(interests.frequency, day);
        let rows = digest::build(db, engine, &interests, from, to)
            .await
            .map_err(AppError::from)?;
        Ok(DigestPreview {
            from: Date(from),
            to: Date(to),
            papers: Paper::page(db, rows),
        })
    }
}
