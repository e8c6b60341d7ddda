//! The one HTTP client to Hugging Face: base URL from config, optional token, a User-Agent naming
//! papergraph, timeouts, gzip, bounded concurrency, a request budget per window, and retries that
//! honour `RateLimit` (`t=`) and `Retry-After` before falling back to exponential backoff with
//! jitter.
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::Semaphore;

use crate::config::{Source, UpstreamOpts};

/// How to reach and treat the upstream.
#[derive(Clone, Debug)]
pub struct UpstreamConfig {
    pub source: Source,
    /// e.g. `https://huggingface.co` (no trailing slash needed).
    pub base_url: String,
    /// Sent as `Authorization: Bearer …` when set (raises the Hub's rate limits).
    pub token: Option<String>,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Requests allowed per `window`; the Hub allows 500 per 5 minutes anonymously.
    pub budget: u32,
    pub window: Duration,
    /// Retries of a request after a retryable failure (408, 429, 5xx, timeouts, resets).
    pub max_retries: u32,
    /// First backoff step; doubles per retry, with jitter, up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Longest wait honoured from a `RateLimit`/`Retry-After` header.
    pub max_rate_limit_wait: Duration,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl From<&UpstreamOpts> for UpstreamConfig {
    fn from(o: &UpstreamOpts) -> Self {
        UpstreamConfig {
            base_url: o.upstream_url.clone(),
            token: o.upstream_token.clone().filter(|t| !t.is_empty()),
            concurrency: o.sync_concurrency.max(1),
            budget: o.upstream_budget.max(1),
            max_retries: o.upstream_retries,
            source: o.sync_source,
            ..Default::default()
        }
    }
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            source: Source::Auto,
            base_url: "https://huggingface.co".into(),
            token: None,
            concurrency: 4,
            budget: 450,
            window: Duration::from_secs(300),
            max_retries: 4,
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_rate_limit_wait: Duration::from_secs(310),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Why a fetch failed, after retries.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot reach {url}: {reason}; check PAPERGRAPH_UPSTREAM_URL and the network")]
    Unreachable { url: String, reason: String },
    #[error("{url} timed out after {attempts} attempts")]
    Timeout { url: String, attempts: u32 },
    #[error("{url} answered HTTP {status}{message}")]
    Status {
        url: String,
        status: u16,
        message: String,
    },
    #[error("{url} answered with a body that is not the expected JSON: {reason}")]
    Body { url: String, reason: String },
}

impl FetchError {
    /// The upstream could not be reached at all (as opposed to answering badly).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, FetchError::Unreachable { .. })
    }
}

/// Counters the tests and the progress display read.
#[derive(Debug, Default)]
pub struct UpstreamStats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limit_waits: AtomicU64,
    pub in_flight: AtomicUsize,
}

/// The upstream client. Cheap to share behind an `Arc`.
pub struct Upstream {
    http: reqwest::Client,
    cfg: UpstreamConfig,
    permits: Semaphore,
    /// Requests per window (one key: the upstream).
    budget: crate::window::FixedWindow<()>,
    pub stats: UpstreamStats,
}

/// One day's `/api/daily_papers` items as raw JSON, and the SHA-256 of the response bodies.
#[derive(Debug)]
pub struct RawList {
    pub items: Vec<Box<RawValue>>,
    pub body_hash: String,
}

/// Items per page of `/api/daily_papers` (the API's maximum).
pub const PAGE_SIZE: usize = 100;

impl Upstream {
    /// Requests in flight at most (the configured concurrency).
    pub fn concurrency(&self) -> usize {
        self.cfg.concurrency.max(1)
    }

