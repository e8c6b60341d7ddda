//! A fake Hugging Face on 127.0.0.1: serves daily lists in the real `/api/daily_papers` format
//! (items built from the sample files) with switchable faults, and counts requests and the peak
//! number in flight.
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::helpers::fixture;

#[derive(Clone, Debug)]
pub enum Fault {
    Status(u16),
    RateLimited { t: u64 },
    Truncated,
    NotAList,
    Hang(Duration),
}

#[derive(Default)]
pub struct FakeState {
    pub days: Mutex<HashMap<String, Vec<Value>>>,
    /// Consumed one per request, in order.
    pub next_faults: Mutex<VecDeque<Fault>>,
    /// Applied to every request for that day until removed.
    pub day_faults: Mutex<HashMap<String, Fault>>,
    pub delay: Mutex<Duration>,
    /// Days whose HTML page comes without its data island but with its visible cards (a new
    /// layout), as in `bad/papers_date_missing-data-props.html`.
    pub html_without_island: Mutex<std::collections::HashSet<String>>,
    /// Days whose HTML page has neither island nor cards (a challenge page).
    pub html_bare: Mutex<std::collections::HashSet<String>>,
    pub html_requests: AtomicUsize,
    /// Bare paper objects served at `/api/papers/{id}` (others answer 404, unless
    /// `default_detail` is set: then it is served with the paper's id).
    pub details: Mutex<HashMap<String, Value>>,
    pub default_detail: Mutex<Option<Value>>,
    /// `comments` arrays added to a detail asked with `?field=comments`.
    pub comments: Mutex<HashMap<String, Value>>,
    /// Bodies of `/api/arxiv/{id}/repos` (others answer empty lists, as the Hub does).
    pub repos: Mutex<HashMap<String, Value>>,
    /// Applied to every detail request of that paper until removed.
    pub detail_faults: Mutex<HashMap<String, Fault>>,
    /// Every request's path and query, in arrival order.
    pub log: Mutex<Vec<String>>,
    pub requests: AtomicUsize,
    pub in_flight: AtomicUsize,
    pub peak: AtomicUsize,
}

impl FakeState {
    /// The items served for `date` (none for a day never set).
    fn day(&self, date: &str) -> Vec<Value> {
        self.days
            .lock()
            .unwrap()
            .get(date)
            .cloned()
            .unwrap_or_default()
    }
}

pub struct FakeUpstream {
    pub addr: SocketAddr,
    pub state: Arc<FakeState>,
}

