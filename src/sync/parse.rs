//! Pure parsers from the upstream's formats to domain values. They never panic and never touch
//! the database; every field but `paper.id` and `paper.title` may be missing.
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tracing::warn;

use crate::domain::{
    ArxivId, AuthorName, DailyPaper, HfUserRef, OrganizationRef, PaperAuthorEntry,
};

/// Why a daily list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("the daily list is not valid JSON ({0}); the response was probably cut short")]
    Json(String),
    #[error("the daily list is not a JSON array of papers but {0}")]
    NotAList(String),
}

/// The result of parsing one daily list: the papers, and how many items were unusable.
#[derive(Debug, Default)]
pub struct ParsedList {
    pub papers: Vec<DailyPaper>,
    pub skipped: usize,
}

/// Parses a `/api/daily_papers` response body (a JSON array of daily items).
pub fn parse_daily_list(body: &[u8]) -> Result<ParsedList, ParseError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    let serde_json::Value::Array(items) = value else {
        return Err(ParseError::NotAList(describe(&value)));
    };
    Ok(parse_items(items))
}

/// Converts already-decoded daily items (from the JSON API or an HTML island) to domain values.
/// Items without a usable id or title are skipped and counted; duplicates keep their first copy.
pub fn parse_items(items: Vec<serde_json::Value>) -> ParsedList {
    collect_items(
        items
            .into_iter()
            .map(|item| serde_json::from_value::<WireItem>(item).map_err(|e| e.to_string())),
    )
}

/// [`parse_items`] over items kept as raw JSON (the API path: no intermediate tree).
pub fn parse_raw_items(items: &[Box<serde_json::value::RawValue>]) -> ParsedList {
    collect_items(
        items
            .iter()
            .map(|item| serde_json::from_str::<WireItem>(item.get()).map_err(|e| e.to_string())),
    )
}

fn collect_items(items: impl Iterator<Item = Result<WireItem, String>>) -> ParsedList {
    let mut out = ParsedList::default();
    let mut seen = std::collections::HashSet::new();
    for (index, item) in items.enumerate() {
        let parsed = item.and_then(into_domain);
        match parsed {
            Ok(paper) if seen.insert(paper.arxiv_id.clone()) => out.papers.push(paper),
            Ok(paper) => {
                warn!(arxiv_id = %paper.arxiv_id, "duplicate item in daily list; keeping the first")
            }
            Err(reason) => {
                warn!(index, %reason, "skipping an unusable daily-list item");
                out.skipped += 1;
            }
        }
    }
    out
}

/// Parses a `/api/papers/{id}` body: a bare paper object (no `paper` wrapper).
pub fn parse_paper_details(body: serde_json::Value) -> Result<DailyPaper, String> {
    if !body.is_object() {
        return Err(format!("expected a paper object, got {}", describe(&body)));
    }
    let item = serde_json::json!({ "paper": body });
    serde_json::from_value::<WireItem>(item)
        .map_err(|e| e.to_string())
        .and_then(into_domain)
}

fn describe(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => match map.get("error") {
            Some(err) => format!("an error object: {err}"),
            None => "a JSON object".into(),
        },
        serde_json::Value::Null => "null".into(),
        other => format!("a JSON {}", type_name(other)),
    }
}

