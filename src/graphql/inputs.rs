//! Inputs of the paper lists: `PaperFilter`, `PaperOrder` and their enums.
use async_graphql::{Enum, InputObject};

use super::scalars::{Date, DateTime};
use crate::domain::{author_key, parse_iso_week, parse_month};
use crate::error::AppError;
use crate::repo::papers::{PaperCriteria, Sort, SortField};

/// Narrows a paper list. Every field given must hold (they combine with AND).
#[derive(InputObject, Default, Clone)]
pub struct PaperFilter {
    /// Papers listed on this UTC day.
    pub daily_date: Option<Date>,
    /// Papers listed on or after this day.
    pub daily_date_from: Option<Date>,
    /// Papers listed on or before this day.
    pub daily_date_to: Option<Date>,
    /// Papers listed in this ISO week, e.g. `2026-W03` (Monday to Sunday, UTC).
    pub week: Option<String>,
    /// Papers listed in this month, e.g. `2026-01`.
    pub month: Option<String>,
    /// Papers published on arXiv at or after this instant.
    pub published_from: Option<DateTime>,
    /// Papers published on arXiv at or before this instant.
    pub published_to: Option<DateTime>,
    /// Papers whose stored fields changed at or after this instant (`Paper.updatedAt`).
    pub updated_since: Option<DateTime>,
    /// Papers with at least this many upvotes.
    pub min_upvotes: Option<i32>,
    /// Papers with an author of this name (case- and accent-insensitive, whole name).
    pub author: Option<String>,
    /// Papers claimed by this Hugging Face organization (handle or display name, case-insensitive).
    pub organization: Option<String>,
    /// `true`: papers with a code repository; `false`: papers without one.
    pub has_code: Option<bool>,
    /// Papers submitted to Daily Papers by this Hugging Face user (username, case-insensitive).
    pub submitter: Option<String>,
    /// Papers with this AI keyword (the whole keyword, case-insensitive).
    pub ai_keyword: Option<String>,
    /// Papers whose code repository has at least this many GitHub stars.
    pub min_github_stars: Option<i32>,
    /// `true`: papers with a project page; `false`: papers without one.
    pub has_project_page: Option<bool>,
    /// Papers cited by this Hub repo (model, dataset or Space id), e.g. `meta-llama/Llama-3.1-8B`.
    pub linked_repo: Option<String>,
    /// `true`: papers cited by at least one Hub model; `false`: papers cited by none (or not
    /// fetched yet).
    pub has_linked_models: Option<bool>,
    /// `true`: papers cited by at least one Hub dataset; `false`: by none.
    pub has_linked_datasets: Option<bool>,
    /// `true`: papers cited by at least one Hub Space; `false`: by none.
    pub has_linked_spaces: Option<bool>,
}

