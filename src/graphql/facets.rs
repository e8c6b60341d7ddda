//! `facets` on paper lists and searches: counts over the whole filtered (and searched) set, not
//! the page, for filter sidebars and trend counts.
use std::sync::Arc;

use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::{Datelike, NaiveDate};
use sea_orm::DatabaseConnection;
use tokio::sync::OnceCell;

use crate::domain::search::SearchQuery;
use crate::error::{ApiResult, AppError};
use crate::repo::facets::{self, Facet, Scope};
use crate::repo::papers::PaperCriteria;

/// Most values a facet lists, and how many when not told.
const MAX_VALUES: i32 = 100;
const DEFAULT_VALUES: i32 = 10;

/// A value and how many papers of the set have it.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct FacetCount {
    /// What the matching filter takes: an organization's handle, an AI keyword (lowercase), an
    /// author's name (`Author.name`), a submitter's username, a date bucket (`2026-01-30`,
    /// `2026-W05`, `2026-01`), or `true` / `false`.
    pub value: String,
    /// Papers of the set with that value.
    pub count: i32,
}

/// How `dailyDates` groups listing days.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum DateBucket {
    /// One day: `2026-01-30`.
    #[default]
    Day,
    /// An ISO week: `2026-W05`.
    Week,
    /// A month: `2026-01`.
    Month,
}

/// The set a facet counts: a list's filter, or a search within it.
pub struct PaperFacets {
    criteria: PaperCriteria,
    search: Option<SearchQuery>,
    /// The search's matches, found once for all the facets asked.
    matches: OnceCell<Vec<i64>>,
}

impl PaperFacets {
    pub fn of_list(criteria: PaperCriteria) -> PaperFacets {
        PaperFacets {
            criteria,
            search: None,
            matches: OnceCell::new(),
        }
    }

    pub fn of_search(criteria: PaperCriteria, q: SearchQuery) -> PaperFacets {
        PaperFacets {
            criteria,
            search: Some(q),
            matches: OnceCell::new(),
        }
    }

    async fn scope<'a>(&'a self, ctx: &Context<'_>) -> ApiResult<Scope<'a>> {
        let Some(q) = &self.search else {
            return Ok(Scope::Criteria(&self.criteria));
        };
        let engine = ctx.data::<Arc<crate::search::SearchEngine>>()?;
        let ids = self
            .matches
            .get_or_try_init(|| crate::search::matching_ids(engine, q, &self.criteria))
            .await
            .map_err(AppError::from)?;
        Ok(Scope::Ids(ids))
    }

    async fn top(
        &self,
        ctx: &Context<'_>,
        facet: Facet,
        first: Option<i32>,
    ) -> ApiResult<Vec<FacetCount>> {
        let limit = limit(first)?;
        let scope = self.scope(ctx).await?;
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(facets::counts(db, scope, facet, limit as u64)
            .await
            .map_err(AppError::from)?
            .into_iter()
            .map(|(value, n)| count(value, n))
            .collect())
    }
}

/// `first` of a facet (10 when not given: an omitted variable reads as not given).
fn limit(first: Option<i32>) -> Result<usize, AppError> {
    let first = first.unwrap_or(DEFAULT_VALUES);
    if !(0..=MAX_VALUES).contains(&first) {
        return Err(AppError::bad_input(format!(
            "`first` of a facet must be between 0 and {MAX_VALUES}"
        )));
    }
    Ok(first as usize)
}

fn count(value: String, n: i64) -> FacetCount {
    FacetCount {
        value,
        count: i32::try_from(n).unwrap_or(i32::MAX),
    }
}

/// The label of the bucket holding `day`.
fn bucket(day: NaiveDate, by: DateBucket) -> String {
    match by {
        DateBucket::Day => day.format("%Y-%m-%d").to_string(),
        DateBucket::Week => {
            let w = day.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        }
        DateBucket::Month => day.format("%Y-%m").to_string(),
    }
}

/// Most frequent first, ties by value ascending, at most `limit`.
fn ranked(mut v: Vec<FacetCount>, limit: usize) -> Vec<FacetCount> {
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    v.truncate(limit);
    v
}

