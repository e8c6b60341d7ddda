//! Building the application: connect, migrate, state, router; bind and serve until shutdown.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend};
use tokio::net::TcpListener;

use crate::config::{DbOpts, redact_url};
use crate::graphql::build_schema;
use crate::http::cache::ResponseCache;
use crate::http::{AppState, Limits};
use crate::repo::direct::DbStats;

/// HTTP-level settings.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Serve GraphiQL to browsers.
    pub graphiql: bool,
    /// Bytes of responses to keep (0: no response cache).
    pub response_cache_bytes: usize,
    /// Digest subscriptions and their mail; `None` without SMTP (the mutations then answer
    /// `DIGESTS_DISABLED`).
    pub digest: Option<Arc<crate::digest::service::DigestService>>,
    /// Query-cost budgets per client; `None` turns rate limiting off.
    pub rate_limit: Option<crate::config::RateLimitOptions>,
    /// Origins CORS allows: `*` (the default: any origin, no credentials), a list, or none.
    pub cors_origins: Vec<String>,
    /// How long a GraphQL request may run before it is answered `REQUEST_TIMEOUT` (503).
    pub request_timeout: Duration,
    /// `max-age` of `Cache-Control` on GraphQL GET answers (0: no such header).
    pub http_cache_max_age_secs: u64,
    /// Answer introspection queries (GraphiQL needs them).
    pub introspection: bool,
    /// Admin mutations (`requestSync`): the token and the upstream they sync from.
    pub admin: crate::graphql::admin::Admin,
    /// The connection's statement counter (from [`connect`]), for the statements that bypass
    /// the pool (`repo::direct`).
    pub db_stats: Option<Arc<DbStats>>,
    /// Days before fetched paper details are due again (`syncStatus.detailQueue` counts by it).
    pub detail_refresh_days: u32,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            graphiql: true,
            response_cache_bytes: 64 << 20,
            digest: None,
            rate_limit: None,
            cors_origins: vec!["*".into()],
            introspection: true,
            admin: Default::default(),
            db_stats: None,
            request_timeout: Duration::from_secs(30),
            http_cache_max_age_secs: 0,
            detail_refresh_days: 7,
        }
    }
}

/// Connects to the database named by `opts`, with settings fit for each backend.
pub async fn connect(opts: &DbOpts) -> anyhow::Result<(DatabaseConnection, Arc<DbStats>)> {
    let url = opts.database_url.trim();
    let shown = redact_url(url);
    let is_sqlite = url.starts_with("sqlite:");
    let is_pg = url.starts_with("postgres://") || url.starts_with("postgresql://");
    if !is_sqlite && !is_pg {
        bail!(
            "unsupported database URL `{shown}`: use sqlite://FILE?mode=rwc (a local file, created if missing) or postgres://USER@HOST:PORT/DB"
        );
    }
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(opts.max_connections())
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        // A ping before every checkout doubles the round trips of short reads; broken
        // connections surface as errors and are replaced by the pool anyway.
        .test_before_acquire(false);
    if is_sqlite {
        let cache_kib = opts.sqlite_page_cache_kib;
        let mmap_mb = opts.sqlite_mmap_mb;
        options.map_sqlx_sqlite_opts(move |o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            let o = o
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // Mapped reads skip read(2) copies into each connection's cache (see
                // `--sqlite-mmap-mb`).
                .pragma("mmap_size", (mmap_mb << 20).to_string());
            match cache_kib {
                Some(kib) => o.pragma("cache_size", format!("-{kib}")),
                None => o,
            }
        });
    }
    if is_pg {
        // A runaway statement is cancelled by PostgreSQL itself (the request timeout only stops
        // waiting for it).
        let timeout_ms = (opts.statement_timeout_secs > 0)
            .then(|| (opts.statement_timeout_secs * 1000).to_string());
        // TLS to a server on this machine encrypts loopback traffic for nothing and costs both
        // processes CPU on every row; an explicit `sslmode=` in the URL still decides.
        let plain = loopback_without_sslmode(url);
        options.map_sqlx_postgres_opts(move |o| {
            let o = match &timeout_ms {
                Some(ms) => o.options([("statement_timeout", ms.as_str())]),
                None => o,
            };
            if plain {
                o.ssl_mode(sea_orm::sqlx::postgres::PgSslMode::Disable)
            } else {
                o
            }
        });
    }
    if is_pg && let Some(schema) = &opts.database_schema {
        if !schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
            || schema.is_empty()
        {
            bail!("database schema `{schema}` must be letters, digits and underscores");
        }
        // Create the schema first, on a plain connection, so the pool can put it on its search path.
        let plain = Database::connect(url).await.with_context(|| {
            format!("cannot connect to the database at {shown}; is it running and reachable?")
        })?;
        crate::repo::create_schema(&plain, schema)
            .await
            .with_context(|| format!("cannot create schema `{schema}`"))?;
        plain.close().await.ok();
        options.set_schema_search_path(schema.clone());
    }
    let mut db = Database::connect(options).await.with_context(|| {
        if is_sqlite {
            format!("cannot open the SQLite database {shown}; does its folder exist and is it writable? (add ?mode=rwc to create the file)")
        } else {
            format!("cannot connect to PostgreSQL at {shown}; is the server running and does the database exist?")
        }
    })?;
    let stats = Arc::new(DbStats::default());
    let counter = stats.clone();
    db.set_metric_callback(move |info| {
        counter.observe(&info.statement.sql, info.elapsed, info.failed);
    });
    tracing::info!(database = %shown, backend = ?db.get_database_backend(), "connected to the database");
    Ok((db, stats))
}

