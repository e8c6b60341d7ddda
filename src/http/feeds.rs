//! Feeds: `GET /feeds/papers.atom` (Atom 1.0) and `GET /feeds/papers.rss` (RSS 2.0) over the same
//! filters as the GraphQL API: `q` (keyword search, ranked by relevance), `author`, `minUpvotes`,
//! `date` / `week` / `month`, `linkedRepo`, `hasLinkedModels` / `hasLinkedDatasets` /
//! `hasLinkedSpaces`, `order` (`date`, `trending`, `upvotes`, `comments`, `stars`, `published`,
//! `linkedModels`; newest listing day first by default) and `limit` (1–100, default 30).
//! Responses carry a strong `ETag` (a hash of the body) and `Last-Modified` (the newest paper
//! update), and revalidation with `If-None-Match` / `If-Modified-Since` answers 304.
use std::collections::HashMap;

use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::domain::search::SearchQuery;
use crate::domain::xml_text;
use crate::entities::paper;
use crate::graphql::{PaperFilter, scalars::Date};
use crate::http::AppState;
use crate::repo::keyset::Slice;
use crate::repo::papers::{self, PaperCriteria, Sort, SortField};

/// Entries per feed unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: u64 = 30;
pub const MAX_LIMIT: u64 = 100;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Atom,
    Rss,
}

pub async fn atom(
    State(state): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    feed(state, headers, uri, params, Format::Atom).await
}

pub async fn rss(
    State(state): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    feed(state, headers, uri, params, Format::Rss).await
}

fn bad_request(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.into(),
    )
        .into_response()
}

/// What a feed request asks for.
struct Request {
    query: Option<SearchQuery>,
    criteria: PaperCriteria,
    sort: Sort,
    limit: u64,
    /// A human-readable summary for the feed's title.
    described: Vec<String>,
}

