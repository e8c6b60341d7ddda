//! The HTTP surface: GraphQL over HTTP at `/graphql` (POST, and GET for queries), GraphiQL for
//! browsers, Atom and RSS feeds, and health checks.
pub mod cache;
mod compress;
mod digest_pages;
mod feeds;
mod graphiql;
mod graphql;
pub use graphql::{MAX_QUERY_BYTES, PersistedQueries};
mod observe;
mod state;
mod validators;
pub use state::{AppState, Limits, Shared};
mod ws;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};

/// Largest request body accepted (a GraphQL document with variables).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The application's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/graphql") }))
        .route(
            "/graphql",
            get(graphql::graphql_get).post(graphql::graphql_post),
        )
        .route("/graphql/ws", get(ws::graphql_ws))
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/feeds/papers.atom", get(feeds::atom))
        .route("/feeds/papers.rss", get(feeds::rss))
        .route(
            "/digest/confirm",
            get(digest_pages::confirm_form).post(digest_pages::confirm),
        )
        .route(
            "/digest/unsubscribe",
            get(digest_pages::unsubscribe_form).post(digest_pages::unsubscribe),
        )
        .route("/metrics", get(observe::metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        // One stack, outermost first: axum boxes what each `layer` call adds, so six calls would
        // clone and box six services and futures on every request.
        .layer(
            tower::ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(observe::NewRequestId))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(axum::middleware::from_fn(observe::observe))
                .layer(observe::cors(&state.cors_origins))
                .layer(compress::layer())
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .with_state(state)
}

/// The process is up.
async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// The database answers.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let unavailable = || {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "unavailable", "reason": "database unreachable" })),
        )
    };
    if !state.health.is_up() {
        return unavailable();
    }
    let limit = crate::repo::health::PROBE_TIMEOUT;
    match tokio::time::timeout(limit, state.db.ping()).await {
        Ok(Ok(())) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready" })),
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed: the database does not answer");
            unavailable()
        }
        Err(_) => {
            tracing::warn!("readiness check failed: the database did not answer in time");
            unavailable()
        }
    }
}
