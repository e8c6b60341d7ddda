//! What every request handler shares (built by `app::state`).
use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::graphql::Executor;
use crate::http::cache::ResponseCache;

/// What every request handler can reach: one shared [`Shared`], so that the per-request clones
/// axum makes of the state (one per handler call and extractor) cost one reference count, not
/// one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The state's parts.
pub struct Shared {
    pub db: DatabaseConnection,
    pub schema: Executor,
    pub graphiql: bool,
    pub cache: Arc<ResponseCache>,
    /// The keyword search index (shared with the schema).
    pub search: Arc<crate::search::SearchEngine>,
    /// Paper events for this server's GraphQL subscriptions.
    pub bus: Arc<crate::live::Bus>,
    /// Turns true when the server begins to shut down: websockets close with a close frame.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// Open websockets (shutdown waits for their close frames: upgraded connections are not
    /// part of the HTTP server's graceful shutdown).
    pub open_sockets: Arc<tokio::sync::watch::Sender<usize>>,
    /// Query-cost budgets (`None`: no limits).
    pub limits: Option<Arc<Limits>>,
    /// Origins CORS allows (`*`: any, without credentials; empty: CORS off).
    pub cors_origins: Arc<Vec<String>>,
    /// The database pool's bound (for metrics).
    pub pool_max: u32,
    /// Automatic persisted queries seen by this server.
    pub persisted: Arc<crate::http::PersistedQueries>,
    pub request_timeout: Duration,
    /// `Cache-Control` of GraphQL GET answers (`None`: not sent).
    pub http_cache_control: Option<axum::http::HeaderValue>,
    /// GraphQL requests executing at once; more wait briefly, then get `SERVER_BUSY` (503).
    pub inflight: Arc<tokio::sync::Semaphore>,
    /// Whether the database can be reached (requests fail fast, or are served stale, when not).
    pub health: Arc<crate::repo::health::DbHealth>,
}

/// The rate limiters and how clients are told apart.
#[derive(Debug)]
pub struct Limits {
    pub by_address: Arc<crate::graphql::cost::RateLimiter>,
    pub by_key: Arc<crate::graphql::cost::RateLimiter>,
    pub options: crate::config::RateLimitOptions,
}