fn parse(params: &HashMap<String, String>) -> Result<Request, String> {
    const KNOWN: [&str; 17] = [
        "q",
        "linkedRepo",
        "hasLinkedModels",
        "hasLinkedDatasets",
        "hasLinkedSpaces",
        "author",
        "organization",
        "submitter",
        "aiKeyword",
        "minUpvotes",
        "minGithubStars",
        "hasProjectPage",
        "date",
        "week",
        "month",
        "order",
        "limit",
    ];
    if let Some(unknown) = params.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(format!(
            "unknown parameter `{unknown}`; feeds take {}",
            KNOWN.join(", ")
        ));
    }
    let get = |k: &str| params.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut described = Vec::new();
    let mut filter = PaperFilter::default();
    if let Some(a) = get("author") {
        filter.author = Some(a.to_string());
        described.push(format!("by {a}"));
    }
    if let Some(o) = get("organization") {
        filter.organization = Some(o.to_string());
        described.push(format!("from {o}"));
    }
    if let Some(u) = get("submitter") {
        filter.submitter = Some(u.to_string());
        described.push(format!("submitted by {u}"));
    }
    if let Some(k) = get("aiKeyword") {
        filter.ai_keyword = Some(k.to_string());
        described.push(format!("about {k}"));
    }
    if let Some(m) = get("minGithubStars") {
        let n: i32 = m
            .parse()
            .map_err(|_| format!("`minGithubStars` must be a whole number, not `{m}`"))?;
        filter.min_github_stars = Some(n);
        described.push(format!("with {n}+ GitHub stars"));
    }
    if let Some(v) = get("hasProjectPage") {
        let has = match v {
            "true" => true,
            "false" => false,
            _ => return Err(format!("`hasProjectPage` must be true or false, not `{v}`")),
        };
        filter.has_project_page = Some(has);
        described.push(
            if has {
                "with a project page"
            } else {
                "without a project page"
            }
            .into(),
        );
    }
    if let Some(r) = get("linkedRepo") {
        filter.linked_repo = Some(r.to_string());
        described.push(format!("cited by {r}"));
    }
    for (key, kind, slot) in [
        ("hasLinkedModels", "models", &mut filter.has_linked_models),
        (
            "hasLinkedDatasets",
            "datasets",
            &mut filter.has_linked_datasets,
        ),
        ("hasLinkedSpaces", "Spaces", &mut filter.has_linked_spaces),
    ] {
        if let Some(v) = get(key) {
            let has = match v {
                "true" => true,
                "false" => false,
                _ => return Err(format!("`{key}` must be true or false, not `{v}`")),
            };
            *slot = Some(has);
            described.push(if has {
                format!("cited by Hub {kind}")
            } else {
                format!("not cited by Hub {kind}")
            });
        }
    }
    if let Some(m) = get("minUpvotes") {
        let n: i32 = m
            .parse()
            .map_err(|_| format!("`minUpvotes` must be a whole number, not `{m}`"))?;
        filter.min_upvotes = Some(n);
        described.push(format!("with {n}+ upvotes"));
    }
    if let Some(d) = get("date") {
        let day = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| format!("`date` must be a day like 2026-01-30, not `{d}`"))?;
        filter.daily_date = Some(Date(day));
        described.push(format!("listed on {d}"));
    }
    if let Some(w) = get("week") {
        filter.week = Some(w.to_string());
        described.push(format!("listed in {w}"));
    }
    if let Some(m) = get("month") {
        filter.month = Some(m.to_string());
        described.push(format!("listed in {m}"));
    }
    let criteria = filter.criteria().map_err(|e| match e {
        crate::error::AppError::BadUserInput(m) => m,
        crate::error::AppError::Internal(_)
        | crate::error::AppError::Busy
        | crate::error::AppError::Unavailable => "the filter could not be read".to_string(),
    })?;
    let query = match get("q") {
        Some(q) => {
            described.insert(0, format!("matching “{q}”"));
            Some(SearchQuery::parse(q).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let field = match get("order") {
        None => SortField::DailyDate,
        Some(_) if query.is_some() => {
            return Err(
                "`order` does not combine with `q`: a keyword feed is ranked by relevance; drop one"
                    .into(),
            );
        }
        Some("date") => SortField::DailyDate,
        Some("trending") => SortField::Trending,
        Some("upvotes") => SortField::Upvotes,
        Some("comments") => SortField::Comments,
        Some("stars") => SortField::GithubStars,
        Some("published") => SortField::PublishedAt,
        Some("linkedModels") => SortField::LinkedModels,
        Some(other) => {
            return Err(format!(
                "`order` must be date, trending, upvotes, comments, stars, published or linkedModels, not `{other}`"
            ));
        }
    };
    let limit = match get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| format!("`limit` must be between 1 and {MAX_LIMIT}, not `{l}`"))?,
    };
    Ok(Request {
        query,
        criteria,
        sort: Sort {
            field,
            descending: true,
        },
        limit,
        described,
    })
}

async fn papers_of(state: &AppState, r: &Request) -> Result<Vec<paper::Model>, sea_orm::DbErr> {
    match &r.query {
        Some(q) => {
            let (hits, _) =
                crate::search::hits(&state.search, q, &r.criteria, None, r.limit).await?;
            let ids: Vec<i64> = hits.iter().map(|h| h.paper_id).collect();
            papers::by_ids(&state.db, &ids).await
        }
        None => {
            let slice = Slice::Forward {
                first: r.limit,
                after: None,
            };
            Ok(papers::page(&state.db, &r.criteria, r.sort, &slice)
                .await?
                .rows)
        }
    }
}