/// Whether a PostgreSQL URL names a server on this machine (loopback address, `localhost` or a
/// Unix socket, as sqlx reads the URL and `PGHOST`) and neither the URL nor `PGSSLMODE` sets
/// the TLS mode.
fn loopback_without_sslmode(url: &str) -> bool {
    use sea_orm::sqlx::postgres::PgConnectOptions;
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let explicit = query
        .split('&')
        .any(|kv| kv.starts_with("sslmode=") || kv.starts_with("ssl-mode="))
        || std::env::var_os("PGSSLMODE").is_some();
    let Ok(opts) = url.parse::<PgConnectOptions>() else {
        return false;
    };
    let host = opts.get_host();
    !explicit
        && (opts.get_socket().is_some()
            || host.eq_ignore_ascii_case("localhost")
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()))
}

/// Applies pending migrations.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("applying database migrations failed")?;
    Ok(())
}

/// Whether the connection is to SQLite.
pub fn is_sqlite(db: &DatabaseConnection) -> bool {
    db.get_database_backend() == DbBackend::Sqlite
}

/// Builds the state and router over a migrated database.
pub fn router(db: DatabaseConnection, opts: &HttpOptions) -> axum::Router {
    crate::http::router(state(db, opts))
}

/// The state every handler shares: the schema, caches and the search index (which the digest
/// scheduler uses too, so a server holds one index).
pub fn state(db: DatabaseConnection, opts: &HttpOptions) -> AppState {
    let pool_max = match db.get_database_backend() {
        DbBackend::Postgres => db
            .get_postgres_connection_pool()
            .options()
            .get_max_connections(),
        _ => db
            .get_sqlite_connection_pool()
            .options()
            .get_max_connections(),
    };
    let search = crate::search::SearchEngine::new(db.clone());
    let health = Arc::new(crate::repo::health::DbHealth::default());
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(health.clone().watch(db.clone()));
        // Back from an outage: whatever was cached may be stale now (other replicas wrote while
        // this one could not hear them).
        let mut up = health.subscribe();
        rt.spawn(async move {
            while up.changed().await.is_ok() {
                if *up.borrow_and_update() {
                    crate::events::bump();
                }
            }
        });
        // Other processes' commits must reach everything that follows the data generation:
        // the response cache, the keyword index and the live events' tailer.
        rt.spawn(crate::repo::changes::watch_external_writes(db.clone()));
        // Build the keyword index now rather than on the first search (a search meanwhile waits).
        let warm = search.clone();
        rt.spawn(async move {
            if let Err(e) = warm.current().await {
                tracing::warn!(error = %e, "could not build the keyword search index; the first search will try again");
            }
        });
    }
    let bus = crate::live::Bus::new(db.clone());
    let schema = build_schema(
        db.clone(),
        crate::repo::direct::Direct::new(&db, opts.db_stats.clone()),
        search.clone(),
        opts.digest.clone(),
        bus.clone(),
        opts.introspection,
        opts.admin.clone(),
        crate::repo::details::Refresh::days(opts.detail_refresh_days),
    );
    let cache = Arc::new(ResponseCache::new(opts.response_cache_bytes));
    AppState::new(crate::http::Shared {
        http_cache_control: (opts.http_cache_max_age_secs > 0).then(|| {
            axum::http::HeaderValue::from_str(&format!(
                "public, max-age={}",
                opts.http_cache_max_age_secs
            ))
            .unwrap_or_else(|_| axum::http::HeaderValue::from_static("no-cache"))
        }),
        db,
        schema,
        graphiql: opts.graphiql,
        cache,
        search,
        bus,
        closing: Arc::new(tokio::sync::watch::Sender::new(false)),
        open_sockets: Arc::new(tokio::sync::watch::Sender::new(0)),
        limits: opts.rate_limit.clone().map(|o| {
            Arc::new(Limits {
                by_address: Arc::new(crate::graphql::cost::RateLimiter::new(o.budget, o.window)),
                by_key: Arc::new(crate::graphql::cost::RateLimiter::new(
                    o.key_budget,
                    o.window,
                )),
                options: o,
            })
        }),
        cors_origins: Arc::new(opts.cors_origins.clone()),
        persisted: Arc::default(),
        request_timeout: opts.request_timeout,
        inflight: Arc::new(tokio::sync::Semaphore::new((pool_max as usize * 4).max(16))),
        pool_max,
        health,
    })
}