/// Counts over every paper of the list or search (all pages), each most frequent first, ties by
/// value ascending. `first` defaults to 10, at most 100.
#[Object]
impl PaperFacets {
    /// Organizations, by handle (the `organization` filter's value).
    #[graphql(
        complexity = "super::cost::items(first.unwrap_or(DEFAULT_VALUES)) * child_complexity + 1"
    )]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> ApiResult<Vec<FacetCount>> {
        self.top(ctx, Facet::Organizations, first).await
    }

    /// AI keywords, lowercase (the `aiKeyword` filter's value).
    #[graphql(
        complexity = "super::cost::items(first.unwrap_or(DEFAULT_VALUES)) * child_complexity + 1"
    )]
    async fn ai_keywords(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> ApiResult<Vec<FacetCount>> {
        self.top(ctx, Facet::AiKeywords, first).await
    }

    /// Authors, by name (`Author.name`, the `author` filter's value).
    #[graphql(
        complexity = "super::cost::items(first.unwrap_or(DEFAULT_VALUES)) * child_complexity + 1"
    )]
    async fn authors(&self, ctx: &Context<'_>, first: Option<i32>) -> ApiResult<Vec<FacetCount>> {
        let limit = limit(first)?;
        let scope = self.scope(ctx).await?;
        let db = ctx.data::<DatabaseConnection>()?;
        let engine = ctx.data::<Arc<crate::search::SearchEngine>>()?;
        let listed;
        let ids = match scope {
            Scope::Ids(ids) => ids,
            Scope::Criteria(_) => {
                listed = facets::ids_of(db, scope).await.map_err(AppError::from)?;
                &listed
            }
        };
        let counts = crate::search::author_counts(engine, ids)
            .await
            .map_err(AppError::from)?;
        Ok(facets::top_authors(db, &counts, limit)
            .await
            .map_err(AppError::from)?
            .into_iter()
            .map(|(value, n)| count(value, n))
            .collect())
    }

    /// Submitters, by Hugging Face username (the `submitter` filter's value).
    #[graphql(
        complexity = "super::cost::items(first.unwrap_or(DEFAULT_VALUES)) * child_complexity + 1"
    )]
    async fn submitters(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> ApiResult<Vec<FacetCount>> {
        self.top(ctx, Facet::Submitters, first).await
    }

    /// Listing days grouped by `bucket` (default `DAY`): `2026-01-30`, `2026-W05` (ISO week)
    /// or `2026-01`.
    #[graphql(
        complexity = "super::cost::items(first.unwrap_or(DEFAULT_VALUES)) * child_complexity + 1"
    )]
    async fn daily_dates(
        &self,
        ctx: &Context<'_>,
        bucket: Option<DateBucket>,
        first: Option<i32>,
    ) -> ApiResult<Vec<FacetCount>> {
        let limit = limit(first)?;
        let by = bucket.unwrap_or_default();
        let scope = self.scope(ctx).await?;
        let db = ctx.data::<DatabaseConnection>()?;
        let days = facets::by_day(db, scope).await.map_err(AppError::from)?;
        let mut buckets: std::collections::BTreeMap<String, i64> = Default::default();
        for (day, n) in days {
            *buckets.entry(self::bucket(day, by)).or_default() += n;
        }
        Ok(ranked(
            buckets.into_iter().map(|(v, n)| count(v, n)).collect(),
            limit,
        ))
    }

    /// Papers with a code repository (`true`) and without (`false`), both always listed.
    async fn has_code(&self, ctx: &Context<'_>) -> ApiResult<Vec<FacetCount>> {
        let scope = self.scope(ctx).await?;
        let db = ctx.data::<DatabaseConnection>()?;
        let (with, without) = facets::has_code(db, scope).await.map_err(AppError::from)?;
        Ok(ranked(
            vec![count("true".into(), with), count("false".into(), without)],
            2,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_labelled_as_the_filters_take_them() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 30).unwrap();
        assert_eq!(bucket(d, DateBucket::Day), "2026-01-30");
        assert_eq!(bucket(d, DateBucket::Week), "2026-W05");
        assert_eq!(bucket(d, DateBucket::Month), "2026-01");
        // The ISO year of a week can differ from the day's year.
        let d = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        assert_eq!(bucket(d, DateBucket::Week), "2026-W53");
    }
}
