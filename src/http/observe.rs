//! Every request: a request id (the caller's `X-Request-Id` when sane, else a new one, echoed
//! back), one `tracing` line with the route, status, GraphQL operation and duration, the
//! Prometheus counters, and CORS (preflights answered here, before routing).
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
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

fn request_id(request: &Request) -> String {
    if let Some(id) = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        })
    {
        return id.to_string();
    }
    static FALLBACK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: still unique within the process.
        bytes = FALLBACK
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .to_be_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `Access-Control-Allow-Origin` value for `origin`, when CORS allows it.
fn allowed_origin(state: &AppState, origin: &str) -> Option<HeaderValue> {
    let origins = &state.cors_origins;
    if origins.iter().any(|o| o == "*") {
        return Some(HeaderValue::from_static("*"));
    }
    origins
        .iter()
        .any(|o| o.eq_ignore_ascii_case(origin))
        .then(|| HeaderValue::from_str(origin).ok())
        .flatten()
}

pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route(request.uri().path());
    let id = request_id(&request);
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let allow = origin.as_deref().and_then(|o| allowed_origin(&state, o));
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %method,
        route,
        operation = tracing::field::Empty
    );
    let mut response = if preflight {
        match &allow {
            Some(_) => {
                let mut r = StatusCode::NO_CONTENT.into_response();
                let h = r.headers_mut();
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static("GET, POST, OPTIONS"),
                );
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static(
                        "content-type, accept, x-api-key, x-request-id, authorization",
                    ),
                );
                h.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static("600"),
                );
                r
            }
            None => StatusCode::FORBIDDEN.into_response(),
        }
    } else {
        next.run(request).instrument(span.clone()).await
    };
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
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-request-id", v);
    }
    if let Some(a) = allow {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, a);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(
                "x-request-id, ratelimit-limit, ratelimit-remaining, ratelimit-reset, ratelimit-policy, retry-after",
            ),
        );
        h.append(header::VARY, HeaderValue::from_static("origin"));
    }
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
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
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