/// Binds `addr`, with a clear message when the port is taken.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            anyhow::anyhow!(
                "cannot listen on {addr}: the port is already in use; stop the other server or pass --bind 127.0.0.1:PORT (PAPERGRAPH_BIND)"
            )
        } else {
            anyhow::anyhow!("cannot listen on {addr}: {e}")
        }
    })
}

/// Serves `router` on `listener` until `shutdown` resolves; in-flight requests finish first.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("the HTTP server failed")
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

/// `serve`'s SQLite page cache per pooled connection, in KiB, unless `--sqlite-cache-kib` says
/// otherwise: with SQLite's 2 MiB, a server on 100,000 papers held 13–14 MB more after a search
/// load, and served its reads no faster (`bench/ab.sh`, 2026-12-04).
const SERVE_SQLITE_CACHE_KIB: u32 = 512;

/// A list option's items, trimmed, without empty ones.
fn trimmed(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|i| i.trim().to_string())
        .filter(|i| !i.is_empty())
        .collect()
}

/// `papergraph serve`: connect and migrate, start the background tasks (sync worker, digest
/// scheduler, similar papers), serve until SIGTERM or Ctrl-C, then stop everything in order
/// within the grace period.
pub async fn run_server(mut db_opts: DbOpts, opts: crate::config::ServeOpts) -> anyhow::Result<()> {
    db_opts
        .sqlite_page_cache_kib
        .get_or_insert(SERVE_SQLITE_CACHE_KIB);
    if opts.demo {
        let path = std::env::temp_dir().join(format!("papergraph-demo-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        db_opts.database_url = format!("sqlite://{}?mode=rwc", path.display());
        tracing::info!(database = %path.display(), "demo mode: serving the bundled sample lists from a scratch database");
    }
    let (db, db_stats) = connect(&db_opts).await?;
    migrate(&db).await?;
    if opts.demo {
        let n = crate::sync::files::load_demo(&db).await?;
        tracing::info!(papers = n, "loaded the demo daily lists");
    }
    // Papers stored by an interrupted run may lack their similar papers: fill them in the
    // background (a no-op when every paper has been through the pass).
    tokio::spawn({
        let db = db.clone();
        async move {
            if let Err(e) = crate::repo::similar::update(&db).await {
                tracing::warn!(error = %e, "similar papers could not be updated; the next sync retries");
            }
        }
    });
    let listener = bind(opts.bind).await?;
    let addr = listener.local_addr()?;
    tracing::info!(
        "papergraph is serving GraphQL at http://{addr}/graphql (GraphiQL in a browser)"
    );
    let digest = match &opts.mail.smtp_url {
        Some(url) => {
            let public = opts
                .mail
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{addr}"));
            let service =
                crate::digest::service::DigestService::new(url, &opts.mail.mail_from, &public)
                    .map_err(|e| anyhow::anyhow!(e))?;
            tracing::info!(public_url = %public, "email digests are on");
            Some(std::sync::Arc::new(service))
        }
        None => {
            tracing::info!("email digests are off (no PAPERGRAPH_SMTP_URL); feeds need none");
            None
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let gate = std::sync::Arc::new(crate::sync::leader::SyncGate::default());
    let admin = match opts.admin_token.as_deref().map(str::trim) {
        Some(token) if token.len() >= 16 => {
            let upstream = std::sync::Arc::new(crate::sync::upstream::Upstream::new(
                crate::sync::upstream::UpstreamConfig::from(&opts.upstream),
            )?);
            crate::graphql::admin::Admin(Some(std::sync::Arc::new(
                crate::graphql::admin::AdminContext::new(
                    token,
                    crate::sync::leader::Requests::new(
                        upstream,
                        gate.clone(),
                        crate::sync::worker::Stop::on(stop_rx.clone()),
                    ),
                ),
            )))
        }
        Some(_) => anyhow::bail!(
            "PAPERGRAPH_ADMIN_TOKEN is too short to be secret; use at least 16 random characters (e.g. `openssl rand -hex 24`)"
        ),
        None => crate::graphql::admin::Admin::default(),
    };
    let http = HttpOptions {
        admin,
        graphiql: opts.graphiql,
        response_cache_bytes: opts.response_cache_mb << 20,
        digest,
        cors_origins: trimmed(&opts.cors_origins),
        introspection: opts.introspection,
        request_timeout: std::time::Duration::from_secs(opts.request_timeout_secs.max(1)),
        http_cache_max_age_secs: opts.http_cache_max_age_secs,
        detail_refresh_days: opts.upstream.detail_refresh_days,
        rate_limit: (opts.rate_limit_cost > 0).then(|| crate::config::RateLimitOptions {
            budget: opts.rate_limit_cost,
            window: std::time::Duration::from_secs(opts.rate_limit_window_secs.max(1)),
            api_keys: trimmed(&opts.api_keys),
            key_budget: opts.api_key_cost,
            trusted_proxies: opts.trusted_proxies.clone(),
        }),
        db_stats: Some(db_stats),
    };
    let state = state(db.clone(), &http);
    let digests = http.digest.clone().map(|service| {
        tokio::spawn(crate::digest::delivery::run(
            db.clone(),
            state.search.clone(),
            service,
            crate::digest::delivery::Schedule::from(&opts.digest),
            std::time::Duration::from_secs(opts.digest.digest_check_secs.max(1)),
            stop_rx.clone(),
        ))
    });
    let worker = if opts.sync && !opts.demo {
        let upstream = std::sync::Arc::new(crate::sync::upstream::Upstream::new(
            crate::sync::upstream::UpstreamConfig::from(&opts.upstream),
        )?);
        let schedule = crate::sync::scheduler::Schedule {
            interval: std::time::Duration::from_secs(opts.sync_interval_secs.max(1)),
            backfill_days: opts.backfill_days,
            refresh_days: opts.refresh_days,
            details: opts
                .details
                .then(|| crate::repo::details::Refresh::days(opts.upstream.detail_refresh_days)),
        };
        let stop = crate::sync::worker::Stop::on(stop_rx);
        Some(tokio::spawn(crate::sync::scheduler::run(
            db.clone(),
            upstream,
            schedule,
            gate.clone(),
            stop,
        )))
    } else {
        None
    };
    // SIGTERM / Ctrl-C: stop accepting, close websockets with a close frame, stop the worker
    // and the digest scheduler at a safe point, let in-flight requests finish; exit within the
    // grace period whatever is left.
    let grace = std::time::Duration::from_secs(opts.shutdown_grace_secs);
    let (signalled_tx, mut signalled) = tokio::sync::watch::channel(false);
    let closing = state.closing.clone();
    let mut sockets = state.open_sockets.subscribe();
    let shutdown = async move {
        shutdown_signal().await;
        tracing::info!(
            grace_secs = grace.as_secs(),
            "shutting down: finishing in-flight requests"
        );
        closing.send_replace(true);
        let _ = stop_tx.send(true);
        let _ = signalled_tx.send(true);
    };
    let server = serve(listener, crate::http::router(state), shutdown);
    let deadline = async {
        let _ = signalled.wait_for(|s| *s).await;
        let at = tokio::time::Instant::now() + grace;
        tokio::time::sleep_until(at).await;
    };
    let finish = async {
        let served = server.await;
        // Websockets left the HTTP server when they upgraded: wait for their close frames.
        let _ = sockets.wait_for(|n| *n == 0).await;
        if let Some(worker) = worker
            && let Err(e) = worker.await
        {
            tracing::error!(error = %e, "the sync worker ended abnormally");
        }
        // A requested sync (admin) stops between days too; its last day commits first.
        gate.idle().await;
        if let Some(digests) = digests
            && let Err(e) = digests.await
        {
            tracing::error!(error = %e, "the digest scheduler ended abnormally");
        }
        served
    };
    tokio::select! {
        r = finish => r?,
        () = deadline => tracing::warn!(
            grace_secs = grace.as_secs(),
            "the grace period ended before everything finished; exiting (an interrupted sync day rolls back)"
        ),
    }
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::loopback_without_sslmode as plain;
    use crate::config::DbOpts;
    use sea_orm::ConnectionTrait;

    #[tokio::test]
    async fn every_pooled_sqlite_connection_gets_the_page_cache_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let opts = DbOpts {
            database_url: format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display()),
            database_schema: None,
            db_max_connections: 3,
            sqlite_page_cache_kib: Some(512),
            sqlite_mmap_mb: 0,
            statement_timeout_secs: 30,
        };
        let (db, _) = super::connect(&opts).await.unwrap();
        // Reads at once, on as many of the pool's connections as it opens for them.
        let read = || {
            db.query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "PRAGMA cache_size",
            ))
        };
        let (a, b, c) = tokio::join!(read(), read(), read());
        for row in [a, b, c] {
            let size: i64 = row.unwrap().unwrap().try_get_by_index(0).unwrap();
            assert_eq!(size, -512, "KiB are asked for as a negative cache_size");
        }
    }

    #[test]
    fn tls_is_left_out_only_for_this_machine_without_an_explicit_sslmode() {
        assert!(plain("postgres://postgres@127.0.0.1:5432/test"));
        assert!(plain("postgres://u:p@localhost/db"));
        assert!(plain("postgresql://[::1]:5432/db"));
        assert!(plain("postgres:///db?host=/var/run/postgresql"));
        assert!(plain("postgres://127.0.0.2/db?application_name=x"));
        assert!(!plain(
            "postgres://postgres@127.0.0.1:5432/test?sslmode=require"
        ));
        assert!(!plain("postgres://db.example.com/papers"));
        assert!(!plain("postgres://u@10.0.0.5:5432/papers"));
        assert!(!plain("postgres:///db?host=db.internal"));
    }
}
