//! Email digests: what a digest with given interests contains (the builder the scheduler and
//! `previewDigest` share). Subscriptions, delivery and the mailer build on it.
pub mod delivery;
pub mod mailer;
pub mod service;

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDate};
use sea_orm::{DatabaseConnection, DbErr};

use crate::domain::search::SearchQuery;
use crate::entities::paper;
use crate::repo::keyset::Slice;
use crate::repo::papers::{self, PaperCriteria, Sort, SortField};
use crate::search::{self, SearchEngine};

/// Interests in one digest, at most this many of each kind.
pub const MAX_INTERESTS: usize = 10;
/// Papers in one digest at most.
pub const MAX_PAPERS: u32 = 50;
/// Matches read per keyword before the digest is cut to size.
const PER_KEYWORD: u64 = 500;

/// How often a digest goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frequency {
    Daily,
    Weekly,
}

impl Frequency {
    /// The word stored in `digest_subscriptions.frequency`.
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Daily => "daily",
            Frequency::Weekly => "weekly",
        }
    }

    /// Reads a stored frequency: an unknown word is an error, never a default.
    pub fn parse(stored: &str) -> Result<Frequency, String> {
        match stored {
            "daily" => Ok(Frequency::Daily),
            "weekly" => Ok(Frequency::Weekly),
            other => Err(format!(
                "the stored digest frequency `{}` is neither daily nor weekly",
                other.chars().take(40).collect::<String>()
            )),
        }
    }
}

/// What a subscriber wants: papers matching any keyword (a search query) or written by any of
/// the authors (whole names, case- and accent-insensitive), with at least `min_upvotes`; with
/// neither keywords nor authors, every paper of the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interests {
    pub frequency: Frequency,
    pub keywords: Vec<SearchQuery>,
    /// Folded author names.
    pub authors: Vec<String>,
    pub min_upvotes: i32,
    pub max_papers: u32,
}

