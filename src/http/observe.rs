//! Every request: one `tracing` line with its id, route, status, GraphQL operation and
//! duration, and the Prometheus counters (route labels and operation names are papergraph's
//! own). Request ids and CORS are tower-http's layers, configured here.
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing::Instrument as _;

use crate::http::AppState;

/// The route a path belongs to, for metrics labels (bounded: unknown paths are `other`).
fn route(path: &str) -> &'static str {
    match path {
        "/" => "/",
        "/graphql" => "/graphql",
        "/graphql/ws" => "/graphql/ws",
        "/feeds/papers.atom" => "/feeds/papers.atom",
        "/feeds/papers.rss" => "/feeds/papers.rss",
        "/digest/confirm" => "/digest/confirm",
        "/digest/unsubscribe" => "/digest/unsubscribe",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        p if p.starts_with("/graphiql/") => "/graphiql/{file}",
        _ => "other",
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Whether a caller's `X-Request-Id` is kept: short and plain (it goes into logs).
fn usable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
}

/// New request ids: 16 random hex digits.
#[derive(Clone, Copy, Default)]
pub struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        static FALLBACK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let mut bytes = [0u8; 8];
        if getrandom::fill(&mut bytes).is_err() {
            // No randomness: still unique within the process.
            bytes = FALLBACK
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                .to_be_bytes();
        }
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        HeaderValue::from_str(&hex).ok().map(RequestId::new)
    }
}

/// CORS for `origins`: `*` allows any origin (without credentials), otherwise the origins
/// listed; none allows no cross-origin caller.
pub fn cors(origins: &[String]) -> CorsLayer {
    let any = origins.iter().any(|o| o == "*");
    let layer = if any {
        // The answer is the same for every origin: no `Vary` to write on every response.
        CorsLayer::new()
            .allow_origin(AllowOrigin::any())
            .vary(Vec::<HeaderName>::new())
    } else {
        CorsLayer::new().allow_origin(AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok()),
        ))
    };
    layer
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("x-api-key"),
            REQUEST_ID,
            header::AUTHORIZATION,
        ])
        .expose_headers(
            [
                "x-request-id",
                "ratelimit-limit",
                "ratelimit-remaining",
                "ratelimit-reset",
                "ratelimit-policy",
                "retry-after",
            ]
            .map(HeaderName::from_static),
        )
        .max_age(Duration::from_secs(600))
}

/// Inside tower-http's `SetRequestId` (which gives a request without an id a new one): a
/// caller's id unfit for logs is replaced here, on the request and on the response (which
/// `PropagateRequestId` then leaves alone).
pub async fn observe(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route(request.uri().path());
    let mut replaced = None;
    let id = match request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
    {
        Some(id) if usable(id) => id.to_string(),
        _ => {
            let new = NewRequestId
                .make_request_id(&request)
                .map(|r| r.header_value().clone())
                .unwrap_or_else(|| HeaderValue::from_static("0"));
            request.headers_mut().insert(REQUEST_ID, new.clone());
            let id = new.to_str().unwrap_or("0").to_string();
            replaced = Some(new);
            id
        }
    };
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        route,
        operation = tracing::field::Empty
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    if let Some(new) = replaced {
        response.headers_mut().insert(REQUEST_ID, new);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    crate::metrics::http_request(route, status, elapsed);
    span.in_scope(|| {
        tracing::info!(
            status,
            duration_ms = (elapsed.as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
            "request"
        )
    });
    response
}

/// `GET /metrics`: the Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let (size, idle) = pool(&state.db);
    let lag = crate::repo::status::last_finished_at(&state.db)
        .await
        .map(|t| (chrono::Utc::now() - t).num_milliseconds() as f64 / 1000.0);
    let gauges = crate::metrics::Gauges {
        pool_size: size,
        pool_idle: idle,
        pool_max: state.pool_max,
        subscribers: state.bus.subscribers(),
        sync_lag_seconds: lag,
        papers_indexed: state.search.papers(),
    };
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        crate::metrics::render(&gauges),
    )
        .into_response()
}

fn pool(db: &sea_orm::DatabaseConnection) -> (u32, u32) {
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let p = db.get_postgres_connection_pool();
            (p.size(), p.num_idle() as u32)
        }
        _ => {
            let p = db.get_sqlite_connection_pool();
            (p.size(), p.num_idle() as u32)
        }
    }
}