    pub fn new(cfg: UpstreamConfig) -> Result<Self, FetchError> {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(token) = &cfg.token
            && let Ok(v) = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        {
            headers.insert(reqwest::header::AUTHORIZATION, v);
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!(
                "papergraph/",
                env!("CARGO_PKG_VERSION"),
                " (Daily Papers mirror; polite sync)"
            ))
            .default_headers(headers)
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.request_timeout)
            .gzip(true)
            .build()
            .map_err(|e| FetchError::Unreachable {
                url: cfg.base_url.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            http,
            permits: Semaphore::new(cfg.concurrency.max(1)),
            budget: crate::window::FixedWindow::new(u64::from(cfg.budget.max(1)), cfg.window),
            cfg,
            stats: UpstreamStats::default(),
        })
    }

    pub fn base_url(&self) -> &str {
        self.cfg.base_url.trim_end_matches('/')
    }

    /// Every item of the daily list of `date`, paging with `limit=100&p=N` until a short page.
    pub async fn daily_list(&self, date: NaiveDate) -> Result<RawList, FetchError> {
        use sha2::Digest;
        let mut items = Vec::new();
        let mut hasher = sha2::Sha256::new();
        for page in 0.. {
            let url = format!(
                "{}/api/daily_papers?date={date}&limit={PAGE_SIZE}&p={page}",
                self.base_url()
            );
            let bytes = self.get(&url, "application/json").await?;
            // Items are kept as raw JSON (checked, not built into a tree): each is parsed on its
            // own later, so one bad item does not cost the day, and an unchanged day not at all.
            let batch: Vec<Box<RawValue>> = match serde_json::from_slice(&bytes) {
                Ok(b) => b,
                Err(e) => {
                    let reason = match serde_json::from_slice::<Value>(&bytes) {
                        Ok(other) => format!(
                            "expected a JSON array of papers, got {}",
                            short(&other.to_string())
                        ),
                        Err(_) => format!("invalid JSON ({e})"),
                    };
                    return Err(FetchError::Body { url, reason });
                }
            };
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
            let n = batch.len();
            items.extend(batch);
            if n < PAGE_SIZE || page >= 50 {
                break;
            }
        }
        let body_hash = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(RawList { items, body_hash })
    }

    /// Waits for a slot in the request budget of the current window.
    async fn spend_budget(&self) {
        loop {
            let wait = match self.budget.spend(&(), 1) {
                Ok(_) => return,
                Err(s) => s.reset_in,
            };
            self.stats.rate_limit_waits.fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                wait_s = wait.as_secs(),
                "request budget for this window is spent; waiting"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// The details of one paper (`/api/papers/{id}`), with its comments when asked
    /// (`?field=comments`: the linked repos and the discussion in one request); `None` when the
    /// Hub does not index it.
    pub async fn paper_details(
        &self,
        arxiv_id: &str,
        with_comments: bool,
    ) -> Result<Option<Value>, FetchError> {
        let field = if with_comments { "?field=comments" } else { "" };
        let url = format!("{}/api/papers/{arxiv_id}{field}", self.base_url());
        match self.get_json(&url).await {
            Ok(v) => Ok(Some(v)),
            Err(FetchError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every Hub repo citing a paper (`/api/arxiv/{id}/repos`), uncapped.
    pub async fn linked_repos(&self, arxiv_id: &str) -> Result<Value, FetchError> {
        let url = format!("{}/api/arxiv/{arxiv_id}/repos", self.base_url());
        self.get_json(&url).await
    }

    /// Requests left in the current budget window.
    pub fn budget_left(&self) -> u64 {
        self.budget.peek(&()).remaining
    }

    /// Requests allowed per window.
    pub fn budget(&self) -> u64 {
        self.budget.budget
    }

    /// The HTML page of the daily list of `date`.
    pub async fn daily_page(&self, date: NaiveDate) -> Result<String, FetchError> {
        let url = format!("{}/papers/date/{date}", self.base_url());
        let bytes = self.get(&url, "text/html").await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    pub fn source(&self) -> Source {
        self.cfg.source
    }

    /// GETs `url` as JSON with the retry policy.
    pub async fn get_json(&self, url: &str) -> Result<Value, FetchError> {
        let bytes = self.get(url, "application/json").await?;
        serde_json::from_slice(&bytes).map_err(|e| FetchError::Body {
            url: url.into(),
            reason: format!("invalid JSON ({e})"),
        })
    }

    /// GETs `url` with the retry policy and returns the body.
    async fn get(&self, url: &str, accept: &str) -> Result<axum::body::Bytes, FetchError> {
        let mut attempt = 0u32;
        loop {
            self.spend_budget().await;
            let outcome = {
                let _permit = self.permits.acquire().await;
                self.stats.in_flight.fetch_add(1, Ordering::SeqCst);
                self.stats.requests.fetch_add(1, Ordering::Relaxed);
                let r = self.try_once(url, accept).await;
                self.stats.in_flight.fetch_sub(1, Ordering::SeqCst);
                r
            };
            let (err, wait) = match outcome {
                Ok(v) => return Ok(v),
                Err(Attempt::Fatal(e)) => return Err(e),
                Err(Attempt::Retry(e, hinted)) => (e, hinted),
            };
            if attempt >= self.cfg.max_retries {
                return Err(err);
            }
            let wait = wait
                .map(|w| w.min(self.cfg.max_rate_limit_wait))
                .unwrap_or_else(|| self.backoff(attempt));
            if matches!(&err, FetchError::Status { status: 429, .. }) {
                self.stats.rate_limit_waits.fetch_add(1, Ordering::Relaxed);
            }
            tracing::warn!(%url, attempt = attempt + 1, wait_ms = wait.as_millis() as u64, error = %err, "retrying");
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.cfg.base_backoff.saturating_mul(1 << attempt.min(16));
        let jitter = jitter_fraction();
        base.mul_f64(0.5 + jitter).min(self.cfg.max_backoff)
    }

    async fn try_once(&self, url: &str, accept: &str) -> Result<axum::body::Bytes, Attempt> {
        let resp = match self.http.get(url).header("accept", accept).send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return Err(Attempt::Retry(
                    FetchError::Timeout {
                        url: url.into(),
                        attempts: 1,
                    },
                    None,
                ));
            }
            Err(e) => {
                let err = FetchError::Unreachable {
                    url: url.into(),
                    reason: root_cause(&e),
                };
                return Err(Attempt::Retry(err, None));
            }
        };
        let status = resp.status();
        if !status.is_success() {
            let hinted = rate_limit_wait(resp.headers());
            let message = resp
                .headers()
                .get("x-error-message")
                .and_then(|v| v.to_str().ok())
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            let err = FetchError::Status {
                url: url.into(),
                status: status.as_u16(),
                message,
            };
            let retryable = matches!(
                status,
                StatusCode::REQUEST_TIMEOUT
                    | StatusCode::TOO_MANY_REQUESTS
                    | StatusCode::INTERNAL_SERVER_ERROR
                    | StatusCode::BAD_GATEWAY
                    | StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::GATEWAY_TIMEOUT
            );
            return Err(if retryable {
                Attempt::Retry(err, hinted)
            } else {
                Attempt::Fatal(err)
            });
        }
        match resp.bytes().await {
            Ok(b) => Ok(b),
            Err(e) if e.is_timeout() => Err(Attempt::Retry(
                FetchError::Timeout {
                    url: url.into(),
                    attempts: 1,
                },
                None,
            )),
            Err(e) => {
                let err = FetchError::Body {
                    url: url.into(),
                    reason: root_cause(&e),
                };
                Err(Attempt::Retry(err, None))
            }
        }
    }
}

enum Attempt {
    Retry(FetchError, Option<Duration>),
    Fatal(FetchError),
}

/// The wait a 429/503 asks for: the `RateLimit` header's `t=` (plus a second, as the Hub's own
/// client does), else a numeric `Retry-After`.
pub fn rate_limit_wait(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    if let Some(v) = headers.get("ratelimit").and_then(|v| v.to_str().ok()) {
        for part in v.split(';') {
            if let Some(t) = part.trim().strip_prefix("t=")
                && let Ok(secs) = t.trim().parse::<u64>()
            {
                return Some(Duration::from_secs(secs + 1));
            }
        }
    }
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn short(s: &str) -> String {
    s.chars().take(120).collect()
}

/// A fraction in [0, 1) from a per-process xorshift, for backoff jitter.
fn jitter_fraction() -> f64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        x = u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(7),
        ) | 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_headers_are_honoured_in_order() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("ratelimit", "\"api\";r=0;t=55".parse().unwrap());
        h.insert("retry-after", "187".parse().unwrap());
        assert_eq!(rate_limit_wait(&h), Some(Duration::from_secs(56)));
        h.remove("ratelimit");
        assert_eq!(rate_limit_wait(&h), Some(Duration::from_secs(187)));
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2026 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(rate_limit_wait(&h), None);
        for _ in 0..1000 {
            let j = jitter_fraction();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