impl Interests {
    /// Checks and normalises raw interests; the error says what to change.
    pub fn parse(
        frequency: Frequency,
        keywords: &[String],
        authors: &[String],
        min_upvotes: i32,
        max_papers: u32,
    ) -> Result<Interests, String> {
        if keywords.len() > MAX_INTERESTS || authors.len() > MAX_INTERESTS {
            return Err(format!(
                "a digest follows at most {MAX_INTERESTS} keywords and {MAX_INTERESTS} authors"
            ));
        }
        let keywords = keywords
            .iter()
            .map(|k| SearchQuery::parse(k).map_err(|e| format!("keyword `{k}`: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let authors = authors
            .iter()
            .map(|a| {
                let key = crate::domain::author_key(a);
                if key.is_empty() {
                    Err("author names must not be empty".to_string())
                } else {
                    Ok(key)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if min_upvotes < 0 {
            return Err("`minUpvotes` must be 0 or more".into());
        }
        if !(1..=MAX_PAPERS).contains(&max_papers) {
            return Err(format!("`maxPapers` must be between 1 and {MAX_PAPERS}"));
        }
        Ok(Interests {
            frequency,
            keywords,
            authors,
            min_upvotes,
            max_papers,
        })
    }
}

/// Interests as stored with a subscription (JSON in `digest_subscriptions.interests`).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StoredInterests {
    pub keywords: Vec<String>,
    pub authors: Vec<String>,
    pub min_upvotes: i32,
    pub max_papers: i32,
}

impl StoredInterests {
    /// Reads the interests stored with a subscription.
    pub fn read(json: &str) -> Result<StoredInterests, String> {
        serde_json::from_str(json).map_err(|e| format!("stored interests are not readable: {e}"))
    }

    /// Checks them (`frequency`: `daily` or `weekly`; anything else is an error).
    pub fn checked(&self, frequency: &str) -> Result<Interests, String> {
        let frequency = Frequency::parse(frequency)?;
        Interests::parse(
            frequency,
            &self.keywords,
            &self.authors,
            self.min_upvotes,
            u32::try_from(self.max_papers).unwrap_or(0),
        )
    }

    /// The keywords and authors, for a mail's first line.
    pub fn follows(&self) -> Vec<String> {
        self.keywords.iter().chain(&self.authors).cloned().collect()
    }
}

/// The Daily Papers days a digest sent on `day` covers: that day's list (daily) or the seven
/// days ending with it (weekly).
pub fn period(frequency: Frequency, day: NaiveDate) -> (NaiveDate, NaiveDate) {
    match frequency {
        Frequency::Daily => (day, day),
        Frequency::Weekly => (day - Duration::days(6), day),
    }
}

/// The newest Daily Papers day stored on or before `today` (the day a digest built now covers).
pub async fn latest_day(
    db: &DatabaseConnection,
    today: NaiveDate,
) -> Result<Option<NaiveDate>, DbErr> {
    crate::repo::status::latest_day_with_papers(db, Some(today)).await
}

/// The papers of a digest over `from..=to`: matching the interests, most upvoted first (then
/// newest id), at most `max_papers`.
pub async fn build(
    db: &DatabaseConnection,
    engine: &SearchEngine,
    interests: &Interests,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<paper::Model>, DbErr> {
    let base = PaperCriteria {
        daily_from: Some(from),
        daily_to: Some(to),
        min_upvotes: (interests.min_upvotes > 0).then_some(interests.min_upvotes),
        ..Default::default()
    };
    let by_upvotes = Sort {
        field: SortField::Upvotes,
        descending: true,
    };
    let limit = u64::from(interests.max_papers);
    if interests.keywords.is_empty() && interests.authors.is_empty() {
        let slice = Slice::Forward {
            first: limit,
            after: None,
        };
        return Ok(papers::page(db, &base, by_upvotes, &slice).await?.rows);
    }
    let mut ids: HashSet<i64> = HashSet::new();
    for q in &interests.keywords {
        let (hits, _) = search::hits(engine, q, &base, None, PER_KEYWORD).await?;
        ids.extend(hits.iter().map(|h| h.paper_id));
    }
    let mut rows: HashMap<i64, paper::Model> =
        papers::by_ids(db, &ids.into_iter().collect::<Vec<_>>())
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
    for a in &interests.authors {
        let criteria = PaperCriteria {
            author_key: Some(a.clone()),
            ..base.clone()
        };
        let slice = Slice::Forward {
            first: limit,
            after: None,
        };
        for p in papers::page(db, &criteria, by_upvotes, &slice).await?.rows {
            rows.insert(p.id, p);
        }
    }
    let mut out: Vec<paper::Model> = rows.into_values().collect();
    out.sort_by(|a, b| b.upvotes.cmp(&a.upvotes).then(b.id.cmp(&a.id)));
    out.truncate(interests.max_papers as usize);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interests_are_checked() {
        let ok = Interests::parse(
            Frequency::Daily,
            &["diffusion".into()],
            &["Zoë Ça".into()],
            0,
            10,
        )
        .unwrap();
        assert_eq!(ok.authors, vec!["zoe ca".to_string()]);
        assert!(Interests::parse(Frequency::Daily, &["\"".into()], &[], 0, 10).is_err());
        assert!(Interests::parse(Frequency::Daily, &[], &[" ".into()], 0, 10).is_err());
        assert!(Interests::parse(Frequency::Daily, &[], &[], -1, 10).is_err());
        assert!(Interests::parse(Frequency::Daily, &[], &[], 0, 0).is_err());
        assert!(Interests::parse(Frequency::Daily, &[], &[], 0, 51).is_err());
        let fine = StoredInterests {
            max_papers: 10,
            ..Default::default()
        };
        assert_eq!(fine.checked("weekly").unwrap().frequency, Frequency::Weekly);
        assert!(
            fine.checked("hourly").is_err(),
            "an unknown frequency is not read as daily"
        );
        assert!(StoredInterests::read("{\"keywords\": [").is_err());
        let many: Vec<String> = (0..11).map(|i| format!("w{i}")).collect();
        assert!(Interests::parse(Frequency::Weekly, &many, &[], 0, 10).is_err());
    }

    #[test]
    fn a_weekly_period_is_seven_days_ending_on_the_day() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 30).unwrap();
        assert_eq!(period(Frequency::Daily, d), (d, d));
        assert_eq!(
            period(Frequency::Weekly, d),
            (NaiveDate::from_ymd_opt(2026, 1, 24).unwrap(), d)
        );
    }
}