async fn feed(
    state: AppState,
    headers: HeaderMap,
    uri: axum::http::Uri,
    params: HashMap<String, String>,
    format: Format,
) -> Response {
    let request = match parse(&params) {
        Ok(r) => r,
        Err(message) => return bad_request(message),
    };
    if !state.health.is_up() {
        let wait = crate::repo::health::RETRY_AFTER_SECS;
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::RETRY_AFTER, wait.to_string())],
            format!("the database cannot be reached; retry in {wait} s"),
        )
            .into_response();
    }
    let rows = match papers_of(&state, &request).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "could not read the papers of a feed");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database did not answer; try again shortly",
            )
                .into_response();
        }
    };
    let ids: Vec<i64> = rows.iter().map(|p| p.id).collect();
    let authors = match papers::author_slots(&state.db, &ids, papers::SlotRead::Own).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "could not read the authors of a feed");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database did not answer; try again shortly",
            )
                .into_response();
        }
    };
    let entries: Vec<Entry<'_>> = rows
        .iter()
        .map(|p| Entry {
            paper: p,
            authors: authors
                .get(&p.id)
                .map(|slots| slots.iter().map(|s| s.name.clone()).collect())
                .unwrap_or_default(),
        })
        .collect();
    let updated = rows.iter().map(|p| p.updated_at).max();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|s| *s == "https" || *s == "http")
        .unwrap_or("http");
    let self_url = format!("{scheme}://{host}{uri}");
    let title = if request.described.is_empty() {
        "Daily Papers".to_string()
    } else {
        format!("Daily Papers {}", request.described.join(", "))
    };
    let body = match format {
        Format::Atom => render_atom(&title, &self_url, updated, &entries),
        Format::Rss => render_rss(&title, &self_url, updated, &entries),
    };
    let etag = super::validators::etag(body.as_bytes());
    let last_modified = updated.map(http_date);
    let not_modified = match super::validators::if_none_match(&headers, &etag) {
        Some(matched) => matched,
        None => match (
            headers
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|h| h.to_str().ok())
                .and_then(|s| DateTime::parse_from_rfc2822(s).ok()),
            updated,
        ) {
            (Some(since), Some(updated)) => updated.timestamp() <= since.timestamp(),
            _ => false,
        },
    };
    let media = match format {
        Format::Atom => "application/atom+xml; charset=utf-8",
        Format::Rss => "application/rss+xml; charset=utf-8",
    };
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, media)], body).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, etag);
    if let Some(v) = last_modified.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

struct Entry<'a> {
    paper: &'a paper::Model,
    authors: Vec<String>,
}