impl PaperFilter {
    /// The criteria this filter stands for; a malformed week or month is a user error.
    pub fn criteria(&self) -> Result<PaperCriteria, AppError> {
        let mut c = PaperCriteria::default();
        let mut narrow = |from: chrono::NaiveDate, to: chrono::NaiveDate| {
            c.daily_from = Some(c.daily_from.map_or(from, |f| f.max(from)));
            c.daily_to = Some(c.daily_to.map_or(to, |t| t.min(to)));
        };
        if let Some(d) = self.daily_date {
            narrow(d.0, d.0);
        }
        if let Some(w) = &self.week {
            let r = parse_iso_week(w).map_err(AppError::BadUserInput)?;
            narrow(r.from, r.to);
        }
        if let Some(m) = &self.month {
            let r = parse_month(m).map_err(AppError::BadUserInput)?;
            narrow(r.from, r.to);
        }
        if let Some(d) = self.daily_date_from {
            c.daily_from = Some(c.daily_from.map_or(d.0, |f| f.max(d.0)));
        }
        if let Some(d) = self.daily_date_to {
            c.daily_to = Some(c.daily_to.map_or(d.0, |t| t.min(d.0)));
        }
        c.published_from = self.published_from.map(|t| t.0);
        c.published_to = self.published_to.map(|t| t.0);
        c.updated_since = self.updated_since.map(|t| t.0);
        c.min_upvotes = self.min_upvotes;
        if let Some(a) = &self.author {
            let key = author_key(a);
            if key.is_empty() {
                return Err(AppError::bad_input("`author` must not be empty"));
            }
            c.author_key = Some(key);
        }
        if let Some(o) = &self.organization {
            let o = o.trim().to_lowercase();
            if o.is_empty() {
                return Err(AppError::bad_input("`organization` must not be empty"));
            }
            c.organization = Some(o);
        }
        c.has_code = self.has_code;
        let word = |name: &str, v: &Option<String>| match v.as_deref().map(str::trim) {
            None => Ok(None),
            Some("") => Err(AppError::bad_input(format!("`{name}` must not be empty"))),
            Some(v) => Ok(Some(v.to_lowercase())),
        };
        c.submitter = word("submitter", &self.submitter)?;
        c.ai_keyword = word("aiKeyword", &self.ai_keyword)?;
        c.min_github_stars = self.min_github_stars;
        c.has_project_page = self.has_project_page;
        c.linked_repo = match self.linked_repo.as_deref().map(str::trim) {
            None => None,
            Some(r)
                if r.split_once('/')
                    .is_some_and(|(o, n)| !o.is_empty() && !n.is_empty()) =>
            {
                Some(r.to_string())
            }
            Some(r) => {
                return Err(AppError::bad_input(format!(
                    "`linkedRepo` must be a Hub repo id `owner/name`, not `{}`",
                    r.chars().take(100).collect::<String>()
                )));
            }
        };
        c.has_linked = [
            self.has_linked_models,
            self.has_linked_datasets,
            self.has_linked_spaces,
        ];
        Ok(c)
    }
}

/// What a paper list is ordered by. Ties are broken by an internal id in the same direction, so
/// the order is total and cursors are stable.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PaperOrderField {
    /// `trendingScore`: recent upvote velocity decayed by age (see `Paper.trendingScore`).
    Trending,
    /// Total upvotes.
    Upvotes,
    /// Total discussion comments.
    Comments,
    /// GitHub stars (papers without a repository last in DESC).
    GithubStars,
    /// arXiv publication time.
    PublishedAt,
    /// Daily Papers listing day (never-listed papers last in DESC).
    DailyDate,
    /// When the paper's stored fields last changed (`Paper.updatedAt`): pollers page ASC with
    /// `updatedSince` and keep the last `endCursor`.
    UpdatedAt,
    /// Hub models citing the paper (`numLinkedModels`; papers not fetched yet last in DESC).
    LinkedModels,
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum OrderDirection {
    /// Smallest first.
    Asc,
    /// Largest first.
    #[default]
    Desc,
}

/// An order for a paper list. Default: `{field: DAILY_DATE, direction: DESC}`.
#[derive(InputObject, Clone, Copy)]
pub struct PaperOrder {
    /// The field to order by.
    pub field: PaperOrderField,
    /// The direction; DESC by default.
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl Default for PaperOrder {
    fn default() -> Self {
        Self {
            field: PaperOrderField::DailyDate,
            direction: OrderDirection::Desc,
        }
    }
}

impl PaperOrder {
    pub fn sort(&self) -> Sort {
        let field = match self.field {
            PaperOrderField::Trending => SortField::Trending,
            PaperOrderField::Upvotes => SortField::Upvotes,
            PaperOrderField::Comments => SortField::Comments,
            PaperOrderField::GithubStars => SortField::GithubStars,
            PaperOrderField::PublishedAt => SortField::PublishedAt,
            PaperOrderField::DailyDate => SortField::DailyDate,
            PaperOrderField::UpdatedAt => SortField::UpdatedAt,
            PaperOrderField::LinkedModels => SortField::LinkedModels,
        };
        Sort {
            field,
            descending: self.direction == OrderDirection::Desc,
        }
    }
}