impl FakeUpstream {
    pub async fn start() -> Self {
        let state = Arc::new(FakeState::default());
        let app = axum::Router::new()
            .route("/api/daily_papers", axum::routing::get(daily_papers))
            .route("/papers/date/{date}", axum::routing::get(daily_page))
            .route("/api/papers/{id}", axum::routing::get(paper_details))
            .route("/api/arxiv/{id}/repos", axum::routing::get(linked_repos))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_day(&self, date: &str, items: Vec<Value>) {
        self.state
            .days
            .lock()
            .unwrap()
            .insert(date.to_string(), items);
    }

    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// The requests so far whose path starts with `prefix`.
    pub fn logged(&self, prefix: &str) -> usize {
        let log = self.state.log.lock().unwrap();
        log.iter().filter(|l| l.starts_with(prefix)).count()
    }
}

async fn daily_papers(
    State(s): State<Arc<FakeState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    s.requests.fetch_add(1, Ordering::SeqCst);
    s.log.lock().unwrap().push(format!(
        "/api/daily_papers?date={}",
        q.get("date").cloned().unwrap_or_default()
    ));
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.peak.fetch_max(now, Ordering::SeqCst);
    let delay = *s.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let date = q.get("date").cloned().unwrap_or_default();
    let fault = s
        .next_faults
        .lock()
        .unwrap()
        .pop_front()
        .or_else(|| s.day_faults.lock().unwrap().get(&date).cloned());
    let response = match fault {
        Some(f) => fault_response(&s, f).await,
        None => {
            let limit: usize = q.get("limit").and_then(|v| v.parse().ok()).unwrap_or(50);
            let page: usize = q.get("p").and_then(|v| v.parse().ok()).unwrap_or(0);
            let items = s.day(&date);
            let slice: Vec<Value> = items.into_iter().skip(page * limit).take(limit).collect();
            axum::Json(Value::Array(slice)).into_response()
        }
    };
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}

async fn paper_details(
    State(s): State<Arc<FakeState>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let with_comments = q.get("field").map(String::as_str) == Some("comments");
    s.log.lock().unwrap().push(format!(
        "/api/papers/{id}{}",
        if with_comments { "?field=comments" } else { "" }
    ));
    let delay = *s.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let fault = s.detail_faults.lock().unwrap().get(&id).cloned();
    if let Some(f) = fault {
        return fault_response(&s, f).await;
    }
    let detail = s.details.lock().unwrap().get(&id).cloned().or_else(|| {
        let mut d = s.default_detail.lock().unwrap().clone()?;
        d["id"] = json!(id);
        Some(d)
    });
    match detail {
        Some(mut v) => {
            if with_comments && let Some(c) = s.comments.lock().unwrap().get(&id) {
                v["comments"] = c.clone();
            }
            if !with_comments && let Some(o) = v.as_object_mut() {
                o.remove("comments");
            }
            axum::Json(v).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            [("x-error-code", "EntryNotFound")],
            axum::Json(json!({ "error": "Entry not found" })),
        )
            .into_response(),
    }
}

async fn linked_repos(
    State(s): State<Arc<FakeState>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    s.log.lock().unwrap().push(format!("/api/arxiv/{id}/repos"));
    let body = s
        .repos
        .lock()
        .unwrap()
        .get(&id)
        .cloned()
        .unwrap_or_else(|| json!({ "models": [], "datasets": [], "spaces": [] }));
    axum::Json(body).into_response()
}

/// The day as the site renders it: the items in a `DailyPapers` island, attribute-escaped.
async fn daily_page(
    State(s): State<Arc<FakeState>>,
    axum::extract::Path(date): axum::extract::Path<String>,
) -> Response {
    s.html_requests.fetch_add(1, Ordering::SeqCst);
    let items = s.day(&date);
    if s.html_bare.lock().unwrap().contains(&date) {
        let page = "<!doctype html><html><head><title>Just a moment...</title></head><body><p>Checking your browser</p></body></html>";
        return ([("content-type", "text/html; charset=utf-8")], page).into_response();
    }
    let mut cards = String::new();
    let island = if s.html_without_island.lock().unwrap().contains(&date) {
        for item in &items {
            let p = &item["paper"];
            let id = p["id"].as_str().unwrap_or_default();
            let title = html_escape(p["title"].as_str().unwrap_or_default());
            let votes = p["upvotes"].as_i64().unwrap_or_default();
            cards.push_str(&format!(
                r#"<article class="relative flex flex-col"><a href="/papers/{id}" class="block"><img src="x.png" alt=""></a><div class="flex"><div class="flex flex-col"><div class="shadow-alternate flex h-14 w-12"><label class="flex flex-col items-center"><input type="checkbox" class="peer hidden"><div class="leading-none">{votes}</div></label></div></div><div class="w-full"><h3 class="mb-1 text-lg"><a href="/papers/{id}" class="line-clamp-3">{title}</a></h3></div></div></article>"#
            ));
        }
        String::new()
    } else {
        let props =
            json!({ "dailyPapers": items, "dateString": date, "periodType": "day", "query": {} })
                .to_string();
        let escaped = props.replace('&', "&amp;").replace('"', "&quot;");
        format!(r#" data-props="{escaped}""#)
    };
    let page = format!(
        r#"<!doctype html><html><head><title>Daily Papers</title></head><body><main class="flex flex-1 flex-col"><div class="SVELTE_HYDRATER contents" data-target="DailyPapers"{island}><h1>Daily Papers</h1>{cards}</div></main></body></html>"#
    );
    ([("content-type", "text/html; charset=utf-8")], page).into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn fault_response(s: &FakeState, f: Fault) -> Response {
    match f {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap();
            (status, axum::Json(json!({ "error": "injected fault" }))).into_response()
        }
        Fault::RateLimited { t } => {
            let mut h = HeaderMap::new();
            h.insert("ratelimit", format!("\"api\";r=0;t={t}").parse().unwrap());
            h.insert(
                "ratelimit-policy",
                "\"fixed window\";\"api\";q=500;w=300".parse().unwrap(),
            );
            h.insert(
                "x-error-message",
                "You have been rate-limited".parse().unwrap(),
            );
            (
                StatusCode::TOO_MANY_REQUESTS,
                h,
                axum::Json(json!({ "error": "rate limited" })),
            )
                .into_response()
        }
        Fault::Truncated => {
            let body = std::fs::read(fixture("bad/daily_papers_truncated.json")).unwrap();
            ([("content-type", "application/json")], body).into_response()
        }
        Fault::NotAList => axum::Json(json!({ "error": "Invalid query" })).into_response(),
        // A hung request stops counting as in flight while it hangs: the client has timed out
        // on it long before, so it must not inflate the peak.
        Fault::Hang(d) => {
            s.in_flight.fetch_sub(1, Ordering::SeqCst);
            tokio::time::sleep(d).await;
            s.in_flight.fetch_add(1, Ordering::SeqCst);
            axum::Json(json!([])).into_response()
        }
    }
}

/// `n` items for `date` in the upstream format, built from the 2026-01-30 sample with fresh ids
/// (`2601.<seed><nn>`), listing times on that day and varied upvotes.
pub fn day_items(date: &str, seed: u32, n: usize) -> Vec<Value> {
    assert!(
        seed < 100 && n < 1000,
        "ids must stay valid arXiv ids (YYMM.NNNNN)"
    );
    let body = std::fs::read(fixture("api/daily_papers_date-2026-01-30.json")).unwrap();
    let samples: Vec<Value> = serde_json::from_slice(&body).unwrap();
    (0..n)
        .map(|i| {
            let mut item = samples[i % samples.len()].clone();
            let id = format!("2601.{:05}", seed * 1000 + i as u32);
            let at = format!("{date}T{:02}:{:02}:00.000Z", 6 + i % 12, i % 60);
            item["paper"]["id"] = json!(id);
            item["paper"]["title"] = json!(format!("Paper {id} on {date}"));
            item["paper"]["upvotes"] = json!((i * 7 + seed as usize) % 97);
            item["paper"]["submittedOnDailyAt"] = json!(at);
            item["publishedAt"] = json!(at);
            item
        })
        .collect()
}