impl Entry<'_> {
    fn link(&self) -> String {
        format!("https://huggingface.co/papers/{}", self.paper.arxiv_id)
    }

    fn summary(&self) -> &str {
        self.paper
            .ai_summary
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(&self.paper.r#abstract)
    }

    fn keywords(&self) -> Vec<String> {
        self.paper
            .ai_keywords
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// A time as Atom shows it, to the second.
fn seconds(t: DateTime<Utc>) -> chrono::DateTime<chrono::FixedOffset> {
    use chrono::Timelike as _;
    t.with_nanosecond(0).unwrap_or(t).fixed_offset()
}

const HF_PAPERS: &str = "https://huggingface.co/papers";

fn atom_link(rel: &str, mime: &str, href: String) -> atom_syndication::Link {
    atom_syndication::Link {
        href,
        rel: rel.into(),
        mime_type: Some(mime.into()),
        ..Default::default()
    }
}

/// An entry's summary: its text and its upvotes.
fn summary(e: &Entry<'_>) -> String {
    xml_text(&format!("{} ({} upvotes)", e.summary(), e.paper.upvotes))
}

fn render_atom(
    title: &str,
    self_url: &str,
    updated: Option<DateTime<Utc>>,
    entries: &[Entry<'_>],
) -> String {
    use atom_syndication::{Category, Entry as AtomEntry, Feed, Generator, Person, Text};
    let person = |name: &str| Person {
        name: xml_text(name),
        ..Default::default()
    };
    let feed = Feed {
        id: xml_text(self_url),
        title: Text::plain(xml_text(title)),
        updated: seconds(updated.unwrap_or(DateTime::UNIX_EPOCH)),
        links: vec![
            atom_link("self", "application/atom+xml", xml_text(self_url)),
            atom_link("alternate", "text/html", HF_PAPERS.into()),
        ],
        authors: vec![person("papergraph")],
        generator: Some(Generator {
            value: "papergraph".into(),
            ..Default::default()
        }),
        entries: entries
            .iter()
            .map(|e| AtomEntry {
                id: e.link(),
                title: Text::plain(xml_text(&e.paper.title)),
                links: vec![
                    atom_link("alternate", "text/html", e.link()),
                    atom_link(
                        "related",
                        "text/html",
                        format!("https://arxiv.org/abs/{}", e.paper.arxiv_id),
                    ),
                ],
                updated: seconds(e.paper.updated_at),
                published: Some(seconds(e.paper.published_at)),
                authors: e.authors.iter().map(|a| person(a)).collect(),
                categories: e
                    .keywords()
                    .iter()
                    .map(|k| Category {
                        term: xml_text(k),
                        ..Default::default()
                    })
                    .collect(),
                summary: Some(Text::plain(summary(e))),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    feed.to_string()
}

fn render_rss(
    title: &str,
    self_url: &str,
    updated: Option<DateTime<Utc>>,
    entries: &[Entry<'_>],
) -> String {
    use rss::extension::atom::AtomExtension;
    use rss::extension::dublincore::DublinCoreExtension;
    use rss::{Category, Channel, Guid, Item};
    let title = xml_text(title);
    let channel = Channel {
        description: format!("{title}, from papergraph"),
        title,
        link: HF_PAPERS.into(),
        atom_ext: Some(AtomExtension {
            links: vec![atom_link("self", "application/rss+xml", xml_text(self_url))],
        }),
        generator: Some("papergraph".into()),
        last_build_date: updated.map(http_date),
        items: entries
            .iter()
            .map(|e| Item {
                title: Some(xml_text(&e.paper.title)),
                link: Some(e.link()),
                guid: Some(Guid {
                    value: e.link(),
                    permalink: true,
                }),
                pub_date: Some(http_date(e.paper.published_at)),
                dublin_core_ext: (!e.authors.is_empty()).then(|| DublinCoreExtension {
                    creators: e.authors.iter().map(|a| xml_text(a)).collect(),
                    ..Default::default()
                }),
                categories: e
                    .keywords()
                    .iter()
                    .map(|k| Category {
                        name: xml_text(k),
                        domain: None,
                    })
                    .collect(),
                description: Some(summary(e)),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    channel.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_is_escaped_and_stripped_of_forbidden_characters() {
        assert_eq!(
            crate::domain::escape_markup("a<b> & \"c\" 'd'\u{0}\u{1b}\te"),
            "a&lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;\te"
        );
        assert_eq!(xml_text("a<b>\u{0}\u{1b}\te\u{FFFE}"), "a<b>\te");
    }

    #[test]
    fn parameters_are_checked_with_messages_that_say_what_to_send() {
        let p = |pairs: &[(&str, &str)]| {
            parse(
                &pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        assert!(p(&[]).is_ok());
        assert!(
            p(&[("minUpvotes", "abc")])
                .err()
                .unwrap()
                .contains("minUpvotes")
        );
        assert!(p(&[("order", "random")]).err().unwrap().contains("order"));
        assert!(p(&[("limit", "0")]).err().unwrap().contains("limit"));
        assert!(p(&[("limit", "101")]).is_err());
        assert!(p(&[("week", "2026-W99")]).is_err());
        assert!(p(&[("month", "2026-13")]).is_err());
        assert!(p(&[("date", "yesterday")]).err().unwrap().contains("date"));
        assert!(p(&[("q", "diffusion"), ("order", "upvotes")]).is_err());
        assert!(p(&[("q", "\"")]).is_err());
        assert!(p(&[("bogus", "1")]).err().unwrap().contains("unknown"));
        let r = p(&[("q", "video"), ("author", "Ana"), ("limit", "5")]).unwrap();
        assert_eq!(r.limit, 5);
        assert!(r.query.is_some());
        assert_eq!(r.criteria.author_key.as_deref(), Some("ana"));
    }
}
