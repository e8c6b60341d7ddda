//! Process metrics in the Prometheus text format (`GET /metrics`): HTTP requests by route and
//! status with a latency histogram, GraphQL operations and errors by code, digest sends,
//! websocket connections; the database pool, subscribers and sync lag are read when scraped.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Registry {
    /// (route, status) → requests.
    requests: BTreeMap<(&'static str, u16), u64>,
    /// route → latency.
    latency: BTreeMap<&'static str, Histogram>,
    /// operation type → count.
    operations: BTreeMap<&'static str, u64>,
    /// error code → count.
    errors: BTreeMap<String, u64>,
    /// outcome → digests.
    digests: BTreeMap<&'static str, u64>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);
static WEBSOCKETS: AtomicI64 = AtomicI64::new(0);
static SYNC_PASSES: AtomicU64 = AtomicU64::new(0);

fn with<T>(f: impl FnOnce(&mut Registry) -> T) -> T {
    let mut g = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    f(g.get_or_insert_with(Registry::default))
}

/// One HTTP request answered.
pub fn http_request(route: &'static str, status: u16, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    with(|r| {
        *r.requests.entry((route, status)).or_default() += 1;
        let h = r.latency.entry(route).or_default();
        h.count += 1;
        h.sum += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.counts[i] += 1;
            }
        }
    });
}

/// One GraphQL request answered: the operation it executed (`query`, `mutation`; none when it
/// failed before execution) and the codes of its errors.
pub fn graphql_operation(kind: Option<&'static str>, error_codes: &[&str]) {
    with(|r| {
        if let Some(kind) = kind {
            *r.operations.entry(kind).or_default() += 1;
        }
        for c in error_codes {
            match r.errors.get_mut(*c) {
                Some(n) => *n += 1,
                None => {
                    r.errors.insert((*c).to_string(), 1);
                }
            }
        }
    });
}

/// One digest delivery outcome: `sent`, `retry`, `failed`, `empty`, `interrupted`.
pub fn digest(outcome: &'static str, n: u64) {
    if n > 0 {
        with(|r| *r.digests.entry(outcome).or_default() += n);
    }
}

/// A websocket opened (`+1`) or closed (`-1`).
pub fn websocket(delta: i64) {
    WEBSOCKETS.fetch_add(delta, Ordering::Relaxed);
}

/// A sync pass ran (on the leader).
pub fn sync_pass() {
    SYNC_PASSES.fetch_add(1, Ordering::Relaxed);
}

fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Values read at scrape time.
#[derive(Clone, Debug, Default)]
pub struct Gauges {
    pub pool_size: u32,
    pub pool_idle: u32,
    pub pool_max: u32,
    pub subscribers: usize,
    /// Seconds since the mirror last stored a day (None: nothing stored yet).
    pub sync_lag_seconds: Option<f64>,
    pub papers_indexed: usize,
}

/// The exposition text.
pub fn render(g: &Gauges) -> String {
    let mut out = String::with_capacity(4096);
    with(|r| {
        out.push_str("# HELP papergraph_http_requests_total HTTP requests answered, by route and status.\n# TYPE papergraph_http_requests_total counter\n");
        for ((route, status), n) in &r.requests {
            let _ = writeln!(
                out,
                "papergraph_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                label(route)
            );
        }
        out.push_str("# HELP papergraph_http_request_duration_seconds Time to answer HTTP requests, by route.\n# TYPE papergraph_http_request_duration_seconds histogram\n");
        for (route, h) in &r.latency {
            let route = label(route);
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "papergraph_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "papergraph_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\npapergraph_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\npapergraph_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count, h.sum, h.count
            );
        }
        out.push_str("# HELP papergraph_graphql_operations_total GraphQL operations executed, by type.\n# TYPE papergraph_graphql_operations_total counter\n");
        for (k, n) in &r.operations {
            let _ = writeln!(
                out,
                "papergraph_graphql_operations_total{{type=\"{k}\"}} {n}"
            );
        }
        out.push_str("# HELP papergraph_graphql_errors_total GraphQL errors answered, by extensions.code.\n# TYPE papergraph_graphql_errors_total counter\n");
        for (k, n) in &r.errors {
            let _ = writeln!(
                out,
                "papergraph_graphql_errors_total{{code=\"{}\"}} {n}",
                label(k)
            );
        }
        out.push_str("# HELP papergraph_digest_deliveries_total Digest deliveries by outcome.\n# TYPE papergraph_digest_deliveries_total counter\n");
        for (k, n) in &r.digests {
            let _ = writeln!(
                out,
                "papergraph_digest_deliveries_total{{outcome=\"{k}\"}} {n}"
            );
        }
    });
    let _ = write!(
        out,
        "# HELP papergraph_websockets Open websocket connections.\n# TYPE papergraph_websockets gauge\npapergraph_websockets {}\n\
         # HELP papergraph_subscribers Live GraphQL subscriptions on this server.\n# TYPE papergraph_subscribers gauge\npapergraph_subscribers {}\n\
         # HELP papergraph_db_pool_connections Database connections in the pool, by state.\n# TYPE papergraph_db_pool_connections gauge\n\
         papergraph_db_pool_connections{{state=\"idle\"}} {}\npapergraph_db_pool_connections{{state=\"busy\"}} {}\n\
         # HELP papergraph_db_pool_max_connections The pool's bound.\n# TYPE papergraph_db_pool_max_connections gauge\npapergraph_db_pool_max_connections {}\n\
         # HELP papergraph_sync_passes_total Sync passes this server ran as leader.\n# TYPE papergraph_sync_passes_total counter\npapergraph_sync_passes_total {}\n\
         # HELP papergraph_search_papers_indexed Papers in this server's keyword index.\n# TYPE papergraph_search_papers_indexed gauge\npapergraph_search_papers_indexed {}\n",
        WEBSOCKETS.load(Ordering::Relaxed),
        g.subscribers,
        g.pool_idle,
        g.pool_size.saturating_sub(g.pool_idle),
        g.pool_max,
        SYNC_PASSES.load(Ordering::Relaxed),
        g.papers_indexed,
    );
    if let Some(lag) = g.sync_lag_seconds {
        let _ = write!(
            out,
            "# HELP papergraph_sync_lag_seconds Seconds since the mirror last stored a daily list.\n# TYPE papergraph_sync_lag_seconds gauge\npapergraph_sync_lag_seconds {lag:.0}\n"
        );
    }
    out
}
