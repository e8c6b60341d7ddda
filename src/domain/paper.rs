//! The domain values one Daily Papers listing produces, whatever path (JSON API or HTML) it came by.
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use super::{ArxivId, AuthorName};

/// A paper as listed on one Daily Papers day.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DailyPaper {
    pub arxiv_id: ArxivId,
    pub title: String,
    /// The abstract with arXiv's hard wraps and runs of whitespace collapsed to single spaces.
    pub abstract_text: String,
    pub authors: Vec<PaperAuthorEntry>,
    /// arXiv publication time.
    pub published_at: Option<DateTime<Utc>>,
    /// When the paper entered Daily Papers.
    pub submitted_at: Option<DateTime<Utc>>,
    pub upvotes: i32,
    pub num_comments: i32,
    pub github_repo: Option<String>,
    pub github_repo_added_by: Option<String>,
    pub github_stars: Option<i32>,
    pub project_page: Option<String>,
    pub ai_summary: Option<String>,
    pub ai_summary_model: Option<String>,
    pub ai_keywords: Vec<String>,
    pub thumbnail_url: Option<String>,
    pub media_urls: Vec<String>,
    pub discussion_id: Option<String>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub is_author_participating: bool,
    /// Hub models, datasets and Spaces citing the paper (only in the paper-details payload).
    pub num_linked_models: Option<i32>,
    pub num_linked_datasets: Option<i32>,
    pub num_linked_spaces: Option<i32>,
    pub organization: Option<OrganizationRef>,
    pub submitted_by: Option<HfUserRef>,
}

/// One author slot on a paper, in author order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PaperAuthorEntry {
    pub name: AuthorName,
    pub hidden: bool,
    pub hf_author_id: Option<String>,
    pub user: Option<HfUserRef>,
    pub claim_status: Option<String>,
    pub status_changed_at: Option<DateTime<Utc>>,
}

/// A Hugging Face account as referenced from a paper.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HfUserRef {
    pub username: String,
    pub hf_id: Option<String>,
    pub fullname: Option<String>,
    pub avatar_url: Option<String>,
    pub is_pro: bool,
    pub kind: Option<String>,
}

/// A Hugging Face organization as referenced from a paper.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrganizationRef {
    pub name: String,
    pub hf_id: Option<String>,
    pub fullname: Option<String>,
    pub avatar_url: Option<String>,
}

/// Days of recency worth a tenfold difference in upvotes in [`trending_score`].
pub const TRENDING_DAYS_PER_DECADE: f64 = 3.0;

/// `log10(1 + upvotes) + daysSince(2023-05-04, at) / 3`: with all upvotes and the listing time
/// when a paper is first stored, with the upvotes gained in the last 24 hours and the time of the
/// sync that saw them afterwards (`repo::import`).
///
/// Equivalent to ranking by `upvotes × 10^(−ageInDays / 3)` at any instant, so the order between two
/// papers never changes with the passage of time (cursors stay valid) and only changes when their
/// upvotes do. A paper listed three days later needs a tenth of the upvotes to rank the same.
pub fn trending_score(upvotes: i32, listed_at: DateTime<Utc>) -> f64 {
    let epoch = Utc
        .with_ymd_and_hms(2023, 5, 4, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let days = (listed_at - epoch).num_seconds() as f64 / 86_400.0;
    (1.0 + f64::from(upvotes.max(0))).log10() + days / TRENDING_DAYS_PER_DECADE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trending_trades_three_days_for_ten_times_the_upvotes() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 10, 0, 0, 0).unwrap();
        let t3 = Utc.with_ymd_and_hms(2026, 1, 13, 0, 0, 0).unwrap();
        let older = trending_score(999, t0);
        let newer = trending_score(99, t3);
        assert!((older - newer).abs() < 1e-9);
        assert!(trending_score(100, t3) > trending_score(100, t0));
        assert!(trending_score(101, t0) > trending_score(100, t0));
    }
}
