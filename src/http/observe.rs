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

/// New request ids: 16 hex digits, unique within the process and unpredictable without its key.
#[derive(Clone, Copy, Default)]
pub struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        Some(RequestId::new(new_id()))
    }
}

/// A counter mixed with a random key drawn once per process (splitmix64's finaliser, a
/// bijection: no repeats), instead of a system call for fresh randomness on every request.
fn new_id() -> HeaderValue {
    use std::sync::atomic::{AtomicU64, Ordering};
    static KEY: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let key = *KEY.get_or_init(|| {
        let mut bytes = [0u8; 8];
        if getrandom::fill(&mut bytes).is_err() {
            // No randomness: the start time still tells processes apart.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            bytes = (t.as_nanos() as u64).to_be_bytes();
        }
        u64::from_be_bytes(bytes)
    });
    let mut z = NEXT
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(key);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = HEX[((z >> (60 - 4 * i)) & 0xf) as usize];
    }
    HeaderValue::from_bytes(&out).unwrap_or(HeaderValue::from_static("0"))
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
            let new = new_id();
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

#[cfg(test)]
mod tests {
    #[test]
    fn new_request_ids_are_sixteen_hex_digits_and_do_not_repeat() {
        let ids: std::collections::HashSet<String> = (0..10_000)
            .map(|_| super::new_id().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|id| {
            id.len() == 16
                && id
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        }));
    }
}