fn type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
        serde_json::Value::Null => "null",
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireItem {
    paper: Option<WirePaper>,
    published_at: Option<String>,
    title: Option<String>,
    summary: Option<String>,
    thumbnail: Option<String>,
    num_comments: Option<i64>,
    submitted_by: Option<WireUser>,
    organization: Option<WireOrg>,
    media_urls: Option<Vec<String>>,
    is_author_participating: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePaper {
    id: Option<String>,
    authors: Option<Vec<WireAuthor>>,
    published_at: Option<String>,
    submitted_on_daily_at: Option<String>,
    title: Option<String>,
    submitted_on_daily_by: Option<WireUser>,
    summary: Option<String>,
    upvotes: Option<i64>,
    discussion_id: Option<String>,
    project_page: Option<String>,
    github_repo: Option<String>,
    github_repo_added_by: Option<String>,
    github_stars: Option<i64>,
    #[serde(rename = "ai_summary")]
    ai_summary: Option<String>,
    #[serde(rename = "ai_keywords")]
    ai_keywords: Option<Vec<String>>,
    #[serde(rename = "ai_summary_model")]
    ai_summary_model: Option<String>,
    organization: Option<WireOrg>,
    media_urls: Option<Vec<String>>,
    withdrawn_at: Option<String>,
    num_total_models: Option<i64>,
    num_total_datasets: Option<i64>,
    num_total_spaces: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAuthor {
    #[serde(rename = "_id")]
    id: Option<String>,
    name: Option<String>,
    hidden: Option<bool>,
    user: Option<WireUser>,
    status: Option<String>,
    status_last_changed_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireUser {
    #[serde(rename = "_id")]
    id: Option<String>,
    avatar_url: Option<String>,
    fullname: Option<String>,
    /// The username in `paper.submittedOnDailyBy` and `authors[].user`.
    user: Option<String>,
    /// The username in the item-level `submittedBy` (and in HTML props).
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    is_pro: Option<bool>,
}

#[derive(Deserialize)]
struct WireOrg {
    #[serde(rename = "_id")]
    id: Option<String>,
    name: Option<String>,
    fullname: Option<String>,
    avatar: Option<String>,
}

fn into_domain(item: WireItem) -> Result<DailyPaper, String> {
    let paper = item.paper.ok_or("the item has no `paper` object")?;
    let raw_id = paper.id.as_deref().ok_or("the paper has no `id`")?;
    let arxiv_id = ArxivId::parse(raw_id)?;
    let title = paper
        .title
        .as_deref()
        .or(item.title.as_deref())
        .map(collapse_whitespace)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("paper {arxiv_id} has no title"))?;
    let abstract_text = paper
        .summary
        .as_deref()
        .or(item.summary.as_deref())
        .map(collapse_whitespace)
        .unwrap_or_default();
    let authors = paper
        .authors
        .unwrap_or_default()
        .into_iter()
        .filter_map(|a| {
            Some(PaperAuthorEntry {
                name: AuthorName::parse(a.name.as_deref()?)?,
                hidden: a.hidden.unwrap_or(false),
                hf_author_id: a.id,
                user: a.user.and_then(user_ref),
                claim_status: a.status,
                status_changed_at: a.status_last_changed_at.as_deref().and_then(timestamp),
            })
        })
        .collect();
    Ok(DailyPaper {
        arxiv_id,
        title,
        abstract_text,
        authors,
        published_at: paper.published_at.as_deref().and_then(timestamp),
        submitted_at: paper
            .submitted_on_daily_at
            .as_deref()
            .or(item.published_at.as_deref())
            .and_then(timestamp),
        upvotes: clamp_count(paper.upvotes),
        num_comments: clamp_count(item.num_comments),
        github_repo: non_empty(paper.github_repo),
        github_repo_added_by: non_empty(paper.github_repo_added_by),
        github_stars: paper.github_stars.map(|s| clamp_count(Some(s))),
        project_page: non_empty(paper.project_page),
        ai_summary: non_empty(paper.ai_summary),
        ai_summary_model: non_empty(paper.ai_summary_model),
        ai_keywords: paper.ai_keywords.unwrap_or_default(),
        thumbnail_url: non_empty(item.thumbnail),
        media_urls: item.media_urls.or(paper.media_urls).unwrap_or_default(),
        discussion_id: non_empty(paper.discussion_id),
        withdrawn_at: paper.withdrawn_at.as_deref().and_then(timestamp),
        is_author_participating: item.is_author_participating.unwrap_or(false),
        num_linked_models: paper.num_total_models.map(|n| clamp_count(Some(n))),
        num_linked_datasets: paper.num_total_datasets.map(|n| clamp_count(Some(n))),
        num_linked_spaces: paper.num_total_spaces.map(|n| clamp_count(Some(n))),
        organization: item.organization.or(paper.organization).and_then(org_ref),
        submitted_by: item
            .submitted_by
            .or(paper.submitted_on_daily_by)
            .and_then(user_ref),
    })
}

/// A Hub account object (`{_id, name, fullname, avatarUrl, isPro, type}`), if it names one.
pub(super) fn user_from_value(v: &serde_json::Value) -> Option<HfUserRef> {
    serde_json::from_value::<WireUser>(v.clone())
        .ok()
        .and_then(user_ref)
}

fn user_ref(u: WireUser) -> Option<HfUserRef> {
    let username = non_empty(u.user.or(u.name))?;
    Some(HfUserRef {
        username,
        hf_id: u.id,
        fullname: non_empty(u.fullname),
        avatar_url: non_empty(u.avatar_url),
        is_pro: u.is_pro.unwrap_or(false),
        kind: u.kind,
    })
}

fn org_ref(o: WireOrg) -> Option<OrganizationRef> {
    Some(OrganizationRef {
        name: non_empty(o.name)?,
        hf_id: o.id,
        fullname: non_empty(o.fullname),
        avatar_url: non_empty(o.avatar),
    })
}

fn collapse_whitespace(s: &str) -> String {
    crate::domain::collapse_whitespace(s)
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn clamp_count(n: Option<i64>) -> i32 {
    n.unwrap_or(0).clamp(0, i64::from(i32::MAX)) as i32
}

pub(super) fn timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] =
        include_bytes!("../../fixtures/upstream/api/daily_papers_date-2026-01-30.json");

    #[test]
    fn parses_the_sample_list_in_order_with_every_field() {
        let list = parse_daily_list(SAMPLE).unwrap();
        assert_eq!(list.papers.len(), 8);
        assert_eq!(list.skipped, 0);
        let p = list
            .papers
            .iter()
            .find(|p| p.arxiv_id.as_str() == "2303.10604")
            .unwrap();
        assert_eq!(p.authors.len(), 8);
        assert_eq!(p.authors[1].name.as_str(), "Wei Chaudhry");
        assert_eq!(p.authors[1].user.as_ref().unwrap().username, "wei1");
        assert_eq!(p.authors[1].claim_status.as_deref(), Some("admin_assigned"));
        assert_eq!(p.submitted_by.as_ref().unwrap().username, "paperhound");
        assert_eq!(p.github_stars, Some(737));
        assert_eq!(p.num_comments, 3);
        assert!(!p.abstract_text.contains('\n'));
        assert_eq!(
            p.submitted_at.unwrap().to_rfc3339(),
            "2026-01-30T19:46:45.578+00:00"
        );
    }

    #[test]
    fn bad_bodies_are_errors_not_panics() {
        assert!(matches!(
            parse_daily_list(b"[{\"paper\": {"),
            Err(ParseError::Json(_))
        ));
        let err = parse_daily_list(br#"{"error":"Invalid query"}"#).unwrap_err();
        assert!(err.to_string().contains("Invalid query"), "{err}");
        assert!(matches!(
            parse_daily_list(b"null"),
            Err(ParseError::NotAList(_))
        ));
        let list = parse_daily_list(
            br#"[{"paper":{"id":"x"}},{"paper":{"id":"2401.00001","title":" T "}},3]"#,
        )
        .unwrap();
        assert_eq!(list.papers.len(), 1);
        assert_eq!(list.skipped, 2);
    }

    #[test]
    fn never_panics_on_arbitrary_prefixes_and_bytes() {
        for cut in 0..SAMPLE.len().min(4000) {
            let _ = parse_daily_list(&SAMPLE[..cut]);
        }
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..2000 {
            let mut bytes = SAMPLE[..600].to_vec();
            for _ in 0..8 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let i = (state as usize) % bytes.len();
                bytes[i] = (state >> 32) as u8;
            }
            let _ = parse_daily_list(&bytes);
        }
    }
}
