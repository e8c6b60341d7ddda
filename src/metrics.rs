//! Process metrics for Prometheus (`GET /metrics`), kept in a `prometheus-client` registry: HTTP
//! requests by route and status with a latency histogram, GraphQL operations and errors by
//! code, digest sends, websocket connections; the database pool, subscribers, sync lag and the
//! keyword index are set when scraped.
use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteStatus {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationType {
    r#type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorCode {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolState {
    state: &'static str,
}

type FloatGauge = Gauge<f64, AtomicU64>;

struct Metrics {
    registry: Registry,
    requests: Family<RouteStatus, Counter>,
    latency: Family<Route, Histogram>,
    operations: Family<OperationType, Counter>,
    errors: Family<ErrorCode, Counter>,
    digests: Family<Outcome, Counter>,
    websockets: Gauge,
    subscribers: Gauge,
    pool: Family<PoolState, Gauge>,
    pool_max: Gauge,
    sync_passes: Counter,
    papers_indexed: Gauge,
    /// No series until the mirror has stored a day.
    sync_lag: Family<Vec<(String, String)>, FloatGauge>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::default();
    let requests = Family::default();
    registry.register(
        "papergraph_http_requests",
        "HTTP requests answered, by route and status",
        requests.clone(),
    );
    let latency = Family::<Route, Histogram>::new_with_constructor(|| {
        Histogram::new(BUCKETS.iter().copied())
    });
    registry.register(
        "papergraph_http_request_duration_seconds",
        "Time to answer HTTP requests, by route",
        latency.clone(),
    );
    let operations = Family::default();
    registry.register(
        "papergraph_graphql_operations",
        "GraphQL operations executed, by type",
        operations.clone(),
    );
    let errors = Family::default();
    registry.register(
        "papergraph_graphql_errors",
        "GraphQL errors answered, by extensions.code",
        errors.clone(),
    );
    let digests = Family::default();
    registry.register(
        "papergraph_digest_deliveries",
        "Digest deliveries by outcome",
        digests.clone(),
    );
    let websockets = Gauge::default();
    registry.register(
        "papergraph_websockets",
        "Open websocket connections",
        websockets.clone(),
    );
    let subscribers = Gauge::default();
    registry.register(
        "papergraph_subscribers",
        "Live GraphQL subscriptions on this server",
        subscribers.clone(),
    );
    let pool = Family::default();
    registry.register(
        "papergraph_db_pool_connections",
        "Database connections in the pool, by state",
        pool.clone(),
    );
    let pool_max = Gauge::default();
    registry.register(
        "papergraph_db_pool_max_connections",
        "The pool's bound",
        pool_max.clone(),
    );
    let sync_passes = Counter::default();
    registry.register(
        "papergraph_sync_passes",
        "Sync passes this server ran as leader",
        sync_passes.clone(),
    );
    let papers_indexed = Gauge::default();
    registry.register(
        "papergraph_search_papers_indexed",
        "Papers in this server's keyword index",
        papers_indexed.clone(),
    );
    let sync_lag = Family::default();
    registry.register(
        "papergraph_sync_lag_seconds",
        "Seconds since the mirror last stored a daily list",
        sync_lag.clone(),
    );
    Metrics {
        registry,
        requests,
        latency,
        operations,
        errors,
        digests,
        websockets,
        subscribers,
        pool,
        pool_max,
        sync_passes,
        papers_indexed,
        sync_lag,
    }
});

/// One HTTP request answered.
pub fn http_request(route: &'static str, status: u16, elapsed: Duration) {
    let m = &*METRICS;
    m.requests
        .get_or_create(&RouteStatus { route, status })
        .inc();
    m.latency
        .get_or_create(&Route { route })
        .observe(elapsed.as_secs_f64());
}

/// One GraphQL request answered: the operation it executed (`query`, `mutation`; none when it
/// failed before execution) and the codes of its errors.
pub fn graphql_operation(kind: Option<&'static str>, error_codes: &[&str]) {
    let m = &*METRICS;
    if let Some(kind) = kind {
        m.operations
            .get_or_create(&OperationType { r#type: kind })
            .inc();
    }
    for c in error_codes {
        m.errors
            .get_or_create(&ErrorCode {
                code: (*c).to_string(),
            })
            .inc();
    }
}

/// One digest delivery outcome: `sent`, `retry`, `failed`, `empty`, `interrupted`.
pub fn digest(outcome: &'static str, n: u64) {
    if n > 0 {
        METRICS
            .digests
            .get_or_create(&Outcome { outcome })
            .inc_by(n);
    }
}

/// A websocket opened (`+1`) or closed (`-1`).
pub fn websocket(delta: i64) {
    METRICS.websockets.inc_by(delta);
}

/// A sync pass ran (on the leader).
pub fn sync_pass() {
    METRICS.sync_passes.inc();
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

/// The exposition (OpenMetrics text), with the scrape-time values `g`.
pub fn render(g: &Gauges) -> String {
    let m = &*METRICS;
    m.subscribers.set(g.subscribers as i64);
    m.pool
        .get_or_create(&PoolState { state: "idle" })
        .set(i64::from(g.pool_idle));
    m.pool
        .get_or_create(&PoolState { state: "busy" })
        .set(i64::from(g.pool_size.saturating_sub(g.pool_idle)));
    m.pool_max.set(i64::from(g.pool_max));
    m.papers_indexed.set(g.papers_indexed as i64);
    match g.sync_lag_seconds {
        Some(lag) => {
            m.sync_lag.get_or_create(&Vec::new()).set(lag.round());
        }
        None => m.sync_lag.clear(),
    }
    let mut out = String::with_capacity(8192);
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &m.registry) {
        tracing::error!(error = %e, "could not encode the metrics");
    }
    out
}

/// The media type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
